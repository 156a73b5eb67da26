//! The `train` stage: build a neural model's starting point (a checkpoint with a fresh
//! classification head, or an architecture from scratch), hand it to the trainer plugin
//! with the node's seed, and store the result as a Hugging Face folder (`model/`) with the
//! trainer's report (`train.json`). `trustx model export` copies that folder out.

use super::{RunContext, neural};
use crate::model::labels::LabelTarget;
use crate::model::scratch::Architecture;
use crate::model::{HeadPolicy, HfModel, LoadOptions};
use crate::plan::node_config::{InitConfig, TrainConfig};
use crate::plan::place::Place;
use crate::plugin::parse_settings;
use crate::plugin::training::{TrainRequest, TrainerEntry};
use crate::store::NodeWriter;
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;

/// The sub-folder of a train node holding the trained model.
pub const MODEL_DIR: &str = "model";

/// Trains the model of node `i` with the node's seed and stores it.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: TrainConfig = node.config_as()?;
    let name = &cfg.model;
    let trainer_name = node.plugin_name();
    let trainer = TrainerEntry::find(trainer_name)
        .ok_or_else(|| anyhow!("trainer `{trainer_name}` is not registered in this build"))?;
    let seed = node.seed.unwrap_or(0);
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    if dataset.train.as_ref().is_none_or(|t| t.examples.is_empty()) {
        bail!("model `{name}`: the train split is empty or missing; check [dataset.train]");
    }
    let device = neural::device(cfg.run.backend)?;
    // Training batches itself; the option only sizes the dev set's forward passes.
    let options = cfg.run.load_options(LoadOptions::default().batch_size);
    let start = match &cfg.init {
        // A variant with `finetune = true`: start from its compress node's model, head kept.
        None => {
            let holder = node.inputs.get(1).copied();
            let dir = super::instance::model_folder(ctx, i, holder)?;
            let labels = LabelTarget { names: &dataset.label_names, mapping: &Default::default() };
            neural::load_for_prediction_with(&dir, &labels, options, &device)
        }
        Some(init) => initial_model(init, &node.place, &dataset.label_names, seed, options, &device),
    }
    .with_context(|| format!("model `{name}`: building the model to train"))?;
    let progress = ctx.progress.training_ticker(&node.name);
    let request = TrainRequest {
        model_name: name,
        model: start,
        dataset: &dataset,
        seed,
        max_len: cfg.run.max_len,
        progress: &progress,
    };
    let out = (trainer.train)(&cfg.settings, request).with_context(|| format!("training model `{name}`"))?;
    ctx.progress.clear_task_bar(&node.name);
    let dir = w.dir().join(MODEL_DIR);
    out.model.save_hf(&dir).with_context(|| format!("saving model `{name}`"))?;
    w.adopt_dir(MODEL_DIR)?;
    w.write_json("train.json", &out.report)
}

/// The model a train node starts from: the checkpoint in its place with a fresh head of the
/// dataset's classes (named as the dataset names them) drawn from `seed`, or the
/// architecture of `init` (its vocabulary the place's) built from scratch with `seed`.
pub fn initial_model(
    init: &InitConfig,
    place: &Place,
    label_names: &[String],
    seed: u64,
    options: LoadOptions,
    device: &Device,
) -> Result<HfModel> {
    let options = LoadOptions { seed, num_labels: Some(label_names.len()), head: HeadPolicy::Fresh, ..options };
    let mut model = match (&init.architecture, &place.checkpoint, &place.vocab) {
        (None, Some(dir), _) => HfModel::load(dir, &options, device)?,
        (Some(arch), _, Some(vocab)) => {
            let mut arch = arch.clone();
            arch["vocab"] = serde_json::json!(vocab);
            let arch: Architecture = parse_settings(&arch).map_err(|e| anyhow!("architecture: {e}"))?;
            HfModel::from_architecture(&arch, &options, device)?
        }
        _ => bail!(
            "a train node's plan gives neither a checkpoint folder nor an architecture's vocabulary (internal error)"
        ),
    };
    model.name_labels(label_names)?;
    Ok(model)
}
