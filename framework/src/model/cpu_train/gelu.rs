//! Exact (erf) GELU for training: the forward pass keeps its input, the backward pass
//! multiplies by `gelu'(u) = Φ(u) + u·φ(u)` (Φ, φ the standard normal's distribution and
//! density). The forward values are the packed inference kernel's; Φ uses the same erf.

use rayon::prelude::*;

use crate::model::packed::gelu::gelu as gelu_in_place;
use crate::model::packed::kernels::{erf, exp};

/// Values per parallel task.
const BLOCK: usize = 4096;

/// `g = gelu(u)`, element by element.
pub fn forward(u: &[f32], g: &mut [f32]) {
    g.par_chunks_mut(BLOCK).zip(u.par_chunks(BLOCK)).for_each(|(g, u)| {
        g.copy_from_slice(u);
        gelu_in_place(g);
    });
}

/// `du = dg · gelu'(u)`, written over `dg`.
pub fn backward(u: &[f32], dg: &mut [f32]) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    dg.par_chunks_mut(BLOCK).zip(u.par_chunks(BLOCK)).for_each(|(dg, u)| {
        for (d, &x) in dg.iter_mut().zip(u) {
            let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = INV_SQRT_2PI * exp(-0.5 * x * x);
            *d *= cdf + x * pdf;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fused::gelu_exact;

    #[test]
    fn derivative_matches_finite_differences() {
        let u: Vec<f32> = (-60..60).map(|i| i as f32 * 0.1).collect();
        let mut d = vec![1.0; u.len()];
        backward(&u, &mut d);
        for (&x, &got) in u.iter().zip(&d) {
            let h = 1e-3;
            let numeric = (f64::from(gelu_exact(x + h)) - f64::from(gelu_exact(x - h))) / (2.0 * f64::from(h));
            assert!((f64::from(got) - numeric).abs() < 2e-3, "gelu'({x}) = {got}, not {numeric}");
        }
        let mut g = vec![0.0; u.len()];
        forward(&u, &mut g);
        assert!((g[70] - gelu_exact(u[70])).abs() < 1e-6);
    }
}
