//! The stored form of a pruned model: each Linear weight with enough zeros is written to
//! `model.safetensors` as a bitmap of its non-zeros and their values, instead of dense.
//!
//! **Format `bitmap-v1`.** For a weight `<name>` (PyTorch layout `[out, in]`, row-major):
//! - `<name>.sparse_mask`: `U8`, shape `[out, ceil(in / 8)]`; bit `j % 8` (least significant
//!   first) of byte `j / 8` of row `r` is set when `w[r][j]` is stored, i.e. is not `+0.0`
//!   (a `-0.0` is stored as a value, so the weights come back bit for bit);
//! - `<name>.sparse_values`: `F32`, shape `[nnz]`: the stored weights in row-major order;
//! - the dense shape `[out, in]` in the file's `__metadata__` under
//!   [`METADATA_KEY`] (a JSON object from each sparse weight's name to its shape);
//! - `config.json` declares the format under [`CONFIG_KEY`] (`{"format": "bitmap-v1"}`).
//!
//! A weight is stored so only when that is smaller: 4·nnz + out·⌈in/8⌉ bytes against 4·out·in,
//! i.e. from about 3 % zeros on. At 50 % sparsity a weight takes 2.125 bytes per entry instead
//! of 4 (47 % less), at 90 % 0.525 (87 % less). A bitmap beats CSR with 16-bit column indices
//! (6 bytes per non-zero, smaller only above 33 % zeros) at the sparsities magnitude pruning
//! is used at, and it keeps the row structure. Embeddings, LayerNorms and biases stay dense;
//! so does every weight of a model without zeros, whose file is byte-identical to a dense save.
//! Reading rebuilds the dense weights exactly; the model then runs as any other (the packed
//! path multiplies the zeros: see benches/README.md for the measured break-even of a sparse
//! product). Hugging Face transformers does not read this format; `trustx model export
//! --dense` writes the dense folder it does read.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::quant_io::{Dtype, RawTensor};
use super::save::NamedTensor;

/// The `config.json` key declaring sparse weights.
pub const CONFIG_KEY: &str = "trustx_sparse";

/// The safetensors `__metadata__` key holding the dense shapes of the sparse weights.
pub const METADATA_KEY: &str = "trustx_sparse_shapes";

/// The format name in `config.json`.
pub const FORMAT: &str = "bitmap-v1";

/// Whether `config` declares sparse weights (and in a format this build reads).
pub fn declared(config: &Value) -> Result<bool> {
    match config.get(CONFIG_KEY) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => match v.get("format").and_then(Value::as_str) {
            Some(FORMAT) => Ok(true),
            other => bail!("config.json: `{CONFIG_KEY}.format` is {other:?}; this trustx reads \"{FORMAT}\""),
        },
    }
}

/// The `config.json` entry of a folder with sparse weights.
pub fn config_entry() -> Value {
    serde_json::json!({ "format": FORMAT })
}

/// Whether a tensor may be stored sparse: a matrix that is not an embedding table.
fn eligible(t: &NamedTensor) -> bool {
    t.shape.len() == 2 && t.name.ends_with(".weight") && !t.name.contains("embeddings")
}

/// Bytes of `t` stored sparse.
fn sparse_bytes(rows: usize, cols: usize, stored: usize) -> usize {
    4 * stored + rows * cols.div_ceil(8)
}

