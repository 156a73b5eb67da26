//! The `compress` stage: load a variant's source model (its train or compress node's
//! folder, or the fine-tuned checkpoint itself), hand it to the compressor plugin with the
//! dataset and the node's seed, and store the result as a Hugging Face folder (`model/`,
//! the layout of the `train` stage) with `compress.json`: the variant, its source, the
//! settings, the compressor's report and the model-card fields it sets.

use super::train::MODEL_DIR;
use super::{RunContext, neural};
use crate::manifest::{NeuralInit, NeuralModel, Resolved};
use crate::model::labels::LabelTarget;
use crate::plan::Stage;
use crate::plan::node_config::CompressConfig;
use crate::plugin::compressor::{CardOverrides, CompressRequest, CompressorEntry, ModelShape};
use crate::store::{NodeWriter, Store};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::path::PathBuf;

/// The file a compress node writes beside `model/`.
pub const COMPRESS_JSON: &str = "compress.json";

/// Compresses variant `model` for the node's seed and stores it.
pub fn run(ctx: &RunContext, i: usize, model: usize, w: &mut NodeWriter) -> Result<()> {
    let r = ctx.resolved;
    let m = &r.models[model];
    let node = &ctx.plan.nodes[i];
    let n = m.neural().ok_or_else(|| anyhow!("variant `{}` is not a neural model (internal error)", m.name))?;
    let cfg: CompressConfig = node.config_as()?;
    let (from, settings) = (&cfg.from, &cfg.settings);
    let compressor = node.plugin_name();
    let entry = CompressorEntry::find(compressor)
        .ok_or_else(|| anyhow!("variant `{}`: compressor `{compressor}` is not registered in this build", m.name))?;
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    let no_renaming = Default::default();
    let (dir, parent_card, mapping) = if node.inputs.len() == 2 {
        let source = &ctx.plan.nodes[node.inputs[1]];
        let card =
            if source.stage == Stage::Compress { read_card(ctx.store, &source.key)? } else { CardOverrides::default() };
        (ctx.store.dir(&source.key).join(MODEL_DIR), card, &no_renaming)
    } else {
        let (dir, root) = root_checkpoint(r, model)?;
        (dir, CardOverrides::default(), &root.labels)
    };
    let device = neural::device(cfg.run.backend)?;
    let labels = LabelTarget { names: &dataset.label_names, mapping };
    let source = neural::load_for_prediction_with(&dir, &labels, neural::load_options(n), &device)
        .with_context(|| format!("variant `{}`: loading its source model `{from}`", m.name))?;
    let shape = ModelShape { layers: source.spec().num_layers, heads: source.spec().num_heads };
    (entry.check)(settings, shape).map_err(|e| {
        let key = std::iter::once(format!("variants.{}", m.name)).chain(e.path.iter().cloned()).collect::<Vec<_>>();
        anyhow!("variant `{}`: `{}`: {} (fix it in {})", m.name, key.join("."), e.message, r.file.display())
    })?;
    let progress = ctx.progress.training_ticker(&node.name);
    let request = CompressRequest {
        variant: &m.name,
        model: source,
        dataset: &dataset,
        seed: node.seed.unwrap_or(0),
        max_len: cfg.run.max_len,
        base_dir: ctx.base_dir(),
        progress: &progress,
    };
    let out = (entry.compress)(settings, request).with_context(|| format!("compressing variant `{}`", m.name))?;
    ctx.progress.clear_task_bar(&node.name);
    let model_dir = w.dir().join(MODEL_DIR);
    out.model.save_hf(&model_dir).with_context(|| format!("saving variant `{}`", m.name))?;
    w.adopt_dir(MODEL_DIR)?;
    let card = out.card.over(&parent_card);
    w.write_json(
        COMPRESS_JSON,
        &json!({
            "variant": m.name,
            "from": from,
            "compressor": compressor,
            "settings": settings,
            "seed": node.seed,
            "report": out.report,
            "card": card,
        }),
    )
}

/// The card fields a compress node recorded.
pub fn read_card(store: &Store, key: &str) -> Result<CardOverrides> {
    let v: serde_json::Value = serde_json::from_slice(&store.read(key, COMPRESS_JSON)?)?;
    Ok(serde_json::from_value(v.get("card").cloned().unwrap_or_default()).unwrap_or_default())
}

/// The checkpoint folder a chain of variants starting at `model` ends in, with the model
/// that names it (whose `labels` renaming applies to it).
fn root_checkpoint(r: &Resolved, mut model: usize) -> Result<(PathBuf, &NeuralModel)> {
    loop {
        let Some(n) = r.models[model].neural() else {
            bail!("model `{}` has no checkpoint to compress (internal error)", r.models[model].name);
        };
        match &n.init {
            NeuralInit::Variant { from, .. } => {
                model = r.models.iter().position(|m| &m.name == from).ok_or_else(|| anyhow!("`{from}` not resolved"))?
            }
            NeuralInit::Checkpoint(dir) => return Ok((dir.clone(), n)),
            NeuralInit::Architecture(_) => {
                bail!("model `{}` has no checkpoint to compress (internal error)", r.models[model].name)
            }
        }
    }
}
