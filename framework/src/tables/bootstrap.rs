//! Seeded bootstrap over examples, percentile intervals, and seed-derived RNGs.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An RNG seeded from a list of parts (experiment seed, node key, example id, purpose), so a
/// draw depends on what it is for and never on thread count or order.
pub fn rng_for(parts: &[&[u8]]) -> ChaCha8Rng {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    ChaCha8Rng::from_seed(*h.finalize().as_bytes())
}

/// `resamples` bootstrap resamples of `0..n`, each of `n` indices drawn with replacement.
pub fn resamples(n: usize, resamples: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    (0..resamples).map(|_| (0..n).map(|_| rng.random_range(0..n)).collect()).collect()
}

/// The `level` (e.g. 0.95) percentile interval of `values` (NaNs ignored), with linear
/// interpolation between order statistics (numpy's default). `None` when no finite value.
pub fn percentile_interval(values: &[f64], level: f64) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Some((quantile_sorted(&v, alpha), quantile_sorted(&v, 1.0 - alpha)))
}

/// Linear-interpolated quantile of sorted values (numpy `method="linear"`).
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Mean and sample standard deviation (`None` for fewer than two values).
pub fn mean_std(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, None);
    }
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert!((quantile_sorted(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(percentile_interval(&[f64::NAN], 0.95), None);
    }

    #[test]
    fn rng_depends_on_parts_only() {
        let a: Vec<Vec<usize>> = resamples(5, 3, &mut rng_for(&[b"x", b"1"]));
        let b: Vec<Vec<usize>> = resamples(5, 3, &mut rng_for(&[b"x", b"1"]));
        let c: Vec<Vec<usize>> = resamples(5, 3, &mut rng_for(&[b"x1"]));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn mean_std_sample() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert_eq!(s, Some(1.0));
        assert_eq!(mean_std(&[4.0]).1, None);
    }
}
