//! The `aggregate` stage: per-seed tables joined across seeds (mean, standard deviation,
//! bootstrap interval of the seed mean), written as Parquet and CSV, plus `summary.json`,
//! the structured content the report renders. With explainers, the alignment tables come
//! from [`super::alignment_tables`] and the highlighted examples from [`super::highlights`].

use super::RunContext;
use super::evaluate::{EvalConfig, MetricValue, bootstrap_rows, calibration_values, similarity_values};
use crate::calibration::ReliabilityCurve;
use crate::plan::node_config::AggregateConfig;
use crate::plan::{Stage, Task};
use crate::plugin::overview_column::OverviewColumns;
use crate::predictions::Predictions;
use crate::store::NodeWriter;
use crate::tables::bootstrap::mean_std;
use crate::tables::io::{csv_bytes, parquet_bytes};
pub use crate::tables::summary::{AggregateRow, FloorSummary, ModelCard, ModelSummary, Summary};
use anyhow::Result;
use polars::prelude::{Column, DataFrame};
use std::collections::BTreeMap;

/// The names of the tables the aggregate node writes (each as `.parquet` and `.csv`).
pub const TABLES: [&str; 14] = [
    "models",
    "calibration",
    "calibration_by_seed",
    "similarity",
    "similarity_by_seed",
    "reliability",
    "predictions",
    "rows",
    "alignment",
    "alignment_by_seed",
    "floor",
    "attributions",
    "faithfulness",
    "flipped",
];

#[derive(Default)]
struct Rows {
    model: Vec<String>,
    seed: Vec<Option<i64>>,
    metric: Vec<String>,
    value: Vec<f64>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
}

impl Rows {
    fn push(&mut self, model: &str, seed: Option<u64>, v: &MetricValue) {
        self.model.push(model.into());
        self.seed.push(seed.map(|s| s as i64));
        self.metric.push(v.metric.clone());
        self.value.push(v.value);
        self.ci_low.push(v.ci_low);
        self.ci_high.push(v.ci_high);
    }

    fn frame(self) -> Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            Column::new("model".into(), self.model),
            Column::new("seed".into(), self.seed),
            Column::new("metric".into(), self.metric),
            Column::new("value".into(), self.value),
            Column::new("ci_low".into(), self.ci_low),
            Column::new("ci_high".into(), self.ci_high),
        ])?)
    }
}

fn aggregate_frame(rows: &[AggregateRow]) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
        Column::new("metric".into(), rows.iter().map(|r| r.metric.clone()).collect::<Vec<_>>()),
        Column::new("mean".into(), rows.iter().map(|r| r.mean).collect::<Vec<_>>()),
        Column::new("std".into(), rows.iter().map(|r| r.std).collect::<Vec<_>>()),
        Column::new("ci_low".into(), rows.iter().map(|r| r.ci_low).collect::<Vec<_>>()),
        Column::new("ci_high".into(), rows.iter().map(|r| r.ci_high).collect::<Vec<_>>()),
        Column::new("seeds".into(), rows.iter().map(|r| r.seeds as u32).collect::<Vec<_>>()),
    ])?)
}

/// The compression-identified examples as a table.
fn flipped_frame(rows: &[crate::tables::summary::FlippedExample]) -> Result<DataFrame> {
    let text = |f: fn(&crate::tables::summary::FlippedExample) -> &String| -> Vec<String> {
        rows.iter().map(|r| f(r).clone()).collect()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), text(|r| &r.model)),
        Column::new("example".into(), text(|r| &r.example)),
        Column::new("gold".into(), text(|r| &r.gold)),
        Column::new("reference_label".into(), text(|r| &r.reference_label)),
        Column::new("reference_p".into(), rows.iter().map(|r| r.reference_p).collect::<Vec<_>>()),
        Column::new("model_label".into(), text(|r| &r.model_label)),
        Column::new("model_p".into(), rows.iter().map(|r| r.model_p).collect::<Vec<_>>()),
        Column::new("flips".into(), rows.iter().map(|r| r.flips as u32).collect::<Vec<_>>()),
        Column::new("pairs".into(), rows.iter().map(|r| r.pairs as u32).collect::<Vec<_>>()),
        Column::new("text".into(), text(|r| &r.text)),
    ])?)
}

