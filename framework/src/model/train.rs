//! Fine-tuning a sequence classifier, as the paper's code does: AdamW, a linear warm-up
//! then linear decay of the learning rate to zero, global gradient-norm clipping,
//! cross-entropy on the logits, an evaluation on the dev set after every epoch and the
//! best epoch's weights kept.
//!
//! Two implementations run the same loop ([`TrainPath`]): on the CPU device, the CPU
//! training path ([`super::cpu_train`]: hand-written forward and backward over flat
//! buffers, about twice burn's speed); elsewhere (CUDA), burn's autodiff, which is also the
//! reference the CPU path's gradients and loss curves are tested against.
//!
//! Reproducibility: the shuffling order comes from a ChaCha generator seeded with the
//! training seed, fresh heads from the load seed. On the CPU path dropout masks come from
//! a ChaCha generator seeded with the training seed (per step and site, independent of the
//! number of threads), so trainings can run side by side; on burn's path dropout comes from
//! burn's generator, which is process-wide and seeded with the training seed at the start,
//! so those trainings run one at a time (a lock). Either way a run gives bitwise the same
//! weights for the same seed on the same machine.

use super::cpu_train::adamw::AdamW as CpuAdamW;
use super::cpu_train::dropout::Dropout as CpuDropout;
use super::cpu_train::loss::{CpuBatchLoss, cross_entropy};
use super::cpu_train::{self, CpuNet};
use super::tokenizer::Encoded;
use super::{Batch, HfModel, ModelType, SequenceClassifier, set_training};
use crate::data::Example;
use anyhow::{Context, Result, bail};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Instant;

/// Trainings run one at a time: burn's random generator (dropout) is process-wide.
pub(crate) static TRAINING: Mutex<()> = Mutex::new(());

/// Fine-tuning settings; the defaults follow the paper (AdamW, lr 1e-5, batch 32, no weight
/// decay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinetuneConfig {
    /// Peak learning rate. Default 1e-5 (the paper's).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Examples per optimisation step. Default 32.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Passes over the training set. Default 3.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// AdamW's decoupled weight decay, applied to every parameter. Default 0.
    #[serde(default)]
    pub weight_decay: f64,
    /// AdamW's β₁ and β₂. Default [0.9, 0.999].
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// AdamW's ε. Default 1e-8.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Fraction of the steps with a linear warm-up from 0; the rest decays linearly to 0.
    /// Default 0 (decay only).
    #[serde(default)]
    pub warmup_ratio: f64,
    /// Clip the global gradient norm to this value (0: no clipping). Default 1.0.
    #[serde(default = "default_clip")]
    pub max_grad_norm: f64,
    /// Stop after this many steps (the schedule still spans every epoch). Default: none.
    #[serde(default)]
    pub max_steps: Option<usize>,
    /// Evaluate on the dev set after every epoch and keep the best epoch (the paper's code);
    /// `false` keeps the last epoch. Default true.
    #[serde(default = "yes")]
    pub select_best: bool,
    /// Batch examples of similar length (transformers' `group_by_length`): each epoch's
    /// shuffled order is cut into groups of 50 batches, each group sorted by length and cut
    /// into batches, and the batches shuffled. Less padding, so faster on a CPU; the
    /// batches are less random. Default false (the paper's plain shuffling).
    #[serde(default)]
    pub group_by_length: bool,
}