/// The tensors to write and the `__metadata__` entries: every eligible weight that is
/// smaller sparse replaced by its mask and values. No metadata when nothing is sparse.
pub fn encode(tensors: &[NamedTensor]) -> Result<(Vec<RawTensor>, BTreeMap<String, String>)> {
    let mut out = Vec::with_capacity(tensors.len());
    let mut shapes = serde_json::Map::new();
    for t in tensors {
        let stored = t.values.iter().filter(|v| v.to_bits() != 0).count();
        let sparse = eligible(t) && sparse_bytes(t.shape[0], t.shape[1], stored) < 4 * t.values.len();
        if !sparse {
            out.push(RawTensor::f32(&t.name, t.shape.clone(), &t.values));
            continue;
        }
        let (rows, cols) = (t.shape[0], t.shape[1]);
        let stride = cols.div_ceil(8);
        let mut mask = vec![0u8; rows * stride];
        let mut values = Vec::with_capacity(stored);
        for r in 0..rows {
            for (j, &v) in t.values[r * cols..(r + 1) * cols].iter().enumerate() {
                if v.to_bits() != 0 {
                    mask[r * stride + j / 8] |= 1 << (j % 8);
                    values.push(v);
                }
            }
        }
        out.push(RawTensor {
            name: format!("{}.sparse_mask", t.name),
            dtype: Dtype::U8,
            shape: vec![rows, stride],
            data: mask,
        });
        out.push(RawTensor::f32(&format!("{}.sparse_values", t.name), vec![values.len()], &values));
        shapes.insert(t.name.clone(), serde_json::json!([rows, cols]));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let metadata = if shapes.is_empty() {
        BTreeMap::new()
    } else {
        [(METADATA_KEY.to_string(), Value::Object(shapes).to_string())].into()
    };
    Ok((out, metadata))
}

/// The dense tensors of a file written by [`encode`] (`file` names it in errors).
pub fn decode(raw: Vec<RawTensor>, metadata: &BTreeMap<String, String>, file: &str) -> Result<Vec<NamedTensor>> {
    let shapes: BTreeMap<String, [usize; 2]> = match metadata.get(METADATA_KEY) {
        Some(s) => serde_json::from_str(s).map_err(|e| anyhow!("{file}: __metadata__.{METADATA_KEY}: {e}"))?,
        None => BTreeMap::new(),
    };
    let mut by_name: BTreeMap<String, RawTensor> = raw.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out = Vec::new();
    for (name, [rows, cols]) in &shapes {
        let (rows, cols) = (*rows, *cols);
        let mask = by_name.remove(&format!("{name}.sparse_mask"));
        let values = by_name.remove(&format!("{name}.sparse_values"));
        let (Some(mask), Some(values)) = (mask, values) else {
            bail!("{file}: sparse weight {name} lacks its .sparse_mask or .sparse_values tensor");
        };
        let stride = cols.div_ceil(8);
        if mask.dtype != Dtype::U8 || mask.shape != [rows, stride] || values.dtype != Dtype::F32 {
            bail!(
                "{file}: sparse weight {name}: mask {:?} {:?} or values {:?} do not fit [{rows}, {cols}]",
                mask.dtype,
                mask.shape,
                values.dtype
            );
        }
        let values = values.as_f32();
        let mut dense = vec![0.0f32; rows * cols];
        let mut next = values.iter();
        for r in 0..rows {
            for j in 0..cols {
                if mask.data[r * stride + j / 8] >> (j % 8) & 1 == 1 {
                    dense[r * cols + j] =
                        *next.next().ok_or_else(|| anyhow!("{file}: {name}: fewer values than mask bits"))?;
                }
            }
        }
        if next.next().is_some() {
            bail!("{file}: {name}: more values than mask bits");
        }
        out.push(NamedTensor { name: name.clone(), shape: vec![rows, cols], values: dense });
    }
    for t in by_name.into_values() {
        if t.dtype != Dtype::F32 {
            bail!("{file}: tensor {} is {:?} but is no sparse weight's part", t.name, t.dtype);
        }
        out.push(NamedTensor { name: t.name.clone(), shape: t.shape.clone(), values: t.as_f32() });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Rewrites folder `dir`'s sparse `model.safetensors` dense and drops [`CONFIG_KEY`] from its
/// `config.json`, so that any safetensors reader (transformers) loads it; returns whether
/// there was anything to rewrite.
pub fn densify_folder(dir: &std::path::Path) -> Result<bool> {
    let config_path = dir.join("config.json");
    let text = std::fs::read(&config_path).map_err(|e| anyhow!("reading {}: {e}", config_path.display()))?;
    let mut config: Value = serde_json::from_slice(&text).map_err(|e| anyhow!("{}: {e}", config_path.display()))?;
    if !declared(&config)? {
        return Ok(false);
    }
    let weights = dir.join("model.safetensors");
    let (raw, metadata) = super::quant_io::read_safetensors_with(&weights)?;
    let dense = decode(raw, &metadata, &weights.display().to_string())?;
    crate::store::write_atomic(&weights, &super::save::safetensors_bytes(&dense)?)?;
    if let Value::Object(map) = &mut config {
        map.remove(CONFIG_KEY);
    }
    crate::store::write_atomic(&config_path, &serde_json::to_vec_pretty(&config)?)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, shape: Vec<usize>, values: Vec<f32>) -> NamedTensor {
        NamedTensor { name: name.into(), shape, values }
    }

    #[test]
    fn pruned_weights_come_back_bit_for_bit_and_smaller() {
        // 3 × 11 (a row not a multiple of 8) with zeros, a -0.0 and a NaN.
        let mut w: Vec<f32> = (0..33).map(|i| if i % 3 == 0 { 0.0 } else { i as f32 * 0.37 - 5.0 }).collect();
        w[4] = -0.0;
        w[7] = f32::NAN;
        let tensors = vec![
            tensor("encoder.layer.0.intermediate.dense.bias", vec![3], vec![0.0, 1.0, 0.0]),
            tensor("encoder.layer.0.intermediate.dense.weight", vec![3, 11], w.clone()),
            tensor("embeddings.word_embeddings.weight", vec![2, 11], vec![0.0; 22]),
        ];
        let (raw, metadata) = encode(&tensors).unwrap();
        let names: Vec<&str> = raw.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "embeddings.word_embeddings.weight",
                "encoder.layer.0.intermediate.dense.bias",
                "encoder.layer.0.intermediate.dense.weight.sparse_mask",
                "encoder.layer.0.intermediate.dense.weight.sparse_values",
            ],
            "embeddings and vectors stay dense"
        );
        let stored: usize = raw.iter().filter(|t| t.name.contains("sparse")).map(|t| t.data.len()).sum();
        assert!(stored < 33 * 4, "{stored} bytes");
        let back = decode(raw, &metadata, "f").unwrap();
        let w_back = &back.iter().find(|t| t.name.ends_with("dense.weight")).unwrap().values;
        assert_eq!(
            w_back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            w.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn weights_with_few_zeros_are_written_as_they_were() {
        // 4 × 64 with 7 zeros: 4·249 + 4·8 = 1028 bytes sparse against 1024 dense.
        let values: Vec<f32> = (0..256).map(|i| if i % 37 == 0 { 0.0 } else { 1.0 + i as f32 }).collect();
        let tensors = vec![tensor("a.weight", vec![4, 64], values.clone())];
        let (raw, metadata) = encode(&tensors).unwrap();
        assert!(metadata.is_empty());
        assert_eq!(raw, vec![RawTensor::f32("a.weight", vec![4, 64], &values)]);
        // Two zeros more (4·247 + 32 = 1020 bytes) and it is smaller sparse.
        let mut more = values;
        more[1] = 0.0;
        more[2] = 0.0;
        let (raw, metadata) = encode(&[tensor("a.weight", vec![4, 64], more)]).unwrap();
        assert_eq!((raw.len(), metadata.len()), (2, 1));
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_weight() {
        let tensors = vec![tensor("a.weight", vec![2, 16], (0..32).map(|i| if i < 30 { 0.0 } else { 1.0 }).collect())];
        let (mut raw, metadata) = encode(&tensors).unwrap();
        raw.retain(|t| !t.name.ends_with("sparse_values"));
        let e = decode(raw, &metadata, "m.safetensors").unwrap_err().to_string();
        assert!(e.contains("m.safetensors") && e.contains("a.weight"), "{e}");
        assert!(declared(&serde_json::json!({CONFIG_KEY: {"format": "csr-v9"}})).is_err());
        assert!(declared(&serde_json::json!({CONFIG_KEY: config_entry()})).unwrap());
    }
}
