//! CPU time, read from Linux's `/proc` (every function returns `None` elsewhere): of the
//! whole process, of one thread, and of the threads of the current rayon pool. Since every
//! executor worker runs its nodes in a pool of its own, a node's CPU seconds do not depend on
//! what runs beside it, where its wall-clock seconds do. `/proc` counts in clock ticks,
//! `sysconf(_SC_CLK_TCK)` per second (read from the auxiliary vector).

/// utime + stime of a `/proc/.../stat` file, in seconds.
fn stat_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / ticks_per_second()?)
}

/// Clock ticks per second, the unit of `/proc`'s CPU times: `sysconf(_SC_CLK_TCK)`, which
/// glibc reads from the `AT_CLKTCK` entry of the process's auxiliary vector; read here from
/// `/proc/self/auxv` (pairs of native-endian words), so no `unsafe` call is needed.
fn ticks_per_second() -> Option<f64> {
    const AT_CLKTCK: usize = 17;
    const WORD: usize = std::mem::size_of::<usize>();
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    let word = |c: &[u8]| usize::from_ne_bytes(c.try_into().expect("a word"));
    auxv.chunks_exact(2 * WORD)
        .map(|pair| (word(&pair[..WORD]), word(&pair[WORD..])))
        .find(|&(key, _)| key == AT_CLKTCK)
        .and_then(|(_, ticks)| (ticks > 0).then_some(ticks as f64))
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
    #[cfg(target_os = "linux")]
    fn clock_ticks_come_from_the_os() {
        let ticks = ticks_per_second().expect("sysconf(_SC_CLK_TCK)");
        assert!((1.0..=1e6).contains(&ticks), "{ticks} ticks per second");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn process_and_thread_seconds_grow_with_work() {
        for measure in [process_seconds as fn() -> Option<f64>, thread_seconds] {
            let used = spin_until(&measure, 0.05).expect("/proc/self/stat and /proc/thread-self/stat");
            assert!(used >= 0.05, "{used} CPU seconds counted");
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_pools_seconds_count_its_threads_only() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let before = pool.install(pool_seconds).expect("/proc/thread-self/stat");
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
