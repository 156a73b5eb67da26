//! The `explain` stage: one model instance explained by one explainer on the first
//! `[alignment] examples` eval examples, for every explanation seed of the instance.
//!
//! **Granularity, and the trade-off.** A node is one (model instance, explainer) and holds
//! every explanation seed of that instance (none for a deterministic explainer). Inside it,
//! each example gets one [`ExampleEngine`] shared by all its seeds, so a masked text that
//! two seeds draw runs once (LIME on short inputs repeats many). The alternatives were:
//! one node per (instance, explainer, seed), which shares nothing between seeds; or one
//! node per instance running every explainer, which also shares the engine between
//! explainers but reruns every explainer when one's settings change. We keep the key
//! property of the second alternative that matters most — a change to one explainer reruns
//! only that explainer's nodes and their dependants — and give up sharing *between
//! explainers*, which is small in practice (explainers differ in masking mode and features,
//! so their texts rarely coincide beyond the original). A cache shared across nodes was
//! rejected: a text's probabilities depend at the 1e-6 level on the batch it ran in, so the
//! result would depend on which node ran first, i.e. on `--jobs`.
//!
//! Examples run in parallel (rayon), each with its own engine and its requests in a fixed
//! order, so the output does not depend on thread count. RNGs are
//! [`rng_for`](crate::explain::rng_for)(seed, example id).
//!
//! Artifacts: `attributions.parquet` (example_id, class, feature, segment, position,
//! weight, seed, explainer; seed null for a deterministic explainer), `faithfulness.parquet`
//! (each explanation's comprehensiveness and sufficiency AOPC) and `explain.json`
//! ([`ExplainRecord`]: evaluation counts and mean diagnostics per seed).

use super::RunContext;
use super::instance::ExplainedModel;
use crate::explain::faithfulness::{Faithfulness, faithfulness, masking_of};
use crate::explain::{AttributionRow, EvalCounts, ExampleEngine, rng_for};
use crate::manifest::schema::ExplainedClass;
use crate::plugin::explainer::{ExplainInput, ExplainerEntry, Explanation};
use crate::store::{NodeWriter, Store};
use crate::tables::io::{column_f64, column_strings, parquet_bytes, read_parquet};
use anyhow::{Context, Result, anyhow, bail};
use polars::prelude::{Column, DataFrame};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The attributions file of an explain node.
pub const ATTRIBUTIONS: &str = "attributions.parquet";
/// The record file of an explain node.
pub const RECORD: &str = "explain.json";
/// The faithfulness file of an explain node: example_id, seed, comprehensiveness,
/// sufficiency (ERASER AOPC, [`crate::explain::faithfulness`]).
pub const FAITHFULNESS: &str = "faithfulness.parquet";

pub(super) use crate::plan::node_config::ExplainConfig;

/// What one seed (or the one deterministic run) cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// Explanation seed (`None` for a deterministic explainer).
    pub seed: Option<u64>,
    /// Evaluations the explainer asked for, caused, … summed over examples.
    pub counts: EvalCounts,
    /// Mean over examples of each diagnostic the explainer reports.
    pub diagnostics: BTreeMap<String, f64>,
}

impl SeedRecord {
    /// A seed's record before anything was counted.
    pub fn new(seed: Option<u64>) -> Self {
        SeedRecord { seed, counts: EvalCounts::default(), diagnostics: BTreeMap::new() }
    }
}

/// `explain.json`: what the node did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainRecord {
    /// Model name.
    pub model: String,
    /// Explainer label.
    pub explainer: String,
    /// Whether the explainer is deterministic.
    pub deterministic: bool,
    /// Examples explained.
    pub examples: usize,
    /// Explained class: `gold` or `predicted`.
    pub class: ExplainedClass,
    /// Requests over every seed (`requested`), distinct texts per example summed
    /// (`distinct`), texts run through the model (`run`).
    pub counts: EvalCounts,
    /// Per seed.
    pub seeds: Vec<SeedRecord>,
}

/// The explainer plugin of explain node `node` (named in its `plugin`).
pub(super) fn explainer_entry(node: &crate::plan::Node) -> Result<&'static ExplainerEntry> {
    let name = node.plugin_name();
    ExplainerEntry::find(name).ok_or_else(|| anyhow!("explainer `{name}` is not registered in this build"))
}

