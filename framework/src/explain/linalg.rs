//! Small dense linear algebra for the surrogate models of lime and kernel SHAP.
//!
//! Matrices are row-major `Vec<f64>`. Systems are at most a few hundred unknowns (one per
//! word), so a Cholesky factorisation with a Gaussian-elimination fallback is plenty.

use anyhow::{Result, bail};

/// Solves `a x = b` for a symmetric positive (semi-)definite `n × n` matrix `a`: Cholesky
/// first, Gaussian elimination with partial pivoting when Cholesky fails. A singular
/// system is an error.
pub fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Result<Vec<f64>> {
    if let Some(x) = cholesky_solve(a, b, n) {
        return Ok(x);
    }
    gauss_solve(a, b, n)
}

fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    let scale = (0..n).map(|i| a[i * n + i].abs()).fold(0.0, f64::max).max(1e-300);
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s <= 1e-13 * scale {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(x)
}

/// Gaussian elimination with partial pivoting.
pub fn gauss_solve(a: &[f64], b: &[f64], n: usize) -> Result<Vec<f64>> {
    let mut m = a.to_vec();
    let mut x = b.to_vec();
    let scale = m.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1e-300);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs())).unwrap_or(col);
        if m[pivot * n + col].abs() <= 1e-12 * scale {
            bail!("singular system: unknown {col} is not determined by the samples");
        }
        if pivot != col {
            for k in 0..n {
                m.swap(pivot * n + k, col * n + k);
            }
            x.swap(pivot, col);
        }
        for row in col + 1..n {
            let f = m[row * n + col] / m[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    m[row * n + k] -= f * m[col * n + k];
                }
                x[row] -= f * x[col];
            }
        }
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i * n + k] * x[k]).sum();
        x[i] = (x[i] - s) / m[i * n + i];
    }
    Ok(x)
}

/// A weighted ridge fit with an unpenalised intercept.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeFit {
    /// One coefficient per column.
    pub coef: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Weighted R² of the fit on its own samples (sklearn's `score` with `sample_weight`).
    pub r2: f64,
}

/// Weighted ridge regression with intercept, as sklearn's `Ridge(alpha, fit_intercept=True)`
/// with `sample_weight`: minimise Σ_i w_i (y_i − b − x_i·β)² + α‖β‖². The columns of `x`
/// (row-major, `rows × cols`) and `y` are centred on their weighted means, β solves
/// (Xcᵀ W Xc + α I) β = Xcᵀ W yc, and b = ȳ − x̄·β. With α = 0 this is weighted least squares.
pub fn weighted_ridge(x: &[f64], rows: usize, cols: usize, y: &[f64], w: &[f64], alpha: f64) -> Result<RidgeFit> {
    if x.len() != rows * cols || y.len() != rows || w.len() != rows {
        bail!("ridge: {rows} rows × {cols} columns do not match the data");
    }
    let sw: f64 = w.iter().sum();
    if sw <= 0.0 || !sw.is_finite() {
        bail!("ridge: the sample weights sum to {sw}");
    }
    let xm: Vec<f64> = (0..cols).map(|j| (0..rows).map(|i| w[i] * x[i * cols + j]).sum::<f64>() / sw).collect();
    let ym: f64 = (0..rows).map(|i| w[i] * y[i]).sum::<f64>() / sw;
    let mut a = vec![0.0; cols * cols];
    let mut b = vec![0.0; cols];
    let mut xc = vec![0.0; cols];
    for i in 0..rows {
        for j in 0..cols {
            xc[j] = x[i * cols + j] - xm[j];
        }
        let yc = y[i] - ym;
        for j in 0..cols {
            let wx = w[i] * xc[j];
            if wx == 0.0 {
                continue;
            }
            b[j] += wx * yc;
            for k in j..cols {
                a[j * cols + k] += wx * xc[k];
            }
        }
    }
    for j in 0..cols {
        a[j * cols + j] += alpha;
        for k in 0..j {
            a[j * cols + k] = a[k * cols + j];
        }
    }
    let coef = if cols == 0 { Vec::new() } else { solve_spd(&a, &b, cols)? };
    let intercept = ym - xm.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>();
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for i in 0..rows {
        let pred = intercept + (0..cols).map(|j| x[i * cols + j] * coef[j]).sum::<f64>();
        ss_res += w[i] * (y[i] - pred).powi(2);
        ss_tot += w[i] * (y[i] - ym).powi(2);
    }
    Ok(RidgeFit { coef, intercept, r2: weighted_r2(ss_res, ss_tot, 0.0) })
}

/// sklearn's weighted R² from the residual and total sums of squares: 1 − SS_res / SS_tot;
/// when the target does not vary (SS_tot ≤ `tiny`), 1 for an exact fit (SS_res ≤ `tiny`),
/// else 0. `tiny` absorbs rounding where the sums come from running totals.
pub fn weighted_r2(ss_res: f64, ss_tot: f64, tiny: f64) -> f64 {
    if ss_tot > tiny {
        1.0 - ss_res / ss_tot
    } else if ss_res <= tiny {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        let x = gauss_solve(&[0.0, 1.0, 1.0, 0.0], &[3.0, 4.0], 2).unwrap();
        assert_eq!(x, [4.0, 3.0]);
        assert!(gauss_solve(&[1.0, 1.0, 1.0, 1.0], &[1.0, 2.0], 2).is_err());
    }

    #[test]
    fn ridge_matches_hand_computation() {
        // y = 1 + 2x exactly; α = 0 recovers it, weights irrelevant.
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        let f = weighted_ridge(&x, 4, 1, &y, &[1.0, 2.0, 3.0, 4.0], 0.0).unwrap();
        assert!((f.coef[0] - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12 && (f.r2 - 1.0).abs() < 1e-12);
        // Unit weights, α = 1: x̄ = 1.5, Sxx = 5, Sxy = 10 → β = 10 / 6, b = 4 − 1.5 β = 1.5.
        let f = weighted_ridge(&x, 4, 1, &y, &[1.0; 4], 1.0).unwrap();
        assert!((f.coef[0] - 10.0 / 6.0).abs() < 1e-12);
        assert!((f.intercept - 1.5).abs() < 1e-12);
        // Weights 2 = duplicating rows.
        let f2 = weighted_ridge(&x, 4, 1, &y, &[2.0; 4], 2.0).unwrap();
        assert!((f2.coef[0] - 10.0 / 6.0).abs() < 1e-12);
        assert!(weighted_ridge(&x, 4, 1, &y, &[0.0; 4], 1.0).is_err());
    }
}
