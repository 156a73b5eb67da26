//! The `train` stage: build a neural model's starting point (a checkpoint with a fresh
//! classification head, or an architecture from scratch), hand it to the trainer plugin
//! with the node's seed, and store the result as a Hugging Face folder (`model/`) with the
//! trainer's report (`train.json`). `trustx model export` copies that folder out.

use super::{RunContext, neural};
use crate::manifest::{NeuralInit, NeuralModel};
use crate::model::labels::LabelTarget;
use crate::model::scratch::Architecture;
use crate::model::{HeadPolicy, HfModel, LoadOptions};
use crate::plan::node_config::TrainConfig;
use crate::plugin::parse_settings;
use crate::plugin::training::{TrainRequest, TrainerEntry};
use crate::store::NodeWriter;
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;

/// The sub-folder of a train node holding the trained model.
pub const MODEL_DIR: &str = "model";

/// Trains model `model` with the node's seed and stores it.
pub fn run(ctx: &RunContext, i: usize, model: usize, w: &mut NodeWriter) -> Result<()> {
    let r = ctx.resolved;
    let m = &r.models[model];
    let node = &ctx.plan.nodes[i];
    let n = m.neural().ok_or_else(|| anyhow!("model `{}` is not a neural model (internal error)", m.name))?;
    let cfg: TrainConfig = node.config_as()?;
    let trainer_name = node.plugin_name();
    let trainer = TrainerEntry::find(trainer_name)
        .ok_or_else(|| anyhow!("trainer `{trainer_name}` is not registered in this build"))?;
    let seed = node.seed.unwrap_or(0);
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    if dataset.train.as_ref().is_none_or(|t| t.examples.is_empty()) {
        bail!("model `{}`: the train split is empty or missing; check [dataset.train]", m.name);
    }
    let device = neural::device(cfg.run.backend)?;
    let start = if node.inputs.len() == 2 {
        // A variant with `finetune = true`: start from its compress node's model, head kept.
        let dir = super::instance::model_folder(ctx, model, Some(node.inputs[1]))?;
        let labels = LabelTarget { names: &dataset.label_names, mapping: &n.labels };
        neural::load_for_prediction_with(&dir, &labels, neural::load_options(n), &device)
    } else {
        initial_model(n, &dataset.label_names, seed, &device)
    }
    .with_context(|| format!("model `{}`: building the model to train", m.name))?;
    let progress = ctx.progress.training_ticker(&node.name);
    let request = TrainRequest {
        model_name: &m.name,
        model: start,
        dataset: &dataset,
        seed,
        max_len: cfg.run.max_len,
        progress: &progress,
    };
    let out = (trainer.train)(&cfg.settings, request).with_context(|| format!("training model `{}`", m.name))?;
    ctx.progress.clear_task_bar(&node.name);
    let dir = w.dir().join(MODEL_DIR);
    out.model.save_hf(&dir).with_context(|| format!("saving model `{}`", m.name))?;
    w.adopt_dir(MODEL_DIR)?;
    w.write_json("train.json", &out.report)
}

/// The model a train node starts from: the checkpoint with a fresh head of the dataset's
/// classes (named as the dataset names them) drawn from `seed`, or the architecture built
/// from scratch with `seed`.
pub fn initial_model(n: &NeuralModel, label_names: &[String], seed: u64, device: &Device) -> Result<HfModel> {
    let options =
        LoadOptions { seed, num_labels: Some(label_names.len()), head: HeadPolicy::Fresh, ..neural::load_options(n) };
    let mut model = match &n.init {
        NeuralInit::Checkpoint(dir) => HfModel::load(dir, &options, device)?,
        NeuralInit::Architecture(arch) => {
            let arch: Architecture = parse_settings(arch).map_err(|e| anyhow!("architecture: {e}"))?;
            HfModel::from_architecture(&arch, &options, device)?
        }
        NeuralInit::Variant { from, .. } => {
            bail!("a variant of `{from}` starts from its compress node, not from initial weights (internal error)")
        }
    };
    model.name_labels(label_names)?;
    Ok(model)
}
