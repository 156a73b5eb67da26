//! Multi-head attention of the packed path over sequences laid end to end (no padding, so
//! no mask), computed as PyTorch's CPU flash-attention kernel computes it
//! (`scaled_dot_product_attention`, which transformers' BERT uses by default), so that the
//! packed forward reproduces PyTorch's floats bit for bit — which a dynamic-int8 model
//! needs: one ulp on the wrong side of an 8-bit rounding boundary changes every later
//! layer's quantised activations.
//!
//! For one query row and one head (`len` keys, width `dim`), as that kernel does for
//! sequences of up to 512 tokens (one key block):
//! - `s_j = (Σ_d q_d · k_jd) · scale`: the dot product as sequential fused multiply-adds
//!   over `d` (the order of the BLAS product it calls), then one rounding by `scale =
//!   1/√dim` (f32).
//! - `e_j = exp(s_j − max s)`: for the first `16·⌊len/16⌋` keys by PyTorch's `exp_u20`
//!   ([`exp_u20`]: a degree-5 polynomial, about 20 ulp), for the rest by the C library's
//!   `expf`; their sum accumulates in 16 lanes, which are added pairwise (8, 4, 2, 1 apart),
//!   then the remaining terms one by one.
//! - `out = (Σ_j e_j · v_j) · (1 / Σ e)`: the unnormalised weights times the values as
//!   sequential fused multiply-adds over `j`, then one multiplication by the reciprocal.
//!
//! Checked against torch 2.15's SDPA on every attention call of the MiniLM int8 fixture
//! (bit for bit).

use super::kernels::with_avx2;

/// Lanes of the kernel's exponential and sum (one AVX-512 vector).
const LANES: usize = 16;

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Number of heads.
    pub count: usize,
    /// Width of one head.
    pub dim: usize,
}

/// Which queries [`attention`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queries {
    /// Every token's: one context row per token.
    All,
    /// The first token's (`[CLS]`) of each sequence only: one context row per sequence.
    First,
}

/// PyTorch's `Vectorized<float>::exp_u20` for one lane: `x` clamped to
/// [ln FLT_MIN, ln FLT_MAX], `n = ⌊x·log₂e + ½⌋`, `r = x − n·ln 2` (fused), a degree-5
/// polynomial in `r` with PyTorch's coefficients by Horner's rule in fused multiply-adds,
/// times `2^(n−1)` and 2 (0 below ln FLT_MIN, and where `2^(n−1)` underflows, from about
/// −86.6).
#[inline(always)]
pub(crate) fn exp_u20(x: f32) -> f32 {
    const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b);
    const LN2: f32 = f32::from_bits(0x3f31_7218);
    const LN_FLT_MIN: f32 = f32::from_bits(0xc2ae_ac50);
    const LN_FLT_MAX: f32 = f32::from_bits(0x42b1_7218);
    const C: [f32; 5] = [0.999_999_7, 0.499_991_5, 0.166_676_52, 0.041_897_822, 0.008_289_291];
    let below = x < LN_FLT_MIN;
    let s = x.clamp(LN_FLT_MIN, LN_FLT_MAX);
    let fx = s.mul_add(LOG2E, 0.5).floor();
    let r = (-fx).mul_add(LN2, s);
    let mut p = r.mul_add(C[4], C[3]);
    p = r.mul_add(p, C[2]);
    p = r.mul_add(p, C[1]);
    p = r.mul_add(p, C[0]);
    p = r.mul_add(p, 1.0);
    // fx is an integer in −126..=128 here, so the exponent bits stay in range.
    let bits = ((fx - 1.0) as i32).wrapping_add(127).max(0) as u32;
    let two_n = if below { 0.0 } else { f32::from_bits(bits.wrapping_shl(23)) };
    p * two_n * 2.0
}

/// Softmax weights `exp(s − max)` of one row in place, and their sum (see the module
/// documentation).
#[inline(always)]
fn exp_and_sum(scores: &mut [f32]) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let whole = scores.len() / LANES * LANES;
    let (head, tail) = scores.split_at_mut(whole);
    let mut lanes = [0.0f32; LANES];
    for block in head.chunks_exact_mut(LANES) {
        for (lane, s) in lanes.iter_mut().zip(block.iter_mut()) {
            *s = exp_u20(*s - max);
            *lane += *s;
        }
    }
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
        width /= 2;
    }
    let mut sum = lanes[0];
    for s in tail {
        *s = (*s - max).exp();
        sum += *s;
    }
    sum
}

