//! The activation side of a dynamic-int8 Linear layer: the range of an example's input
//! rows and their quantisation to `u8` ([`crate::model::quant::quantize_activations`]'s
//! formula), each with an AVX-512 copy chosen at run time that gives the same values as the
//! portable one (a test holds them to it).

use crate::model::quant::{ActivationParams, MAX_ACTIVATION, quantize_activations};

/// Lanes of the portable range loop (one AVX-512 vector, so that it vectorises).
const LANES: usize = 16;

/// The smallest and largest value of `x` (`None` when empty), with AVX-512 where the CPU
/// has it. Both copies keep, lane by lane, `v` when `v < lo` (`v > hi`) and the running
/// value otherwise, then fold the lanes and the remainder in the same order.
#[allow(unsafe_code)] // calling the AVX-512 copy needs it; the feature is checked first.
pub fn min_max(x: &[f32]) -> Option<(f32, f32)> {
    #[cfg(target_arch = "x86_64")]
    if !x.is_empty() && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return Some(unsafe { x86::min_max(x) });
    }
    min_max_portable(x)
}

/// [`min_max`] in plain Rust.
fn min_max_portable(x: &[f32]) -> Option<(f32, f32)> {
    let first = *x.first()?;
    let (mut lo, mut hi) = ([first; LANES], [first; LANES]);
    let mut chunks = x.chunks_exact(LANES);
    for chunk in &mut chunks {
        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
            *l = if v < *l { v } else { *l };
            *h = if v > *h { v } else { *h };
        }
    }
    Some(fold_lanes(first, &lo, &hi, chunks.remainder()))
}

/// The last step of [`min_max`]: the lanes, then the values left over.
fn fold_lanes(first: f32, lo: &[f32; LANES], hi: &[f32; LANES], rest: &[f32]) -> (f32, f32) {
    let (mut l, mut h) = (first, first);
    for &v in lo.iter().chain(rest) {
        l = if v < l { v } else { l };
    }
    for &v in hi.iter().chain(rest) {
        h = if v > h { v } else { h };
    }
    (l, h)
}