fn default_lr() -> f64 {
    1e-5
}
fn default_batch() -> usize {
    32
}
fn default_epochs() -> usize {
    3
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn default_eps() -> f64 {
    1e-8
}
fn default_clip() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

impl FinetuneConfig {
    /// Every value out of its range, as (key, what is wrong): checked at `validate`, so a
    /// run never starts with settings that would fail mid-way.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            out.push(("lr", format!("the learning rate must be a positive number, got {}", self.lr)));
        }
        if self.batch_size == 0 {
            out.push(("batch_size", "must be at least 1, got 0".to_string()));
        }
        if self.epochs == 0 {
            out.push(("epochs", "must be at least 1, got 0 (use max_steps to stop early)".to_string()));
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            out.push((
                "warmup_ratio",
                format!("is the fraction of steps warming up, in [0, 1); got {}", self.warmup_ratio),
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            out.push(("weight_decay", format!("must be 0 or more, got {}", self.weight_decay)));
        }
        if !(self.max_grad_norm >= 0.0 && self.max_grad_norm.is_finite()) {
            out.push(("max_grad_norm", format!("must be 0 (no clipping) or more, got {}", self.max_grad_norm)));
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            out.push(("eps", format!("AdamW's ε must be a positive number, got {}", self.eps)));
        }
        if !self.betas.iter().all(|b| (0.0..1.0).contains(b)) {
            out.push(("betas", format!("AdamW's β₁ and β₂ lie in [0, 1), got {:?}", self.betas)));
        }
        if self.max_steps == Some(0) {
            out.push(("max_steps", "must be at least 1; remove it to train every epoch".to_string()));
        }
        out
    }

    /// Checks the values; the error names every setting out of range.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if !problems.is_empty() {
            let all: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
            bail!("{}", all.join("; "));
        }
        Ok(())
    }
}

/// Learning rate of update `step` (0-based) out of `total`, with `warmup` warm-up steps:
/// `lr·step/warmup` during warm-up, then `lr·(total − step)/(total − warmup)` (as
/// `transformers`' `get_linear_schedule_with_warmup`).
pub fn scheduled_lr(lr: f64, step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        lr * step as f64 / warmup.max(1) as f64
    } else {
        lr * (total.saturating_sub(step)) as f64 / (total - warmup).max(1) as f64
    }
}

/// Progress of a training run.
#[derive(Debug, Clone, Default)]
pub struct TrainProgress {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Updates done.
    pub step: usize,
    /// Updates in all.
    pub total_steps: usize,
    /// Mean training loss of the epoch so far.
    pub loss: f64,
    /// Training examples per second so far.
    pub examples_per_s: f64,
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Dev accuracy (`None` without a dev set).
    pub dev_accuracy: Option<f64>,
    /// Dev mean cross-entropy.
    pub dev_loss: Option<f64>,
    /// Seconds for the epoch (training and evaluation).
    pub seconds: f64,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The settings.
    pub config: FinetuneConfig,
    /// The training seed.
    pub seed: u64,
    /// Training and dev examples.
    pub train_examples: usize,
    /// Dev examples.
    pub dev_examples: usize,
    /// Per epoch.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Updates done.
    pub steps: usize,
    /// Seconds in all.
    pub seconds: f64,
    /// Training examples per second (training passes only).
    pub examples_per_s: f64,
}

/// Fine-tunes `model` on `train`, evaluating on `dev` after every epoch; returns the best
/// epoch's model (see [`FinetuneConfig::select_best`]) in inference mode, and the report.
pub fn finetune(
    model: HfModel,
    train: &[Example],
    dev: &[Example],
    config: &FinetuneConfig,
    seed: u64,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<(HfModel, TrainReport)> {
    let classes = model.num_labels();
    let burn_loss = |logits: Tensor<2>, rows: &[usize], device: &Device| -> Tensor<1> {
        let targets: Vec<i64> = rows.iter().map(|&i| train[i].label as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [rows.len()]), device);
        CrossEntropyLossConfig::new().init(device).forward(logits, targets)
    };
    let cpu_loss = |logits: &[f32], rows: &[usize], dlogits: &mut [f32]| -> f64 {
        let targets: Vec<usize> = rows.iter().map(|&i| train[i].label).collect();
        cross_entropy(logits, classes, &targets, dlogits)
    };
    let losses = Losses { burn: Box::new(burn_loss), cpu: Box::new(cpu_loss) };
    train_with_loss(model, train, dev, config, seed, progress, &losses)
}

