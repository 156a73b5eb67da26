//! LayerNorm of the packed path, computed as PyTorch's CPU kernel computes it, so that the
//! packed forward reproduces PyTorch's floats bit for bit (which a dynamic-int8 model needs:
//! one ulp on the wrong side of an 8-bit rounding boundary changes every later layer's
//! quantised activations).
//!
//! PyTorch (`aten/src/ATen/native/cpu/moments_utils.h`, `RowwiseMoments`, and
//! `layer_norm_kernel.cpp`, float rows, the 8-lane AVX2 kernels its x86 wheels dispatch
//! LayerNorm to) takes the mean and biased variance of a row by Welford's algorithm, 8 lanes
//! side by side over chunks of 16 vectors, merges the chunks by a binary cascade and then
//! the 8 lanes one after the other, with fused multiply-adds where the compiler contracts
//! them; then `rstd = 1 / √(var + eps)` in f32 and `y = fma((x − mean) · rstd, γ, β)`.
//! Checked against torch 2.15's `native_layer_norm` on every LayerNorm input of the
//! MiniLM int8 fixture (mean, rstd and output bit for bit).

use super::kernels::with_avx2;
use super::weights::Norm;

/// Lanes of one vector.
const LANES: usize = 8;
/// Vectors per Welford chunk (`kChunkSize`).
const CHUNK: usize = 16;
/// Cascade depth this implementation holds (rows up to 8 · 16 · 2¹⁵ wide).
const MAX_DEPTH: usize = 16;

/// Count, mean and sum of squared deviations of 8 lanes.
#[derive(Clone, Copy, Default)]
struct Moments {
    count: i64,
    mean: [f32; LANES],
    m2: [f32; LANES],
}

impl Moments {
    /// Merges `other` into `self` (`AddMomentsVec`).
    #[inline(always)]
    fn add(&mut self, other: &Moments) {
        let n = self.count + other.count;
        let c = if n == 0 { 0.0 } else { other.count as f32 / n as f32 };
        let m0 = self.count as f32;
        for l in 0..LANES {
            let delta = other.mean[l] - self.mean[l];
            let m2 = self.m2[l] + other.m2[l];
            let c_delta = c * delta;
            let m0_delta = delta * m0;
            self.mean[l] += c_delta;
            self.m2[l] = m0_delta.mul_add(c_delta, m2);
        }
        self.count = n;
    }
}

/// `CeilLog2` of PyTorch's CPU utilities (1 for 0, 1 and 2).
fn ceil_log2(x: usize) -> usize {
    if x <= 2 { 1 } else { (usize::BITS - (x - 1).leading_zeros()) as usize }
}

/// Mean and biased variance of `x` (`RowwiseMoments`).
#[inline(always)]
fn moments(x: &[f32]) -> (f32, f32) {
    let n = x.len() / LANES;
    let chunks = n.div_ceil(CHUNK);
    let depth = ceil_log2(chunks);
    assert!(depth <= MAX_DEPTH, "layer_norm: a row of {} values is wider than supported", x.len());
    let mut stack = [Moments::default(); MAX_DEPTH];
    for i in 0..chunks {
        let vectors = CHUNK.min(n - i * CHUNK);
        let mut chunk = Moments { count: vectors as i64, ..Moments::default() };
        for j in 0..vectors {
            let c = 1.0 / (j + 1) as f32;
            let at = (i * CHUNK + j) * LANES;
            for (l, &v) in x[at..at + LANES].iter().enumerate() {
                let delta = v - chunk.mean[l];
                chunk.mean[l] = c.mul_add(delta, chunk.mean[l]);
                chunk.m2[l] = delta.mul_add(v - chunk.mean[l], chunk.m2[l]);
            }
        }
        stack[0].add(&chunk);
        let mut mask = i + 1;
        let mut j = 1;
        while j < depth && mask & 1 == 0 {
            let below = stack[j - 1];
            stack[j].add(&below);
            stack[j - 1] = Moments::default();
            mask >>= 1;
            j += 1;
        }
    }
    for i in 1..depth {
        let level = stack[i];
        stack[0].add(&level);
    }
    // The values beyond the last whole vector, one by one.
    let (mut count, mut mean, mut m2) = (0i64, 0.0f32, 0.0f32);
    for &v in &x[n * LANES..] {
        let delta = v - mean;
        count += 1;
        mean += delta / count as f32;
        m2 = delta.mul_add(v - mean, m2);
    }
    // Then the lanes, in order (`AddMoments`).
    let lanes = stack[0];
    for l in 0..LANES {
        let total = count + n as i64;
        let c = n as f32 / total as f32;
        let delta = lanes.mean[l] - mean;
        mean = c.mul_add(delta, mean);
        m2 += (delta * delta * c).mul_add(count as f32, lanes.m2[l]);
        count = total;
    }
    (mean, m2 / x.len() as f32)
}

#[inline(always)]
fn layer_norm_impl(x: &mut [f32], width: usize, norm: &Norm) {
    let eps = norm.eps as f32;
    for row in x.chunks_exact_mut(width) {
        let (mean, var) = moments(row);
        let rstd = 1.0 / (var + eps).sqrt();
        let shift = -mean;
        for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
            *v = ((*v + shift) * rstd).mul_add(*g, *b);
        }
    }
}

with_avx2!(
    /// LayerNorm of every row of `x` (`width` wide) in place: `(x − mean) / √(var + eps) · γ
    /// + β` with the biased variance, as `torch.nn.LayerNorm` computes it on the CPU (see
    /// the module documentation).
    layer_norm => layer_norm_impl(x: &mut [f32], width: usize, norm: &Norm)
);

#[cfg(test)]
mod tests {
    use super::*;

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
    fn moments_agree_with_f64_on_every_shape_of_the_cascade() {
        // Widths with a tail, one chunk, several chunks (cascade depths 1 to 3).
        for width in [5usize, 8, 13, 128, 384, 390, 768, 1031] {
            let x: Vec<f32> = (0..width).map(|i| ((i * 7919 % 1000) as f32 / 97.0).sin() * 3.0 + 0.5).collect();
            let mean64 = x.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
            let var64 = x.iter().map(|&v| (f64::from(v) - mean64).powi(2)).sum::<f64>() / width as f64;
            let (mean, var) = moments(&x);
            assert!((f64::from(mean) - mean64).abs() < 1e-6, "width {width}: mean {mean} vs {mean64}");
            assert!((f64::from(var) - var64).abs() < 1e-5 * var64, "width {width}: var {var} vs {var64}");
        }
    }

    #[test]
    fn ceil_log2_is_pytorchs() {
        assert_eq!([0, 1, 2, 3, 4, 5, 8, 9].map(ceil_log2), [1, 1, 1, 2, 2, 3, 3, 4]);
    }
}
