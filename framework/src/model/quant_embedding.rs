//! Int8 embedding tables as PyTorch quantises them when `quantize_dynamic` is given
//! `{nn.Embedding: float_qparams_weight_only_qconfig}` beside `{nn.Linear}` (the usual way
//! to ship a BERT at about a quarter of its f32 size: its word embeddings are half of
//! all-MiniLM-L6-v2's parameters).
//!
//! - **Storage**: `quint8`, one affine scale and zero point per row (per token, position or
//!   token type), both f32 (`per_channel_affine_float_qparams`, axis 0), from the row's own
//!   min and max (`PerChannelMinMaxObserver`, not widened to contain 0): `scale = (max −
//!   min) / 255` in f32 (1 where that is not above f32 ε), `zero_point = −min / scale`.
//! - **Quantising**: `q = clamp(nearbyint(w · (1/scale) + zero_point), 0, 255)`, the product
//!   and the sum each rounded to f32 (not fused), round half to even
//!   (`quantize_val_float_qparams`; checked against torch 2.15 on all-MiniLM-L6-v2's three
//!   tables, every value).
//! - **Reading a row** (`quantized::embedding_byte`, fbgemm's 8-bit rowwise lookup):
//!   `fma(scale, q, −zero_point · scale)` in f32 — one fused multiply-add with the bias
//!   `−zero_point · scale` rounded to f32 first. Checked bit for bit against torch 2.15.
//!
//! Every embedding table is quantised (word, position and, for BERT, token type), as
//! `quantize_dynamic` replaces every `nn.Embedding`. Nothing else changes: the tables are
//! read as f32 rows, so the rest of the forward (and its int8 Linear layers) is unchanged.

/// One int8 embedding table.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedEmbedding {
    /// Rows (vocabulary, positions or token types).
    pub rows: usize,
    /// Width of a row.
    pub dim: usize,
    /// `quint8` values, `[rows, dim]` row-major.
    pub q: Vec<u8>,
    /// Scale per row.
    pub scales: Vec<f32>,
    /// Zero point per row (a float, not an integer).
    pub zero_points: Vec<f32>,
}

impl QuantizedEmbedding {
    /// Quantises a `[rows, dim]` table (row-major).
    pub fn quantize(values: &[f32], [rows, dim]: [usize; 2]) -> Self {
        assert_eq!(values.len(), rows * dim, "quantize: embedding table is not [{rows}, {dim}]");
        let (mut q, mut scales, mut zero_points) = (Vec::with_capacity(values.len()), vec![], vec![]);
        for row in values.chunks_exact(dim.max(1)).take(rows) {
            let min = row.iter().copied().fold(f32::INFINITY, f32::min);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let scale = (max - min) / 255.0;
            let scale = if scale > f32::EPSILON { scale } else { 1.0 };
            let zero_point = -min / scale;
            let inv = 1.0 / scale;
            // A product then a sum, each rounded (not fused): PyTorch's quantiser, bit for bit.
            q.extend(row.iter().map(|&w| (w * inv + zero_point).round_ties_even().clamp(0.0, 255.0) as u8));
            scales.push(scale);
            zero_points.push(zero_point);
        }
        Self { rows, dim, q, scales, zero_points }
    }

    /// The table as PyTorch's quantised embedding reads it (see the module documentation).
    pub fn dequantized(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.q.len());
        for (r, row) in self.q.chunks_exact(self.dim.max(1)).take(self.rows).enumerate() {
            let (scale, bias) = (self.scales[r], -self.zero_points[r] * self.scales[r]);
            out.extend(row.iter().map(|&v| scale.mul_add(f32::from(v), bias)));
        }
        out
    }

    /// Bytes of the stored form: one per value, eight per row.
    pub fn stored_bytes(&self) -> usize {
        self.q.len() + 8 * self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_get_their_own_range_and_read_back_within_half_a_step() {
        // Row 0 spans [−1, 1.55]: scale 0.01, zero point 100; row 1 is constant (scale 1).
        let values = [-1.0f32, 0.0, 1.55, 0.005, 2.0, 2.0, 2.0, 2.0];
        let e = QuantizedEmbedding::quantize(&values, [2, 4]);
        assert_eq!(e.scales, vec![(1.55f32 - -1.0) / 255.0, 1.0]);
        assert_eq!(e.q[..3], [0, 100, 255]);
        assert_eq!(e.q[4..], [0, 0, 0, 0], "a constant row: q = round(w + (−w)) = 0");
        let back = e.dequantized();
        for (r, (a, b)) in back.iter().zip(&values).enumerate() {
            assert!((a - b).abs() <= e.scales[r / 4] / 2.0 + 1e-6, "{a} vs {b}");
        }
        assert_eq!(e.stored_bytes(), 8 + 16);
    }
}
