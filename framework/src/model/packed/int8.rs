//! The int8 Linear layer of the packed path, for models quantised with
//! [`Scheme::DynamicInt8`](crate::model::quant::Scheme): each call quantises its input to
//! `u8` per example ([`crate::model::quant::activation_params`]), multiplies by the `i8`
//! weights with exact i32 accumulation and rescales to f32 with the bias
//! (fbgemm's `ReQuantizeForFloat`).
//!
//! The product `C[rows, outputs] = A_u8 · W_i8` has three kernels, chosen at run time like
//! the f32 kernels' AVX2 copies: AVX-512 VNNI (`vpdpbusd`: four `u8 × i8` products summed
//! into each i32 lane), AVX2 (`vpmaddubsw` pairs into i16, `vpmaddwd` with ones into i32;
//! exact because activations are at most [`MAX_ACTIVATION`] = 128, so a pair sum is at most
//! 2 · 128 · 128 in magnitude and never saturates), and a scalar fallback. All three sum
//! the same integers, so they give the same bits (a test holds them to it).
//!
//! Weights are packed once: panels of [`PANEL`] outputs; inside a panel, for each group
//! of four inputs, the panel's 16 outputs × 4 consecutive inputs (64 bytes, one AVX-512
//! register or two AVX2 ones). Inputs are padded to a multiple of 4 and outputs to a
//! multiple of 16 with zero weights; input rows are padded to a multiple of [`ROWS`].

use super::kernels::with_avx2;
use crate::model::quant::{ActivationParams, MAX_ACTIVATION, activation_params, quantize_activations};

/// Outputs per weight panel.
pub const PANEL: usize = 16;
/// Rows per kernel block.
pub const ROWS: usize = 6;

/// A Linear layer with int8 weights.
#[derive(Clone)]
pub struct QLinear {
    /// Packed weights (see the module documentation).
    packed: Vec<i8>,
    /// `Σ_k q[o, k]` per output (the zero point's correction).
    col_sums: Vec<i32>,
    /// Weight scale per output.
    scales: Vec<f32>,
    /// f32 bias per output.
    bias: Vec<f32>,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
}

impl QLinear {
    /// Packs int8 weights given as `[outputs, inputs]` (PyTorch's layout) with one scale
    /// or one per output.
    pub fn new(q: &[i8], scales: &[f32], bias: Vec<f32>, inputs: usize, outputs: usize) -> anyhow::Result<Self> {
        if q.len() != inputs * outputs || bias.len() != outputs || !(scales.len() == 1 || scales.len() == outputs) {
            anyhow::bail!(
                "an int8 {inputs}×{outputs} layer has {} weights, {} scales and {} biases",
                q.len(),
                scales.len(),
                bias.len()
            );
        }
        let (k4, panels) = (inputs.div_ceil(4), outputs.div_ceil(PANEL));
        let mut packed = vec![0i8; panels * k4 * PANEL * 4];
        for o in 0..outputs {
            let (p, c) = (o / PANEL, o % PANEL);
            for k in 0..inputs {
                packed[((p * k4 + k / 4) * PANEL + c) * 4 + k % 4] = q[o * inputs + k];
            }
        }
        let col_sums =
            (0..outputs).map(|o| q[o * inputs..(o + 1) * inputs].iter().map(|&v| i32::from(v)).sum()).collect();
        let scales = (0..outputs).map(|o| scales[if scales.len() == 1 { 0 } else { o }]).collect();
        Ok(Self { packed, col_sums, scales, bias, inputs, outputs })
    }

    fn k4(&self) -> usize {
        self.inputs.div_ceil(4)
    }

    fn padded_outputs(&self) -> usize {
        self.outputs.div_ceil(PANEL) * PANEL
    }
}

/// Reusable buffers of [`linear_dynamic`].
#[derive(Default)]
pub struct Int8Scratch {
    a: Vec<u8>,
    c: Vec<i32>,
    params: Vec<ActivationParams>,
    offset: Vec<i32>,
    mult: Vec<f32>,
}

