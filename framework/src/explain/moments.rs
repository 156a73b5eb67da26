//! Weighted ridge regression from sufficient statistics, so that a sampling explainer (lime)
//! can stream its samples in batches: memory is O(d²) in the number of features, not
//! O(samples × d).
//!
//! For samples (x_i, y_i, w_i) the sums Σw, Σw·x, Σw·y, Σw·y², Σw·x·xᵀ and Σw·x·y determine
//! every fit [`super::linalg::weighted_ridge`] makes on any subset of the columns: the weighted
//! means x̄ = Σw·x / Σw, ȳ = Σw·y / Σw; the centred cross products
//! Cxx = Σw·x·xᵀ − Σw · x̄·x̄ᵀ and Cxy = Σw·x·y − Σw · x̄·ȳ; β solves (Cxx + αI) β = Cxy;
//! the intercept is ȳ − x̄·β; and the weighted R² (sklearn's `score` with `sample_weight`) is
//! 1 − SS_res / SS_tot with SS_tot = Σw·y² − Σw · ȳ² and
//! SS_res = SS_tot − 2 βᵀCxy + βᵀ Cxx β. The same fit as the data-matrix form, to rounding.

use super::linalg::{RidgeFit, solve_spd, weighted_r2};
use anyhow::{Result, bail};

/// The running sums of one regression over `d` 0/1 features.
#[derive(Debug, Clone)]
pub struct RidgeMoments {
    d: usize,
    sw: f64,
    sy: f64,
    syy: f64,
    sx: Vec<f64>,
    sxy: Vec<f64>,
    /// Σw·x·xᵀ, upper triangle in a full row-major d × d.
    sxx: Vec<f64>,
    samples: u64,
}

impl RidgeMoments {
    /// Empty sums over `d` features.
    pub fn new(d: usize) -> Self {
        Self { d, sw: 0.0, sy: 0.0, syy: 0.0, sx: vec![0.0; d], sxy: vec![0.0; d], sxx: vec![0.0; d * d], samples: 0 }
    }

    /// Samples added.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Adds a sample whose features are 1 at `ones` (ascending, distinct) and 0 elsewhere.
    pub fn add_binary(&mut self, ones: &[usize], y: f64, w: f64) {
        self.sw += w;
        self.sy += w * y;
        self.syy += w * y * y;
        for (a, &j) in ones.iter().enumerate() {
            self.sx[j] += w;
            self.sxy[j] += w * y;
            for &k in &ones[a..] {
                self.sxx[j * self.d + k] += w;
            }
        }
        self.samples += 1;
    }

    /// The weighted ridge fit (with intercept, penalty `alpha`) on the columns `cols`.
    pub fn fit(&self, cols: &[usize], alpha: f64) -> Result<RidgeFit> {
        if self.sw <= 0.0 || !self.sw.is_finite() {
            bail!("ridge: the sample weights sum to {}", self.sw);
        }
        if let Some(&c) = cols.iter().find(|&&c| c >= self.d) {
            bail!("ridge: column {c} of {} features", self.d);
        }
        let n = cols.len();
        let xm: Vec<f64> = cols.iter().map(|&c| self.sx[c] / self.sw).collect();
        let ym = self.sy / self.sw;
        let gram = |j: usize, k: usize| {
            let (a, b) = if j <= k { (j, k) } else { (k, j) };
            self.sxx[a * self.d + b]
        };
        let mut cxx = vec![0.0; n * n];
        let mut cxy = vec![0.0; n];
        for (a, &j) in cols.iter().enumerate() {
            cxy[a] = self.sxy[j] - self.sw * xm[a] * ym;
            for (b, &k) in cols.iter().enumerate() {
                cxx[a * n + b] = gram(j, k) - self.sw * xm[a] * xm[b];
            }
        }
        let mut penalised = cxx.clone();
        for a in 0..n {
            penalised[a * n + a] += alpha;
        }
        let coef = if n == 0 { Vec::new() } else { solve_spd(&penalised, &cxy, n)? };
        let intercept = ym - xm.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>();
        let ss_tot = (self.syy - self.sw * ym * ym).max(0.0);
        let quad: f64 = (0..n).map(|a| coef[a] * (0..n).map(|b| cxx[a * n + b] * coef[b]).sum::<f64>()).sum();
        let cross: f64 = coef.iter().zip(&cxy).map(|(c, v)| c * v).sum();
        let ss_res = (ss_tot - 2.0 * cross + quad).max(0.0);
        // Relative to the spread: rounding of the sums leaves ~1e-16 · Σw·y² where the
        // data-matrix form has an exact zero.
        let tiny = 1e-12 * self.syy.abs().max(f64::MIN_POSITIVE);
        Ok(RidgeFit { coef, intercept, r2: weighted_r2(ss_res, ss_tot, tiny) })
    }
}

#[cfg(test)]
mod tests {
    use super::super::linalg::weighted_ridge;
    use super::*;

    #[test]
    fn equals_the_data_matrix_fit() {
        // 40 binary rows over 5 features from a fixed sequence, a noisy linear target.
        let (d, n) = (5, 40);
        let mut state = 11u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut x = vec![0.0; n * d];
        let (mut y, mut w) = (Vec::new(), Vec::new());
        let mut m = RidgeMoments::new(d);
        for i in 0..n {
            let ones: Vec<usize> = (0..d).filter(|_| next() < 0.6).collect();
            for &j in &ones {
                x[i * d + j] = 1.0;
            }
            let yi = 0.3 + ones.iter().map(|&j| 0.1 * j as f64).sum::<f64>() + 0.05 * next();
            let wi = 0.2 + next();
            m.add_binary(&ones, yi, wi);
            y.push(yi);
            w.push(wi);
        }
        for (cols, alpha) in [(vec![0, 1, 2, 3, 4], 1.0), (vec![1, 3], 0.0), (vec![4], 0.01), (vec![], 1.0)] {
            let mut sub = Vec::new();
            for i in 0..n {
                sub.extend(cols.iter().map(|&c| x[i * d + c]));
            }
            let a = weighted_ridge(&sub, n, cols.len(), &y, &w, alpha).unwrap();
            let b = m.fit(&cols, alpha).unwrap();
            assert!((a.intercept - b.intercept).abs() < 1e-10, "{cols:?}");
            assert!((a.r2 - b.r2).abs() < 1e-10, "{cols:?}: {} {}", a.r2, b.r2);
            for (p, q) in a.coef.iter().zip(&b.coef) {
                assert!((p - q).abs() < 1e-10, "{cols:?}");
            }
        }
        assert_eq!(m.samples(), 40);
        assert!(m.fit(&[5], 1.0).is_err());
    }
}