/// The loss of one batch: the logits `[batch, classes]` (on the autodiff device), the
/// indices of the batch's rows in the training examples and the device; a one-element
/// tensor to minimise.
pub type BatchLoss<'a> = dyn Fn(Tensor<2>, &[usize], &Device) -> Tensor<1> + 'a;

/// A training loss in both forms: on burn's tensors (for burn's autodiff: the CUDA backend)
/// and on the CPU path's logits with its gradient ([`CpuBatchLoss`]). The two must compute
/// the same function.
pub struct Losses<'a> {
    /// On burn's tensors.
    pub burn: Box<BatchLoss<'a>>,
    /// On the CPU training path.
    pub cpu: Box<CpuBatchLoss<'a>>,
}

/// Which implementation trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainPath {
    /// The CPU training path ([`crate::model::cpu_train`]) on the CPU device, burn's
    /// autodiff elsewhere (CUDA).
    Auto,
    /// burn's autodiff on any device (the reference).
    Burn,
}

/// [`finetune`]'s loop (AdamW, warm-up/decay, clipping, per-epoch dev evaluation, best
/// epoch) with another loss, e.g. distillation's.
pub fn train_with_loss(
    model: HfModel,
    train: &[Example],
    dev: &[Example],
    config: &FinetuneConfig,
    seed: u64,
    progress: &mut dyn FnMut(&TrainProgress),
    losses: &Losses,
) -> Result<(HfModel, TrainReport)> {
    train_on(TrainPath::Auto, model, train, dev, config, seed, progress, losses)
}

/// One optimisation step on a batch and the network as it stands.
trait Stepper {
    /// Forward, loss, backward, clipping and the AdamW update at `lr`; the batch's loss.
    fn step(&mut self, chunk: &[usize], rows: &[&Encoded], step: usize, lr: f64) -> Result<f64>;
    /// The network now, for inference on the model's device.
    fn snapshot(&self) -> Result<SequenceClassifier>;
}

/// burn's autodiff: dropout from burn's process-wide generator.
struct BurnStepper<'a> {
    net: Option<SequenceClassifier>,
    optim: burn::optim::ModuleOptimizer,
    ad: Device,
    device: Device,
    spec: super::EncoderSpec,
    max_grad_norm: f64,
    loss_of: &'a BatchLoss<'a>,
}

impl Stepper for BurnStepper<'_> {
    fn step(&mut self, chunk: &[usize], rows: &[&Encoded], _step: usize, lr: f64) -> Result<f64> {
        let net = self.net.take().context("the network was lost in a failed step")?;
        let with_types = self.spec.model_type == ModelType::Bert;
        let batch = Batch::new(rows, self.spec.pad_token_id, with_types, &self.ad);
        let out = net.forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
        let loss = (self.loss_of)(out.logits, chunk, &self.ad);
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Ok(value);
        }
        let grads = loss.backward();
        let mut grads = GradientsParams::from_grads(grads, &net);
        if self.max_grad_norm > 0.0 {
            clip_global_norm(&net, &mut grads, self.max_grad_norm);
        }
        self.net = Some(self.optim.step(lr, net, grads));
        Ok(value)
    }

    fn snapshot(&self) -> Result<SequenceClassifier> {
        let net = self.net.as_ref().context("the network was lost in a failed step")?;
        Ok(set_training(net.valid().fork(&self.device), false))
    }
}

/// The CPU training path: dropout masks from the training seed.
struct CpuStepper<'a> {
    net: CpuNet,
    optim: CpuAdamW,
    template: SequenceClassifier,
    max_grad_norm: f64,
    loss_of: &'a CpuBatchLoss<'a>,
}

impl Stepper for CpuStepper<'_> {
    fn step(&mut self, chunk: &[usize], rows: &[&Encoded], step: usize, lr: f64) -> Result<f64> {
        let value = self.net.gradients(rows, chunk, step as u64, self.loss_of)?;
        if value.is_finite() {
            self.net.update(&mut self.optim, lr, self.max_grad_norm);
        }
        Ok(value)
    }

    fn snapshot(&self) -> Result<SequenceClassifier> {
        self.net.to_network(&self.template)
    }
}

