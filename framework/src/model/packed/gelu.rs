//! GELU of the packed path as PyTorch computes it on an AVX-512 CPU: `torch.nn.GELU()`
//! (exact, erf form) runs oneDNN's eltwise `gelu_erf`, which on AVX-512 evaluates
//! `0.5 · x · (1 + erf(x/√2))` with erf(|x|/√2) from a piecewise minimax polynomial of degree
//! 5 in |x|: 25 pieces, the piece chosen from |x|'s exponent and its two leading mantissa
//! bits (`(bits(|x|) + 0xc21fffff) >> 21`, clamped to 1..=24, and 23 above 5.5425), Horner's
//! rule in fused multiply-adds, the sign of `x` put back, then `(1 + p) · x · ½` rounded at
//! each step. The coefficients are oneDNN's (`jit_uni_eltwise_injector`,
//! `gelu_erf_minimax_polynomial`, oneDNN 3.x as torch 2.15 bundles it). Checked bit for bit
//! against `torch.nn.functional.gelu` on 200,001 points of [−12, 12] and on every GELU input
//! of the MiniLM int8 fixture. Its error against the exact GELU is below 1e-6.

use super::kernels::with_avx2;

/// Coefficients by degree (0 to 5), then by piece (25 pieces), as f32 bit patterns.
const COEFFICIENTS: [[u32; 25]; 6] = [
    // degree 0
    [
        0xa6f2cb94, 0x32827792, 0x3381cc0c, 0x34523d4a, 0x351ac44d, 0x35f36d88, 0x36ee8229, 0x37b8a3bb, 0x3867a213,
        0x3940033b, 0x3a2a5a1d, 0x3ae35863, 0x3b7828f2, 0x3c08b14b, 0x3c515ed3, 0xbb503236, 0xbd8d8e5e, 0xbe8abcd9,
        0xbf0c19a2, 0xbeccb328, 0x3e176ced, 0x3f470d99, 0x3f7abb28, 0x3f800000, 0x00000000,
    ],
    // degree 1
    [
        0x3f4c422a, 0x3f4c421f, 0x3f4c4207, 0x3f4c41cb, 0x3f4c413b, 0x3f4c3fad, 0x3f4c3a2f, 0x3f4c2d40, 0x3f4c146a,
        0x3f4bc341, 0x3f4ad08c, 0x3f48f8cf, 0x3f45fac7, 0x3f404e07, 0x3f3b980f, 0x3f48dff3, 0x3f78b21b, 0x3fbb0704,
        0x40019c32, 0x3fe536d6, 0x3f81331e, 0x3e6c8684, 0x3c98f936, 0x00000000, 0x3f800000,
    ],
    // degree 2
    [
        0xb62173f4, 0x3735e4cf, 0x37f2ff89, 0x388c23be, 0x3917535c, 0x39ab2ab0, 0x3a60fadb, 0x3af9b960, 0x3b6e5491,
        0x3c0a4ec5, 0x3ca5aa8c, 0x3d2138d9, 0x3d8737d4, 0x3ddfb660, 0x3e0f27ab, 0x3d94004b, 0xbe0efdeb, 0xbf1d96c3,
        0xbf89db58, 0xbf6d9897, 0xbef69fb8, 0xbdc4f8a8, 0xbbde6422, 0x00000000, 0x00000000,
    ],
    // degree 3
    [
        0xbe081a19, 0xbe084570, 0xbe08639b, 0xbe089837, 0xbe08f409, 0xbe09ab95, 0xbe0b66d0, 0xbe0e400a, 0xbe124df8,
        0xbe1bde02, 0xbe2f19c9, 0xbe4931bf, 0xbe685fbc, 0xbe89c95f, 0xbe96cbca, 0xbe8044aa, 0xbe0550f2, 0x3dcfd6a1,
        0x3e94c826, 0x3e79345f, 0x3decec91, 0x3ca46568, 0x3aa1e00a, 0x00000000, 0x00000000,
    ],
    // degree 4
    [
        0xba3d61db, 0x39f097a3, 0x3a5845dc, 0x3ab1fa35, 0x3b0cefb8, 0x3b653ab6, 0x3bcae527, 0x3c221712, 0x3c6c5840,
        0x3cc0a703, 0x3d1dcc19, 0x3d63656d, 0x3d955907, 0x3dbf9910, 0x3dd53f69, 0x3db7dcef, 0x3d639ebe, 0xba6ede48,
        0xbd22be69, 0xbd041cf1, 0xbc64f5ab, 0xbb097a32, 0xb8ebf380, 0x00000000, 0x00000000,
    ],
    // degree 5
    [
        0x3cb7d80c, 0x3c9b6050, 0x3c978d11, 0x3c92e850, 0x3c8d058b, 0x3c848454, 0x3c6cd623, 0x3c4c824b, 0x3c2a7935,
        0x3be0b390, 0x3b0651ac, 0xbb232f53, 0xbbd42fa0, 0xbc2c5366, 0xbc492c9e, 0xbc2a7aa6, 0xbbd55d04, 0xba823a76,
        0x3b102aa8, 0x3ae25a7e, 0x3a31f792, 0x38b84375, 0x3689bb5a, 0x00000000, 0x00000000,
    ],
];

/// `gelu_erf_idx_bias`: added to |x|'s bits before the shift.
const INDEX_BIAS: u32 = 0xc21f_ffff;
/// `gelu_erf_rbound`: above it erf is 1 (piece 23).
const RIGHT_BOUND: u32 = 0x40b1_5cee;

