//! `trustx model quantize IN_DIR --out OUT_DIR [--scheme dynamic-int8|weight-only-int8]
//! [--per-channel] [--embeddings]`: a Hugging Face folder quantised outside a manifest, written as the
//! deployable folder a `quantize` variant holds (int8 `I8` tensors plus their scales in
//! `model.safetensors`, the scheme declared in `config.json`; see [`crate::model::quant`]
//! and [`crate::model::quant_io`]). `trustx model inspect OUT_DIR` runs it.

use crate::model::quant::{Granularity, Scheme};
use crate::model::{HfModel, LoadOptions};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use serde::Serialize;
use std::path::Path;

/// What `model quantize` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Quantized {
    /// The scheme.
    pub scheme: Scheme,
    /// Per-tensor or per-channel weight scales.
    pub granularity: Granularity,
    /// Linear layers stored in int8.
    pub layers: usize,
    /// Embedding tables stored in int8 (0 unless `--embeddings`).
    pub embedding_tables: usize,
    /// Bytes of the input folder's weights file.
    pub input_bytes: u64,
    /// Bytes of the written `model.safetensors`.
    pub output_bytes: u64,
}

/// Quantises the model in `input` and writes it to `out` (which must not exist, or be an
/// empty folder). A folder that is already quantised is refused: its weights are no
/// longer the float weights PyTorch's observer would see.
/// With `embeddings`, the embedding tables are quantised too
/// ([`crate::model::quant_embedding`]).
pub fn quantize(
    input: &Path,
    out: &Path,
    scheme: Scheme,
    granularity: Granularity,
    embeddings: bool,
) -> Result<Quantized> {
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not an empty folder: choose another --out", out.display());
    }
    let model = HfModel::load(input, &LoadOptions::default(), &Device::flex())?;
    if let Some(q) = model.quantization() {
        bail!(
            "{} is already quantised ({}): quantise the float model it came from",
            input.display(),
            q.scheme.as_str()
        );
    }
    if model.load_report().fresh_head {
        bail!(
            "{} has no classification head: a quantised random head would be saved as if trained; \
             give a folder with a trained head",
            input.display()
        );
    }
    let input_bytes = file_len(&model.load_report().weights_file)?;
    let model = model.quantized(scheme, granularity);
    let model = if embeddings { model.with_int8_embeddings()? } else { model };
    let layers = model.quantization().map_or(0, |q| q.layers.len());
    let embedding_tables = model.quantization().map_or(0, |q| q.embeddings.len());
    model.save_hf(out)?;
    let output_bytes = file_len(&out.join("model.safetensors"))?;
    Ok(Quantized { scheme, granularity, layers, embedding_tables, input_bytes, output_bytes })
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scratch::{Architecture, ArchitectureType};

    fn tiny(dir: &Path) {
        let arch = Architecture {
            model_type: ArchitectureType::Bert,
            layers: 2,
            hidden: 16,
            heads: 4,
            ffn: 32,
            vocab: concat!(env!("CARGO_MANIFEST_DIR"), "/../data/vocab/sst2-words.txt").into(),
            max_positions: 32,
            lower_case: true,
        };
        let options = LoadOptions { seed: 3, num_labels: Some(2), ..LoadOptions::default() };
        HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap().save_hf(dir).unwrap();
    }

    #[test]
    fn quantized_folder_loads_as_int8_and_refuses_a_second_pass() {
        let tmp = std::env::temp_dir().join(format!("trustx-model-quantize-{}", std::process::id()));
        std::fs::remove_dir_all(&tmp).ok();
        let (input, out) = (tmp.join("f32"), tmp.join("int8"));
        tiny(&input);
        let q = quantize(&input, &out, Scheme::DynamicInt8, Granularity::PerChannel, false).unwrap();
        assert_eq!(q.layers, 2 * 6 + 2, "q, k, v, output, two feed-forward per layer, pooler, classifier");
        assert!(q.output_bytes < q.input_bytes, "{q:?}");
        let loaded = HfModel::load(&out, &LoadOptions::default(), &Device::flex()).unwrap();
        let lq = loaded.quantization().expect("a quantised folder loads quantised");
        assert_eq!((lq.scheme, lq.granularity), (Scheme::DynamicInt8, Granularity::PerChannel));
        let err = quantize(&out, &tmp.join("again"), Scheme::DynamicInt8, Granularity::PerTensor, false).unwrap_err();
        assert!(format!("{err:#}").contains("already quantised"), "{err:#}");
        let err = quantize(&input, &out, Scheme::DynamicInt8, Granularity::PerTensor, false).unwrap_err();
        assert!(format!("{err:#}").contains("not an empty folder"), "{err:#}");
        std::fs::remove_dir_all(&tmp).ok();
    }

    #[test]
    fn int8_embeddings_are_stored_as_u8_rows_and_read_back_the_same() {
        let tmp = std::env::temp_dir().join(format!("trustx-model-quantize-emb-{}", std::process::id()));
        std::fs::remove_dir_all(&tmp).ok();
        let (input, linear, both) = (tmp.join("f32"), tmp.join("int8"), tmp.join("int8-emb"));
        tiny(&input);
        let a = quantize(&input, &linear, Scheme::DynamicInt8, Granularity::PerTensor, false).unwrap();
        let b = quantize(&input, &both, Scheme::DynamicInt8, Granularity::PerTensor, true).unwrap();
        assert_eq!((a.embedding_tables, b.embedding_tables), (0, 3), "word, position, token type");
        assert!(b.output_bytes < a.output_bytes, "{a:?} {b:?}");
        let bytes = std::fs::read(both.join("model.safetensors")).unwrap();
        let stored = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let word = stored.tensor("bert.embeddings.word_embeddings.weight").unwrap();
        assert_eq!(word.dtype(), safetensors::Dtype::U8);
        let rows = word.shape()[0];
        assert_eq!(stored.tensor("bert.embeddings.word_embeddings.weight_zero_point").unwrap().shape(), [rows]);
        // The folder reads back as the model that wrote it.
        let options = LoadOptions::default();
        let written = HfModel::load(&input, &options, &Device::flex())
            .unwrap()
            .quantized(Scheme::DynamicInt8, Granularity::PerTensor)
            .with_int8_embeddings()
            .unwrap();
        let loaded = HfModel::load(&both, &options, &Device::flex()).unwrap();
        assert_eq!(loaded.quantization(), written.quantization());
        let e = loaded.tokenize("a fine film", None).unwrap();
        let (x, y) = (loaded.forward_batch(std::slice::from_ref(&e)).unwrap(), written.forward_batch(&[e]).unwrap());
        assert_eq!(x.logits, y.logits);
        std::fs::remove_dir_all(&tmp).ok();
    }
}
