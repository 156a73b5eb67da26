//! Matching a network's tensors to the int8 records of a [`super::quant::Quantization`]
//! (its Linear layers and embedding tables): a tensor whose values are exactly a record's
//! dequantised values keeps that record's int8 form, so a model loaded from a quantised
//! folder, or refreshed unchanged, is not quantised again.

use std::collections::{BTreeMap, HashMap};

use super::quant::QuantizedLinear;
use super::quant_embedding::QuantizedEmbedding;

/// An int8 record: its `[inputs, outputs]` or `[rows, dim]` and the f32 values it stands for.
pub(crate) trait Record: Clone {
    /// The record's two dimensions, as the network's tensor walk reports them.
    fn dims(&self) -> [usize; 2];
    /// The values the model computes with.
    fn dequantized(&self) -> Vec<f32>;
}

impl Record for QuantizedLinear {
    fn dims(&self) -> [usize; 2] {
        [self.inputs, self.outputs]
    }
    fn dequantized(&self) -> Vec<f32> {
        QuantizedLinear::dequantized(self)
    }
}

impl Record for QuantizedEmbedding {
    fn dims(&self) -> [usize; 2] {
        [self.rows, self.dim]
    }
    fn dequantized(&self) -> Vec<f32> {
        QuantizedEmbedding::dequantized(self)
    }
}

/// The records of one kind, by name, with their digests computed on the first tensor that
/// is not its own name's record.
pub(crate) struct Records<'a, R> {
    by_name: &'a BTreeMap<String, R>,
    by_digest: Option<HashMap<[u8; 32], &'a R>>,
}

impl<'a, R: Record> Records<'a, R> {
    /// Matches against `by_name`.
    pub(crate) fn new(by_name: &'a BTreeMap<String, R>) -> Self {
        Self { by_name, by_digest: None }
    }

    /// The record whose dequantised values are exactly `values` (of dimensions `dims`) and
    /// those values: the one called `name` first (the usual case), else any other (a dropped
    /// layer renumbers the rest); `None` when no record matches.
    pub(crate) fn find(&mut self, name: &str, dims: [usize; 2], values: &[f32]) -> Option<(R, Vec<f32>)> {
        if let Some(r) = self.by_name.get(name).filter(|r| r.dims() == dims) {
            let dequantized = r.dequantized();
            if same_bits(&dequantized, values) {
                return Some((r.clone(), dequantized));
            }
        }
        let by_name = self.by_name;
        let by_digest =
            self.by_digest.get_or_insert_with(|| by_name.values().map(|r| (digest(&r.dequantized()), r)).collect());
        let r = by_digest.get(&digest(values)).filter(|r| r.dims() == dims)?;
        Some(((*r).clone(), r.dequantized()))
    }
}

/// Whether two slices hold the same f32 bit patterns.
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Values per [`digest`] update (64 KiB of bytes).
const DIGEST_CHUNK: usize = 16 * 1024;

/// blake3 of the values' little-endian bytes.
fn digest(values: &[f32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    let mut bytes = Vec::with_capacity(DIGEST_CHUNK * 4);
    for chunk in values.chunks(DIGEST_CHUNK) {
        bytes.clear();
        bytes.extend(chunk.iter().flat_map(|v| v.to_bits().to_le_bytes()));
        h.update(&bytes);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant::Granularity;

    fn layer(seed: f32) -> (QuantizedLinear, Vec<f32>) {
        let values: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37 + seed).sin()).collect();
        let q = QuantizedLinear::quantize(&values, [4, 3], Granularity::PerTensor);
        let dequantized = q.dequantized();
        (q, dequantized)
    }

    #[test]
    fn a_record_is_found_under_its_name_or_another_and_changed_values_are_not() {
        let (a, a_values) = (layer(0.0).0, layer(0.0).1);
        let (b, b_values) = layer(1.0);
        let records = BTreeMap::from([("a".to_string(), a.clone()), ("b".to_string(), b.clone())]);
        let mut found = Records::new(&records);
        assert_eq!(found.find("a", [4, 3], &a_values), Some((a.clone(), a_values.clone())));
        // Renamed (a dropped layer renumbers the rest): found by its values.
        assert_eq!(found.find("c", [4, 3], &b_values), Some((b, b_values)));
        assert_eq!(found.find("b", [4, 3], &a_values), Some((a, a_values.clone())));
        // Other dimensions, or values trained further: no record.
        assert_eq!(found.find("a", [3, 4], &a_values), None);
        let mut moved = a_values;
        moved[5] += 1e-3;
        assert_eq!(found.find("a", [4, 3], &moved), None);
    }
}
