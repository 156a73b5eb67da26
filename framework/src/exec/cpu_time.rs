//! CPU time, read from Linux's `/proc` (every function returns `None` elsewhere): of the
//! whole process, of one thread, and of the threads of the current rayon pool. Since every
//! executor worker runs its nodes in a pool of its own, a node's CPU seconds do not depend on
//! what runs beside it, where its wall-clock seconds do. Clock ticks are taken as 1/100 s,
//! the Linux default.

/// utime + stime of a `/proc/.../stat` file, in seconds.
fn stat_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU seconds (user + system, every thread) the process has used.
pub fn process_seconds() -> Option<f64> {
    stat_seconds("/proc/self/stat")
}

/// CPU seconds the calling thread has used.
pub fn thread_seconds() -> Option<f64> {
    stat_seconds("/proc/thread-self/stat")
}

/// CPU seconds used so far by every thread of the current rayon pool (the global pool
/// outside one), summed.
pub fn pool_seconds() -> Option<f64> {
    rayon::broadcast(|_| thread_seconds()).into_iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Spins until `measure` has counted `target` more CPU seconds (at most 30 s of wall
    /// time, for loaded machines); returns what was counted.
    fn spin_until(measure: &dyn Fn() -> Option<f64>, target: f64) -> Option<f64> {
        let before = measure()?;
        let t = Instant::now();
        let mut x = 0u64;
        let mut used = 0.0;
        while used < target && t.elapsed().as_secs_f64() < 30.0 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(1));
            }
            used = measure()? - before;
        }
        std::hint::black_box(x);
        Some(used)
    }

    #[test]
    fn process_and_thread_seconds_grow_with_work() {
        for measure in [process_seconds as fn() -> Option<f64>, thread_seconds] {
            let Some(used) = spin_until(&measure, 0.05) else { return };
            assert!(used >= 0.05, "{used} CPU seconds counted");
        }
    }

    #[test]
    fn a_pools_seconds_count_its_threads_only() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let Some(before) = pool.install(pool_seconds) else { return };
        // Work outside the pool is not counted in it.
        let outside = spin_until(&thread_seconds, 0.1).unwrap();
        assert!(outside >= 0.1);
        let after_outside = pool.install(pool_seconds).unwrap();
        assert!(after_outside - before < 0.05, "{before} → {after_outside}");
        // Work on the pool's threads is.
        pool.install(|| {
            rayon::broadcast(|_| spin_until(&thread_seconds, 0.05));
        });
        let after = pool.install(pool_seconds).unwrap();
        assert!(after - after_outside >= 0.1, "{after_outside} → {after}");
    }
}
