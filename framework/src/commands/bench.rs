//! `trustx bench`: forward throughput of the model runtime on this machine, for the README's
//! speed table — sequences/s and GFLOP/s at batch 32, length 64, for a BERT-base-shaped
//! model (random weights) and for all-MiniLM-L6-v2 (its real weights, when fetched) — and
//! MiniLM's training speed (examples/s of forward + backward + clipping + AdamW step, dropout
//! on; GFLOP/s counts 3× the forward's products), on the CPU training path
//! (`model::cpu_train`, what fine-tuning runs on the CPU) and through burn's autodiff (what
//! it runs on CUDA, and the reference).
//!
//! FLOPs count the matrix products only (2 per multiply-add): per token and layer
//! `2·(4·h² + 2·h·f)` for the projections and feed-forward block plus `2·2·s·h` for the
//! attention scores and context, as PyTorch profilers count them.
//!
//! Each forward is timed three times: through burn's graph (what training runs), through the
//! packed inference path (`model::packed`, what predictions and explanations run), and
//! through the packed path of the model quantised `dynamic-int8` (int8 Linear layers with
//! the int8 kernels this CPU runs: AVX-512 VNNI, AVX2 or scalar). Its GFLOP/s count the
//! same products as the f32 rows, so the two compare directly. MiniLM pruned at 50 % and
//! 90 % adds the rows of [`super::bench_sparse`] (stored size, dense against sparse products).

use crate::model::config::{EncoderSpec, ModelType};
use crate::model::cpu_train::adamw::AdamW as CpuAdamW;
use crate::model::cpu_train::dropout::Dropout;
use crate::model::cpu_train::loss::cross_entropy;
use crate::model::cpu_train::{CpuNet, dropout_of};
use crate::model::packed::PackedClassifier;
use crate::model::quant::{Granularity, Quantization, Scheme};
use crate::model::train::clip_global_norm;
use crate::model::{Batch, Encoded, HfModel, LoadOptions, SequenceClassifier, set_training};
use anyhow::{Result, bail};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
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
    /// Sequences (training: examples) per second (median repetition).
    pub sequences_per_s: f64,
    /// GFLOP/s of the matrix products (median repetition).
    pub gflops: f64,
    /// The 1-minute load average after the repetitions, when the OS reports it.
    pub load_average: Option<f64>,
    /// CPU milliseconds (user + system, every thread) per sequence (training: example),
    /// mean over the timed repetitions, when the OS reports it: unlike the wall-clock
    /// figures, it hardly moves when other processes share the cores.
    pub cpu_ms_per_sequence: Option<f64>,
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

/// The 1-minute load average from `/proc/loadavg` (Linux; `None` elsewhere).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Matrix-product FLOPs of one forward pass.
pub fn forward_flops(spec: &EncoderSpec, batch: usize, length: usize) -> f64 {
    let (h, f, s) = (spec.hidden_size as f64, spec.intermediate_size as f64, length as f64);
    let per_token_layer = 2.0 * (4.0 * h * h + 2.0 * h * f) + 2.0 * 2.0 * s * h;
    per_token_layer * spec.num_layers as f64 * batch as f64 * s
}

/// `batch` random sequences of `length` token ids (fixed seed), all real tokens.
pub fn random_inputs(spec: &EncoderSpec, batch: usize, length: usize) -> Vec<Encoded> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..batch)
        .map(|_| {
            let ids: Vec<u32> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (1000 + state % (spec.vocab_size as u64 - 1000)) as u32
                })
                .collect();
            Encoded { type_ids: vec![0; ids.len()], tokens: Vec::new(), ids }
        })
        .collect()
}

/// The sequences of [`random_inputs`] as one padded (padding-free) [`Batch`].
pub fn random_batch(spec: &EncoderSpec, batch: usize, length: usize, device: &Device) -> Batch {
    let inputs = random_inputs(spec, batch, length);
    let refs: Vec<&Encoded> = inputs.iter().collect();
    Batch::new(&refs, spec.pad_token_id, spec.type_vocab_size.is_some(), device)
}

/// Times `reps` packed forward passes ([`PackedClassifier::logits`], what
/// `HfModel::forward_batch` runs on the CPU) of `packed` on `inputs` (one warm-up first).
pub fn time_packed(
    name: &str,
    packed: &PackedClassifier,
    spec: &EncoderSpec,
    inputs: &[Encoded],
    reps: usize,
) -> BenchResult {
    let refs: Vec<&Encoded> = inputs.iter().collect();
    let mut run = || {
        // `random_inputs` draws ids below the vocabulary size and token type 0; `run` checks
        // `length` against the positions.
        let _ = packed.logits(&refs, refs.len());
    };
    let timing = median_seconds(reps, &mut run);
    forward_result(name, spec, inputs.len(), inputs.first().map_or(0, Encoded::len), reps, timing)
}

