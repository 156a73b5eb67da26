//! Attention heads that pruning removed are left out of the packed layers, so a
//! head-pruned model computes fewer heads instead of multiplying zeros.
//!
//! A head is removed when its value projection — its `dim` columns of the value weight
//! and its `dim` value biases — is all zero (what `prune` with `heads` or `head_fraction`
//! leaves, with its query, key and output rows zeroed too). Its attention weights then
//! multiply zero vectors, so its context is exactly 0 and its rows of the output
//! projection add exactly nothing; dropping its query, key and value columns and its
//! output-projection rows changes no value (in int8 too: a context of 0 is quantised to the
//! zero point, which the zero-point correction cancels exactly, and the range of the
//! context always contains 0). At least one head per layer is kept.

use std::ops::Range;

use anyhow::Result;

use super::weights::Linear;
use crate::model::quant::QuantizedLinear;

/// The column ranges of the heads to keep among `heads` heads of `dim`, given the value
/// weight `[inputs, heads·dim]` (row-major) and the value bias; `None` when every head is
/// kept.
pub fn kept_heads(value_weight: &[f32], value_bias: &[f32], heads: usize, dim: usize) -> Option<Vec<Range<usize>>> {
    let width = heads * dim;
    let zero = |h: usize| {
        let cols = h * dim..(h + 1) * dim;
        value_bias[cols.clone()].iter().all(|&b| b == 0.0)
            && value_weight.chunks_exact(width).all(|row| row[cols.clone()].iter().all(|&w| w == 0.0))
    };
    let mut kept: Vec<Range<usize>> = (0..heads).filter(|&h| !zero(h)).map(|h| h * dim..(h + 1) * dim).collect();
    if kept.len() == heads {
        return None;
    }
    if kept.is_empty() {
        kept.push(0..dim);
    }
    Some(kept)
}

/// The values of `values` in `ranges`, in order.
pub fn pick<T: Copy>(values: &[T], ranges: &[Range<usize>]) -> Vec<T> {
    ranges.iter().flat_map(|r| values[r.clone()].iter().copied()).collect()
}

/// An f32 layer with only the outputs in `ranges`.
pub fn keep_outputs(layer: &Linear, ranges: &[Range<usize>]) -> Result<Linear> {
    let weight = layer.weight.chunks_exact(layer.outputs).flat_map(|row| pick(row, ranges)).collect();
    let bias = pick(&layer.bias, ranges);
    let outputs = ranges.iter().map(|r| r.len()).sum();
    Linear::new(weight, bias, layer.inputs, outputs)
}

/// An f32 layer with only the inputs in `ranges`.
pub fn keep_inputs(layer: &Linear, ranges: &[Range<usize>]) -> Result<Linear> {
    let rows: Vec<Range<usize>> = ranges.iter().map(|r| r.start * layer.outputs..r.end * layer.outputs).collect();
    let inputs = ranges.iter().map(|r| r.len()).sum();
    Linear::new(pick(&layer.weight, &rows), layer.bias.clone(), inputs, layer.outputs)
}

/// An int8 layer (`[outputs, inputs]`) with only the outputs in `ranges`.
pub fn keep_int8_outputs(layer: &QuantizedLinear, ranges: &[Range<usize>]) -> QuantizedLinear {
    let rows: Vec<Range<usize>> = ranges.iter().map(|r| r.start * layer.inputs..r.end * layer.inputs).collect();
    let scales = if layer.scales.len() == 1 { layer.scales.clone() } else { pick(&layer.scales, ranges) };
    let outputs = ranges.iter().map(|r| r.len()).sum();
    QuantizedLinear { inputs: layer.inputs, outputs, q: pick(&layer.q, &rows), scales }
}