/// [`train_with_loss`] on the chosen implementation.
#[allow(clippy::too_many_arguments)]
pub fn train_on(
    path: TrainPath,
    model: HfModel,
    train: &[Example],
    dev: &[Example],
    config: &FinetuneConfig,
    seed: u64,
    progress: &mut dyn FnMut(&TrainProgress),
    losses: &Losses,
) -> Result<(HfModel, TrainReport)> {
    config.validate()?;
    if train.is_empty() {
        bail!("the training set is empty");
    }
    let classes = model.num_labels();
    for e in train.iter().chain(dev) {
        if e.label >= classes {
            bail!("example `{}` has label {} but the model has {classes} classes", e.id, e.label);
        }
    }
    let encode = |examples: &[Example]| -> Result<Vec<Encoded>> {
        examples
            .iter()
            .map(|e| {
                let first = e.segments.first().map(String::as_str).unwrap_or("");
                model
                    .tokenize(first, e.segments.get(1).map(String::as_str))
                    .with_context(|| format!("example `{}`", e.id))
            })
            .collect()
    };
    let train_enc = encode(train)?;
    let dev_enc = encode(dev)?;

    let started = Instant::now();
    let device = model.device().clone();
    let spec = model.spec().clone();
    let cpu = path == TrainPath::Auto && uses_cpu_path(&device);
    // burn's dropout generator is process-wide: its trainings run one at a time.
    let _guard = (!cpu).then(|| TRAINING.lock().unwrap_or_else(|p| p.into_inner()));
    let mut stepper: Box<dyn Stepper> = if cpu {
        let template = model.network().clone();
        let (hidden, attention, classifier) = cpu_train::dropout_of(&template);
        let dropout = CpuDropout { hidden, attention, classifier, seed };
        let net = CpuNet::new(&template, &spec, Some(dropout))?;
        let optim = CpuAdamW::new(net.layout().len, config.betas, config.eps, config.weight_decay);
        Box::new(CpuStepper { net, optim, template, max_grad_norm: config.max_grad_norm, loss_of: &*losses.cpu })
    } else {
        let ad = device.clone().autodiff();
        ad.seed(seed);
        let net = set_training(model.network().clone().fork(&ad).train(), true);
        let optim = AdamWConfig::new()
            .with_beta_1(config.betas[0] as f32)
            .with_beta_2(config.betas[1] as f32)
            .with_epsilon(config.eps as f32)
            .with_weight_decay(config.weight_decay as f32)
            .init();
        Box::new(BurnStepper {
            net: Some(net),
            optim,
            ad,
            device: device.clone(),
            spec: spec.clone(),
            max_grad_norm: config.max_grad_norm,
            loss_of: &*losses.burn,
        })
    };

    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let schedule_total = steps_per_epoch * config.epochs;
    let total = config.max_steps.map_or(schedule_total, |m| m.min(schedule_total));
    let warmup = (config.warmup_ratio * schedule_total as f64).ceil() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let train_lengths: Vec<usize> = train_enc.iter().map(|e| e.ids.len()).collect();
    let mut step = 0usize;
    let mut trained_examples = 0usize;
    let mut train_seconds = 0.0f64;
    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, SequenceClassifier)> = None;
    let mut last = None;

    for epoch in 1..=config.epochs {
        if step >= total {
            break;
        }
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
        let batches = epoch_batches(&order, &train_lengths, config.batch_size, config.group_by_length, &mut rng);
        for chunk in batches.iter().map(Vec::as_slice) {
            if step >= total {
                break;
            }
            let rows: Vec<&Encoded> = chunk.iter().map(|&i| &train_enc[i]).collect();
            let lr = scheduled_lr(config.lr, step, warmup, schedule_total);
            let value = stepper.step(chunk, &rows, step, lr)?;
            if !value.is_finite() {
                bail!("the training loss became {value} at step {} (epoch {epoch}); lower lr", step + 1);
            }
            step += 1;
            loss_sum += value * chunk.len() as f64;
            loss_n += chunk.len();
            trained_examples += chunk.len();
            let seconds = train_seconds + epoch_start.elapsed().as_secs_f64();
            progress(&TrainProgress {
                epoch,
                step,
                total_steps: total,
                loss: loss_sum / loss_n as f64,
                examples_per_s: trained_examples as f64 / seconds.max(1e-9),
            });
        }
        train_seconds += epoch_start.elapsed().as_secs_f64();
        let snapshot = stepper.snapshot()?;
        let (dev_accuracy, dev_loss) = if dev.is_empty() {
            (None, None)
        } else {
            let (acc, loss) = evaluate(&model, snapshot.clone(), &dev_enc, dev)?;
            (Some(acc), Some(loss))
        };
        epochs.push(EpochReport {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            dev_accuracy,
            dev_loss,
            seconds: epoch_start.elapsed().as_secs_f64(),
        });
        tracing::info!(epoch, train_loss = loss_sum / loss_n.max(1) as f64, ?dev_accuracy, "epoch done");
        let score = dev_accuracy.unwrap_or(f64::NEG_INFINITY);
        if config.select_best && best.as_ref().is_none_or(|(b, _, _)| score > *b) {
            best = Some((score, epoch, snapshot.clone()));
        }
        last = Some((epoch, snapshot));
    }
    let (best_epoch, network) = match (best, last) {
        (Some((_, e, n)), _) if config.select_best => (e, n),
        (_, Some((e, n))) => (e, n),
        _ => bail!("no training step was run"),
    };
    let report = TrainReport {
        config: config.clone(),
        seed,
        train_examples: train.len(),
        dev_examples: dev.len(),
        epochs,
        best_epoch,
        steps: step,
        seconds: started.elapsed().as_secs_f64(),
        examples_per_s: trained_examples as f64 / train_seconds.max(1e-9),
    };
    Ok((model.with_network(network), report))
}

