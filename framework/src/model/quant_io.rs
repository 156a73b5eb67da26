//! The stored form of a quantised model: `model.safetensors` with every quantised Linear
//! weight as an `I8` tensor `<linear>.weight` (`[out, in]`, PyTorch's layout) beside an
//! `F32` tensor `<linear>.weight_scale` (`[1]` per tensor, `[out]` per channel; the zero
//! point is 0), each int8 embedding table (when the embeddings are quantised too) as a
//! `U8` tensor `<table>.weight` (`[rows, dim]`) beside `F32` `<table>.weight_scale` and
//! `<table>.weight_zero_point` (`[rows]` each), and the other tensors (f32 embeddings,
//! biases, LayerNorms) in `F32`.
//! `config.json` declares it under [`CONFIG_KEY`](super::quant::CONFIG_KEY).
//!
//! Reading dequantises the int8 weights for burn's modules (which hold f32) and keeps the
//! int8 weights for the packed path, which runs them as they are.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use super::loader::NameRules;
use super::quant::{Granularity, Quantization, QuantizedLinear, Scheme};
use super::quant_embedding::QuantizedEmbedding;
use super::save::NamedTensor;

/// A safetensors dtype trustx writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// Signed byte.
    I8,
    /// Unsigned byte (a sparse weight's bitmap, [`super::sparse_io`]).
    U8,
}

impl Dtype {
    fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::I8 => "I8",
            Dtype::U8 => "U8",
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::I8 | Dtype::U8 => 1,
        }
    }
}

/// One tensor of a safetensors file: name, dtype, shape and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// Name in the file.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// Little-endian data.
    pub data: Vec<u8>,
}

impl RawTensor {
    /// An F32 tensor.
    pub fn f32(name: &str, shape: Vec<usize>, values: &[f32]) -> Self {
        Self {
            name: name.into(),
            dtype: Dtype::F32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// The values of an F32 tensor.
    pub(crate) fn as_f32(&self) -> Vec<f32> {
        self.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }
}

/// The bytes of a safetensors file of `tensors` (header padded with spaces to 8 bytes).
pub fn safetensors_file(tensors: &[RawTensor]) -> Result<Vec<u8>> {
    safetensors_file_with(tensors, &BTreeMap::new())
}

/// [`safetensors_file`] with `metadata` entries beside `"format": "pt"` in `__metadata__`
/// (safetensors allows string values only).
pub fn safetensors_file_with(tensors: &[RawTensor], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut meta = serde_json::Map::new();
    meta.insert("format".into(), json!("pt"));
    for (k, v) in metadata {
        meta.insert(k.clone(), json!(v));
    }
    header.insert("__metadata__".into(), Value::Object(meta));
    let mut offset = 0usize;
    for t in tensors {
        if t.data.len() != t.shape.iter().product::<usize>() * t.dtype.size() {
            bail!("tensor {} has {} bytes for {:?} {:?}", t.name, t.data.len(), t.dtype, t.shape);
        }
        let end = offset + t.data.len();
        header
            .insert(t.name.clone(), json!({"dtype": t.dtype.name(), "shape": t.shape, "data_offsets": [offset, end]}));
        offset = end;
    }
    let mut header = serde_json::to_vec(&Value::Object(header))?;
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for t in tensors {
        out.extend_from_slice(&t.data);
    }
    Ok(out)
}

/// Every tensor of a safetensors file (F32, I8 and U8 only).
pub fn read_safetensors(path: &Path) -> Result<Vec<RawTensor>> {
    Ok(read_safetensors_with(path)?.0)
}

/// [`read_safetensors`] with the file's `__metadata__` (its string entries).
pub fn read_safetensors_with(path: &Path) -> Result<(Vec<RawTensor>, BTreeMap<String, String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = |what: &str| anyhow!("{} is not a valid safetensors file: {what}", path.display());
    let n = u64::from_le_bytes(bytes.get(..8).ok_or_else(|| bad("shorter than 8 bytes"))?.try_into()?) as usize;
    let header: serde_json::Map<String, Value> =
        serde_json::from_slice(bytes.get(8..8 + n).ok_or_else(|| bad("header past the end"))?)
            .map_err(|e| bad(&format!("header: {e}")))?;
    let data = &bytes[8 + n..];
    let mut out = Vec::new();
    let mut metadata = BTreeMap::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            if let Value::Object(m) = entry {
                metadata.extend(m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string()))));
            }
            continue;
        }
        let dtype = match entry["dtype"].as_str() {
            Some("F32") => Dtype::F32,
            Some("I8") => Dtype::I8,
            Some("U8") => Dtype::U8,
            other => bail!(
                "{}: tensor {name} has dtype {other:?}; trustx's stored models hold F32, I8 and U8",
                path.display()
            ),
        };
        let shape: Vec<usize> =
            serde_json::from_value(entry["shape"].clone()).map_err(|_| bad(&format!("{name}: shape")))?;
        let [start, end]: [usize; 2] =
            serde_json::from_value(entry["data_offsets"].clone()).map_err(|_| bad(&format!("{name}: data_offsets")))?;
        let slice = data.get(start..end).filter(|s| s.len() == shape.iter().product::<usize>() * dtype.size());
        let slice = slice.ok_or_else(|| bad(&format!("{name}: data does not fit its shape")))?;
        out.push(RawTensor { name, dtype, shape, data: slice.to_vec() });
    }
    Ok((out, metadata))
}

