//! `quantize`: int8 Linear layers, the model a team ships after
//! `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)`.
//!
//! **Schemes.**
//! - `dynamic-int8` (default): PyTorch's dynamic quantisation on x86 (the `x86`/`fbgemm`
//!   engine). The variant stores int8 weights and the packed CPU path runs every Linear in
//!   int8, quantising its input per call. Each choice, with where PyTorch makes it:
//!   - *Which layers*: every `nn.Linear` — attention query/key/value/output, both
//!     feed-forward matrices, BERT's pooler dense layer, DistilBERT's pre-classifier and
//!     the classifier — as `quantize_dynamic` with `qconfig_spec={nn.Linear}` swaps each for
//!     `torch.ao.nn.quantized.dynamic.Linear`. Embeddings, LayerNorms and biases stay f32.
//!   - *Weights*: `qint8`, symmetric, zero point 0, one scale per tensor: the
//!     `default_dynamic_qconfig`'s weight observer is `MinMaxObserver(dtype=torch.qint8,
//!     qscheme=torch.per_tensor_symmetric)`; its `_calculate_qparams` gives `scale =
//!     max(−min(w,0), max(w,0)) / ((127 − (−128)) / 2) = max|w| / 127.5` (f32, at least
//!     f32 ε). With `granularity = "per-channel"`, `per_channel_dynamic_qconfig`'s
//!     `PerChannelMinMaxObserver(qscheme=per_channel_symmetric)`: the same per output unit.
//!   - *Weight rounding*: `quantize_per_tensor` / `quantize_val` compute
//!     `nearbyint(w · (1/scale))` (round half to even under the default rounding mode),
//!     clamped to [−128, 127].
//!   - *Activations*: `quint8`, affine, one (scale, zero point) per input tensor, from its
//!     own min and max at every call (`qlinear_dynamic.cpp`: `fbgemm::FindMinMax`, then
//!     `quant_utils::ChooseQuantizationParams(min, max, 0, 255, preserve_sparsity=false,
//!     force_scale_power_of_two=false, reduce_range)`); `reduce_range=True` because
//!     `dynamic.Linear.forward` passes it for qint8 (x86 kernels sum pairs of u8·i8 products
//!     in i16), so the range is 0..127. The zero point is rounded half to even. Each input
//!     becomes `clamp(nearbyint(x · (1/scale)) + zero_point, 0, 255)`: the product rounded
//!     to f32, then to the nearest integer (half to even), then the zero point added (the
//!     fused `fma(x, 1/scale, zero_point)` form differs at rare ties; PyTorch's logits on
//!     the fixture match this form).
//!   - *Product*: u8 × i8 summed in i32; `ReQuantizeForFloat` subtracts zero point × the
//!     weight column sums, multiplies by `scale_x · scale_w` and adds the f32 bias, the last
//!     two in one fused multiply-add.
//!   - *Embeddings* (`embeddings = true`): every `nn.Embedding` as `quantize_dynamic` with
//!     `{nn.Embedding: float_qparams_weight_only_qconfig}` stores it — 8-bit rows, each with
//!     a float scale `(max − min)/255` and zero point `−min/scale`, read back as
//!     `fma(scale, q, −zero_point·scale)` (`trustx_framework::model::quant_embedding`).
//!     That takes all-MiniLM-L6-v2 to about a quarter of its f32 size (its word embeddings
//!     are half its parameters); without it, two thirds.
//!   - *Where*: the numerics live in `trustx_framework::model::quant` (the runtime needs
//!     them); the int8 kernels (AVX-512 VNNI, AVX2, scalar; identical integers) in
//!     `model::packed::int8`.
//! - `weight-only-int8`: the same int8 weights, dequantised (`q · scale`) before an f32
//!   product; activations stay f32.
//!
//! **On purpose unlike PyTorch**: the activation range is taken per example, which is
//! PyTorch at batch size 1; PyTorch at batch size > 1 takes it over the padded batch, so
//! its outputs depend on the batch.
//!
//! **Stored form**: the variant's `model.safetensors` holds each Linear weight as `I8`
//! `[out, in]` plus an `F32` `<name>_scale`; `config.json` declares the scheme under
//! `trustx_quantization`. Its size on disk is the real deployable size.
//!
//! **Simulated where it must be**: burn's forward (used for gradients, the CUDA backend and
//! fine-tuning) computes with the dequantised weights in f32: fine-tuning a quantised
//! variant trains the f32 weights (straight-through) and quantises them again when saved.

