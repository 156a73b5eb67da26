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
//!
//! Two copies compute this: [`attention_portable`], one query at a time (the reference),
//! and, with AVX-512 and head widths of 16·k, a copy that computes blocks of up to 8
//! queries with their scores and outputs in registers — the same operations in the same
//! order for every value (only several values at once), so the same bits; a test compares
//! the two bit for bit. In a profile of `trustx bench --only "MiniLM-L6-v2, packed
//! dynamic"` (12 heads of 32, 64 tokens) it took attention from 13 % to 3 % of the samples
//! (benches/README.md).

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

impl Heads {
    /// Width of all heads (of `q`, `k`, `v` and the context rows).
    fn width(self) -> usize {
        self.count * self.dim
    }

    /// The scores' scale, `1/√dim` (rounded from f64, as PyTorch's SDPA).
    fn scale(self) -> f32 {
        (1.0 / (self.dim as f64).sqrt()) as f32
    }

    /// Where head `head`'s query, key and value start in a `[q | k | v]` row.
    fn offsets(self, head: usize) -> (usize, usize, usize) {
        let width = self.width();
        (head * self.dim, width + head * self.dim, 2 * width + head * self.dim)
    }
}

/// Which queries [`attention`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queries {
    /// Every token's: one context row per token.
    All,
    /// The first token's (`[CLS]`) of each sequence only: one context row per sequence.
    First,
}

impl Queries {
    /// For sequence number `s` (`len` tokens from row `start`): how many query rows are
    /// computed, and the context row the first goes to.
    fn rows(self, s: usize, start: usize, len: usize) -> (usize, usize) {
        match self {
            Queries::All => (len, start),
            Queries::First => (len.min(1), s),
        }
    }
}

/// `log₂ e` as PyTorch's `exp_u20` rounds it.
const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b);
/// `ln 2` as PyTorch's `exp_u20` rounds it.
const LN2: f32 = f32::from_bits(0x3f31_7218);
/// `ln FLT_MIN`: `exp_u20`'s lower clamp (0 below it).
const LN_FLT_MIN: f32 = f32::from_bits(0xc2ae_ac50);
/// `ln FLT_MAX`: `exp_u20`'s upper clamp.
const LN_FLT_MAX: f32 = f32::from_bits(0x42b1_7218);
/// `exp_u20`'s polynomial coefficients, degree 1 to 5 (degree 0 is 1).
const EXP_C: [f32; 5] = [0.999_999_7, 0.499_991_5, 0.166_676_52, 0.041_897_822, 0.008_289_291];

