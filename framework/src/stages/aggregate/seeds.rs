//! Joining the per-seed nodes of each model: its calibration values and reliability curves
//! (with its card, the models' Table 1 row) and its similarity to the reference (with the
//! examples that flip between them), each value's mean and std over seeds beside an interval
//! from one bootstrap over the examples shared by every seed.

use super::frames::{ReliabilityRows, Rows};
use super::{AggregateRow, ModelCard, ModelSummary};
use crate::calibration::ReliabilityCurve;
use crate::plan::Task;
use crate::plan::node_config::AggregateConfig;
use crate::predictions::Predictions;
use crate::stages::RunContext;
use crate::stages::evaluate::{MetricValue, bootstrap_rows, calibration_values, similarity_values};
use crate::tables::bootstrap::mean_std;
use crate::tables::summary::FlippedExample;
use anyhow::Result;
use std::collections::BTreeMap;

/// Every model's predictions by seed: (seed, predict node, predictions).
pub(super) type SeedPredictions = BTreeMap<usize, Vec<(Option<u64>, usize, Predictions)>>;

/// The calibration side: per-seed rows, rows across seeds, reliability bins, models.
#[derive(Default)]
pub(super) struct CalibrationJoin {
    /// Every seed's values.
    pub by_seed: Rows,
    /// Values across seeds.
    pub rows: Vec<AggregateRow>,
    /// Every seed's reliability bins.
    pub reliability: ReliabilityRows,
    /// Each model's summary (card, seeds, curves).
    pub models: Vec<ModelSummary>,
}

/// Joins the calibration nodes `cal_nodes` of every model of `agg` (node `i`'s inputs).
pub(super) fn calibration(
    ctx: &RunContext,
    i: usize,
    agg: &AggregateConfig,
    preds: &SeedPredictions,
    cal_nodes: &[usize],
    data_key: &str,
) -> Result<CalibrationJoin> {
    let cfg = &agg.calibration;
    let mut out = CalibrationJoin::default();
    for (mi, m) in agg.models.iter().enumerate() {
        let mut per_seed = Vec::new();
        let mut curves = Vec::new();
        for &k in cal_nodes.iter().filter(|&&k| ctx.plan.nodes[k].task == Task::Calibration { model: mi }) {
            let n = &ctx.plan.nodes[k];
            let values: Vec<MetricValue> = serde_json::from_slice(&ctx.store.read(&n.key, "metrics.json")?)?;
            let curve: ReliabilityCurve = serde_json::from_slice(&ctx.store.read(&n.key, "reliability.json")?)?;
            for v in &values {
                out.by_seed.push(&m.name, n.seed, v);
            }
            out.reliability.push(&m.name, n.seed, &curve);
            per_seed.push(values);
            curves.push((n.seed, curve));
        }
        let seed_preds: Vec<&Predictions> =
            preds.get(&mi).map(|v| v.iter().map(|(_, _, p)| p).collect()).unwrap_or_default();
        let n_rows = seed_preds.first().map(|p| p.len()).unwrap_or(0);
        let boot = bootstrap_rows(n_rows, cfg, &[data_key.as_bytes(), m.name.as_bytes(), b"calibration"]);
        let joint = calibration_values(&seed_preds, cfg, &boot)?;
        out.rows.extend(across_seeds(&m.name, &per_seed, &joint));
        let card = model_card(ctx, &ctx.plan.nodes[i].inputs, mi)?;
        out.models.push(ModelSummary {
            card,
            name: m.name.clone(),
            reference: m.reference,
            source: m.origin.clone(),
            seeds: preds.get(&mi).map(|v| v.iter().filter_map(|(s, _, _)| *s).collect()).unwrap_or_default(),
            reliability: curves,
            derived_from: m.derived_from.clone(),
            compressor: m.compressor.clone(),
        });
    }
    Ok(out)
}

