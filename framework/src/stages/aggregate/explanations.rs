//! The aggregate node's explanation side: the alignment, floor and faithfulness tables (from
//! [`crate::stages::alignment_tables`]), the highlighted examples (from
//! [`crate::stages::highlights`]) and the notes the report prints under the alignment table.

use super::FloorSummary;
use super::seeds::SeedPredictions;
use crate::plan::node_config::AggregateConfig;
use crate::stages::RunContext;
use crate::stages::data::DatasetMeta;
use crate::tables::summary::FlippedExample;
use crate::tables::summary::alignment::{AlignmentAggregate, ExampleHighlight, FaithfulnessAggregate};
use anyhow::Result;
use polars::prelude::DataFrame;

/// What the explanations add to the summary and the tables.
#[derive(Default)]
pub(super) struct ExplanationJoin {
    /// Alignment rows.
    pub alignment: Vec<AlignmentAggregate>,
    /// Faithfulness rows.
    pub faithfulness: Vec<FaithfulnessAggregate>,
    /// Noise floors.
    pub floors: Vec<FloorSummary>,
    /// Highlighted examples.
    pub highlights: Vec<ExampleHighlight>,
    /// The compression-identified examples' explanations.
    pub flip_explanations: Vec<ExampleHighlight>,
    /// Notes under the alignment table.
    pub notes: Vec<String>,
    /// The alignment, floor, attribution and faithfulness tables.
    pub frames: Vec<(&'static str, DataFrame)>,
}

/// Joins the explanation side of aggregate node `i` (nothing without explainers).
pub(super) fn explanations(
    ctx: &RunContext,
    i: usize,
    agg: &AggregateConfig,
    dataset: &DatasetMeta,
    eval_examples: Vec<crate::data::Example>,
    preds: &SeedPredictions,
    flipped: &[FlippedExample],
) -> Result<ExplanationJoin> {
    if agg.explainers.is_empty() {
        return Ok(ExplanationJoin::default());
    }
    let tables = crate::stages::alignment_tables::build(ctx, i, &agg.calibration, agg)?;
    let floors = tables
        .floors
        .into_iter()
        .map(|f| FloorSummary { model: f.model, explainer: f.explainer, metric: f.metric, floor: f.value })
        .collect();
    // The highlights read the eval split only: the one read above, not the train split too.
    let eval = crate::data::Dataset {
        name: dataset.name.clone(),
        label_names: dataset.label_names.clone(),
        train: None,
        eval: crate::data::Split { examples: eval_examples, counts: dataset.eval.clone() },
    };
    let highlights = crate::stages::highlights::build(ctx, i, agg, &eval, preds)?;
    let flip_explanations = crate::stages::highlights::for_flips(ctx, i, agg, &eval, preds, flipped)?;
    let notes = notes(agg, &tables.alignment, eval.eval.examples.len());
    Ok(ExplanationJoin {
        alignment: tables.alignment,
        faithfulness: tables.faithfulness,
        floors,
        highlights,
        flip_explanations,
        notes,
        frames: tables.frames,
    })
}

/// The notes under the alignment table: examples left out of a top-K mean, the flipped
/// examples explained beside the first ones, models with nothing to explain.
fn notes(agg: &AggregateConfig, alignment: &[AlignmentAggregate], eval_examples: usize) -> Vec<String> {
    let mut notes = Vec::new();
    // Examples whose top K is every feature say nothing about agreement (issue 15.4).
    let mut seen = std::collections::BTreeSet::new();
    let top_k_set =
        |plugin: &str| crate::plugin::alignment::AlignmentMetricEntry::find(plugin).is_some_and(|e| e.top_k_set);
    for a in alignment.iter().filter(|a| a.left_out > 0 && top_k_set(&a.plugin)) {
        let Some(k) = a.k else { continue };
        if seen.insert((a.explainer.clone(), a.metric.clone())) {
            let least = crate::stages::alignment::least_features(agg.alignment.min_features, Some(k), true);
            notes.push(format!(
                "{} ({}): {} of {} explained examples have fewer than {least} features and are left out of the mean (with K or fewer, the top K is every feature and Jaccard@{k} is 1 whatever the explanations rank); `[alignment] min_features` sets the minimum, 0 keeps every example",
                a.metric,
                a.explainer,
                a.left_out,
                a.left_out + a.examples
            ));
        }
    }
    if agg.alignment.include_flips
        && let Some(a) = alignment.first()
    {
        let explained = a.examples + a.left_out;
        let first = agg.alignment.examples.min(eval_examples);
        notes.push(format!(
            "`[alignment] include_flips`: {explained} examples explained, the first {first} and {} compression-identified ones after them; the alignment means are over all of them, so they weigh the examples the models disagree on more than a sample of the data would",
            explained.saturating_sub(first)
        ));
    }
    for m in agg.models.iter().filter(|m| !m.explainable) {
        notes.push(format!(
            "model `{}` gives predictions only (source `{}`): it has no weights to explain, so it has no alignment rows",
            m.name, m.origin
        ));
    }
    notes
}
