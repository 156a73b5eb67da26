//! What the `train` and `predict` stages share about neural models: the compute device of
//! the manifest's backend, loading a model for a node, predicting a dataset split in batches, and the model card (the columns of the
//! paper's Table 1: parameters, size on disk, milliseconds per example).

use crate::data::Example;
use crate::manifest::schema::Backend;
use crate::model::labels::LabelTarget;
use crate::model::{HfModel, LoadOptions, loader};
use crate::predictions::Predictions;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use std::path::Path;
use std::time::Instant;

/// The device of a backend. `cuda` needs a build with the `cuda` cargo feature and a
/// working CUDA driver; otherwise a clear error says what to do.
pub fn device(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        Backend::Cuda => cuda_device(),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device> {
    let probe = std::panic::catch_unwind(|| {
        let device = Device::cuda(0);
        let t = burn::tensor::Tensor::<1>::from_floats([1.0f32, 2.0], &device);
        let _ = t.sum().into_data();
        device
    });
    probe.map_err(|_| {
        anyhow::anyhow!(
            "backend = \"cuda\" but no usable CUDA device was found (driver or GPU missing); set backend = \"cpu\" in [experiment]"
        )
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device> {
    bail!(
        "backend = \"cuda\" but this trustx was built without CUDA; rebuild with `cargo build --release --features cuda` on a machine with a GPU, or set backend = \"cpu\" in [experiment]"
    )
}

/// Loads a checkpoint folder for prediction with the manifest's `max_len`/`batch_size`,
/// its outputs matched to the dataset's classes by name ([`crate::model::labels`]). A
/// checkpoint without a classification head is an error: prediction needs a trained head.
pub fn load_for_prediction(dir: &Path, labels: &LabelTarget, max_len: usize, batch_size: usize) -> Result<HfModel> {
    let options = LoadOptions { max_len, batch_size, ..LoadOptions::default() };
    load_for_prediction_with(dir, labels, options, &Device::flex())
}

/// [`load_for_prediction`] with a node's load options
/// ([`NeuralRun::load_options`](crate::plan::node_config::NeuralRun::load_options)) on a
/// device.
pub fn load_for_prediction_with(
    dir: &Path,
    labels: &LabelTarget,
    options: LoadOptions,
    device: &Device,
) -> Result<HfModel> {
    let mut model = HfModel::load(dir, &options, device)?;
    if model.load_report().fresh_head {
        bail!(
            "{} has no classification head trained for this task; remove `finetuned = true` to fine-tune it, or point `checkpoint` at a fine-tuned folder",
            dir.display()
        );
    }
    model.match_labels(labels).with_context(|| format!("{}/config.json", dir.display()))?;
    Ok(model)
}

/// Time spent in the model while predicting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictTiming {
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds of the current rayon pool's threads (see [`crate::exec::cpu_time`]);
    /// `None` where the OS does not report them.
    pub cpu_seconds: Option<f64>,
}

/// Predicts class probabilities for `examples` in batches sorted by length, duplicates
/// run once. Returns the predictions and the time spent in the model.
pub fn predict_examples(model: &HfModel, examples: &[Example]) -> Result<(Predictions, PredictTiming)> {
    let mut encoded = Vec::with_capacity(examples.len());
    for e in examples {
        let pair = e.segments.get(1).map(String::as_str);
        let first = e.segments.first().map(String::as_str).unwrap_or("");
        encoded.push(model.tokenize(first, pair).with_context(|| format!("tokenizing example `{}`", e.id))?);
    }
    let cpu_start = crate::exec::cpu_time::pool_seconds();
    let start = Instant::now();
    let out = model.forward_batch(&encoded)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = crate::exec::cpu_time::pool_seconds().zip(cpu_start).map(|(end, start)| end - start);
    let num_classes = model.num_labels();
    let mut probs = Vec::with_capacity(examples.len() * num_classes);
    for (row, e) in out.logits.iter().zip(examples) {
        if let Some(bad) = row.iter().find(|v| !v.is_finite()) {
            bail!("the model gave a non-finite logit ({bad}) for example `{}`", e.id);
        }
        probs.extend(softmax_f64(row));
    }
    let preds = Predictions {
        ids: examples.iter().map(|e| e.id.clone()).collect(),
        labels: examples.iter().map(|e| e.label).collect(),
        num_classes,
        probs,
    };
    Ok((preds, PredictTiming { seconds, cpu_seconds }))
}

/// Softmax in f64 of f32 logits (so rows sum to 1 to f64 precision).
pub fn softmax_f64(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let exp: Vec<f64> = logits.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|v| v / sum).collect()
}

/// Milliseconds per example of `seconds` over `examples` (0 for none).
fn per_example_ms(seconds: f64, examples: usize) -> f64 {
    if examples == 0 { 0.0 } else { seconds * 1000.0 / examples as f64 }
}

pub use crate::tables::summary::ModelCard;

impl ModelCard {
    #[allow(clippy::too_many_arguments)]
    /// The card of `model` after predicting `examples` examples in `timing`.
    pub fn measure(
        name: &str,
        model: &HfModel,
        examples: usize,
        timing: PredictTiming,
        max_len: usize,
        batch_size: usize,
        backend: Backend,
    ) -> Result<ModelCard> {
        let spec = model.spec();
        let weights = loader::weights_file(model.dir())?;
        let bytes = std::fs::metadata(&weights).with_context(|| format!("reading {}", weights.display()))?.len();
        Ok(ModelCard {
            model: name.into(),
            model_type: spec.model_type.as_str().into(),
            layers: spec.num_layers,
            hidden: spec.hidden_size,
            heads: spec.num_heads,
            parameters: model.num_parameters(),
            size_mb: bytes as f64 / 1e6,
            ms_per_example: per_example_ms(timing.seconds, examples),
            cpu_ms_per_example: timing.cpu_seconds.map(|s| per_example_ms(s, examples)),
            batch_size,
            max_len,
            backend: match backend {
                Backend::Cpu => "cpu".into(),
                Backend::Cuda => "cuda".into(),
            },
            examples,
            weight_bits: 32,
            sparsity: {
                let (zeros, total) = crate::model::surgery::encoder_zeros(model.network());
                zeros as f64 / total.max(1) as f64
            },
            quantization: None,
            deploy_size_mb: None,
        })
    }

    /// Sets the fields a compressor reported.
    pub fn apply(&mut self, o: &crate::plugin::compressor::CardOverrides) {
        if let Some(bits) = o.weight_bits {
            self.weight_bits = bits;
        }
        if o.quantization.is_some() {
            self.quantization = o.quantization.clone();
        }
        if let Some(bytes) = o.deploy_size_bytes {
            self.deploy_size_mb = Some(bytes as f64 / 1e6);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one() {
        let p = softmax_f64(&[1000.0, 1001.0, -5.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(p[1] > p[0] && p[0] > p[2]);
    }

    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        if cfg!(feature = "cuda") {
            return;
        }
        let e = device(Backend::Cuda).unwrap_err().to_string();
        assert!(e.contains("--features cuda") && e.contains("backend = \"cpu\""), "{e}");
    }
}