/// PyTorch's `Vectorized<float>::exp_u20` for one lane: `x` clamped to
/// [ln FLT_MIN, ln FLT_MAX], `n = ⌊x·log₂e + ½⌋`, `r = x − n·ln 2` (fused), a degree-5
/// polynomial in `r` with PyTorch's coefficients by Horner's rule in fused multiply-adds,
/// times `2^(n−1)` and 2 (0 below ln FLT_MIN, and where `2^(n−1)` underflows, from about
/// −86.6).
#[inline(always)]
pub(crate) fn exp_u20(x: f32) -> f32 {
    const C: [f32; 5] = EXP_C;
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
    let (width, scale, dim) = (heads.width(), heads.scale(), heads.dim);
    let stride = 3 * width;
    for (s, &(start, len)) in sequences.iter().enumerate() {
        // Scratch: the scores of one query, then one head's keys transposed (`dim × len`),
        // so that both inner loops run over contiguous memory and vectorise.
        scratch.resize(len + dim * len, 0.0);
        let (scores, keys) = scratch.split_at_mut(len);
        let (query_rows, out_row) = queries.rows(s, start, len);
        let block = &qkv[start * stride..(start + len) * stride];
        for head in 0..heads.count {
            let (q_at, k_at, v_at) = heads.offsets(head);
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
    /// [`attention`] without AVX-512 (and for widths that are not a multiple of 16): one
    /// query at a time, vectorised by the compiler where AVX2 is. The reference the
    /// AVX-512 copy is tested against.
    attention_portable => attention_impl(
        qkv: &[f32],
        sequences: &[(usize, usize)],
        heads: Heads,
        queries: Queries,
        ctx: &mut [f32],
        scratch: &mut Vec<f32>
    )
);

/// Scaled dot-product attention of every sequence, head by head (see the module
/// documentation). `qkv` holds one row per token of `[q | k | v]` (each `count·dim`
/// wide; with [`Queries::First`] only the first token's `q` is read); `sequences` are
/// `(first row, length)` and must not overlap. Writes the per-head contexts,
/// concatenated, into `ctx` (one `count·dim` row per token, or per sequence with
/// [`Queries::First`]). `scratch` is reused between calls.
///
/// With AVX-512 and a head width that is a multiple of 16, blocks of up to 8 queries at a
/// time with their scores and outputs in registers; elsewhere
/// [`attention_portable`]. Both give the same bits.
#[allow(unsafe_code)] // the AVX-512 copy needs it; the feature is checked first.
pub fn attention(
    qkv: &[f32],
    sequences: &[(usize, usize)],
    heads: Heads,
    queries: Queries,
    ctx: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if heads.dim > 0 && heads.dim.is_multiple_of(LANES) && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { avx512::attention(qkv, sequences, heads, queries, ctx, scratch) };
        return;
    }
    attention_portable(qkv, sequences, heads, queries, ctx, scratch);
}

/// [`attention`] in AVX-512, with the same operations in the same order for every output
/// (so the same bits as [`attention_portable`]), only several at once:
/// - scores: a tile of up to 8 queries × 32 keys in registers; for each `d` in order, each
///   query's `q_d` broadcast and multiplied-added to the transposed keys' row `d` (16 keys
///   per register), so each score is still the sequential fused chain over `d`;
/// - weights: [`exp_u20`] on 16 lanes, the lanes' sums as in [`exp_and_sum`] (pairwise in
///   the register), the tail by `expf` one by one;
/// - outputs: up to 8 queries × 32 columns in registers; for each key `j` in order, the
///   value row loaded once and each query's weight broadcast, so each output is still the
///   sequential fused chain over `j`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use super::{EXP_C, Heads, LANES, LN_FLT_MAX, LN_FLT_MIN, LN2, LOG2E, Queries};
    use std::arch::x86_64::*;

    /// Queries per block (the rest in blocks of 4, 2, 1).
    const BLOCK: usize = 8;

    /// [`super::exp_u20`] on 16 lanes: the same operations (`roundscale` toward −∞ is
    /// `floor`; `fnmadd(fx, ln 2, s)` is `(−fx)·ln 2 + s`, exactly).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn exp_u20_x16(x: __m512) -> __m512 {
        let (lo, hi) = (_mm512_set1_ps(LN_FLT_MIN), _mm512_set1_ps(LN_FLT_MAX));
        let below = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, lo);
        let s = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
        let fx = _mm512_fmadd_ps(s, _mm512_set1_ps(LOG2E), _mm512_set1_ps(0.5));
        let fx = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(fx);
        let r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(LN2), s);
        let mut p = _mm512_fmadd_ps(r, _mm512_set1_ps(EXP_C[4]), _mm512_set1_ps(EXP_C[3]));
        p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(EXP_C[2]));
        p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(EXP_C[1]));
        p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(EXP_C[0]));
        p = _mm512_fmadd_ps(r, p, _mm512_set1_ps(1.0));
        let n = _mm512_cvttps_epi32(_mm512_sub_ps(fx, _mm512_set1_ps(1.0)));
        let n = _mm512_max_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), _mm512_setzero_si512());
        let two_n = _mm512_maskz_mov_ps(!below, _mm512_castsi512_ps(_mm512_slli_epi32::<23>(n)));
        _mm512_mul_ps(_mm512_mul_ps(p, two_n), _mm512_set1_ps(2.0))
    }

    /// [`super::exp_and_sum`] of `Q` rows (`len` scores each, `padded` apart) in place,
    /// returning the reciprocals of their sums: the whole blocks of 16 on 16 lanes, the
    /// same lanes' sums added pairwise in the register (8, 4, 2, 1 apart), the rest one by
    /// one. Every row's maximum first, then every row's exponentials, so that the rows'
    /// chains overlap.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn weights<const Q: usize>(scores: &mut [f32], padded: usize, len: usize) -> [f32; Q] {
        assert!(len > 0 && padded == len.div_ceil(LANES) * LANES && scores.len() >= Q * padded);
        let whole = len / LANES * LANES;
        // The tail's scores (1 to 15, or none), the rest of its block masked off as −∞.
        let tail: __mmask16 = ((1u32 << (len - whole)) - 1) as u16;
        let lowest = _mm512_set1_ps(f32::NEG_INFINITY);
        // The maximum is the same value whatever the order (up to the sign of a zero
        // maximum, which changes no `s − max` but ±0, whose exponentials are both 1).
        let mut max = [0.0f32; Q];
        for (max, row) in max.iter_mut().zip(scores.chunks_exact(padded)) {
            let mut m = lowest;
            for block in row[..whole].chunks_exact(LANES) {
                // SAFETY: `block` holds 16 f32.
                m = _mm512_max_ps(m, unsafe { _mm512_loadu_ps(block.as_ptr()) });
            }
            if tail != 0 {
                // SAFETY: the row's last block (16 f32 from `whole`) is inside the row.
                m = _mm512_max_ps(m, unsafe { _mm512_mask_loadu_ps(lowest, tail, row[whole..][..LANES].as_ptr()) });
            }
            *max = _mm512_reduce_max_ps(m);
        }
        let mut inv = [0.0f32; Q];
        for ((inv, &max), row) in inv.iter_mut().zip(&max).zip(scores.chunks_exact_mut(padded)) {
            let m = _mm512_set1_ps(max);
            let mut lanes = _mm512_setzero_ps();
            for block in row[..whole].chunks_exact_mut(LANES) {
                // SAFETY: `block` holds 16 f32.
                let e = exp_u20_x16(_mm512_sub_ps(unsafe { _mm512_loadu_ps(block.as_ptr()) }, m));
                // SAFETY: as the load.
                unsafe { _mm512_storeu_ps(block.as_mut_ptr(), e) };
                lanes = _mm512_add_ps(lanes, e);
            }
            // Lane i += lane i + 8, then i + 4, i + 2, i + 1 (as the portable copy's loop).
            lanes = _mm512_add_ps(lanes, _mm512_shuffle_f32x4::<0b11_10_11_10>(lanes, lanes));
            lanes = _mm512_add_ps(lanes, _mm512_shuffle_f32x4::<0b01_01_01_01>(lanes, lanes));
            lanes = _mm512_add_ps(lanes, _mm512_permute_ps::<0b11_10_11_10>(lanes));
            lanes = _mm512_add_ps(lanes, _mm512_permute_ps::<0b01_01_01_01>(lanes));
            let mut sum = _mm512_cvtss_f32(lanes);
            for s in &mut row[whole..len] {
                *s = (*s - max).exp();
                sum += *s;
            }
            *inv = 1.0 / sum;
        }
        inv
    }

    /// One head of one sequence.
    struct Head<'a> {
        /// The sequence's `[q | k | v]` rows.
        rows: &'a [f32],
        /// Distance between rows.
        stride: usize,
        /// Tokens.
        len: usize,
        /// `len` rounded up to 16: the row length of `keys` and of the scores.
        padded: usize,
        /// Head width (a multiple of 16).
        dim: usize,
        /// `1/√dim`.
        scale: f32,
        /// The head's keys transposed, `dim × padded` (zeros past `len`).
        keys: &'a [f32],
        /// Where the head's query and value start in a row.
        q_at: usize,
        /// See `q_at`.
        v_at: usize,
    }

    /// Scaled dot-product attention (see [`super::attention`]); `heads.dim` must be a
    /// positive multiple of 16.
    #[target_feature(enable = "avx512f")]
    pub(super) fn attention(
        qkv: &[f32],
        sequences: &[(usize, usize)],
        heads: Heads,
        queries: Queries,
        ctx: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let Heads { count, dim } = heads;
        assert!(dim > 0 && dim.is_multiple_of(LANES), "attention: AVX-512 copy for widths of 16·k, not {dim}");
        let (width, scale) = (heads.width(), heads.scale());
        let stride = 3 * width;
        for (s, &(start, len)) in sequences.iter().enumerate() {
            let (query_rows, out_row) = queries.rows(s, start, len);
            if query_rows == 0 {
                continue;
            }
            let padded = len.div_ceil(LANES) * LANES;
            scratch.resize(dim * padded + BLOCK * padded, 0.0);
            let (keys, scores) = scratch.split_at_mut(dim * padded);
            let rows = &qkv[start * stride..(start + len) * stride];
            let out = &mut ctx[out_row * width..(out_row + query_rows) * width];
            for head in 0..count {
                let (q_at, k_at, v_at) = heads.offsets(head);
                transpose_keys(rows, stride, len, k_at, dim, keys, padded);
                let h = Head { rows, stride, len, padded, dim, scale, keys, q_at, v_at };
                let mut i = 0;
                while i < query_rows {
                    let out = &mut out[i * width + head * dim..];
                    i += match query_rows - i {
                        BLOCK.. => block::<BLOCK>(&h, i, scores, out, width),
                        4..BLOCK => block::<4>(&h, i, scores, out, width),
                        2..4 => block::<2>(&h, i, scores, out, width),
                        _ => block::<1>(&h, i, scores, out, width),
                    };
                }
            }
        }
    }

    /// One head's keys (`len` rows of `dim` from `k_at` in `rows`, rows `stride` apart)
    /// transposed into `keys` (`dim` rows of `padded`, zeros past `len`): blocks of 16 keys
    /// × 16 columns by in-register 16×16 transposes, the last `len % 16` keys one by one.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn transpose_keys(
        rows: &[f32],
        stride: usize,
        len: usize,
        k_at: usize,
        dim: usize,
        keys: &mut [f32],
        padded: usize,
    ) {
        assert!(rows.len() >= len * stride && k_at + dim <= stride && keys.len() >= dim * padded && padded >= len);
        let whole = len / LANES * LANES;
        for j in (0..whole).step_by(LANES) {
            for d in (0..dim).step_by(LANES) {
                let mut r = [_mm512_setzero_ps(); LANES];
                for (i, r) in r.iter_mut().enumerate() {
                    let from = &rows[(j + i) * stride + k_at + d..][..LANES];
                    // SAFETY: `from` holds 16 f32.
                    *r = unsafe { _mm512_loadu_ps(from.as_ptr()) };
                }
                for (c, column) in transpose16(&r).iter().enumerate() {
                    let to = &mut keys[(d + c) * padded + j..][..LANES];
                    // SAFETY: `to` holds 16 f32.
                    unsafe { _mm512_storeu_ps(to.as_mut_ptr(), *column) };
                }
            }
        }
        for (d, key) in keys.chunks_exact_mut(padded).take(dim).enumerate() {
            for (k, row) in key[whole..len].iter_mut().zip(rows[whole * stride..].chunks_exact(stride)) {
                *k = row[k_at + d];
            }
            key[len..].fill(0.0);
        }
    }

    /// The transpose of a 16×16 block (`r[i]` is row `i`; element `c` of the result's `i`
    /// is `r[c]`'s element `i`): pairs of rows interleaved by 32 then 64 bits, then 128-bit
    /// quarters gathered in two steps (64 shuffles).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) fn transpose16(r: &[__m512; LANES]) -> [__m512; LANES] {
        let mut t = [_mm512_setzero_ps(); LANES];
        for k in 0..8 {
            t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // u[4k + m], quarter L: column 4L + m of rows 4k..4k + 4.
        let mut u = [_mm512_setzero_ps(); LANES];
        let pd = _mm512_castps_pd;
        for k in 0..4 {
            let (a, b, c, d) = (pd(t[4 * k]), pd(t[4 * k + 1]), pd(t[4 * k + 2]), pd(t[4 * k + 3]));
            u[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
            u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
            u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
            u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
        }
        let mut out = [_mm512_setzero_ps(); LANES];
        for m in 0..4 {
            let (a, b, c, d) = (u[m], u[4 + m], u[8 + m], u[12 + m]);
            let (ab_lo, ab_hi) = (_mm512_shuffle_f32x4::<0x44>(a, b), _mm512_shuffle_f32x4::<0xee>(a, b));
            let (cd_lo, cd_hi) = (_mm512_shuffle_f32x4::<0x44>(c, d), _mm512_shuffle_f32x4::<0xee>(c, d));
            out[m] = _mm512_shuffle_f32x4::<0x88>(ab_lo, cd_lo);
            out[4 + m] = _mm512_shuffle_f32x4::<0xdd>(ab_lo, cd_lo);
            out[8 + m] = _mm512_shuffle_f32x4::<0x88>(ab_hi, cd_hi);
            out[12 + m] = _mm512_shuffle_f32x4::<0xdd>(ab_hi, cd_hi);
        }
        out
    }

    /// Queries `i..i + Q` of one head: their scores into `scores` (`Q` rows of
    /// `h.padded`), their contexts into `out` (`Q` rows of `h.dim`, `out_stride` apart).
    /// Returns `Q`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn block<const Q: usize>(h: &Head, i: usize, scores: &mut [f32], out: &mut [f32], out_stride: usize) -> usize {
        let (len, padded, dim) = (h.len, h.padded, h.dim);
        assert!(i + Q <= len && h.rows.len() >= len * h.stride && h.q_at + dim <= h.stride && h.v_at + dim <= h.stride);
        assert!(h.keys.len() >= dim * padded && scores.len() >= Q * padded && out.len() >= (Q - 1) * out_stride + dim);
        let mut q = [h.rows.as_ptr(); Q];
        for (k, q) in q.iter_mut().enumerate() {
            *q = q.wrapping_add((i + k) * h.stride + h.q_at);
        }
        let chunks = padded / LANES;
        let mut c = 0;
        while c < chunks {
            let keys = h.keys[c * LANES..].as_ptr();
            let to = scores[c * LANES..].as_mut_ptr();
            // SAFETY: the query rows `i..i + Q` (each `dim` from `q_at`) are inside `rows`,
            // the key rows `0..dim` (`padded` apart) are inside `keys`, and so are the
            // 16·C columns from `c·16` of each, as of the Q score rows: asserted above.
            c += unsafe {
                if chunks - c >= 2 {
                    score_tile::<Q, 2>(&q, keys, padded, dim, h.scale, to)
                } else {
                    score_tile::<Q, 1>(&q, keys, padded, dim, h.scale, to)
                }
            };
        }
        let inv = weights::<Q>(scores, padded, len);
        let chunks = dim / LANES;
        let mut c = 0;
        while c < chunks {
            let values = h.rows[h.v_at + c * LANES..].as_ptr();
            let to = out[c * LANES..].as_mut_ptr();
            // SAFETY: the weights are Q rows of `len` (`padded` apart) in `scores`, the
            // value rows `0..len` (`stride` apart, `dim` from `v_at`) are inside `rows`,
            // and the Q output rows (`dim` each, `out_stride` apart) inside `out`: asserted
            // above.
            c += unsafe {
                if chunks - c >= 2 {
                    value_tile::<Q, 2>(scores.as_ptr(), padded, values, h.stride, len, &inv, to, out_stride)
                } else {
                    value_tile::<Q, 1>(scores.as_ptr(), padded, values, h.stride, len, &inv, to, out_stride)
                }
            };
        }
        Q
    }

    /// Scaled scores of `Q` queries (`q`, `dim` each) × `16·C` keys (`keys`: `dim` rows
    /// `padded` apart) into `Q` rows of `out` (`padded` apart). Returns `C`.
    ///
    /// # Safety
    /// Every element read or written must be in bounds.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn score_tile<const Q: usize, const C: usize>(
        q: &[*const f32; Q],
        keys: *const f32,
        padded: usize,
        dim: usize,
        scale: f32,
        out: *mut f32,
    ) -> usize {
        let mut acc = [[_mm512_setzero_ps(); C]; Q];
        for d in 0..dim {
            let mut k = [_mm512_setzero_ps(); C];
            for (c, k) in k.iter_mut().enumerate() {
                // SAFETY: in bounds (the caller's promise).
                *k = unsafe { _mm512_loadu_ps(keys.add(d * padded + c * LANES)) };
            }
            for (row, q) in acc.iter_mut().zip(q) {
                // SAFETY: in bounds (the caller's promise).
                let qd = _mm512_set1_ps(unsafe { *q.add(d) });
                for (a, &k) in row.iter_mut().zip(&k) {
                    *a = _mm512_fmadd_ps(qd, k, *a);
                }
            }
        }
        let scale = _mm512_set1_ps(scale);
        for (i, row) in acc.iter().enumerate() {
            for (c, &a) in row.iter().enumerate() {
                // SAFETY: in bounds (the caller's promise).
                unsafe { _mm512_storeu_ps(out.add(i * padded + c * LANES), _mm512_mul_ps(a, scale)) };
            }
        }
        C
    }

    /// `out_i = (Σ_j p_ij · v_j) · inv_i` for `Q` weight rows (`p`, `len` each, `padded`
    /// apart) and `16·DC` columns of the values (`values`: `len` rows `stride` apart),
    /// into `Q` rows of `out` (`out_stride` apart). Returns `DC`.
    ///
    /// # Safety
    /// Every element read or written must be in bounds.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn value_tile<const Q: usize, const DC: usize>(
        p: *const f32,
        padded: usize,
        values: *const f32,
        stride: usize,
        len: usize,
        inv: &[f32; Q],
        out: *mut f32,
        out_stride: usize,
    ) -> usize {
        let mut acc = [[_mm512_setzero_ps(); DC]; Q];
        for j in 0..len {
            let mut v = [_mm512_setzero_ps(); DC];
            for (c, v) in v.iter_mut().enumerate() {
                // SAFETY: in bounds (the caller's promise).
                *v = unsafe { _mm512_loadu_ps(values.add(j * stride + c * LANES)) };
            }
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: in bounds (the caller's promise).
                let pij = _mm512_set1_ps(unsafe { *p.add(i * padded + j) });
                for (a, &v) in row.iter_mut().zip(&v) {
                    *a = _mm512_fmadd_ps(pij, v, *a);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let inv = _mm512_set1_ps(inv[i]);
            for (c, &a) in row.iter().enumerate() {
                // SAFETY: in bounds (the caller's promise).
                unsafe { _mm512_storeu_ps(out.add(i * out_stride + c * LANES), _mm512_mul_ps(a, inv)) };
            }
        }
        DC
    }
}

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

    /// Contexts of both copies for one call, as bits.
    fn both(qkv: &[f32], sequences: &[(usize, usize)], heads: Heads, queries: Queries) -> (Vec<u32>, Vec<u32>) {
        let rows = match queries {
            Queries::All => sequences.iter().map(|&(start, len)| start + len).max().unwrap_or(0),
            Queries::First => sequences.len(),
        };
        let mut scratch = Vec::new();
        let mut fast = vec![f32::NAN; rows * heads.count * heads.dim];
        let mut reference = fast.clone();
        attention(qkv, sequences, heads, queries, &mut fast, &mut scratch);
        attention_portable(qkv, sequences, heads, queries, &mut reference, &mut scratch);
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect();
        (bits(fast), bits(reference))
    }

    #[test]
    fn every_copy_gives_the_same_bits() {
        use rand::{RngExt, SeedableRng};
        let lengths = [1, 2, 15, 16, 17, 31, 64, 65, 100, 128, 200];
        let mut sequences = Vec::new();
        let mut rows = 0;
        for &len in &lengths {
            sequences.push((rows, len));
            rows += len;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut checked = 0;
        // Small scores, and large ones (differences beyond 87: some weights underflow to 0).
        for (count, dim) in [(12, 32), (4, 16), (2, 48), (3, 5)] {
            for magnitude in [0.5f32, 8.0] {
                let qkv: Vec<f32> =
                    (0..rows * 3 * count * dim).map(|_| rng.random_range(-magnitude..magnitude)).collect();
                for queries in [Queries::All, Queries::First] {
                    let heads = Heads { count, dim };
                    // Every sequence alone, then all of them in one call.
                    for one in sequences.chunks(1).chain([&sequences[..]]) {
                        let (fast, reference) = both(&qkv, one, heads, queries);
                        // Rows of other sequences stay unwritten (NaN) in both.
                        let differ = fast.iter().zip(&reference).filter(|(a, b)| a != b).count();
                        assert_eq!(differ, 0, "{count}×{dim}, ±{magnitude}, {queries:?}, {one:?}: {differ} differ");
                        checked += fast.iter().filter(|&&b| !f32::from_bits(b).is_nan()).count();
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    #[allow(unsafe_code)] // calls the AVX-512 copy after checking the feature.
    fn transpose16_transposes() {
        use std::arch::x86_64::*;
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        #[target_feature(enable = "avx512f")]
        fn run(m: &[f32; 256]) -> [f32; 256] {
            let mut r = [_mm512_setzero_ps(); LANES];
            for (i, r) in r.iter_mut().enumerate() {
                // SAFETY: 16 f32 from row i.
                *r = unsafe { _mm512_loadu_ps(m[i * 16..].as_ptr()) };
            }
            let mut out = [0.0; 256];
            for (i, c) in avx512::transpose16(&r).iter().enumerate() {
                // SAFETY: 16 f32 into row i.
                unsafe { _mm512_storeu_ps(out[i * 16..].as_mut_ptr(), *c) };
            }
            out
        }
        let m: [f32; 256] = std::array::from_fn(|i| i as f32);
        // SAFETY: the CPU has AVX-512F (checked above).
        let t = unsafe { run(&m) };
        for (i, row) in t.chunks_exact(16).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(v, (j * 16 + i) as f32, "({i}, {j})");
            }
        }
    }

    #[test]
    fn large_scores_give_zero_weights_in_both_copies() {
        // One head of width 16, 40 tokens: token 0's scores against keys 1..40 are far
        // below its score against itself (by over 87), so those weights underflow and its
        // context is its own value exactly, in the 16-lane part and in the tail alike.
        let (dim, len) = (16, 40);
        let mut qkv = vec![0.0f32; len * 3 * dim];
        for t in 0..len {
            let row = &mut qkv[t * 3 * dim..(t + 1) * 3 * dim];
            row[0] = 100.0; // q
            row[dim] = if t == 0 { 4.0 } else { -0.5 }; // k: scores 100 and −12.5 (× 1/4)
            for (d, v) in row[2 * dim..].iter_mut().enumerate() {
                *v = (t * dim + d) as f32;
            }
        }
        let (fast, reference) = both(&qkv, &[(0, len)], Heads { count: 1, dim }, Queries::First);
        assert_eq!(fast, reference);
        let want: Vec<u32> = (0..dim).map(|d| (d as f32).to_bits()).collect();
        assert_eq!(fast, want);
    }
}