/// Times `reps` forward passes of `network` on `batch` (one warm-up first).
pub fn time_forward(
    name: &str,
    network: &SequenceClassifier,
    spec: &EncoderSpec,
    batch: &Batch,
    reps: usize,
) -> BenchResult {
    let mut run = || {
        let out = network.forward(batch.input_ids.clone(), batch.token_type_ids.clone(), batch.attention_mask.clone());
        let _ = out.logits.into_data();
    };
    let timing = median_seconds(reps, &mut run);
    let [b, s] = batch.input_ids.dims();
    forward_result(name, spec, b, s, reps, timing)
}

/// The result of a forward timing: `batch` sequences of `length` tokens in `median` seconds.
fn forward_result(
    name: &str,
    spec: &EncoderSpec,
    batch: usize,
    length: usize,
    reps: usize,
    timing: Timing,
) -> BenchResult {
    BenchResult {
        name: name.into(),
        batch,
        length,
        reps: reps.max(1),
        sequences_per_s: batch as f64 / timing.median,
        gflops: forward_flops(spec, batch, length) / timing.median / 1e9,
        load_average: load_average(),
        cpu_ms_per_sequence: timing.cpu_per_rep.map(|c| c * 1000.0 / batch as f64),
    }
}

/// Wall-clock and CPU seconds of the timed repetitions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Median wall-clock seconds of one repetition.
    pub(super) median: f64,
    /// Mean CPU seconds of the process per repetition (`None` without `/proc`).
    pub(super) cpu_per_rep: Option<f64>,
}

/// The median wall-clock seconds of `reps` timed calls of `run` (after one warm-up call)
/// and their mean CPU seconds.
pub(super) fn median_seconds(reps: usize, run: &mut dyn FnMut()) -> Timing {
    run();
    let cpu_before = crate::exec::cpu_time::process_seconds();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64()
        })
        .collect();
    let cpu_per_rep = cpu_before
        .zip(crate::exec::cpu_time::process_seconds())
        .map(|(before, after)| (after - before) / times.len() as f64);
    times.sort_by(f64::total_cmp);
    Timing { median: times[times.len() / 2], cpu_per_rep }
}

/// Times `reps` training steps of `model` on the CPU training path ([`CpuNet`], what
/// fine-tuning runs on the CPU device; one warm-up first): forward with dropout on,
/// cross-entropy on 3 classes, backward, gradient-norm clipping at 1, AdamW with burn's
/// defaults (ε 1e-5, weight decay 1e-4) — the same step as [`time_train_step`].
pub fn time_cpu_train_step(
    name: &str,
    model: &HfModel,
    batch: usize,
    length: usize,
    reps: usize,
) -> Result<BenchResult> {
    let spec = model.spec().clone();
    let (hidden, attention, classifier) = dropout_of(model.network());
    let dropout = Dropout { hidden, attention, classifier, seed: 0 };
    let mut net = CpuNet::new(model.network(), &spec, Some(dropout))?;
    let mut optim = CpuAdamW::new(net.layout().len, [0.9, 0.999], 1e-5, 1e-4);
    let inputs = random_inputs(&spec, batch, length);
    let rows: Vec<&Encoded> = inputs.iter().collect();
    let index: Vec<usize> = (0..batch).collect();
    let classes = model.num_labels();
    let targets: Vec<usize> = (0..batch).map(|i| i % classes).collect();
    let loss = |logits: &[f32], rows: &[usize], d: &mut [f32]| -> f64 {
        let t: Vec<usize> = rows.iter().map(|&r| targets[r]).collect();
        cross_entropy(logits, classes, &t, d)
    };
    let mut step = 0u64;
    let mut failure = None;
    let mut run = || {
        match net.gradients(&rows, &index, step, &loss) {
            Ok(_) => {
                net.update(&mut optim, 1e-5, 1.0);
            }
            Err(e) => failure = Some(e),
        }
        step += 1;
    };
    let timing = median_seconds(reps, &mut run);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(train_step_result(name, &spec, batch, length, reps, timing))
}

/// The result of a timed training step: [`forward_result`] with GFLOP/s counting the
/// backward pass as two forwards (3× the forward's products).
fn train_step_result(
    name: &str,
    spec: &EncoderSpec,
    batch: usize,
    length: usize,
    reps: usize,
    timing: Timing,
) -> BenchResult {
    let mut result = forward_result(name, spec, batch, length, reps, timing);
    result.gflops *= 3.0;
    result
}