/// [`COEFFICIENTS`] as f32, each degree padded to 32 pieces (an index masked with 31 is in
/// bounds, so loops over [`gelu_one`] vectorise with gathers).
const TABLE: [[f32; 32]; 6] = {
    let mut t = [[0.0f32; 32]; 6];
    let mut d = 0;
    while d < 6 {
        let mut p = 0;
        while p < 25 {
            t[d][p] = f32::from_bits(COEFFICIENTS[d][p]);
            p += 1;
        }
        d += 1;
    }
    t
};

/// GELU of one value (see the module documentation).
#[inline(always)]
pub(crate) fn gelu_one(x: f32) -> f32 {
    let magnitude = x.abs();
    let piece = ((magnitude.to_bits().wrapping_add(INDEX_BIAS) as i32) >> 21).clamp(1, 24);
    let piece = if magnitude > f32::from_bits(RIGHT_BOUND) { 23 } else { piece } as usize & 31;
    let mut p = TABLE[5][piece];
    for degree in (0..5).rev() {
        p = p.mul_add(magnitude, TABLE[degree][piece]);
    }
    let erf = f32::from_bits(p.to_bits() ^ (x.to_bits() & 0x8000_0000));
    x * (erf + 1.0) * 0.5
}

#[inline(always)]
fn gelu_impl(x: &mut [f32]) {
    for v in x {
        *v = gelu_one(*v);
    }
}

with_avx2!(
    /// [`gelu`] without AVX-512: one value at a time (vectorised with gathers where AVX2 is).
    gelu_portable => gelu_impl(x: &mut [f32])
);

/// Exact (erf) GELU in place, `0.5 x (1 + erf(x / √2))`, as PyTorch computes it (see the
/// module documentation): with AVX-512, 16 values at a time, each coefficient picked from
/// its 32-entry table by one two-register permute (as oneDNN does); elsewhere
/// [`gelu_portable`]. Both give the same bits.
#[allow(unsafe_code)] // the AVX-512 copy needs it; the feature is checked first.
pub fn gelu(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { gelu_avx512(x) };
        return;
    }
    gelu_portable(x);
}

/// [`gelu`] in AVX-512: 16 lanes per step, the tail one by one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn gelu_avx512(x: &mut [f32]) {
    use std::arch::x86_64::*;
    let half_table = |d: usize, from: usize| -> __m512 {
        // SAFETY: TABLE[d] has 32 values, so 16 from `from` (0 or 16) are in bounds.
        unsafe { _mm512_loadu_ps(TABLE[d][from..from + 16].as_ptr()) }
    };
    let lo: [__m512; 6] = std::array::from_fn(|d| half_table(d, 0));
    let hi: [__m512; 6] = std::array::from_fn(|d| half_table(d, 16));
    let bias = _mm512_set1_epi32(INDEX_BIAS as i32);
    let (first, last, above) = (_mm512_set1_epi32(1), _mm512_set1_epi32(24), _mm512_set1_epi32(23));
    let bound = _mm512_set1_ps(f32::from_bits(RIGHT_BOUND));
    let sign_bit = _mm512_set1_epi32(i32::MIN);
    let (one, half) = (_mm512_set1_ps(1.0), _mm512_set1_ps(0.5));
    let mut chunks = x.chunks_exact_mut(16);
    for chunk in &mut chunks {
        // SAFETY: `chunk` holds exactly 16 f32.
        let v = unsafe { _mm512_loadu_ps(chunk.as_ptr()) };
        let magnitude = _mm512_abs_ps(v);
        let piece = _mm512_srai_epi32::<21>(_mm512_add_epi32(_mm512_castps_si512(magnitude), bias));
        let piece = _mm512_min_epi32(_mm512_max_epi32(piece, first), last);
        let piece = _mm512_mask_mov_epi32(piece, _mm512_cmp_ps_mask::<_CMP_LT_OS>(bound, magnitude), above);
        let mut p = _mm512_permutex2var_ps(lo[5], piece, hi[5]);
        for d in (0..5).rev() {
            p = _mm512_fmadd_ps(p, magnitude, _mm512_permutex2var_ps(lo[d], piece, hi[d]));
        }
        let sign = _mm512_and_si512(_mm512_castps_si512(v), sign_bit);
        let erf = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(p), sign));
        let out = _mm512_mul_ps(_mm512_mul_ps(v, _mm512_add_ps(erf, one)), half);
        // SAFETY: as the load.
        unsafe { _mm512_storeu_ps(chunk.as_mut_ptr(), out) };
    }
    for v in chunks.into_remainder() {
        *v = gelu_one(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fused::gelu_exact;

    #[test]
    fn gelu_is_within_1e_6_of_the_f64_one() {
        let mut xs: Vec<f32> = (-1200..1200).map(|i| i as f32 * 0.01).collect();
        let want: Vec<f32> = xs.iter().map(|&x| gelu_exact(x)).collect();
        gelu(&mut xs);
        for (g, w) in xs.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn every_copy_gives_the_same_bits() {
        let xs: Vec<f32> = (-40_000..40_000).map(|i| i as f32 * 3.1e-4).chain([0.0, -0.0, 1e-30, -7.0, 9.5]).collect();
        let (mut a, mut b) = (xs.clone(), xs.clone());
        gelu(&mut a);
        gelu_portable(&mut b);
        let scalar: Vec<f32> = xs.iter().map(|&x| gelu_one(x)).collect();
        assert!(a.iter().zip(&scalar).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(b.iter().zip(&scalar).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn gelu_keeps_pytorchs_values_at_a_few_points() {
        // torch 2.15 `gelu` on an AVX-512 CPU (bit patterns).
        for (x, want) in [(0.5f32, 0x3eb1_03af_u32), (-1.0, 0xbe22_7686), (3.0, 0x403f_bda4), (-6.0, 0x8000_0000)] {
            let got = gelu_one(x);
            assert_eq!(got.to_bits(), want, "gelu({x}) = {got} ({:#x})", got.to_bits());
        }
    }
}
