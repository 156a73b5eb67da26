//! The `compress` stage: load a variant's source model (its train or compress node's
//! folder, or the fine-tuned checkpoint itself), hand it to the compressor plugin with the
//! dataset and the node's seed, and store the result as a Hugging Face folder (`model/`,
//! the layout of the `train` stage) with `compress.json`: the variant, its source, the
//! settings, the compressor's report and the model-card fields it sets.

use super::train::MODEL_DIR;
use super::{RunContext, neural};
use crate::model::labels::LabelTarget;
use crate::plan::Stage;
use crate::plan::node_config::CompressConfig;
use crate::plugin::compressor::{CardOverrides, CompressRequest, CompressorEntry, ModelShape};
use crate::store::{NodeWriter, Store};
use anyhow::{Context, Result, anyhow};
use serde_json::json;

/// The file a compress node writes beside `model/`.
pub const COMPRESS_JSON: &str = "compress.json";

/// Compresses the variant of node `i` for the node's seed and stores it.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: CompressConfig = node.config_as()?;
    let (name, from, settings) = (&cfg.variant, &cfg.from, &cfg.settings);
    let compressor = node.plugin_name();
    let entry = CompressorEntry::find(compressor)
        .ok_or_else(|| anyhow!("variant `{name}`: compressor `{compressor}` is not registered in this build"))?;
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    // The source model: its train or compress node's, or the root checkpoint itself (whose
    // `labels` renaming then applies).
    let holder = node.inputs.get(1).copied();
    let parent_card = match holder.map(|h| &ctx.plan.nodes[h]) {
        Some(source) if source.stage == Stage::Compress => read_card(ctx.store, &source.key)?,
        _ => CardOverrides::default(),
    };
    let mapping = match (holder, &cfg.source) {
        (None, Some(root)) => root.labels.clone(),
        _ => Default::default(),
    };
    let dir = super::instance::model_folder(ctx, i, holder)?;
    let device = neural::device(cfg.run.backend)?;
    let labels = LabelTarget { names: &dataset.label_names, mapping: &mapping };
    let source = neural::load_for_prediction_with(&dir, &labels, cfg.run.load_options(cfg.batch_size), &device)
        .with_context(|| format!("variant `{name}`: loading its source model `{from}`"))?;
    let shape = ModelShape { layers: source.spec().num_layers, heads: source.spec().num_heads };
    (entry.check)(settings, shape).map_err(|e| {
        let key = std::iter::once(format!("variants.{name}")).chain(e.path.iter().cloned()).collect::<Vec<_>>();
        anyhow!("variant `{name}`: `{}`: {} (fix it in {})", key.join("."), e.message, ctx.manifest.display())
    })?;
    let progress = ctx.progress.training_ticker(&node.name);
    let request = CompressRequest {
        variant: name,
        model: source,
        dataset: &dataset,
        seed: node.seed.unwrap_or(0),
        max_len: cfg.run.max_len,
        base_dir: ctx.base_dir(),
        progress: &progress,
    };
    let out = (entry.compress)(settings, request).with_context(|| format!("compressing variant `{name}`"))?;
    ctx.progress.clear_task_bar(&node.name);
    let model_dir = w.dir().join(MODEL_DIR);
    out.model.save_hf(&model_dir).with_context(|| format!("saving variant `{name}`"))?;
    w.adopt_dir(MODEL_DIR)?;
    let card = out.card.over(&parent_card);
    w.write_json(
        COMPRESS_JSON,
        &json!({
            "variant": name,
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