use serde::{Deserialize, Serialize};
use trustx_framework::anyhow;
use trustx_framework::model::quant::{Granularity, Scheme};
use trustx_framework::plugin::compressor::{
    CardOverrides, CompressOutput, CompressRequest, Compressor, CompressorEntry,
};
use trustx_framework::schemars::{self, JsonSchema};
use trustx_framework::serde_json::json;

/// Settings of `quantize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantizeSettings {
    /// `dynamic-int8` (PyTorch's dynamic quantisation, int8 kernels) or `weight-only-int8`.
    /// Default `dynamic-int8`.
    #[serde(default = "default_scheme")]
    pub scheme: Scheme,
    /// `per-tensor` (PyTorch's default) or `per-channel` weight scales. Default `per-tensor`.
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
    /// Quantise the embedding tables too (`nn.Embedding` with
    /// `float_qparams_weight_only_qconfig`: 8-bit rows with a float scale and zero point).
    /// Default false (`quantize_dynamic` with `{nn.Linear}` only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub embeddings: bool,
}

fn default_scheme() -> Scheme {
    Scheme::DynamicInt8
}

fn default_granularity() -> Granularity {
    Granularity::PerTensor
}

/// The `quantize` compressor.
pub struct Quantize;

impl Compressor for Quantize {
    type Settings = QuantizeSettings;
    const NAME: &'static str = "quantize";
    const VERSION: &'static str = "2";
    const SUMMARY: &'static str = "int8 Linear layers as PyTorch's quantize_dynamic (dynamic-int8, int8 kernels) or weight-only int8; stored as I8";

    fn compress(settings: &QuantizeSettings, request: CompressRequest) -> anyhow::Result<CompressOutput> {
        let model = request.model;
        let f32_before = model.num_parameters() as u64 * 4;
        let model = model.quantized(settings.scheme, settings.granularity);
        let model = if settings.embeddings { model.with_int8_embeddings()? } else { model };
        let Some(q) = model.quantization() else { anyhow::bail!("quantisation left no int8 layers (internal error)") };
        let int8_weights = q.weights();
        let stored = (model.num_parameters() - int8_weights) as u64 * 4 + q.stored_bytes() as u64;
        let tensors: Vec<_> = q
            .layers
            .iter()
            .map(|(path, l)| {
                json!({
                    "path": path,
                    "shape": [l.outputs, l.inputs],
                    "scales": l.scales.len(),
                    "max_scale": l.scales.iter().copied().fold(0.0f32, f32::max),
                })
            })
            .collect();
        let embeddings = if settings.embeddings { ", int8 embeddings" } else { "" };
        let label = format!("int8 {} ({}{embeddings})", settings.scheme.as_str(), settings.granularity.as_str());
        let report = json!({
            "int8": "real",
            "scheme": settings.scheme,
            "granularity": settings.granularity,
            "numerics": "PyTorch quantize_dynamic on x86: qint8 symmetric weights (max|w|/127.5), quint8 affine per-call activations with reduce_range (dynamic-int8 only), i32 accumulation",
            "quantized_tensors": tensors.len(),
            "quantized_weights": int8_weights,
            "kept_f32": if settings.embeddings { "biases, LayerNorm" } else { "embeddings, biases, LayerNorm" },
            "int8_embedding_tables": q.embeddings.len(),
            "f32_parameter_bytes": f32_before,
            "stored_parameter_bytes": stored,
            "training_through_it": "simulated (straight-through on the dequantised f32 weights, quantised again when saved)",
            "tensors": tensors,
        });
        Ok(CompressOutput {
            model,
            report,
            card: CardOverrides { weight_bits: Some(8), quantization: Some(label), deploy_size_bytes: None },
        })
    }
}

inventory::submit! { CompressorEntry::of::<Quantize>() }

