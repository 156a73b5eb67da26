//! LayerNorm forward keeping what its backward pass needs, and that backward pass.
//!
//! Forward, per row: `x̂ = (x − mean) · rstd` with `rstd = 1/√(var + ε)` (biased variance,
//! sums in f64 as the packed inference kernel takes them), `y = x̂ · γ + β`. Backward, with
//! `g = dy · γ`: `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))`, `dγ += Σ_rows dy · x̂`,
//! `dβ += Σ_rows dy`. Rows run in parallel; the sums over rows (dγ, dβ) run on one thread
//! in row order, so the result does not depend on the number of threads.

use rayon::prelude::*;

/// Rows per parallel task.
const ROWS: usize = 32;

/// Normalises every `width`-wide row of `x` into `y`, keeping `x̂` and `rstd` per row.
pub fn forward(
    x: &[f32],
    width: usize,
    (gamma, beta): (&[f32], &[f32]),
    eps: f64,
    y: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
) {
    y.par_chunks_mut(ROWS * width)
        .zip(xhat.par_chunks_mut(ROWS * width))
        .zip(rstd.par_chunks_mut(ROWS))
        .zip(x.par_chunks(ROWS * width))
        .for_each(|(((y, xhat), rstd), x)| {
            for (((y, xh), r), x) in y
                .chunks_exact_mut(width)
                .zip(xhat.chunks_exact_mut(width))
                .zip(rstd.iter_mut())
                .zip(x.chunks_exact(width))
            {
                let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
                let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
                let inv = 1.0 / (var + eps).sqrt();
                *r = inv as f32;
                for ((((y, xh), &v), &g), &b) in y.iter_mut().zip(xh.iter_mut()).zip(x).zip(gamma).zip(beta) {
                    let n = ((f64::from(v) - mean) * inv) as f32;
                    *xh = n;
                    *y = n * g + b;
                }
            }
        });
}

/// Backward of [`forward`]: writes `dx` from `dy` and adds to `dgamma`, `dbeta`.
pub fn backward(
    dy: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    gamma: &[f32],
    width: usize,
    dx: &mut [f32],
    (dgamma, dbeta): (&mut [f32], &mut [f32]),
) {
    for (dy, xh) in dy.chunks_exact(width).zip(xhat.chunks_exact(width)) {
        for (((dg, db), &d), &n) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(dy).zip(xh) {
            *dg += d * n;
            *db += d;
        }
    }
    dx.par_chunks_mut(ROWS * width)
        .zip(dy.par_chunks(ROWS * width))
        .zip(xhat.par_chunks(ROWS * width))
        .zip(rstd.par_chunks(ROWS))
        .for_each(|(((dx, dy), xhat), rstd)| {
            for (((dx, dy), xh), &r) in
                dx.chunks_exact_mut(width).zip(dy.chunks_exact(width)).zip(xhat.chunks_exact(width)).zip(rstd)
            {
                let (mut sum_g, mut sum_gx) = (0.0f32, 0.0f32);
                for ((&d, &n), &g) in dy.iter().zip(xh).zip(gamma) {
                    let gd = d * g;
                    sum_g += gd;
                    sum_gx += gd * n;
                }
                let (mean_g, mean_gx) = (sum_g / width as f32, sum_gx / width as f32);
                for (((dx, &d), &n), &g) in dx.iter_mut().zip(dy).zip(xh).zip(gamma) {
                    *dx = r * (d * g - mean_g - n * mean_gx);
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(x: &[f32], gamma: &[f32], beta: &[f32], w: &[f32]) -> f64 {
        let mut y = vec![0.0; x.len()];
        let (mut xh, mut r) = (vec![0.0; x.len()], vec![0.0; x.len() / gamma.len()]);
        forward(x, gamma.len(), (gamma, beta), 1e-5, &mut y, &mut xh, &mut r);
        y.iter().zip(w).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    }

    #[test]
    fn backward_matches_finite_differences() {
        let width = 6;
        let x: Vec<f32> = (0..3 * width).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.2).collect();
        let gamma: Vec<f32> = (0..width).map(|i| 0.5 + i as f32 * 0.2).collect();
        let beta: Vec<f32> = (0..width).map(|i| i as f32 * 0.1).collect();
        let w: Vec<f32> = (0..x.len()).map(|i| ((i * 5) % 7) as f32 * 0.25 - 0.7).collect();
        let (mut y, mut xh, mut r) = (vec![0.0; x.len()], vec![0.0; x.len()], vec![0.0; 3]);
        forward(&x, width, (&gamma, &beta), 1e-5, &mut y, &mut xh, &mut r);
        let mut dx = vec![0.0; x.len()];
        let (mut dg, mut db) = (vec![0.0; width], vec![0.0; width]);
        backward(&w, &xh, &r, &gamma, width, &mut dx, (&mut dg, &mut db));
        let step = 1e-2f32;
        for i in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += step;
            down[i] -= step;
            let numeric = (loss(&up, &gamma, &beta, &w) - loss(&down, &gamma, &beta, &w)) / (2.0 * f64::from(step));
            assert!((numeric - f64::from(dx[i])).abs() < 2e-3, "dx[{i}] {} vs {numeric}", dx[i]);
        }
        for j in 0..width {
            let (mut up, mut down) = (gamma.clone(), gamma.clone());
            up[j] += step;
            down[j] -= step;
            let numeric = (loss(&x, &up, &beta, &w) - loss(&x, &down, &beta, &w)) / (2.0 * f64::from(step));
            assert!((numeric - f64::from(dg[j])).abs() < 2e-3, "dgamma[{j}] {} vs {numeric}", dg[j]);
            let want_db: f32 = (0..3).map(|r| w[r * width + j]).sum();
            assert!((db[j] - want_db).abs() < 1e-5);
        }
    }
}
