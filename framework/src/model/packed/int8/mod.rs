//! The int8 Linear layer of the packed path, for models quantised with
//! [`Scheme::DynamicInt8`](crate::model::quant::Scheme): each call quantises its input to
//! `u8` per example ([`crate::model::quant::activation_params`], [`activations`]),
//! multiplies by the `i8` weights with exact i32 accumulation and rescales to f32 with the
//! bias (fbgemm's `ReQuantizeForFloat`).
//!
//! The product `C[rows, outputs] = A_u8 · W_i8` has four kernels, chosen at run time like
//! the f32 kernels' AVX2 copies: AMX (`tdpbusd` on 16 × 64-byte tiles, [`amx`]; layers
//! whose inputs are a multiple of 64, the others take the next), AVX-512 VNNI
//! (`vpdpbusd`: four `u8 × i8` products summed into each i32 lane; it also rescales each
//! finished tile straight to f32), AVX2 (`vpmaddubsw` pairs into i16, `vpmaddwd` with ones
//! into i32; exact because activations are at most
//! [`MAX_ACTIVATION`](crate::model::quant::MAX_ACTIVATION) = 128, so a pair sum is at most
//! 2 · 128 · 128 in magnitude and never saturates), and a scalar fallback. All sum the same
//! integers and rescale with the same operations, so they give the same bits (tests hold
//! them to it). [`Kernel`] chooses; `TRUSTX_INT8_KERNEL` (`scalar`, `avx2`, `avx512-vnni`,
//! `amx`) caps the choice, to measure one kernel against another.
//!
//! Weights are packed once: panels of [`PANEL`] outputs; inside a panel, for each group
//! of four inputs, the panel's 16 outputs × 4 consecutive inputs (64 bytes, one AVX-512
//! register or two AVX2 ones). Inputs are padded to a multiple of 4 and outputs to a
//! multiple of 16 with zero weights; input rows are padded to a multiple of [`ROWS`].

pub mod activations;
#[cfg(target_arch = "x86_64")]
mod amx;
mod kernel;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::model::quant::activation_params;
use activations::{min_max, quantize_rows};
pub use kernel::Kernel;

/// Outputs per weight panel.
pub const PANEL: usize = 16;
/// Rows per kernel block.
pub const ROWS: usize = 6;

/// A Linear layer with int8 weights.
#[derive(Clone)]
pub struct QLinear {
    /// Packed weights (see the module documentation).
    packed: Vec<i8>,
    /// `Σ_k q[o, k]` per output (the zero point's correction). This and the next two are
    /// padded with zeros to the panels' outputs.
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
        let np = panels * PANEL;
        let mut col_sums: Vec<i32> =
            (0..outputs).map(|o| q[o * inputs..(o + 1) * inputs].iter().map(|&v| i32::from(v)).sum()).collect();
        col_sums.resize(np, 0);
        let mut scales: Vec<f32> = (0..outputs).map(|o| scales[if scales.len() == 1 { 0 } else { o }]).collect();
        scales.resize(np, 0.0);
        let mut bias = bias;
        bias.resize(np, 0.0);
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
    /// Per (padded) row: its example's activation zero point and scale.
    zero_points: Vec<i32>,
    row_scales: Vec<f32>,
}

impl Int8Scratch {
    /// The bytes the buffers hold (their capacities).
    pub fn bytes(&self) -> usize {
        self.a.capacity()
            + (self.c.capacity() + self.zero_points.capacity()) * size_of::<i32>()
            + self.row_scales.capacity() * size_of::<f32>()
    }
}

/// `out[rows, outputs] = dequant(quant(x) · W) + b` where `groups` are `(first row, rows)`
/// spans of `x` (one per example) that share one activation range; `out` is resized.
pub fn linear_dynamic(x: &[f32], groups: &[(usize, usize)], layer: &QLinear, out: &mut Vec<f32>, s: &mut Int8Scratch) {
    linear_rows(x, groups, false, layer, out, s)
}

/// [`linear_dynamic`]'s output for the first row of each group only (`out` is `[groups,
/// outputs]`; no group may be empty), each group's activation range still taken over all
/// of its rows: the rows are bit for bit those [`linear_dynamic`] gives. A model's last
/// layer needs only its `[CLS]` rows out of the feed-forward block.
pub fn linear_dynamic_first_rows(
    x: &[f32],
    groups: &[(usize, usize)],
    layer: &QLinear,
    out: &mut Vec<f32>,
    s: &mut Int8Scratch,
) {
    linear_rows(x, groups, true, layer, out, s)
}

