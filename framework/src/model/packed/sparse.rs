//! A sparse Linear product for pruned weights: the weight `[inputs, outputs]` in compressed
//! sparse rows (one row per input, `u32` column indices), multiplied into dense activations
//! `[rows, inputs]` by scattering each non-zero row into the output row.
//!
//! `trustx bench` times it against the dense packed product ([`super::kernels::linear`],
//! gemm with AVX-512/AVX2) on all-MiniLM-L6-v2 magnitude-pruned at 50 % and 90 %; the packed
//! path uses it only where it is faster (see benches/README.md for the measurements).

use super::PackedClassifier;
use super::weights::Linear;

/// A Linear layer's weight in compressed sparse rows, with its bias.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseLinear {
    /// `row_start[i]..row_start[i + 1]` indexes the non-zeros of input `i`.
    pub row_start: Vec<u32>,
    /// The output column of each non-zero.
    pub columns: Vec<u32>,
    /// The non-zero weights.
    pub values: Vec<f32>,
    /// `[outputs]`.
    pub bias: Vec<f32>,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
}

impl SparseLinear {
    /// The sparse form of a dense f32 layer (its weights that are exactly 0 are left out).
    pub fn from_dense(layer: &Linear) -> Self {
        let (k, n) = (layer.inputs, layer.outputs);
        let mut row_start = Vec::with_capacity(k + 1);
        let (mut columns, mut values) = (Vec::new(), Vec::new());
        row_start.push(0);
        for i in 0..k {
            for (o, &w) in layer.weight[i * n..(i + 1) * n].iter().enumerate() {
                if w != 0.0 {
                    columns.push(o as u32);
                    values.push(w);
                }
            }
            row_start.push(values.len() as u32);
        }
        Self { row_start, columns, values, bias: layer.bias.clone(), inputs: k, outputs: n }
    }

    /// The fraction of weights that are zero.
    pub fn sparsity(&self) -> f64 {
        1.0 - self.values.len() as f64 / (self.inputs * self.outputs).max(1) as f64
    }

    /// `out[rows, outputs] = x[rows, inputs] · W + b` (`out` resized to fit), as
    /// [`super::kernels::linear`] computes it, skipping the zero weights: blocks of
    /// [`BLOCK`] rows are transposed so that every non-zero weight is one multiply-add over
    /// the block's rows (vectorised; AVX2 when the CPU has it).
    pub fn product(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        let (k, n) = (self.inputs, self.outputs);
        assert_eq!(x.len(), rows * k, "sparse linear: input is not [{rows}, {k}]");
        out.resize(rows * n, 0.0);
        let mut xt = vec![[0.0f32; BLOCK]; k];
        let mut yt = vec![[0.0f32; BLOCK]; n];
        for first in (0..rows).step_by(BLOCK) {
            let count = BLOCK.min(rows - first);
            for (i, col) in xt.iter_mut().enumerate() {
                for (r, v) in col.iter_mut().enumerate() {
                    *v = if r < count { x[(first + r) * k + i] } else { 0.0 };
                }
            }
            for (o, col) in yt.iter_mut().enumerate() {
                *col = [self.bias[o]; BLOCK];
            }
            self.block(&xt, &mut yt);
            for r in 0..count {
                for (o, col) in yt.iter().enumerate() {
                    out[(first + r) * n + o] = col[r];
                }
            }
        }
    }

    #[allow(unsafe_code)] // calling the AVX2 copy needs it; the feature is checked first.
    fn block(&self, xt: &[[f32; BLOCK]], yt: &mut [[f32; BLOCK]]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.block_avx2(xt, yt) };
            return;
        }
        self.block_plain(xt, yt);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn block_avx2(&self, xt: &[[f32; BLOCK]], yt: &mut [[f32; BLOCK]]) {
        self.block_plain(xt, yt);
    }

    #[inline(always)]
    fn block_plain(&self, xt: &[[f32; BLOCK]], yt: &mut [[f32; BLOCK]]) {
        for (i, xi) in xt.iter().enumerate() {
            let span = self.row_start[i] as usize..self.row_start[i + 1] as usize;
            for (&c, &w) in self.columns[span.clone()].iter().zip(&self.values[span]) {
                let y = &mut yt[c as usize];
                for r in 0..BLOCK {
                    y[r] += w * xi[r];
                }
            }
        }
    }
}