/// The tensors to store for a quantised model: `tensors` (every parameter, Hugging Face
/// names and layouts, as [`super::save::hf_tensors`] gives them) with each quantised
/// Linear weight replaced by its int8 weight and scales.
pub(crate) fn quantized_tensors(
    tensors: Vec<NamedTensor>,
    q: &Quantization,
    rules: &NameRules,
) -> Result<Vec<RawTensor>> {
    let by_name: BTreeMap<String, &QuantizedLinear> =
        q.layers.iter().map(|(path, l)| (rules.to_checkpoint_name(&format!("{path}.weight"), true), l)).collect();
    let tables: BTreeMap<String, &QuantizedEmbedding> =
        q.embeddings.iter().map(|(path, e)| (rules.to_checkpoint_name(&format!("{path}.weight"), true), e)).collect();
    let mut out = Vec::new();
    let (mut used, mut used_tables) = (0, 0);
    for t in tensors {
        if let Some(e) = tables.get(&t.name) {
            used_tables += 1;
            out.push(RawTensor {
                name: t.name.clone(),
                dtype: Dtype::U8,
                shape: vec![e.rows, e.dim],
                data: e.q.clone(),
            });
            out.push(RawTensor::f32(&format!("{}_scale", t.name), vec![e.rows], &e.scales));
            out.push(RawTensor::f32(&format!("{}_zero_point", t.name), vec![e.rows], &e.zero_points));
            continue;
        }
        match by_name.get(&t.name) {
            Some(l) => {
                used += 1;
                out.push(RawTensor {
                    name: t.name.clone(),
                    dtype: Dtype::I8,
                    shape: vec![l.outputs, l.inputs],
                    data: l.q.iter().map(|&v| v as u8).collect(),
                });
                out.push(RawTensor::f32(&format!("{}_scale", t.name), vec![l.scales.len()], &l.scales));
            }
            None => out.push(RawTensor::f32(&t.name, t.shape, &t.values)),
        }
    }
    if used != by_name.len() || used_tables != tables.len() {
        bail!(
            "{} quantised layers and {} int8 embedding tables but {used} and {used_tables} of them among the model's tensors",
            by_name.len(),
            tables.len()
        );
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads a quantised weights file: an all-F32 safetensors image with the int8 weights
/// dequantised (for burn's store) and the quantisation, keyed by module path.
pub(crate) fn read_quantized(
    path: &Path,
    rules: &NameRules,
    scheme: Scheme,
    granularity: Granularity,
) -> Result<(Vec<u8>, Quantization)> {
    let tensors = read_safetensors(path)?;
    let scales: BTreeMap<&str, &RawTensor> = tensors
        .iter()
        .filter_map(|t| t.name.strip_suffix("_scale").filter(|_| t.dtype == Dtype::F32).map(|n| (n, t)))
        .collect();
    let (mut layers, mut embeddings) = (BTreeMap::new(), BTreeMap::new());
    let mut plain = Vec::new();
    for t in &tensors {
        match t.dtype {
            Dtype::F32 if t.name.ends_with(".weight_scale") || t.name.ends_with(".weight_zero_point") => {}
            Dtype::F32 => plain.push(NamedTensor { name: t.name.clone(), shape: t.shape.clone(), values: t.as_f32() }),
            Dtype::U8 => {
                let e = embedding_table(path, t, &tensors)?;
                plain.push(NamedTensor { name: t.name.clone(), shape: vec![e.rows, e.dim], values: e.dequantized() });
                let module = rules.to_module_path(&t.name);
                embeddings.insert(module.strip_suffix(".weight").unwrap_or(&module).to_string(), e);
            }
            Dtype::I8 => {
                let file = path.display();
                let [outputs, inputs] = t.shape[..] else { bail!("{file}: int8 tensor {} is not a matrix", t.name) };
                let s =
                    scales.get(t.name.as_str()).ok_or_else(|| anyhow!("{file}: {} has no {}_scale", t.name, t.name))?;
                let scale_values = s.as_f32();
                if !(scale_values.len() == 1 || scale_values.len() == outputs) {
                    bail!("{file}: {}_scale has {} values for {outputs} outputs", t.name, scale_values.len());
                }
                let layer = QuantizedLinear {
                    inputs,
                    outputs,
                    q: t.data.iter().map(|&b| b as i8).collect(),
                    scales: scale_values,
                };
                // PyTorch layout `[out, in]`, as every other Linear weight in the file.
                let burn = layer.dequantized();
                let mut values = vec![0.0; burn.len()];
                for i in 0..inputs {
                    for o in 0..outputs {
                        values[o * inputs + i] = burn[i * outputs + o];
                    }
                }
                plain.push(NamedTensor { name: t.name.clone(), shape: vec![outputs, inputs], values });
                let module = rules.to_module_path(&t.name);
                let module = module.strip_suffix(".weight").unwrap_or(&module).to_string();
                layers.insert(module, layer);
            }
        }
    }
    let bytes = super::save::safetensors_bytes(&plain)?;
    Ok((bytes, Quantization { scheme, granularity, layers, embeddings }))
}

/// The int8 embedding table stored as the U8 tensor `t` with its `_scale` and `_zero_point`
/// rows among `tensors` (of the file at `path`).
fn embedding_table(path: &Path, t: &RawTensor, tensors: &[RawTensor]) -> Result<QuantizedEmbedding> {
    let file = path.display();
    let [rows, dim] = t.shape[..] else { bail!("{file}: U8 tensor {} is not a table", t.name) };
    let per_row = |suffix: &str| -> Result<Vec<f32>> {
        let name = format!("{}{suffix}", t.name);
        let found = tensors.iter().find(|s| s.name == name && s.dtype == Dtype::F32);
        let values = found.ok_or_else(|| anyhow!("{file}: the U8 table {} has no F32 {name}", t.name))?.as_f32();
        if values.len() != rows {
            bail!("{file}: {name} has {} values for {rows} rows", values.len());
        }
        Ok(values)
    };
    Ok(QuantizedEmbedding {
        rows,
        dim,
        q: t.data.clone(),
        scales: per_row("_scale")?,
        zero_points: per_row("_zero_point")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelType;

    #[test]
    fn int8_tensors_round_trip_through_a_file() {
        let rules = NameRules::for_model(ModelType::Bert);
        let layer = QuantizedLinear { inputs: 3, outputs: 2, q: vec![1, -2, 127, -128, 0, 5], scales: vec![0.5, 0.25] };
        let q = Quantization {
            scheme: Scheme::DynamicInt8,
            granularity: Granularity::PerChannel,
            layers: [("classifier".to_string(), layer.clone())].into(),
            embeddings: BTreeMap::new(),
        };
        let tensors = vec![
            NamedTensor { name: "classifier.weight".into(), shape: vec![2, 3], values: vec![0.0; 6] },
            NamedTensor { name: "classifier.bias".into(), shape: vec![2], values: vec![1.0, 2.0] },
        ];
        let raw = quantized_tensors(tensors, &q, &rules).unwrap();
        assert_eq!(
            raw.iter().map(|t| (t.name.as_str(), t.dtype)).collect::<Vec<_>>(),
            [
                ("classifier.bias", Dtype::F32),
                ("classifier.weight", Dtype::I8),
                ("classifier.weight_scale", Dtype::F32)
            ]
        );
        let dir = std::env::temp_dir().join(format!("trustx-quant-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        std::fs::write(&path, safetensors_file(&raw).unwrap()).unwrap();
        // 6 int8 weights + 2 scales + 2 biases.
        assert_eq!(read_safetensors(&path).unwrap().iter().map(|t| t.data.len()).sum::<usize>(), 6 + 8 + 8);
        let (f32_image, back) = read_quantized(&path, &rules, Scheme::DynamicInt8, Granularity::PerChannel).unwrap();
        assert_eq!(back, q);
        std::fs::write(&path, f32_image).unwrap();
        let image = read_safetensors(&path).unwrap();
        let w = image.iter().find(|t| t.name == "classifier.weight").unwrap();
        assert_eq!((w.dtype, w.as_f32()), (Dtype::F32, vec![0.5, -1.0, 63.5, -32.0, 0.0, 1.25]));
        std::fs::remove_dir_all(&dir).ok();
    }
}