#[cfg(test)]
mod tests {
    use super::*;
    use trustx_framework::burn::tensor::Device;
    use trustx_framework::data::{Dataset, Split};
    use trustx_framework::model::scratch::{Architecture, ArchitectureType};
    use trustx_framework::model::{HfModel, LoadOptions};

    fn tiny() -> HfModel {
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
        let options = LoadOptions { seed: 5, num_labels: Some(3), ..LoadOptions::default() };
        HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap()
    }

    fn compress(settings: &QuantizeSettings, model: HfModel) -> CompressOutput {
        let dataset = Dataset {
            name: "t".into(),
            label_names: vec!["a".into(), "b".into(), "c".into()],
            train: None,
            eval: Split { examples: vec![], counts: Default::default() },
        };
        let request = CompressRequest {
            variant: "q",
            model,
            dataset: &dataset,
            seed: 0,
            max_len: 16,
            base_dir: std::path::Path::new("."),
            progress: &|_| {},
        };
        Quantize::compress(settings, request).unwrap()
    }

    #[test]
    fn defaults_are_pytorchs_dynamic_per_tensor() {
        let s: QuantizeSettings = trustx_framework::serde_json::from_value(json!({})).unwrap();
        assert_eq!((s.scheme, s.granularity), (Scheme::DynamicInt8, Granularity::PerTensor));
        let bad = trustx_framework::serde_json::from_value::<QuantizeSettings>(json!({"scheme": "int4"}));
        assert!(bad.is_err());
    }

    #[test]
    fn the_stored_variant_is_int8_and_predicts_what_was_audited() {
        let model = tiny();
        let texts = ["a great film", "not good at all , really", "the plot"];
        let inputs: Vec<_> = texts.iter().map(|t| model.tokenize(t, None).unwrap()).collect();
        let float = model.forward_batch(&inputs).unwrap().logits;
        let root = std::env::temp_dir().join(format!("trustx-quantize-{}", std::process::id()));
        let mut logits = Vec::new();
        let mut cases = vec![];
        for scheme in [Scheme::DynamicInt8, Scheme::WeightOnlyInt8] {
            for granularity in [Granularity::PerTensor, Granularity::PerChannel] {
                cases.push(QuantizeSettings { scheme, granularity, embeddings: false });
            }
        }
        cases.push(QuantizeSettings {
            scheme: Scheme::DynamicInt8,
            granularity: Granularity::PerTensor,
            embeddings: true,
        });
        for settings in cases {
            let (scheme, granularity) = (settings.scheme, settings.granularity);
            let out = compress(&settings, model.clone());
            // Every Linear: 2 layers × 6, pooler, classifier.
            assert_eq!(out.report["quantized_tensors"], 14, "{}", out.report);
            let ours = out.model.forward_batch(&inputs).unwrap().logits;
            assert_eq!(out.report["int8_embedding_tables"], if settings.embeddings { 3 } else { 0 });
            let dir = root.join(format!("{}-{}-{}", scheme.as_str(), granularity.as_str(), settings.embeddings));
            out.model.save_hf(&dir).unwrap();
            let back = HfModel::load(&dir, &LoadOptions::default(), &Device::flex()).unwrap();
            assert_eq!(back.quantization().map(|q| (q.scheme, q.granularity)), Some((scheme, granularity)));
            assert_eq!(back.quantization(), out.model.quantization(), "int8 weights survive the folder");
            assert_eq!(back.forward_batch(&inputs).unwrap().logits, ours, "{scheme:?} {granularity:?}");
            // The file holds the int8 weights: its size is the reported one plus the header.
            let size = std::fs::metadata(dir.join("model.safetensors")).unwrap().len();
            let stored = out.report["stored_parameter_bytes"].as_u64().unwrap();
            assert!(size > stored && size < stored + 8_000, "{size} vs {stored}");
            logits.push(ours);
        }
        // Close to the float model, and the schemes compute different models.
        for l in &logits {
            for (a, b) in l.iter().flatten().zip(float.iter().flatten()) {
                assert!((a - b).abs() < 0.1, "{a} vs {b}");
            }
        }
        assert_ne!(logits[0], logits[2], "dynamic and weight-only int8 agree exactly");
        assert_ne!(logits[0], logits[4], "int8 embeddings change nothing");
        std::fs::remove_dir_all(&root).ok();
    }
}