/// Quantises rows of `x` (`k` wide) into rows of `a` (`kp` wide; bytes beyond `k` are
/// left alone) with [`quantize_activations`]' formula: AVX-512 where the CPU has it, else a
/// copy compiled for AVX2 (rounding half to even is one instruction there, a library call
/// without SSE4.1), else plain Rust.
#[allow(unsafe_code)] // calling the SIMD copies needs it; the features are checked first.
pub fn quantize_rows(x: &[f32], k: usize, p: ActivationParams, a: &mut [u8], kp: usize) {
    #[inline(always)]
    fn rows(x: &[f32], k: usize, p: ActivationParams, a: &mut [u8], kp: usize) {
        for (row, out) in x.chunks_exact(k).zip(a.chunks_exact_mut(kp)) {
            quantize_activations(row, p, &mut out[..k]);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            for (row, out) in x.chunks_exact(k).zip(a.chunks_exact_mut(kp)) {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe { x86::quantize(row, p, &mut out[..k]) };
            }
            return;
        }
        #[target_feature(enable = "avx2")]
        fn avx2(x: &[f32], k: usize, p: ActivationParams, a: &mut [u8], kp: usize) {
            rows(x, k, p, a, kp)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { avx2(x, k, p, a, kp) };
        }
    }
    rows(x, k, p, a, kp)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // SIMD loads and stores through pointers into checked slices.
mod x86 {
    use super::{ActivationParams, LANES, MAX_ACTIVATION, fold_lanes, quantize_activations};
    use std::arch::x86_64::*;

    /// [`super::min_max`] of a non-empty `x`: `vminps(v, lo)` is `v < lo ? v : lo`, the
    /// portable loop's choice.
    #[target_feature(enable = "avx512f")]
    pub(super) fn min_max(x: &[f32]) -> (f32, f32) {
        let first = x[0];
        let (mut lo, mut hi) = (_mm512_set1_ps(first), _mm512_set1_ps(first));
        let mut chunks = x.chunks_exact(LANES);
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 16 f32, one load.
            let v = unsafe { _mm512_loadu_ps(chunk.as_ptr()) };
            lo = _mm512_min_ps(v, lo);
            hi = _mm512_max_ps(v, hi);
        }
        let (mut l, mut h) = ([0.0f32; LANES], [0.0f32; LANES]);
        // SAFETY: each array is 16 f32, one store.
        unsafe {
            _mm512_storeu_ps(l.as_mut_ptr(), lo);
            _mm512_storeu_ps(h.as_mut_ptr(), hi);
        }
        fold_lanes(first, &l, &h, chunks.remainder())
    }

    /// [`quantize_activations`] of one row, 16 values per step: `x·(1/scale)` rounded half
    /// to even, plus the zero point, clamped to `[0, MAX_ACTIVATION]` (`vmaxps(q, 0)` turns
    /// a NaN into 0, as the portable clamp-then-cast does), then narrowed to bytes.
    #[target_feature(enable = "avx512f")]
    pub(super) fn quantize(x: &[f32], p: ActivationParams, out: &mut [u8]) {
        let inv = _mm512_set1_ps(1.0 / p.scale);
        let zero_point = _mm512_set1_ps(p.zero_point as f32);
        let (zero, top) = (_mm512_setzero_ps(), _mm512_set1_ps(MAX_ACTIVATION as f32));
        let mut ins = x.chunks_exact(LANES);
        let mut outs = out.chunks_exact_mut(LANES);
        for (chunk, bytes) in (&mut ins).zip(&mut outs) {
            // SAFETY: `chunk` is 16 f32, one load; `bytes` is 16 bytes, one store.
            unsafe {
                let v = _mm512_mul_ps(_mm512_loadu_ps(chunk.as_ptr()), inv);
                let r = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
                let q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, zero_point), zero), top);
                _mm_storeu_si128(bytes.as_mut_ptr().cast::<__m128i>(), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q)));
            }
        }
        quantize_activations(ins.remainder(), p, outs.into_remainder());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant::activation_params;
    use rand::{RngExt, SeedableRng};

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-8.0f32..8.0)).collect()
    }

    #[test]
    fn range_is_the_smallest_and_largest_value() {
        assert_eq!(min_max(&[]), None);
        for n in [1, 5, 16, 17, 33, 384, 1000] {
            let x = values(n, n as u64);
            let want = x.iter().fold((x[0], x[0]), |(l, h), &v| (l.min(v), h.max(v)));
            assert_eq!(min_max(&x), Some(want), "{n} values");
            assert_eq!(min_max_portable(&x), Some(want), "{n} values");
        }
    }

    #[test]
    fn every_copy_quantises_to_the_same_bytes() {
        for (n, seed) in [(384, 1), (37, 2), (1536, 3), (5, 4), (16, 5)] {
            let mut x = values(n, seed);
            // Scale 0.5 and zero point 0: exact halves (ties), values beyond the range at
            // either end (clamped), a NaN.
            let p = activation_params(0.0, 63.5);
            assert_eq!((p.scale, p.zero_point), (0.5, 0));
            x[0] = 1.25;
            x[1 % n] = 100.0;
            x[2 % n] = f32::NAN;
            x[3 % n] = 1.75;
            let mut want = vec![7u8; n];
            quantize_activations(&x, p, &mut want);
            let mut got = vec![7u8; n + 3];
            quantize_rows(&x, n, p, &mut got, n + 3);
            assert_eq!(&got[..n], &want[..], "{n} values");
            assert_eq!(&got[n..], &[7, 7, 7], "the padding is left alone");
            assert_eq!((want[0], want[2 % n]), (2, 0), "2.5 rounds half to even, NaN is 0");
            assert_eq!(want[1 % n], MAX_ACTIVATION as u8);
            if n > 3 {
                assert_eq!(want[3], 4, "3.5 rounds half to even");
            }
        }
    }
}