/// `out[rows, outputs] = dequant(quant(x) · W) + b` where `groups` are `(first row, rows)`
/// spans of `x` (one per example) that share one activation range; `out` is resized.
pub fn linear_dynamic(x: &[f32], groups: &[(usize, usize)], layer: &QLinear, out: &mut Vec<f32>, s: &mut Int8Scratch) {
    let rows: usize = groups.iter().map(|g| g.1).sum();
    let (k, n) = (layer.inputs, layer.outputs);
    assert_eq!(x.len(), rows * k, "int8 linear: input is not [{rows}, {k}]");
    let kp = layer.k4() * 4;
    let rows_p = rows.div_ceil(ROWS) * ROWS;
    // Every row's first `k` bytes are written below; the padding (inputs beyond `k`, rows
    // beyond `rows`) must be zero.
    s.a.resize(rows_p * kp, 0);
    if kp > k {
        s.a.chunks_exact_mut(kp).for_each(|row| row[k..].fill(0));
    }
    s.a[rows * kp..].fill(0);
    s.params.clear();
    for &(start, len) in groups {
        let span = &x[start * k..(start + len) * k];
        let p = match min_max(span) {
            Some((lo, hi)) => activation_params(lo, hi),
            None => activation_params(0.0, 0.0),
        };
        quantize_rows(span, k, p, &mut s.a[start * kp..(start + len) * kp], kp);
        s.params.push(p);
    }
    let np = layer.padded_outputs();
    // Every element is written by the product: no need to clear it.
    s.c.resize(rows_p * np, 0);
    Kernel::detect().product(&s.a, rows_p, layer, &mut s.c);
    out.resize(rows * n, 0.0);
    for (&(start, len), p) in groups.iter().zip(&s.params) {
        // Per output: the zero point's correction and `scale_x · scale_w` (fbgemm multiplies
        // the two scales first, then takes the accumulator times that plus the bias in one
        // fused multiply-add).
        s.offset.clear();
        s.offset.extend(layer.col_sums.iter().map(|&c| p.zero_point * c));
        s.mult.clear();
        s.mult.extend(layer.scales.iter().map(|&w| p.scale * w));
        for r in start..start + len {
            rescale(&s.c[r * np..r * np + n], &s.offset, &s.mult, &layer.bias, &mut out[r * n..(r + 1) * n]);
        }
    }
}

#[inline(always)]
fn rescale_impl(acc: &[i32], offset: &[i32], mult: &[f32], bias: &[f32], row: &mut [f32]) {
    for ((((y, &a), &o), &m), &b) in row.iter_mut().zip(acc).zip(offset).zip(mult).zip(bias) {
        *y = ((a - o) as f32).mul_add(m, b);
    }
}

with_avx2!(
    /// One output row from its i32 accumulators: `fma(acc − offset, mult, bias)` per
    /// output, as fbgemm's `ReQuantizeForFloat` computes it.
    rescale => rescale_impl(acc: &[i32], offset: &[i32], mult: &[f32], bias: &[f32], row: &mut [f32])
);

/// The smallest and largest value of `x` (`None` when empty), in 16 lanes so that it
/// vectorises (min and max are exact in any order).
fn min_max(x: &[f32]) -> Option<(f32, f32)> {
    const LANES: usize = 16;
    let first = *x.first()?;
    let (mut lo, mut hi) = ([first; LANES], [first; LANES]);
    let mut chunks = x.chunks_exact(LANES);
    for chunk in &mut chunks {
        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
            *l = if v < *l { v } else { *l };
            *h = if v > *h { v } else { *h };
        }
    }
    let (mut l, mut h) = (first, first);
    for &v in lo.iter().chain(chunks.remainder()) {
        l = if v < l { v } else { l };
    }
    for &v in hi.iter().chain(chunks.remainder()) {
        h = if v > h { v } else { h };
    }
    Some((l, h))
}