/// Explains, with the explainer and settings of node `i`'s config, the model instance that
/// the node reads.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: ExplainConfig = node.config_as()?;
    if cfg.imported.is_some() {
        return super::explain_imported::run(ctx, i, w);
    }
    let entry = explainer_entry(node)?;
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    let preds = super::predict::read(ctx.store, ctx.input_key(i, 1))?;
    let explained = ExplainedModel::open(ctx, i, &dataset, cfg.backend, entry.needs_gradients)?;
    let net = explained.classifier();

    let examples = &super::explained_set::explained_examples(ctx, i, &dataset, cfg.examples)?;
    let targets = explained_classes(examples, &preds, cfg.class)?;
    let gradients = match entry.needs_gradients {
        true => Some(explained.gradients().ok_or_else(|| anyhow!("model `{}` gives no gradients", cfg.model))?),
        false => None,
    };
    let runs: Vec<Option<u64>> =
        if cfg.seeds.is_empty() { vec![None] } else { cfg.seeds.iter().map(|&s| Some(s)).collect() };

    let bar = ctx.progress.task_bar(&node.name);
    bar.set_length(examples.len() as u64);
    type PerExample = (Vec<Explanation>, Vec<Faithfulness>, EvalCounts, u64);
    let masking = masking_of(&cfg.settings);
    let explainer = (entry.prepare)(&cfg.settings).with_context(|| format!("explainer `{}`", cfg.explainer))?;
    let results: Vec<PerExample> = examples
        .par_iter()
        .zip(&targets)
        .map(|(e, &class)| -> Result<PerExample> {
            let engine = ExampleEngine::new(net, e.id.clone(), e.segments.clone())?;
            let input = ExplainInput { engine: &engine, class, gradients };
            let mut out = Vec::with_capacity(runs.len());
            let mut faithful = Vec::with_capacity(runs.len());
            for seed in &runs {
                let mut rng = rng_for(seed.unwrap_or(0), &e.id);
                let explanation = explainer(&input, &mut rng)
                    .with_context(|| format!("model `{}`, example `{}`", cfg.model, e.id))?;
                let mut counts = EvalCounts::default();
                faithful.push(
                    faithfulness(&engine, &explanation.attribution, masking, &mut counts)
                        .with_context(|| format!("faithfulness of model `{}`, example `{}`", cfg.model, e.id))?,
                );
                out.push(explanation);
            }
            bar.inc(1);
            Ok((out, faithful, engine.totals(), engine.cached() as u64))
        })
        .collect::<Result<_>>()?;
    ctx.progress.clear_task_bar(&node.name);

    let mut rows: Vec<AttributionRow> = Vec::new();
    let mut totals = EvalCounts::default();
    let mut seeds: Vec<SeedRecord> = runs.iter().map(|&seed| SeedRecord::new(seed)).collect();
    let mut faithful_rows: (Vec<String>, Vec<Option<i64>>, Vec<f64>, Vec<f64>) = Default::default();
    for (e, (_, faithful, _, _)) in examples.iter().zip(&results) {
        for (s, f) in faithful.iter().enumerate() {
            faithful_rows.0.push(e.id.clone());
            faithful_rows.1.push(runs[s].map(|x| x as i64));
            faithful_rows.2.push(f.comprehensiveness);
            faithful_rows.3.push(f.sufficiency);
        }
    }
    for (explanations, _, engine_totals, cached) in &results {
        totals.requested += engine_totals.requested;
        totals.distinct += cached;
        totals.run += engine_totals.run;
        for (s, explanation) in explanations.iter().enumerate() {
            rows.extend(explanation.rows(runs[s]));
            seeds[s].counts.add(&explanation.counts);
            for (k, v) in &explanation.diagnostics {
                *seeds[s].diagnostics.entry(k.clone()).or_insert(0.0) += v / examples.len() as f64;
            }
        }
    }
    // Rows by seed, then example order, then feature order.
    rows.sort_by_key(|r| r.seed);
    let record = ExplainRecord {
        model: cfg.model.clone(),
        explainer: cfg.explainer.clone(),
        deterministic: entry.deterministic,
        examples: examples.len(),
        class: cfg.class,
        counts: totals,
        seeds,
    };
    w.write(ATTRIBUTIONS, &parquet_bytes(&mut attributions_frame(&rows, &cfg.explainer)?)?)?;
    let mut faithful = DataFrame::new_infer_height(vec![
        Column::new("example_id".into(), faithful_rows.0),
        Column::new("seed".into(), faithful_rows.1),
        Column::new("comprehensiveness".into(), faithful_rows.2),
        Column::new("sufficiency".into(), faithful_rows.3),
    ])?;
    w.write(FAITHFULNESS, &parquet_bytes(&mut faithful)?)?;
    w.write_json(RECORD, &record)
}