/// Rows of activations per block of [`SparseLinear::product`].
pub const BLOCK: usize = 32;

/// Median seconds of the encoder's Linear products, dense and sparse, on one input.
#[derive(Clone, Copy, Debug)]
pub struct ProductTiming {
    /// Dense packed products ([`super::kernels::linear`]), median seconds of one pass.
    pub dense_seconds: f64,
    /// The same products through [`SparseLinear::product`].
    pub sparse_seconds: f64,
    /// Multiply-adds × 2 of one pass, counting the zeros (the dense count).
    pub flops: f64,
    /// Zero fraction of the encoder's f32 Linear weights.
    pub sparsity: f64,
}

/// Times every f32 Linear product of `packed`'s encoder layers (query/key/value, attention
/// output, both feed-forward matrices) on `rows` pseudo-random input rows, dense and
/// sparse, each pass timed by `median` (the bench's timer: warm-up, repetitions, median
/// seconds); `None` for an int8 model.
pub fn time_encoder_products(
    packed: &PackedClassifier,
    rows: usize,
    median: &mut dyn FnMut(&mut dyn FnMut()) -> f64,
) -> Option<ProductTiming> {
    let layers: Vec<&Linear> =
        packed.weights.layers.iter().flat_map(|l| [&l.qkv, &l.output, &l.ffn_in, &l.ffn_out]).collect();
    if layers.iter().any(|l| l.int8.is_some()) {
        return None;
    }
    let sparse: Vec<SparseLinear> = layers.iter().map(|l| SparseLinear::from_dense(l)).collect();
    let inputs: Vec<Vec<f32>> = layers.iter().map(|l| pseudo_random(rows * l.inputs, l.outputs as u64)).collect();
    let mut out = Vec::new();
    let dense_seconds = median(&mut || {
        for (l, x) in layers.iter().zip(&inputs) {
            super::kernels::linear(x, rows, l, &mut out);
        }
    });
    let sparse_seconds = median(&mut || {
        for (l, x) in sparse.iter().zip(&inputs) {
            l.product(x, rows, &mut out);
        }
    });
    let weights: usize = layers.iter().map(|l| l.inputs * l.outputs).sum();
    let nonzero: usize = sparse.iter().map(|l| l.values.len()).sum();
    Some(ProductTiming {
        dense_seconds,
        sparse_seconds,
        flops: 2.0 * (rows * weights) as f64,
        sparsity: 1.0 - nonzero as f64 / weights.max(1) as f64,
    })
}

/// Deterministic values in [−0.5, 0.5).
fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_product_equals_the_dense_packed_product() {
        for (sparsity, (k, n, rows)) in [(0.5, (96, 80, 70)), (0.9, (64, 130, 5)), (0.0, (3, 4, 2))] {
            let mut weight = pseudo_random(k * n, 1);
            let mut order: Vec<usize> = (0..weight.len()).collect();
            order.sort_by(|&a, &b| weight[a].abs().total_cmp(&weight[b].abs()));
            for &i in &order[..(sparsity * weight.len() as f64) as usize] {
                weight[i] = 0.0;
            }
            let layer = Linear::new(weight, pseudo_random(n, 2), k, n).unwrap();
            let sparse = SparseLinear::from_dense(&layer);
            assert!((sparse.sparsity() - sparsity).abs() < 0.01, "{}", sparse.sparsity());
            let x = pseudo_random(rows * k, 3);
            let (mut dense_out, mut sparse_out) = (Vec::new(), Vec::new());
            super::super::kernels::linear(&x, rows, &layer, &mut dense_out);
            sparse.product(&x, rows, &mut sparse_out);
            assert_eq!(dense_out.len(), sparse_out.len());
            let scale = dense_out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (d, s) in dense_out.iter().zip(&sparse_out) {
                assert!((d - s).abs() <= 1e-5 * scale, "{d} against {s} at sparsity {sparsity}");
            }
        }
    }
}
