//! The explain stage for a model whose attributions were computed elsewhere (a source with
//! [`Explainability::Imported`](crate::plugin::model_source::Explainability::Imported)): the
//! node takes the rows it needs from the source's file ([`crate::explain::imported`]) and
//! stores them as trustx's own explainers' rows are stored, so alignment and the noise floor
//! read them alike. There is no model to evaluate, so no faithfulness file: the faithfulness
//! table has no row for such a model and a faithfulness test reads "not measured".

use super::RunContext;
use super::explain::{
    ATTRIBUTIONS, ExplainConfig, ExplainRecord, RECORD, SeedRecord, attributions_frame, explained_classes,
};
use crate::explain::EvalCounts;
use crate::explain::imported::{Explained, select};
use crate::plan::node_config::SourcePredictConfig;
use crate::plugin::model_source::ModelSourceEntry;
use crate::store::NodeWriter;
use crate::tables::io::parquet_bytes;
use anyhow::{Context, Result, bail};
use std::collections::HashSet;

/// Stores the imported attributions explain node `i` needs.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: ExplainConfig = node.config_as()?;
    let predict_node = &ctx.plan.nodes[node.inputs[1]];
    let Some(source) = ModelSourceEntry::find(predict_node.plugin_name()) else {
        bail!("model `{}` has no attributions file (internal error)", cfg.model);
    };
    let entry = super::explain::explainer_entry(node)?;
    // The source's settings are its predict node's (the explain node's second input).
    let predict: SourcePredictConfig = predict_node.config_as()?;
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    let preds = super::predict::read(ctx.store, ctx.input_key(i, 1))?;
    let examples = super::explained_set::explained_examples(ctx, i, &dataset, cfg.examples)?;
    let targets = explained_classes(&examples, &preds, cfg.class)?;
    let file = (source.attributions)(&predict.settings, ctx.base_dir(), node.seed)
        .with_context(|| format!("model `{}`", cfg.model))?;
    let runs: Vec<Option<u64>> =
        if cfg.seeds.is_empty() { vec![None] } else { cfg.seeds.iter().map(|&s| Some(s)).collect() };
    let explained: Vec<Explained> =
        examples.iter().zip(&targets).map(|(e, &class)| Explained { id: e.id.as_str(), class }).collect();
    let eval_ids: HashSet<&str> = dataset.eval.examples.iter().map(|e| e.id.as_str()).collect();
    let mut rows = select(&file, &cfg.explainer, &runs, &explained, &eval_ids)
        .with_context(|| format!("model `{}`", cfg.model))?;
    rows.sort_by_key(|r| r.seed);
    let record = ExplainRecord {
        model: cfg.model.clone(),
        explainer: cfg.explainer.clone(),
        deterministic: entry.deterministic,
        examples: examples.len(),
        class: cfg.class,
        counts: EvalCounts::default(),
        seeds: runs.iter().map(|&seed| SeedRecord::new(seed)).collect(),
    };
    w.write(ATTRIBUTIONS, &parquet_bytes(&mut attributions_frame(&rows, &cfg.explainer)?)?)?;
    w.write_json(RECORD, &record)
}