/// The explained class of each example: its gold label, or the model's prediction (from
/// the predictions of the same instance, which must be in dataset order).
pub fn explained_classes(
    examples: &[crate::data::Example],
    preds: &crate::predictions::Predictions,
    class: ExplainedClass,
) -> Result<Vec<usize>> {
    examples
        .iter()
        .enumerate()
        .map(|(j, e)| match class {
            ExplainedClass::Gold => Ok(e.label),
            ExplainedClass::Predicted => match preds.ids.get(j) {
                Some(id) if *id == e.id => Ok(preds.pred(j)),
                _ => {
                    bail!("example `{}`: the model's predictions are not in the dataset's order (internal error)", e.id)
                }
            },
        })
        .collect()
}

/// The attributions table.
pub fn attributions_frame(rows: &[AttributionRow], explainer: &str) -> Result<DataFrame> {
    let col_u32 = |f: &dyn Fn(&AttributionRow) -> usize| rows.iter().map(|r| f(r) as u32).collect::<Vec<_>>();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("example_id".into(), rows.iter().map(|r| r.example_id.clone()).collect::<Vec<_>>()),
        Column::new("class".into(), col_u32(&|r| r.class)),
        Column::new("feature".into(), rows.iter().map(|r| r.feature.clone()).collect::<Vec<_>>()),
        Column::new("segment".into(), col_u32(&|r| r.segment)),
        Column::new("position".into(), col_u32(&|r| r.position)),
        Column::new("weight".into(), rows.iter().map(|r| r.weight).collect::<Vec<_>>()),
        Column::new("seed".into(), rows.iter().map(|r| r.seed.map(|s| s as i64)).collect::<Vec<_>>()),
        Column::new("explainer".into(), vec![explainer.to_string(); rows.len()]),
    ])?)
}

/// Reads the attribution rows an explain node stored, in stored order.
pub fn read_rows(store: &Store, key: &str) -> Result<Vec<AttributionRow>> {
    let df = read_parquet(&store.artifact_path(key, ATTRIBUTIONS))?;
    let text = |c: &str| -> Result<Vec<String>> {
        Ok(column_strings(&df, c)?.into_iter().map(Option::unwrap_or_default).collect())
    };
    let num = |c: &str| column_f64(&df, c);
    let (ids, features) = (text("example_id")?, text("feature")?);
    let (class, segment, position, weight, seed) =
        (num("class")?, num("segment")?, num("position")?, num("weight")?, num("seed")?);
    Ok((0..ids.len())
        .map(|j| AttributionRow {
            example_id: ids[j].clone(),
            class: class[j].unwrap_or(0.0) as usize,
            feature: features[j].clone(),
            segment: segment[j].unwrap_or(0.0) as usize,
            position: position[j].unwrap_or(0.0) as usize,
            weight: weight[j].unwrap_or(f64::NAN),
            seed: seed[j].map(|s| s as u64),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Example;
    use crate::predictions::Predictions;

    fn example(id: &str, label: usize) -> Example {
        Example { id: id.into(), segments: vec!["a b".into()], label }
    }

    #[test]
    fn gold_or_predicted_class() {
        let examples = [example("0", 1), example("1", 0)];
        let preds = Predictions {
            ids: vec!["0".into(), "1".into()],
            labels: vec![1, 0],
            num_classes: 2,
            probs: vec![0.9, 0.1, 0.3, 0.7],
        };
        assert_eq!(explained_classes(&examples, &preds, ExplainedClass::Gold).unwrap(), [1, 0]);
        assert_eq!(explained_classes(&examples, &preds, ExplainedClass::Predicted).unwrap(), [0, 1]);
        let shuffled = Predictions { ids: vec!["1".into(), "0".into()], ..preds };
        assert!(explained_classes(&examples, &shuffled, ExplainedClass::Predicted).is_err());
    }

    #[test]
    fn rows_round_trip_through_parquet() {
        let rows = vec![
            AttributionRow {
                example_id: "e1".into(),
                class: 1,
                feature: "good".into(),
                segment: 0,
                position: 2,
                weight: -0.25,
                seed: Some(7),
            },
            AttributionRow {
                example_id: "e2".into(),
                class: 0,
                feature: "bad".into(),
                segment: 1,
                position: 0,
                weight: 0.5,
                seed: None,
            },
        ];
        let dir = std::env::temp_dir().join(format!("trustx-explain-rows-{}", std::process::id()));
        let store = Store::new(&dir);
        let key = "0123456789abcdef0123";
        let mut w = store.writer(key).unwrap();
        w.write(ATTRIBUTIONS, &parquet_bytes(&mut attributions_frame(&rows, "lime").unwrap()).unwrap()).unwrap();
        // A node's artifacts are readable once its writer has moved the folder into place.
        w.finish(crate::store::NodeRecord::new(key, "explain/m/lime", "explain")).unwrap();
        assert_eq!(read_rows(&store, key).unwrap(), rows);
        std::fs::remove_dir_all(&dir).ok();
    }
}