#[inline(always)]
fn attention_impl(
    qkv: &[f32],
    sequences: &[(usize, usize)],
    heads: Heads,
    queries: Queries,
    ctx: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let width = heads.count * heads.dim;
    let stride = 3 * width;
    let scale = (1.0 / (heads.dim as f64).sqrt()) as f32;
    let dim = heads.dim;
    for (s, &(start, len)) in sequences.iter().enumerate() {
        // Scratch: the scores of one query, then one head's keys transposed (`dim × len`),
        // so that both inner loops run over contiguous memory and vectorise.
        scratch.resize(len + dim * len, 0.0);
        let (scores, keys) = scratch.split_at_mut(len);
        let (query_rows, out_row) = match queries {
            Queries::All => (len, start),
            Queries::First => (len.min(1), s),
        };
        let block = &qkv[start * stride..(start + len) * stride];
        for head in 0..heads.count {
            let (q_at, k_at, v_at) = (head * dim, width + head * dim, 2 * width + head * dim);
            for (j, row) in block.chunks_exact(stride).enumerate() {
                for (d, &k) in row[k_at..k_at + dim].iter().enumerate() {
                    keys[d * len + j] = k;
                }
            }
            for (i, query_row) in block.chunks_exact(stride).take(query_rows).enumerate() {
                scores.fill(0.0);
                for (&q, key) in query_row[q_at..q_at + dim].iter().zip(keys.chunks_exact(len)) {
                    for (s, &k) in scores.iter_mut().zip(key) {
                        *s = q.mul_add(k, *s);
                    }
                }
                for s in scores.iter_mut() {
                    *s *= scale;
                }
                let inv = 1.0 / exp_and_sum(scores);
                let at = (out_row + i) * width + head * dim;
                let out = &mut ctx[at..at + dim];
                out.fill(0.0);
                for (&p, row) in scores.iter().zip(block.chunks_exact(stride)) {
                    for (o, &v) in out.iter_mut().zip(&row[v_at..v_at + dim]) {
                        *o = p.mul_add(v, *o);
                    }
                }
                for o in out.iter_mut() {
                    *o *= inv;
                }
            }
        }
    }
}

with_avx2!(
    /// Scaled dot-product attention of every sequence, head by head (see the module
    /// documentation). `qkv` holds one row per token of `[q | k | v]` (each `count·dim`
    /// wide; with [`Queries::First`] only the first token's `q` is read); `sequences` are
    /// `(first row, length)` and must not overlap. Writes the per-head contexts,
    /// concatenated, into `ctx` (one `count·dim` row per token, or per sequence with
    /// [`Queries::First`]). `scratch` is reused between calls.
    attention => attention_impl(
        qkv: &[f32],
        sequences: &[(usize, usize)],
        heads: Heads,
        queries: Queries,
        ctx: &mut [f32],
        scratch: &mut Vec<f32>
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_u20_is_within_20_ulp_and_zero_below_the_range() {
        // Below about −86.6 its 2^(n−1) underflows to 0 (as PyTorch's does): softmax weights
        // that small vanish either way.
        for i in -8600..=0 {
            let x = i as f32 * 0.01;
            let (got, want) = (exp_u20(x), (f64::from(x)).exp());
            assert!(((f64::from(got) - want) / want).abs() < 20.0 * f64::from(f32::EPSILON), "exp_u20({x}) = {got}");
        }
        assert_eq!((exp_u20(-87.0), exp_u20(-100.0)), (0.0, 0.0));
    }

    #[test]
    fn softmax_sum_uses_lanes_then_the_tail() {
        // 35 scores: 32 through exp_u20 in two 16-lane blocks, 3 through expf.
        let mut s: Vec<f32> = (0..35).map(|i| (i as f32 * 0.37).sin()).collect();
        let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let want: f64 = s.iter().map(|&v| f64::from(v - max).exp()).sum();
        let sum = exp_and_sum(&mut s);
        assert!((f64::from(sum) - want).abs() < 1e-5 * want);
        assert_eq!(s[34], (((34.0f32 * 0.37).sin()) - max).exp());
        assert_eq!(s[3], exp_u20((3.0f32 * 0.37).sin() - max));
    }

    #[test]
    fn attention_of_one_token_is_its_value() {
        // One sequence of one token, 2 heads of width 2: softmax over one score is 1.
        let qkv = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut ctx = vec![0.0; 4];
        attention(&qkv, &[(0, 1)], Heads { count: 2, dim: 2 }, Queries::All, &mut ctx, &mut Vec::new());
        assert_eq!(ctx, vec![9.0, 10.0, 11.0, 12.0]);
    }

    #[test]
    fn attention_weighs_values_by_softmax_of_scaled_scores() {
        // One head of width 1, two tokens: q = (1, 0), k = (0, 2), v = (3, 5).
        let qkv = vec![1.0, 0.0, 3.0, 0.0, 2.0, 5.0];
        let mut ctx = vec![0.0; 2];
        attention(&qkv, &[(0, 2)], Heads { count: 1, dim: 1 }, Queries::All, &mut ctx, &mut Vec::new());
        // Token 0: scores (0, 2) → p = (1, e²)/(1 + e²); token 1: scores (0, 0) → (½, ½).
        let e2 = 2f32.exp();
        let first = (3.0 + 5.0 * e2) / (1.0 + e2);
        assert!((ctx[0] - first).abs() < 1e-6);
        assert!((ctx[1] - 4.0).abs() < 1e-6);
        // Only the first token's query: one row per sequence (two sequences here).
        let two = [&qkv[..], &qkv[..]].concat();
        let mut cls = vec![0.0; 2];
        attention(&two, &[(0, 2), (2, 2)], Heads { count: 1, dim: 1 }, Queries::First, &mut cls, &mut Vec::new());
        assert!((cls[0] - first).abs() < 1e-6 && (cls[1] - first).abs() < 1e-6, "{cls:?}");
    }
}