/// Quantises rows of `x` (`k` wide) into rows of `a` (`kp` wide) with
/// [`quantize_activations`], in a copy compiled for AVX2 where the CPU has it (rounding
/// half to even is one instruction there, a library call without SSE4.1).
#[allow(unsafe_code)] // calling the AVX2 copy needs it; the feature is checked first.
fn quantize_rows(x: &[f32], k: usize, p: ActivationParams, a: &mut [u8], kp: usize) {
    #[inline(always)]
    fn rows(x: &[f32], k: usize, p: ActivationParams, a: &mut [u8], kp: usize) {
        for (row, out) in x.chunks_exact(k).zip(a.chunks_exact_mut(kp)) {
            quantize_activations(row, p, &mut out[..k]);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
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

/// The implementations of the int8 product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust.
    Scalar,
    /// AVX2 `vpmaddubsw` + `vpmaddwd`.
    Avx2,
    /// AVX-512 VNNI `vpdpbusd`.
    Avx512Vnni,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        *Self::available().last().unwrap_or(&Kernel::Scalar)
    }

    /// Every kernel this CPU runs, slowest first.
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut out = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                out.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vnni") {
                out.push(Kernel::Avx512Vnni);
            }
        }
        out
    }

    /// `c[rows, padded outputs] = a[rows, 4·k4] · W` (`rows` a multiple of [`ROWS`]; `a`'s
    /// values at most [`MAX_ACTIVATION`]). Panics if the CPU lacks the kernel's features.
    #[allow(unsafe_code)] // the SIMD copies need their CPU features, checked first.
    pub fn product(self, a: &[u8], rows: usize, layer: &QLinear, c: &mut [i32]) {
        let (k4, np) = (layer.k4(), layer.padded_outputs());
        assert!(rows.is_multiple_of(ROWS) && a.len() == rows * k4 * 4 && c.len() == rows * np);
        debug_assert!(a.iter().all(|&v| i32::from(v) <= MAX_ACTIVATION));
        match self {
            Kernel::Scalar => scalar(a, rows, k4, &layer.packed, c),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"), "the CPU has no AVX2");
                // SAFETY: AVX2 is present (asserted above).
                unsafe { x86::avx2(a, rows, k4, &layer.packed, c) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                assert!(
                    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vnni"),
                    "the CPU has no AVX-512 VNNI"
                );
                // SAFETY: AVX-512F and VNNI are present (asserted above).
                unsafe { x86::avx512_vnni(a, rows, k4, &layer.packed, c) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => scalar(a, rows, k4, &layer.packed, c),
        }
    }
}

/// The reference kernel.
fn scalar(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32]) {
    let panels = packed.len() / (k4 * PANEL * 4).max(1);
    let np = panels * PANEL;
    for (p, panel) in packed.chunks_exact(k4 * PANEL * 4).enumerate() {
        for r in 0..rows {
            let row = &a[r * k4 * 4..(r + 1) * k4 * 4];
            let mut acc = [0i32; PANEL];
            for (a4, w) in row.chunks_exact(4).zip(panel.chunks_exact(PANEL * 4)) {
                for (sum, w4) in acc.iter_mut().zip(w.chunks_exact(4)) {
                    *sum += a4.iter().zip(w4).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum::<i32>();
                }
            }
            c[r * np + p * PANEL..r * np + (p + 1) * PANEL].copy_from_slice(&acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // SIMD loads and stores through pointers into checked slices.
mod x86 {
    use super::{PANEL, ROWS};
    use std::arch::x86_64::*;

    /// Four activations of row `r` at group `g` (`a`'s rows `4·k4` bytes), as one i32 to
    /// broadcast: one unaligned 4-byte read.
    #[inline(always)]
    fn four(a: &[u8], r: usize, k4: usize, g: usize) -> i32 {
        let at = (r * k4 + g) * 4;
        let bytes: [u8; 4] = a[at..at + 4].try_into().unwrap_or([0; 4]);
        i32::from_le_bytes(bytes)
    }

    /// The AVX2 kernel: [`ROWS`] rows × one panel (16 outputs, two registers) per block,
    /// `vpmaddubsw` (pairs of u8 × i8 into i16) then `vpmaddwd` with ones (into i32).
    #[target_feature(enable = "avx2")]
    pub(super) fn avx2(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32]) {
        let panel_len = k4 * PANEL * 4;
        let np = packed.len() / panel_len.max(1) * PANEL;
        let ones = _mm256_set1_epi16(1);
        for rb in (0..rows).step_by(ROWS) {
            for (p, panel) in packed.chunks_exact(panel_len).enumerate() {
                let mut acc = [_mm256_setzero_si256(); 2 * ROWS];
                for (g, w) in panel.chunks_exact(PANEL * 4).enumerate() {
                    // SAFETY: `w` is 64 bytes; each load reads 32 of them.
                    let (w0, w1) = unsafe {
                        (
                            _mm256_loadu_si256(w.as_ptr().cast::<__m256i>()),
                            _mm256_loadu_si256(w.as_ptr().add(32).cast::<__m256i>()),
                        )
                    };
                    for r in 0..ROWS {
                        let x = _mm256_set1_epi32(four(a, rb + r, k4, g));
                        let lo = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones);
                        let hi = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones);
                        acc[2 * r] = _mm256_add_epi32(acc[2 * r], lo);
                        acc[2 * r + 1] = _mm256_add_epi32(acc[2 * r + 1], hi);
                    }
                }
                for r in 0..ROWS {
                    let out = &mut c[(rb + r) * np + p * PANEL..(rb + r) * np + (p + 1) * PANEL];
                    // SAFETY: `out` is 16 i32 (64 bytes); each store writes 32 of them.
                    unsafe {
                        _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), acc[2 * r]);
                        _mm256_storeu_si256(out.as_mut_ptr().add(8).cast::<__m256i>(), acc[2 * r + 1]);
                    }
                }
            }
        }
    }

    /// The AVX-512 VNNI kernel: blocks of [`ROWS`] rows × `P` panels (`P` · 16 outputs, 4 or 1), one
    /// `vpdpbusd` per row and panel for every four inputs (4 · `P` · [`ROWS`] independent
    /// accumulators keep the instruction's latency hidden); the rows' activations stay in L1
    /// while the weights stream.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) fn avx512_vnni(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32]) {
        let panel_len = k4 * PANEL * 4;
        let panels = packed.len() / panel_len.max(1);
        let np = panels * PANEL;
        for rb in (0..rows).step_by(ROWS) {
            let mut p = 0;
            while p + 4 <= panels {
                vnni_block::<4>(a, rb, k4, &packed[p * panel_len..(p + 4) * panel_len], c, np, p);
                p += 4;
            }
            while p < panels {
                vnni_block::<1>(a, rb, k4, &packed[p * panel_len..(p + 1) * panel_len], c, np, p);
                p += 1;
            }
        }
    }

    /// One block of [`avx512_vnni`]: rows `rb..rb + ROWS` × panels `p..p + P` (`w` holds
    /// those panels, one after the other).
    #[target_feature(enable = "avx512f,avx512vnni")]
    #[inline]
    fn vnni_block<const P: usize>(a: &[u8], rb: usize, k4: usize, w: &[i8], c: &mut [i32], np: usize, p: usize) {
        let panel_len = k4 * PANEL * 4;
        let mut acc = [[_mm512_setzero_si512(); P]; ROWS];
        for g in 0..k4 {
            let mut wv = [_mm512_setzero_si512(); P];
            for (j, v) in wv.iter_mut().enumerate() {
                let at = j * panel_len + g * PANEL * 4;
                let chunk = &w[at..at + PANEL * 4];
                // SAFETY: `chunk` is 64 bytes, one load.
                *v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast::<__m512i>()) };
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32(four(a, rb + r, k4, g));
                for (sum, &wj) in row.iter_mut().zip(&wv) {
                    *sum = _mm512_dpbusd_epi32(*sum, x, wj);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (j, sum) in row.iter().enumerate() {
                let at = (rb + r) * np + (p + j) * PANEL;
                let out = &mut c[at..at + PANEL];
                // SAFETY: `out` is 16 i32, one store.
                unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast::<__m512i>(), *sum) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn layer(inputs: usize, outputs: usize, seed: u64) -> (QLinear, Vec<i8>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let q: Vec<i8> = (0..inputs * outputs).map(|_| rng.random::<i8>()).collect();
        let scales: Vec<f32> = (0..outputs).map(|o| 0.01 + o as f32 * 1e-3).collect();
        let bias = (0..outputs).map(|o| o as f32 * 0.5).collect();
        (QLinear::new(&q, &scales, bias, inputs, outputs).unwrap(), q)
    }

    /// Shapes with ragged inputs and outputs; activations at the extremes included.
    fn products(kernel: Kernel) -> Vec<Vec<i32>> {
        let mut out = Vec::new();
        for (rows, inputs, outputs, seed) in
            [(6, 8, 16, 1), (12, 37, 21, 2), (18, 384, 50, 3), (6, 5, 3, 4), (12, 1536, 40, 5)]
        {
            let (l, _) = layer(inputs, outputs, seed);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed + 10);
            let kp = l.k4() * 4;
            let mut a = vec![0u8; rows * kp];
            for r in 0..rows {
                for k in 0..inputs {
                    a[r * kp + k] =
                        if r == 0 { MAX_ACTIVATION as u8 } else { rng.random_range(0..=MAX_ACTIVATION as u8) };
                }
            }
            let mut c = vec![0; rows * l.padded_outputs()];
            kernel.product(&a, rows, &l, &mut c);
            out.push(c);
        }
        out
    }

    #[test]
    fn scalar_kernel_is_the_integer_product() {
        let (l, q) = layer(37, 21, 2);
        let rows = 12;
        let kp = l.k4() * 4;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mut a = vec![0u8; rows * kp];
        for r in 0..rows {
            for k in 0..37 {
                a[r * kp + k] = rng.random_range(0..=128);
            }
        }
        let mut c = vec![0; rows * l.padded_outputs()];
        Kernel::Scalar.product(&a, rows, &l, &mut c);
        for r in 0..rows {
            for o in 0..21 {
                let want: i32 = (0..37).map(|k| i32::from(a[r * kp + k]) * i32::from(q[o * 37 + k])).sum();
                assert_eq!(c[r * l.padded_outputs() + o], want, "row {r} output {o}");
            }
        }
    }

    #[test]
    fn every_kernel_of_this_cpu_gives_the_same_integers() {
        let kernels = Kernel::available();
        let reference = products(Kernel::Scalar);
        for k in &kernels {
            assert_eq!(products(*k), reference, "{k:?}");
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                assert!(kernels.contains(&Kernel::Avx2), "AVX2 present but not tested");
            }
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vnni") {
                assert!(kernels.contains(&Kernel::Avx512Vnni), "AVX-512 VNNI present but not tested");
                assert_eq!(Kernel::detect(), Kernel::Avx512Vnni);
            }
        }
    }

    #[test]
    fn dynamic_linear_dequantizes_with_the_zero_point() {
        // One output: w = (1, −1) (scale 0.5), bias 0.25; x = (2, −1): x's range [−1, 2].
        let l = QLinear::new(&[2, -2], &[0.5], vec![0.25], 2, 1).unwrap();
        let mut out = Vec::new();
        linear_dynamic(&[2.0, -1.0], &[(0, 1)], &l, &mut out, &mut Int8Scratch::default());
        let p = activation_params(-1.0, 2.0);
        let q = |v: f32| (v * (1.0 / p.scale)).round_ties_even() as i32;
        let want = (q(2.0) * 2 + q(-1.0) * -2) as f32 * (p.scale * 0.5) + 0.25;
        assert_eq!(out, vec![want]);
        assert!((out[0] - 3.25).abs() < 0.05, "{out:?}");
        // Two examples are quantised each with its own range.
        let mut two = Vec::new();
        linear_dynamic(&[2.0, -1.0, 200.0, -100.0], &[(0, 1), (1, 1)], &l, &mut two, &mut Int8Scratch::default());
        assert_eq!(two[0], out[0]);
        assert!((two[1] - 300.25).abs() < 3.0, "{two:?}");
    }
}