/// Each metric's convention (binning, norm, mode, estimator) with its settings filled in, by
/// metric name; a `delta-` row (a model minus the reference) has its metric's.
fn conventions(cfg: &EvalConfig) -> BTreeMap<String, [String; 4]> {
    let mut out = BTreeMap::new();
    for m in &cfg.metrics {
        if let Some(e) = crate::plugin::metric::CalibrationMetricEntry::find(&m.name) {
            let c = e.convention.filled(&m.settings, cfg.bins);
            out.insert(format!("delta-{}", m.name), c.clone());
            out.insert(m.name.clone(), c);
        }
    }
    for m in &cfg.similarity {
        if let Some(e) = crate::plugin::similarity::SimilarityMetricEntry::find(&m.name) {
            out.insert(m.name.clone(), e.convention.filled(&m.settings, cfg.bins));
        }
    }
    out
}

/// `df` (rows of `rows`) with the columns `binning`, `norm`, `mode` and `estimator`: the
/// conventions other tools differ by, recorded beside every value.
fn with_conventions(
    mut df: DataFrame,
    rows: &[AggregateRow],
    conventions: &BTreeMap<String, [String; 4]>,
) -> Result<DataFrame> {
    for (i, name) in ["binning", "norm", "mode", "estimator"].into_iter().enumerate() {
        let values: Vec<Option<String>> =
            rows.iter().map(|r| conventions.get(&r.metric).map(|c| c[i].clone())).collect();
        df.with_column(Column::new(name.into(), values))?;
    }
    Ok(df)
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
        let path = ctx.store.artifact_path(&n.key, super::predict::MODEL_CARD);
        if path.is_file() {
            cards.push(serde_json::from_slice::<ModelCard>(&ctx.store.read(&n.key, super::predict::MODEL_CARD)?)?);
        }
    }
    let Some(mut card) = cards.first().cloned() else { return Ok(None) };
    card.ms_per_example = cards.iter().map(|c| c.ms_per_example).sum::<f64>() / cards.len() as f64;
    card.cpu_ms_per_example =
        cards.iter().map(|c| c.cpu_ms_per_example).sum::<Option<f64>>().map(|s| s / cards.len() as f64);
    Ok(Some(card))
}

/// One row per model: the paper's Table 1 (parameters, size, speed) with the calibration
/// metrics whose plugins declare a column of the report's first table (accuracy).
fn models_frame(models: &[ModelSummary], calibration: &[AggregateRow]) -> Result<DataFrame> {
    let value = |m: &str, metric: &str| calibration.iter().find(|r| r.model == m && r.metric == metric).map(|r| r.mean);
    let own: Vec<Column> = OverviewColumns::declared()
        .quality
        .iter()
        .flat_map(|c| &c.metrics)
        .map(|metric| {
            Column::new(metric.as_str().into(), models.iter().map(|m| value(&m.name, metric)).collect::<Vec<_>>())
        })
        .collect();
    let card =
        |f: &dyn Fn(&ModelCard) -> f64| -> Vec<Option<f64>> { models.iter().map(|m| m.card.as_ref().map(f)).collect() };
    let mut columns = vec![
        Column::new("model".into(), models.iter().map(|m| m.name.clone()).collect::<Vec<_>>()),
        Column::new("reference".into(), models.iter().map(|m| m.reference).collect::<Vec<_>>()),
        Column::new("source".into(), models.iter().map(|m| m.source.clone()).collect::<Vec<_>>()),
        Column::new("parameters".into(), card(&|c| c.parameters as f64)),
        Column::new("size_mb".into(), card(&|c| c.size_mb)),
        Column::new("ms_per_example".into(), card(&|c| c.ms_per_example)),
        Column::new(
            "cpu_ms_per_example".into(),
            models.iter().map(|m| m.card.as_ref().and_then(|c| c.cpu_ms_per_example)).collect::<Vec<_>>(),
        ),
    ];
    columns.extend(own);
    columns.extend([
        Column::new("weight_bits".into(), card(&|c| c.weight_bits as f64)),
        Column::new("sparsity".into(), card(&|c| c.sparsity)),
        Column::new(
            "deploy_size_mb".into(),
            models.iter().map(|m| m.card.as_ref().and_then(|c| c.deploy_size_mb)).collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The `reliability` table: one row per model, seed and bin.
#[derive(Default)]
struct ReliabilityRows {
    model: Vec<String>,
    seed: Vec<Option<i64>>,
    bin: Vec<u32>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    count: Vec<u32>,
    confidence: Vec<Option<f64>>,
    accuracy: Vec<Option<f64>>,
}

impl ReliabilityRows {
    /// Every bin of one seed's curve of `model`.
    fn push(&mut self, model: &str, seed: Option<u64>, curve: &ReliabilityCurve) {
        for (b, bin) in curve.bins.iter().enumerate() {
            self.model.push(model.to_string());
            self.seed.push(seed.map(|s| s as i64));
            self.bin.push(b as u32);
            self.lower.push(bin.lower);
            self.upper.push(bin.upper);
            self.count.push(bin.count as u32);
            self.confidence.push(bin.confidence);
            self.accuracy.push(bin.accuracy);
        }
    }

    fn frame(self) -> Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            Column::new("model".into(), self.model),
            Column::new("seed".into(), self.seed),
            Column::new("bin".into(), self.bin),
            Column::new("lower".into(), self.lower),
            Column::new("upper".into(), self.upper),
            Column::new("count".into(), self.count),
            Column::new("confidence".into(), self.confidence),
            Column::new("accuracy".into(), self.accuracy),
        ])?)
    }
}