fn linear_rows(
    x: &[f32],
    groups: &[(usize, usize)],
    first_only: bool,
    layer: &QLinear,
    out: &mut Vec<f32>,
    s: &mut Int8Scratch,
) {
    let total: usize = groups.iter().map(|g| g.1).sum();
    let (k, n) = (layer.inputs, layer.outputs);
    assert_eq!(x.len(), total * k, "int8 linear: input is not [{total}, {k}]");
    assert!(!first_only || groups.iter().all(|g| g.1 > 0), "int8 linear: an empty group has no first row");
    let rows = if first_only { groups.len() } else { total };
    let kp = layer.k4() * 4;
    let rows_p = rows.div_ceil(ROWS) * ROWS;
    // The buffer keeps its largest length (a shorter call uses a prefix), so that calls of
    // different widths do not zero it again and again. Every row's first `k` bytes are
    // written below; the padding (inputs beyond `k`, rows beyond `rows`) must be zero.
    grow(&mut s.a, rows_p * kp);
    let a = &mut s.a[..rows_p * kp];
    if kp > k {
        a.chunks_exact_mut(kp).for_each(|row| row[k..].fill(0));
    }
    a[rows * kp..].fill(0);
    s.zero_points.clear();
    s.row_scales.clear();
    let mut at = 0;
    for &(start, len) in groups {
        let span = &x[start * k..(start + len) * k];
        let p = match min_max(span) {
            Some((lo, hi)) => activation_params(lo, hi),
            None => activation_params(0.0, 0.0),
        };
        let quantized = if first_only { 1 } else { len };
        quantize_rows(&span[..quantized * k], k, p, &mut a[at * kp..(at + quantized) * kp], kp);
        s.zero_points.extend(std::iter::repeat_n(p.zero_point, quantized));
        s.row_scales.extend(std::iter::repeat_n(p.scale, quantized));
        at += quantized;
    }
    out.resize(rows * n, 0.0);
    Kernel::detect().product_rescaled(s, rows_p, rows, layer, out);
}

/// Makes `v` at least `len` long (zeros appended); never shortens it.
fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant::MAX_ACTIVATION;
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
            [(6, 8, 16, 1), (12, 37, 21, 2), (18, 384, 50, 3), (6, 5, 3, 4), (12, 1536, 40, 5), (42, 64, 33, 6)]
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
        eprintln!("int8 kernels of this CPU: {kernels:?}");
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
                let amx = kernels.contains(&Kernel::Amx);
                assert_eq!(Kernel::detect(), if amx { Kernel::Amx } else { Kernel::Avx512Vnni });
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

    /// `rows` rows of activations (`inputs` wide), each example's range its own.
    fn activation_rows(rows: usize, inputs: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..rows * inputs).map(|_| rng.random_range(-3.0f32..5.0)).collect()
    }

    #[test]
    fn every_kernel_rescales_to_the_same_bits() {
        // Ragged outputs (a masked last panel), inputs spanning several VNNI blocks, rows
        // not a multiple of the block's; several examples per call.
        for (inputs, outputs, groups, seed) in [
            (384, 1152, vec![(0, 13), (13, 64)], 1),
            (1536, 384, vec![(0, 7), (7, 1), (8, 20)], 2),
            (37, 21, vec![(0, 5), (5, 6)], 3),
            (384, 2, vec![(0, 1), (1, 1), (2, 1)], 4),
            (768, 48, vec![(0, 40), (40, 3)], 5),
        ] {
            let (l, _) = layer(inputs, outputs, seed);
            let rows: usize = groups.iter().map(|g| g.1).sum();
            let x = activation_rows(rows, inputs, seed);
            let mut want = Vec::new();
            let mut s = Int8Scratch::default();
            linear_dynamic(&x, &groups, &l, &mut want, &mut s);
            assert_eq!(want.len(), rows * outputs);
            for kernel in Kernel::available() {
                let rows_p = rows.div_ceil(ROWS) * ROWS;
                let mut out = vec![f32::NAN; rows * outputs];
                let a = s.a[..rows_p * l.k4() * 4].to_vec();
                let activations = (s.zero_points.clone(), s.row_scales.clone());
                kernel.product_rescaled(&mut s, rows_p, rows, &l, &mut out);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&want), "{kernel:?}, {inputs}×{outputs}");
                // The reference: the scalar integers, rescaled one value at a time.
                let mut ints = vec![0; rows_p * l.padded_outputs()];
                Kernel::Scalar.product(&a, rows_p, &l, &mut ints);
                for r in 0..rows {
                    for o in 0..outputs {
                        let (zp, sx) = (activations.0[r], activations.1[r]);
                        let acc = ints[r * l.padded_outputs() + o] - zp * l.col_sums[o];
                        let y = (acc as f32).mul_add(sx * l.scales[o], l.bias[o]);
                        assert_eq!(out[r * outputs + o].to_bits(), y.to_bits(), "{kernel:?} row {r} output {o}");
                    }
                }
            }
        }
    }

    #[test]
    fn first_rows_are_the_full_products_first_rows() {
        let (l, _) = layer(1536, 40, 9);
        let groups = [(0, 9), (9, 1), (10, 30)];
        let x = activation_rows(40, 1536, 9);
        let (mut all, mut first) = (Vec::new(), Vec::new());
        let mut s = Int8Scratch::default();
        linear_dynamic(&x, &groups, &l, &mut all, &mut s);
        linear_dynamic_first_rows(&x, &groups, &l, &mut first, &mut s);
        assert_eq!(first.len(), 3 * 40);
        for (i, &(start, _)) in groups.iter().enumerate() {
            assert_eq!(first[i * 40..(i + 1) * 40], all[start * 40..(start + 1) * 40], "group {i}");
        }
        // The range still covers every row: dropping the other rows changes the result.
        let mut alone = Vec::new();
        linear_dynamic(&x[..1536], &[(0, 1)], &l, &mut alone, &mut s);
        assert_ne!(alone, first[..40]);
    }
}