/// An int8 layer (`[outputs, inputs]`) with only the inputs in `ranges`.
pub fn keep_int8_inputs(layer: &QuantizedLinear, ranges: &[Range<usize>]) -> QuantizedLinear {
    let q = layer.q.chunks_exact(layer.inputs).flat_map(|row| pick(row, ranges)).collect();
    let inputs = ranges.iter().map(|r| r.len()).sum();
    QuantizedLinear { inputs, outputs: layer.outputs, q, scales: layer.scales.clone() }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one head's column range, not a list of its columns
mod tests {
    use super::*;
    use crate::model::packed::PackedClassifier;
    use crate::model::packed::weights::Weights;
    use crate::model::quant::{Granularity, Scheme};
    use crate::model::scratch::{Architecture, ArchitectureType};
    use crate::model::surgery::remove_heads;
    use crate::model::{HfModel, LoadOptions};
    use burn::tensor::Device;

    #[test]
    fn dropping_removed_heads_changes_no_logit() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let arch = Architecture {
            model_type: ArchitectureType::Bert,
            layers: 3,
            hidden: 32,
            heads: 4,
            ffn: 64,
            vocab: root.join("data/vocab/sst2-words.txt"),
            max_positions: 64,
            lower_case: true,
        };
        let options = LoadOptions { seed: 5, num_labels: Some(2), max_len: 64, ..LoadOptions::default() };
        let model = HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap();
        let pruned = remove_heads(model.network().clone(), model.spec().model_type, 8, &[(0, 1), (0, 3), (2, 0)]);
        let texts = ["a gripping , funny film", "it is not the best of its kind , but it is good", "dull"];
        let inputs: Vec<_> = texts.iter().map(|t| model.tokenize(t, None).unwrap()).collect();
        let refs: Vec<_> = inputs.iter().collect();
        for scheme in [None, Some(Scheme::DynamicInt8)] {
            let m = model.clone().with_network(pruned.clone());
            let m = match scheme {
                Some(s) => m.quantized(s, Granularity::PerChannel),
                None => m,
            };
            let q = m.quantization.as_deref();
            let dropped = PackedClassifier { weights: Weights::build(m.network(), m.spec(), q, true).unwrap() };
            let every = PackedClassifier { weights: Weights::build(m.network(), m.spec(), q, false).unwrap() };
            assert_eq!(dropped.weights.layers.iter().map(|l| l.heads).collect::<Vec<_>>(), [2, 4, 3]);
            let (a, b) = (dropped.logits(&refs, 8), every.logits(&refs, 8));
            if scheme.is_some() {
                // Integer products: the same bits.
                assert_eq!(a, b, "int8");
            } else {
                let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                assert!(d < 1e-5, "f32 logits differ by {d}");
            }
        }
    }

    #[test]
    fn a_head_with_a_zero_value_projection_is_dropped() {
        // 2 inputs, 3 heads of 2: head 1's value columns and biases are zero.
        let w = [1.0, 2.0, 0.0, 0.0, 5.0, 6.0, 7.0, 8.0, 0.0, -0.0, 11.0, 12.0];
        assert_eq!(kept_heads(&w, &[0.0; 6], 3, 2), Some(vec![0..2, 4..6]));
        // A non-zero bias keeps it.
        assert_eq!(kept_heads(&w, &[0.0, 0.0, 0.1, 0.0, 0.0, 0.0], 3, 2), None);
        // All heads zero: the first is kept.
        assert_eq!(kept_heads(&[0.0; 12], &[0.0; 6], 3, 2), Some(vec![0..2]));
    }

    #[test]
    fn f32_and_int8_layers_keep_the_chosen_rows_and_columns() {
        // f32 [inputs 2, outputs 3].
        let l = Linear::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0.1, 0.2, 0.3], 2, 3).unwrap();
        let o = keep_outputs(&l, &[0..1, 2..3]).unwrap();
        assert_eq!((o.weight, o.bias, o.outputs), (vec![1.0, 3.0, 4.0, 6.0], vec![0.1, 0.3], 2));
        let i = keep_inputs(&l, &[1..2]).unwrap();
        assert_eq!((i.weight, i.inputs), (vec![4.0, 5.0, 6.0], 1));
        // int8 [outputs 3, inputs 2], per-channel scales.
        let q = QuantizedLinear { inputs: 2, outputs: 3, q: vec![1, 2, 3, 4, 5, 6], scales: vec![0.5, 0.25, 0.125] };
        let o = keep_int8_outputs(&q, &[1..3]);
        assert_eq!((o.q, o.scales, o.outputs), (vec![3, 4, 5, 6], vec![0.25, 0.125], 2));
        let i = keep_int8_inputs(&q, &[0..1]);
        assert_eq!((i.q, i.inputs, i.scales), (vec![1, 3, 5], 1, vec![0.5, 0.25, 0.125]));
    }
}