/// Builds every table and the summary.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let agg: AggregateConfig = node.config_as()?;
    let cfg = agg.calibration.clone();
    // The data node's key also seeds the across-seed bootstraps (with the model and the
    // purpose), so that an interval depends on the examples it resamples and not on unrelated
    // inputs: this node's own key changes with every input (another model, an added K).
    let data_key = ctx.input_key(i, 0);
    let dataset: super::data::DatasetMeta = serde_json::from_slice(&ctx.store.read(data_key, "dataset.json")?)?;

    // Gather the inputs by stage and model.
    let mut preds: BTreeMap<usize, Vec<(Option<u64>, usize, Predictions)>> = BTreeMap::new();
    let mut cal_nodes: Vec<usize> = Vec::new();
    let mut sim_nodes: Vec<usize> = Vec::new();
    for &k in &node.inputs {
        let n = &ctx.plan.nodes[k];
        match (&n.task, n.stage) {
            (Task::Predict { model }, _) => {
                preds.entry(*model).or_default().push((n.seed, k, super::predict::read(ctx.store, &n.key)?));
            }
            (_, Stage::Calibration) => cal_nodes.push(k),
            (_, Stage::Similarity) => sim_nodes.push(k),
            _ => {}
        }
    }

    let mut by_seed = Rows::default();
    let mut calibration = Vec::new();
    let mut models = Vec::new();
    let mut rel = ReliabilityRows::default();
    for (mi, m) in agg.models.iter().enumerate() {
        let mut per_seed = Vec::new();
        let mut curves = Vec::new();
        for &k in cal_nodes.iter().filter(|&&k| ctx.plan.nodes[k].task == Task::Calibration { model: mi }) {
            let n = &ctx.plan.nodes[k];
            let values: Vec<MetricValue> = serde_json::from_slice(&ctx.store.read(&n.key, "metrics.json")?)?;
            let curve: ReliabilityCurve = serde_json::from_slice(&ctx.store.read(&n.key, "reliability.json")?)?;
            for v in &values {
                by_seed.push(&m.name, n.seed, v);
            }
            rel.push(&m.name, n.seed, &curve);
            per_seed.push(values);
            curves.push((n.seed, curve));
        }
        let seed_preds: Vec<&Predictions> =
            preds.get(&mi).map(|v| v.iter().map(|(_, _, p)| p).collect()).unwrap_or_default();
        let n_rows = seed_preds.first().map(|p| p.len()).unwrap_or(0);
        let boot = bootstrap_rows(n_rows, &cfg, &[data_key.as_bytes(), m.name.as_bytes(), b"calibration"]);
        let joint = calibration_values(&seed_preds, &cfg, &boot)?;
        calibration.extend(across_seeds(&m.name, &per_seed, &joint));
        let card = model_card(ctx, &node.inputs, mi)?;
        models.push(ModelSummary {
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

    let mut sim_by_seed = Rows::default();
    let mut similarity = Vec::new();
    let mut flipped = Vec::new();
    let mut eval_examples = crate::data::table::frame_examples(&crate::tables::io::read_parquet(
        &ctx.store.artifact_path(data_key, "eval.parquet"),
    )?)?;
    for (mi, m) in agg.models.iter().enumerate().skip(1) {
        let mut per_seed = Vec::new();
        let mut pairs = Vec::new();
        for &k in sim_nodes.iter().filter(|&&k| ctx.plan.nodes[k].task == Task::Similarity { model: mi }) {
            let n = &ctx.plan.nodes[k];
            let values: Vec<MetricValue> = serde_json::from_slice(&ctx.store.read(&n.key, "similarity.json")?)?;
            for v in &values {
                sim_by_seed.push(&m.name, n.seed, v);
            }
            per_seed.push(values);
            let find =
                |key_index: usize| preds.values().flatten().find(|(_, idx, _)| *idx == key_index).map(|(_, _, p)| p);
            if let (Some(a), Some(b)) = (find(n.inputs[0]), find(n.inputs[1])) {
                pairs.push((a, b));
            }
        }
        let n_rows = pairs.first().map(|(a, _)| a.len()).unwrap_or(0);
        let boot = bootstrap_rows(n_rows, &cfg, &[data_key.as_bytes(), m.name.as_bytes(), b"similarity"]);
        let joint = similarity_values(&pairs, &cfg, &boot)?;
        similarity.extend(across_seeds(&m.name, &per_seed, &joint));
        flipped.extend(super::flipped_examples::find(&m.name, &pairs, &eval_examples, &dataset.label_names));
    }

    // Predictions of every model and seed in one table.
    let mut pred_frames = Vec::new();
    for (mi, list) in &preds {
        for (seed, _, p) in list {
            let mut df = super::predict::predictions_frame(p)?;
            let n = p.len();
            df.insert_column(0, Column::new("model".into(), vec![agg.models[*mi].name.clone(); n]))?;
            df.insert_column(1, Column::new("seed".into(), vec![seed.map(|s| s as i64); n]))?;
            pred_frames.push(df);
        }
    }
    let mut predictions = pred_frames
        .into_iter()
        .reduce(|mut a, b| {
            a.vstack_mut(&b).ok();
            a
        })
        .unwrap_or_default();
    predictions.rechunk_mut();

    let counts = |split: &str, c: &crate::data::RowCounts| {
        (split.to_string(), [c.read, c.unlabelled, c.bad, c.excluded, c.capped, c.kept])
    };
    let mut splits = vec![counts("eval", &dataset.eval)];
    if let Some(t) = &dataset.train {
        splits.push(counts("train", t));
    }
    let count_col =
        |name: &str, j: usize| Column::new(name.into(), splits.iter().map(|(_, c)| c[j] as u64).collect::<Vec<_>>());
    let rows_frame = DataFrame::new_infer_height(vec![
        Column::new("split".into(), splits.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()),
        count_col("read", 0),
        count_col("unlabelled", 1),
        count_col("bad", 2),
        count_col("excluded", 3),
        count_col("capped", 4),
        count_col("kept", 5),
    ])?;
    let reliability = rel.frame()?;

    let mut alignment = Vec::new();
    let mut faithfulness = Vec::new();
    let mut floors = Vec::new();
    let mut highlights = Vec::new();
    let mut flip_explanations = Vec::new();
    let mut alignment_notes = Vec::new();
    let mut extra_frames = Vec::new();
    if !agg.explainers.is_empty() {
        let tables = super::alignment_tables::build(ctx, i, &cfg, &agg)?;
        extra_frames = tables.frames;
        alignment = tables.alignment;
        faithfulness = tables.faithfulness;
        floors = tables
            .floors
            .into_iter()
            .map(|f| FloorSummary { model: f.model, explainer: f.explainer, metric: f.metric, floor: f.value })
            .collect();
        // The highlights read the eval split only: the one read above, not the train split too.
        let eval = crate::data::Dataset {
            name: dataset.name.clone(),
            label_names: dataset.label_names.clone(),
            train: None,
            eval: crate::data::Split { examples: std::mem::take(&mut eval_examples), counts: dataset.eval.clone() },
        };
        highlights = super::highlights::build(ctx, i, &agg, &eval, &preds)?;
        flip_explanations = super::highlights::for_flips(ctx, i, &agg, &eval, &preds, &flipped)?;
        // Examples whose top K is every feature say nothing about agreement (issue 15.4).
        let mut seen = std::collections::BTreeSet::new();
        let top_k_set =
            |plugin: &str| crate::plugin::alignment::AlignmentMetricEntry::find(plugin).is_some_and(|e| e.top_k_set);
        for a in alignment.iter().filter(|a| a.left_out > 0 && top_k_set(&a.plugin)) {
            let Some(k) = a.k else { continue };
            if seen.insert((a.explainer.clone(), a.metric.clone())) {
                let least = super::alignment::least_features(agg.alignment.min_features, Some(k), true);
                alignment_notes.push(format!(
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
            let first = agg.alignment.examples.min(eval.eval.examples.len());
            alignment_notes.push(format!(
                "`[alignment] include_flips`: {explained} examples explained, the first {first} and {} compression-identified ones after them; the alignment means are over all of them, so they weigh the examples the models disagree on more than a sample of the data would",
                explained.saturating_sub(first)
            ));
        }
        for m in agg.models.iter().filter(|m| !m.explainable) {
            alignment_notes.push(format!(
                "model `{}` gives predictions only (source `{}`): it has no weights to explain, so it has no alignment rows",
                m.name, m.origin
            ));
        }
    }

    let conventions = conventions(&cfg);
    let mut frames: Vec<(&str, DataFrame)> = vec![
        ("models", models_frame(&models, &calibration)?),
        ("calibration", with_conventions(aggregate_frame(&calibration)?, &calibration, &conventions)?),
        ("calibration_by_seed", by_seed.frame()?),
        ("similarity", with_conventions(aggregate_frame(&similarity)?, &similarity, &conventions)?),
        ("similarity_by_seed", sim_by_seed.frame()?),
        ("reliability", reliability),
        ("predictions", predictions),
        ("rows", rows_frame),
        ("flipped", flipped_frame(&flipped)?),
    ];
    frames.extend(extra_frames);
    for (name, df) in frames.iter_mut() {
        w.write(&format!("{name}.parquet"), &parquet_bytes(df)?)?;
        if *name != "predictions" {
            w.write(&format!("{name}.csv"), &csv_bytes(df)?)?;
        }
    }

    let mut definitions = BTreeMap::new();
    let mut lower_is_better = BTreeMap::new();
    for m in &cfg.metrics {
        if let Some(e) = crate::plugin::metric::CalibrationMetricEntry::find(&m.name) {
            definitions
                .insert(m.name.clone(), format!("{} {}", e.definition, e.convention.sentence(&m.settings, cfg.bins)));
            lower_is_better.insert(m.name.clone(), e.lower_is_better);
            lower_is_better.insert(format!("delta-{}", m.name), e.lower_is_better);
        }
    }
    for s in &cfg.similarity {
        if let Some(e) = crate::plugin::similarity::SimilarityMetricEntry::find(&s.name) {
            definitions
                .insert(s.name.clone(), format!("{} {}", e.definition, e.convention.sentence(&s.settings, cfg.bins)));
            lower_is_better.insert(s.name.clone(), e.lower_is_closer);
        }
    }
    if !agg.explainers.is_empty() {
        for name in &agg.alignment.metrics {
            if let Some(e) = crate::plugin::alignment::AlignmentMetricEntry::find(name) {
                definitions.insert(name.clone(), e.definition.to_string());
                lower_is_better.insert(name.clone(), false);
            }
        }
    }
    let summary = Summary {
        dataset,
        models,
        calibration,
        similarity,
        definitions,
        lower_is_better,
        bins: cfg.bins,
        bootstrap: cfg.bootstrap,
        confidence: cfg.confidence,
        alignment,
        faithfulness,
        highlights,
        alignment_notes,
        floors,
        flipped,
        flip_explanations,
    };
    w.write_json("summary.json", &summary)
}