/// The similarity side: per-seed rows, rows across seeds, flipped examples.
#[derive(Default)]
pub(super) struct SimilarityJoin {
    /// Every seed's values.
    pub by_seed: Rows,
    /// Values across seeds.
    pub rows: Vec<AggregateRow>,
    /// The compression-identified examples.
    pub flipped: Vec<FlippedExample>,
}

/// Joins the similarity nodes `sim_nodes` of every compared model of `agg`.
pub(super) fn similarity(
    ctx: &RunContext,
    agg: &AggregateConfig,
    preds: &SeedPredictions,
    sim_nodes: &[usize],
    data_key: &str,
    eval_examples: &[crate::data::Example],
    label_names: &[String],
) -> Result<SimilarityJoin> {
    let cfg = &agg.calibration;
    let mut out = SimilarityJoin::default();
    for (mi, m) in agg.models.iter().enumerate().skip(1) {
        let mut per_seed = Vec::new();
        let mut pairs = Vec::new();
        for &k in sim_nodes.iter().filter(|&&k| ctx.plan.nodes[k].task == Task::Similarity { model: mi }) {
            let n = &ctx.plan.nodes[k];
            let values: Vec<MetricValue> = serde_json::from_slice(&ctx.store.read(&n.key, "similarity.json")?)?;
            for v in &values {
                out.by_seed.push(&m.name, n.seed, v);
            }
            per_seed.push(values);
            let find =
                |key_index: usize| preds.values().flatten().find(|(_, idx, _)| *idx == key_index).map(|(_, _, p)| p);
            if let (Some(a), Some(b)) = (find(n.inputs[0]), find(n.inputs[1])) {
                pairs.push((a, b));
            }
        }
        let n_rows = pairs.first().map(|(a, _)| a.len()).unwrap_or(0);
        let boot = bootstrap_rows(n_rows, cfg, &[data_key.as_bytes(), m.name.as_bytes(), b"similarity"]);
        let joint = similarity_values(&pairs, cfg, &boot)?;
        out.rows.extend(across_seeds(&m.name, &per_seed, &joint));
        out.flipped.extend(crate::stages::flipped_examples::find(&m.name, &pairs, eval_examples, label_names));
    }
    Ok(out)
}

/// Aggregates rows of per-seed values for one model: mean and std over seeds, interval from
/// the joint bootstrap (`joint`, same metric order).
fn across_seeds(model: &str, per_seed: &[Vec<MetricValue>], joint: &[MetricValue]) -> Vec<AggregateRow> {
    joint
        .iter()
        .map(|j| {
            let values: Vec<f64> = per_seed
                .iter()
                .filter_map(|vals| vals.iter().find(|v| v.metric == j.metric).map(|v| v.value))
                .collect();
            let (mean, std) = mean_std(&values);
            AggregateRow {
                model: model.into(),
                metric: j.metric.clone(),
                mean,
                std,
                ci_low: j.ci_low,
                ci_high: j.ci_high,
                seeds: values.len(),
            }
        })
        .collect()
}

/// The card of model `mi` from its predict nodes among `inputs` (neural models only): the
/// first seed's card with milliseconds per example (wall and CPU) averaged over seeds.
fn model_card(ctx: &RunContext, inputs: &[usize], mi: usize) -> Result<Option<ModelCard>> {
    let mut cards = Vec::new();
    for &k in inputs {
        let n = &ctx.plan.nodes[k];
        if n.task != (Task::Predict { model: mi }) {
            continue;
        }
        let path = ctx.store.artifact_path(&n.key, crate::stages::predict::MODEL_CARD);
        if path.is_file() {
            cards.push(serde_json::from_slice::<ModelCard>(
                &ctx.store.read(&n.key, crate::stages::predict::MODEL_CARD)?,
            )?);
        }
    }
    let Some(mut card) = cards.first().cloned() else { return Ok(None) };
    card.ms_per_example = cards.iter().map(|c| c.ms_per_example).sum::<f64>() / cards.len() as f64;
    card.cpu_ms_per_example =
        cards.iter().map(|c| c.cpu_ms_per_example).sum::<Option<f64>>().map(|s| s / cards.len() as f64);
    Ok(Some(card))
}
