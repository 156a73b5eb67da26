//! The single-threaded f32 kernels of the packed inference path: the matrix product of a
//! Linear layer (gemm's microkernels, bias folded in), LayerNorm, GELU, tanh, ReLU and
//! multi-head attention over sequences laid end to end (no padding, so no mask).
//!
//! Every kernel runs on one thread: the caller runs independent batches on the rayon pool,
//! which on two cores beats splitting each small product between threads.

use super::weights::{Linear, Norm};

/// `out[rows, outputs] = x[rows, inputs] · W + b` for a [`Linear`] stored `[inputs, outputs]`
/// row-major. `out` is resized to fit.
#[allow(unsafe_code)] // gemm's only entry point is unsafe; the sizes are checked first.
pub fn linear(x: &[f32], rows: usize, layer: &Linear, out: &mut Vec<f32>) {
    let (k, n) = (layer.inputs, layer.outputs);
    assert_eq!(x.len(), rows * k, "linear: input is not [{rows}, {k}]");
    assert_eq!(layer.weight.len(), k * n, "linear: weight is not [{k}, {n}]");
    out.clear();
    out.reserve(rows * n);
    for _ in 0..rows {
        out.extend_from_slice(&layer.bias);
    }
    if rows == 0 {
        return;
    }
    // SAFETY: `x` is `rows × k`, `layer.weight` is `k × n` and `out` is `rows × n`, all
    // row-major and contiguous (checked above and by `Linear::new`); the three do not
    // overlap. gemm computes out := 1·out + 1·(x · W).
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            layer.weight.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// LayerNorm of every row of `x` (`width` wide) in place: `(x − mean) / √(var + eps) · γ + β`
/// with the biased variance, as `torch.nn.LayerNorm`. Sums are taken in f64.
pub fn layer_norm(x: &mut [f32], width: usize, norm: &Norm) {
    for row in x.chunks_exact_mut(width) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
        let inv = 1.0 / (var + norm.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
            *v = ((f64::from(*v) - mean) * inv) as f32 * g + b;
        }
    }
}

/// `a += b`, element by element.
pub fn add_assign(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// erf by Abramowitz & Stegun 7.1.26 in f32 (|error| below 2e-7).
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_72, 1.421_413_8, -1.453_152, 1.061_405_4];
    let s = x.abs();
    let t = 1.0 / (1.0 + P * s);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    (1.0 - poly * (-s * s).exp()).copysign(x)
}

/// Exact (erf) GELU in place: `0.5 x (1 + erf(x / √2))`.
pub fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// tanh in place.
pub fn tanh(x: &mut [f32]) {
    for v in x {
        *v = v.tanh();
    }
}

/// ReLU in place.
pub fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// Dot product with eight accumulators, so the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Number of heads.
    pub count: usize,
    /// Width of one head.
    pub dim: usize,
}

/// Scaled dot-product attention of every sequence, head by head. `qkv` holds one row per
/// token of `[q | k | v]` (each `count·dim` wide); `sequences` are `(first row, length)`
/// and must not overlap. Writes the per-head contexts, concatenated, into `ctx` (one
/// `count·dim` row per token). `scores` is scratch space.
pub fn attention(qkv: &[f32], sequences: &[(usize, usize)], heads: Heads, ctx: &mut [f32], scores: &mut Vec<f32>) {
    let width = heads.count * heads.dim;
    let stride = 3 * width;
    let scale = 1.0 / (heads.dim as f32).sqrt();
    for &(start, len) in sequences {
        scores.resize(len, 0.0);
        for head in 0..heads.count {
            let col = head * heads.dim;
            let slice = |row: usize, part: usize| {
                let at = (start + row) * stride + part * width + col;
                &qkv[at..at + heads.dim]
            };
            for i in 0..len {
                let q = slice(i, 0);
                let mut max = f32::NEG_INFINITY;
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = dot(q, slice(j, 1)) * scale;
                    max = max.max(*s);
                }
                let mut sum = 0.0;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let at = (start + i) * width + col;
                let out = &mut ctx[at..at + heads.dim];
                out.fill(0.0);
                for (j, &p) in scores.iter().enumerate() {
                    let p = p / sum;
                    for (o, v) in out.iter_mut().zip(slice(j, 2)) {
                        *o += p * v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fused::gelu_exact;

    #[test]
    fn linear_is_x_times_w_plus_b() {
        // x [2, 3], W [3, 2].
        let layer = Linear::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0.5, -1.0], 3, 2).unwrap();
        let mut out = Vec::new();
        linear(&[1.0, 0.0, -1.0, 2.0, 1.0, 0.0], 2, &layer, &mut out);
        assert_eq!(out, vec![1.0 - 5.0 + 0.5, 2.0 - 6.0 - 1.0, 2.0 + 3.0 + 0.5, 4.0 + 4.0 - 1.0]);
    }

    #[test]
    fn f32_gelu_matches_the_f64_one() {
        let mut xs: Vec<f32> = (-800..800).map(|i| i as f32 * 0.0125).collect();
        let want: Vec<f32> = xs.iter().map(|&x| gelu_exact(x)).collect();
        gelu(&mut xs);
        for (g, w) in xs.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let norm = Norm { gamma: vec![1.0, 2.0, 1.0, 1.0], beta: vec![0.0, 0.0, 1.0, 0.0], eps: 0.0 };
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, 4, &norm);
        let s = (1.25f32).sqrt();
        let want = [-1.5 / s, 2.0 * -0.5 / s, 0.5 / s + 1.0, 1.5 / s];
        for (g, w) in x.iter().zip(want) {
            assert!((g - w).abs() < 1e-6);
        }
    }

    #[test]
    fn attention_of_one_token_is_its_value() {
        // One sequence of one token, 2 heads of width 2: softmax over one score is 1.
        let qkv = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut ctx = vec![0.0; 4];
        attention(&qkv, &[(0, 1)], Heads { count: 2, dim: 2 }, &mut ctx, &mut Vec::new());
        assert_eq!(ctx, vec![9.0, 10.0, 11.0, 12.0]);
    }

    #[test]
    fn attention_weighs_values_by_softmax_of_scaled_scores() {
        // One head of width 1, two tokens: q = (1, 0), k = (0, 2), v = (3, 5).
        let qkv = vec![1.0, 0.0, 3.0, 0.0, 2.0, 5.0];
        let mut ctx = vec![0.0; 2];
        attention(&qkv, &[(0, 2)], Heads { count: 1, dim: 1 }, &mut ctx, &mut Vec::new());
        // Token 0: scores (0, 2) → p = (1, e²)/(1 + e²); token 1: scores (0, 0) → (½, ½).
        let e2 = 2f32.exp();
        assert!((ctx[0] - (3.0 + 5.0 * e2) / (1.0 + e2)).abs() < 1e-6);
        assert!((ctx[1] - 4.0).abs() < 1e-6);
    }
}