/// Whether training on `device` takes the CPU training path (the CPU device).
pub fn uses_cpu_path(device: &Device) -> bool {
    *device == Device::flex()
}

/// Accuracy and mean cross-entropy of `network` on encoded examples.
fn evaluate(model: &HfModel, network: SequenceClassifier, enc: &[Encoded], examples: &[Example]) -> Result<(f64, f64)> {
    let probe = model.clone().with_network(network);
    let out = probe.forward_batch(enc)?;
    let mut correct = 0usize;
    let mut loss = 0.0f64;
    for (row, e) in out.probs.iter().zip(examples) {
        let pred = crate::predictions::argmax(&row.iter().map(|&p| p as f64).collect::<Vec<_>>());
        correct += usize::from(pred == e.label);
        loss -= (row[e.label] as f64).max(1e-12).ln();
    }
    Ok((correct as f64 / examples.len() as f64, loss / examples.len() as f64))
}

/// Scales every gradient so that their global L2 norm is at most `max_norm` (as
/// `torch.nn.utils.clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_global_norm(net: &SequenceClassifier, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut ids = ParamIds::default();
    match net {
        SequenceClassifier::Bert(m) => m.visit(&mut ids),
        SequenceClassifier::DistilBert(m) => m.visit(&mut ids),
    }
    let mut sum_sq = 0.0f64;
    for &(id, dims) in &ids.0 {
        sum_sq += grad_sq(grads, id, dims);
    }
    let norm = sum_sq.sqrt();
    if norm > max_norm {
        let factor = max_norm / (norm + 1e-6);
        for &(id, dims) in &ids.0 {
            scale_grad(grads, id, dims, factor);
        }
    }
    norm
}

/// Parameter ids with their tensor ranks.
#[derive(Default)]
struct ParamIds(Vec<(ParamId, usize)>);

