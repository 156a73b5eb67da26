//! `trustx bench`: forward throughput of the model runtime on this machine, for the README's
//! speed table — sequences/s and GFLOP/s at batch 32, length 64, for a BERT-base-shaped
//! model (random weights) and for all-MiniLM-L6-v2 (its real weights, when fetched).
//!
//! FLOPs count the matrix products only (2 per multiply-add): per token and layer
//! `2·(4·h² + 2·h·f)` for the projections and feed-forward block plus `2·2·s·h` for the
//! attention scores and context, as PyTorch profilers count them.

use crate::model::config::{EncoderSpec, ModelType};
use crate::model::{Batch, HfModel, LoadOptions, SequenceClassifier};
use anyhow::Result;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// What was measured.
    pub name: String,
    /// Batch size.
    pub batch: usize,
    /// Tokens per sequence.
    pub length: usize,
    /// Timed repetitions (after one warm-up).
    pub reps: usize,
    /// Sequences per second (median repetition).
    pub sequences_per_s: f64,
    /// GFLOP/s of the matrix products (median repetition).
    pub gflops: f64,
}

/// The BERT-base shape (12 layers, hidden 768, 12 heads, FFN 3072, vocab 30,522).
pub fn bert_base_spec() -> EncoderSpec {
    EncoderSpec {
        model_type: ModelType::Bert,
        vocab_size: 30522,
        hidden_size: 768,
        num_layers: 12,
        num_heads: 12,
        intermediate_size: 3072,
        max_positions: 512,
        type_vocab_size: Some(2),
        layer_norm_eps: 1e-12,
        hidden_dropout: 0.1,
        attention_dropout: 0.1,
        classifier_dropout: 0.1,
        initializer_range: 0.02,
        sinusoidal_positions: false,
        pad_token_id: 0,
    }
}

/// Matrix-product FLOPs of one forward pass.
pub fn forward_flops(spec: &EncoderSpec, batch: usize, length: usize) -> f64 {
    let (h, f, s) = (spec.hidden_size as f64, spec.intermediate_size as f64, length as f64);
    let per_token_layer = 2.0 * (4.0 * h * h + 2.0 * h * f) + 2.0 * 2.0 * s * h;
    per_token_layer * spec.num_layers as f64 * batch as f64 * s
}

/// A batch of `batch` random sequences of `length` tokens (fixed seed), all real tokens.
pub fn random_batch(spec: &EncoderSpec, batch: usize, length: usize, device: &Device) -> Batch {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let ids: Vec<i64> = (0..batch * length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (1000 + state % (spec.vocab_size as u64 - 1000)) as i64
        })
        .collect();
    let input_ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch, length]), device);
    let token_type_ids = spec.type_vocab_size.map(|_| Tensor::<2, Int>::zeros([batch, length], device));
    let attention_mask = Tensor::<2>::ones([batch, length], device);
    Batch { input_ids, token_type_ids, attention_mask, lengths: vec![length; batch] }
}

/// Times `reps` forward passes of `network` on `batch` (one warm-up first).
pub fn time_forward(
    name: &str,
    network: &SequenceClassifier,
    spec: &EncoderSpec,
    batch: &Batch,
    reps: usize,
) -> BenchResult {
    let run = || {
        let out = network.forward(batch.input_ids.clone(), batch.token_type_ids.clone(), batch.attention_mask.clone());
        let _ = out.logits.into_data();
    };
    run();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let [b, s] = batch.input_ids.dims();
    BenchResult {
        name: name.into(),
        batch: b,
        length: s,
        reps: times.len(),
        sequences_per_s: b as f64 / median,
        gflops: forward_flops(spec, b, s) / median / 1e9,
    }
}

/// Runs the forward benchmarks: BERT-base shape, and MiniLM when `minilm` holds it.
pub fn run(minilm: &Path, batch: usize, length: usize, reps: usize) -> Result<Vec<BenchResult>> {
    let device = Device::flex();
    let mut out = Vec::new();
    let spec = bert_base_spec();
    // Dropout is inactive on a device without autodiff.
    let network = SequenceClassifier::init(&spec, 2, &device);
    out.push(time_forward(
        "bert-base shape (random weights)",
        &network,
        &spec,
        &random_batch(&spec, batch, length, &device),
        reps,
    ));
    if minilm.join("config.json").is_file() {
        let model = HfModel::load(minilm, &LoadOptions::default(), &device)?;
        let spec = model.spec().clone();
        out.push(time_forward(
            "all-MiniLM-L6-v2",
            model.network(),
            &spec,
            &random_batch(&spec, batch, length, &device),
            reps,
        ));
    } else {
        eprintln!(
            "skipping all-MiniLM-L6-v2: {} is absent (bash scripts/fetch-minilm.sh fetches it)",
            minilm.display()
        );
    }
    Ok(out)
}

/// The results as a Markdown table.
pub fn render(results: &[BenchResult]) -> String {
    let mut s = String::from("| model | batch × length | sequences/s | GFLOP/s |\n|---|---|---|---|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {} × {} | {:.2} | {:.1} |\n",
            r.name, r.batch, r.length, r.sequences_per_s, r.gflops
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bert_base_flops_match_the_usual_count() {
        // 12 layers × (4·768² + 2·768·3072) ≈ 85M multiply-adds per token → 2× for FLOPs.
        let f = forward_flops(&bert_base_spec(), 1, 1);
        assert!((f - 2.0 * 12.0 * (4.0 * 768.0f64.powi(2) + 2.0 * 768.0 * 3072.0 + 2.0 * 768.0)).abs() < 1.0);
        assert!((f / 1e6 - 170.0).abs() < 1.0, "{f}");
    }
}