/// Times `reps` training steps of `model` (one warm-up first): forward with dropout on,
/// cross-entropy on 3 classes, backward, gradient-norm clipping at 1, AdamW step — the
/// fine-tuning trainer's step.
pub fn time_train_step(name: &str, model: &HfModel, batch: usize, length: usize, reps: usize) -> BenchResult {
    let ad = model.device().clone().autodiff();
    let spec = model.spec().clone();
    let mut net: Option<SequenceClassifier> = Some(set_training(model.network().clone().fork(&ad).train(), true));
    let mut optim = AdamWConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let data = random_batch(&spec, batch, length, &ad);
    let targets: Vec<i64> = (0..batch as i64).map(|i| i % model.num_labels() as i64).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [batch]), &ad);
    let mut run = || {
        let Some(current) = net.take() else { return };
        let out = current.forward(data.input_ids.clone(), data.token_type_ids.clone(), data.attention_mask.clone());
        let loss = loss_fn.forward(out.logits, targets.clone());
        let mut grads = GradientsParams::from_grads(loss.backward(), &current);
        clip_global_norm(&current, &mut grads, 1.0);
        net = Some(optim.step(1e-5, current, grads));
    };
    let timing = median_seconds(reps, &mut run);
    train_step_result(name, &spec, batch, length, reps, timing)
}

/// Runs the forward benchmarks: BERT-base shape, and MiniLM when `minilm` holds it; with
/// `only`, just the rows whose name contains it.
pub fn run(minilm: &Path, batch: usize, length: usize, reps: usize, only: Option<&str>) -> Result<Vec<BenchResult>> {
    let device = Device::flex();
    let mut out = Vec::new();
    let spec = bert_base_spec();
    if batch == 0 || length == 0 || length > spec.max_positions {
        bail!("--batch must be at least 1 and --length 1 to {} (the models' positions)", spec.max_positions);
    }
    let want = |name: &str| only.is_none_or(|o| name.contains(o));
    // Dropout is inactive on a device without autodiff.
    let network = SequenceClassifier::init(&spec, 2, &device);
    let name = "bert-base shape (random weights), burn";
    if want(name) {
        out.push(time_forward(name, &network, &spec, &random_batch(&spec, batch, length, &device), reps));
    }
    let name = "bert-base shape (random weights), packed";
    if want(name) {
        let packed = PackedClassifier::new(&network, &spec, None)?;
        out.push(time_packed(name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
    }
    let name = "bert-base shape (random weights), packed dynamic-int8";
    if want(name) {
        let packed = int8_packed(&network, &spec)?;
        out.push(time_packed(name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
    }
    if !minilm.join("config.json").is_file() {
        eprintln!(
            "skipping all-MiniLM-L6-v2: {} is absent (bash scripts/fetch-minilm.sh fetches it)",
            minilm.display()
        );
        return Ok(out);
    }
    let options = LoadOptions { num_labels: Some(3), ..LoadOptions::default() };
    let model = HfModel::load(minilm, &options, &device)?;
    let spec = model.spec().clone();
    let name = "all-MiniLM-L6-v2, burn";
    if want(name) {
        out.push(time_forward(name, model.network(), &spec, &random_batch(&spec, batch, length, &device), reps));
    }
    let name = "all-MiniLM-L6-v2, packed";
    if want(name) {
        let packed = PackedClassifier::new(model.network(), &spec, None)?;
        out.push(time_packed(name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
    }
    let name = "all-MiniLM-L6-v2, packed dynamic-int8";
    if want(name) {
        let packed = int8_packed(model.network(), &spec)?;
        out.push(time_packed(name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
    }
    let name = "all-MiniLM-L6-v2 training step (3 classes)";
    if want(name) {
        out.push(time_cpu_train_step(name, &model, batch, length, reps)?);
    }
    let name = "all-MiniLM-L6-v2 training step (3 classes), burn";
    if want(name) {
        out.push(time_train_step(name, &model, batch, length, reps));
    }
    out.extend(super::bench_sparse::rows(&model, batch, length, reps, &want)?);
    Ok(out)
}

/// The packed path of `network` quantised as the `quantize` compressor's default does
/// (`dynamic-int8`, per-tensor weights): every Linear layer in int8 ([`crate::model::quant`]).
fn int8_packed(network: &SequenceClassifier, spec: &EncoderSpec) -> Result<PackedClassifier> {
    let (network, q) = Quantization::quantize(network.clone(), Scheme::DynamicInt8, Granularity::PerTensor);
    PackedClassifier::new(&network, spec, Some(&q))
}

/// The results as a Markdown table.
pub fn render(results: &[BenchResult]) -> String {
    let mut s = String::from(
        "| model | batch × length | sequences/s | GFLOP/s | CPU ms/sequence | load |\n|---|---|---|---|---|---|\n",
    );
    for r in results {
        let load = r.load_average.map_or_else(|| "-".to_string(), |l| format!("{l:.2}"));
        let cpu = r.cpu_ms_per_sequence.map_or_else(|| "-".to_string(), |c| format!("{c:.1}"));
        s.push_str(&format!(
            "| {} | {} × {} | {:.2} | {:.1} | {cpu} | {load} |\n",
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

    #[test]
    fn load_average_is_read() {
        if std::path::Path::new("/proc/loadavg").exists() {
            assert!(load_average().is_some_and(|l| l >= 0.0));
        }
    }
}