impl ModuleVisitor for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

fn grad_sq(grads: &GradientsParams, id: ParamId, dims: usize) -> f64 {
    fn sq<const D: usize>(grads: &GradientsParams, id: ParamId) -> f64 {
        grads.get::<D>(id).map_or(0.0, |g| g.powi_scalar(2).sum().into_scalar::<f32>() as f64)
    }
    match dims {
        1 => sq::<1>(grads, id),
        2 => sq::<2>(grads, id),
        3 => sq::<3>(grads, id),
        _ => sq::<4>(grads, id),
    }
}

fn scale_grad(grads: &mut GradientsParams, id: ParamId, dims: usize, factor: f64) {
    fn scale<const D: usize>(grads: &mut GradientsParams, id: ParamId, factor: f64) {
        if let Some(g) = grads.remove::<D>(id) {
            grads.register::<D>(id, g.mul_scalar(factor));
        }
    }
    match dims {
        1 => scale::<1>(grads, id, factor),
        2 => scale::<2>(grads, id, factor),
        3 => scale::<3>(grads, id, factor),
        _ => scale::<4>(grads, id, factor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        let lr = |s| scheduled_lr(1.0, s, 10, 110);
        assert_eq!(lr(0), 0.0);
        assert!((lr(5) - 0.5).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(60) - 0.5).abs() < 1e-12);
        assert_eq!(lr(110), 0.0);
        // No warm-up: starts at the peak.
        assert_eq!(scheduled_lr(2.0, 0, 0, 4), 2.0);
        assert_eq!(scheduled_lr(2.0, 2, 0, 4), 1.0);
    }

    #[test]
    fn defaults_follow_the_paper() {
        let c = FinetuneConfig::default();
        assert_eq!((c.lr, c.batch_size, c.weight_decay), (1e-5, 32, 0.0));
        assert!(c.validate().is_ok());
        let bad = FinetuneConfig { warmup_ratio: 1.5, ..c };
        assert!(bad.validate().unwrap_err().to_string().contains("warmup_ratio"));
    }
}

/// Batches per length group when [`FinetuneConfig::group_by_length`] is on.
pub const LENGTH_GROUP: usize = 50;

/// One epoch's batches: `order` cut into batches of `batch_size`, or, with `group`, cut
/// into groups of [`LENGTH_GROUP`] batches, each group sorted by length (longest first,
/// ties in shuffled order) and cut into batches, the batches then shuffled with `rng`.
pub fn epoch_batches(
    order: &[usize],
    lengths: &[usize],
    batch_size: usize,
    group: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    if !group {
        return order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    }
    let mut batches = Vec::new();
    for mega in order.chunks(batch_size * LENGTH_GROUP) {
        let mut mega = mega.to_vec();
        mega.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        batches.extend(mega.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    #[test]
    fn grouped_batches_cover_every_example_once_with_less_padding() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let lengths: Vec<usize> = (0..1000).map(|i| 5 + (i * 37) % 60).collect();
        let mut order: Vec<usize> = (0..1000).collect();
        order.shuffle(&mut rng);
        let padded = |bs: &[Vec<usize>]| -> usize {
            bs.iter().map(|b| b.iter().map(|&i| lengths[i]).max().unwrap() * b.len()).sum()
        };
        let plain = epoch_batches(&order, &lengths, 32, false, &mut rng.clone());
        let grouped = epoch_batches(&order, &lengths, 32, true, &mut rng.clone());
        for bs in [&plain, &grouped] {
            let mut all: Vec<usize> = bs.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<_>>());
        }
        assert_eq!(plain[0], order[..32].to_vec());
        assert!(padded(&grouped) * 10 < padded(&plain) * 7, "{} vs {}", padded(&grouped), padded(&plain));
        assert_eq!(grouped, epoch_batches(&order, &lengths, 32, true, &mut rng.clone()), "deterministic");
    }
}
