//! The aggregate node's tables as data frames: rows per seed, rows across seeds (with the
//! conventions of each metric beside them), the models' Table 1, the reliability bins, the
//! compression-identified examples, the row counts of each split and every prediction.

use super::seeds::SeedPredictions;
use super::{AggregateRow, ModelCard, ModelSummary};
use crate::calibration::ReliabilityCurve;
use crate::plugin::overview_column::OverviewColumns;
use crate::stages::evaluate::MetricValue;
use anyhow::Result;
use polars::prelude::{Column, DataFrame};
use std::collections::BTreeMap;

/// The per-seed rows of the calibration or similarity table.
#[derive(Default)]
pub(super) struct Rows {
    model: Vec<String>,
    seed: Vec<Option<i64>>,
    metric: Vec<String>,
    value: Vec<f64>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
}

impl Rows {
    pub(super) fn push(&mut self, model: &str, seed: Option<u64>, v: &MetricValue) {
        self.model.push(model.into());
        self.seed.push(seed.map(|s| s as i64));
        self.metric.push(v.metric.clone());
        self.value.push(v.value);
        self.ci_low.push(v.ci_low);
        self.ci_high.push(v.ci_high);
    }

    pub(super) fn frame(self) -> Result<DataFrame> {
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

/// Rows across seeds: mean, std, interval, seeds.
pub(super) fn aggregate_frame(rows: &[AggregateRow]) -> Result<DataFrame> {
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
pub(super) fn flipped_frame(rows: &[crate::tables::summary::FlippedExample]) -> Result<DataFrame> {
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

/// `df` (rows of `rows`) with the columns `binning`, `norm`, `mode` and `estimator`: the
/// conventions other tools differ by, recorded beside every value.
pub(super) fn with_conventions(
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

/// One row per model: the paper's Table 1 (parameters, size, speed) with the calibration
/// metrics whose plugins declare a column of the report's first table (accuracy).
pub(super) fn models_frame(models: &[ModelSummary], calibration: &[AggregateRow]) -> Result<DataFrame> {
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
pub(super) struct ReliabilityRows {
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
    pub(super) fn push(&mut self, model: &str, seed: Option<u64>, curve: &ReliabilityCurve) {
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

    pub(super) fn frame(self) -> Result<DataFrame> {
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

/// Row counts of each split: read, unlabelled, bad, excluded, capped, kept.
pub(super) fn rows_frame(dataset: &crate::stages::data::DatasetMeta) -> Result<DataFrame> {
    let counts = |split: &str, c: &crate::data::RowCounts| {
        (split.to_string(), [c.read, c.unlabelled, c.bad, c.excluded, c.capped, c.kept])
    };
    let mut splits = vec![counts("eval", &dataset.eval)];
    if let Some(t) = &dataset.train {
        splits.push(counts("train", t));
    }
    let count_col =
        |name: &str, j: usize| Column::new(name.into(), splits.iter().map(|(_, c)| c[j] as u64).collect::<Vec<_>>());
    Ok(DataFrame::new_infer_height(vec![
        Column::new("split".into(), splits.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()),
        count_col("read", 0),
        count_col("unlabelled", 1),
        count_col("bad", 2),
        count_col("excluded", 3),
        count_col("capped", 4),
        count_col("kept", 5),
    ])?)
}

/// Every model's predictions of every seed in one table (`model` and `seed` first).
pub(super) fn predictions_frame(preds: &SeedPredictions, names: &[String]) -> Result<DataFrame> {
    let mut frames = Vec::new();
    for (mi, list) in preds {
        for (seed, _, p) in list {
            let mut df = crate::stages::predict::predictions_frame(p)?;
            let n = p.len();
            df.insert_column(0, Column::new("model".into(), vec![names[*mi].clone(); n]))?;
            df.insert_column(1, Column::new("seed".into(), vec![seed.map(|s| s as i64); n]))?;
            frames.push(df);
        }
    }
    let mut predictions = frames
        .into_iter()
        .reduce(|mut a, b| {
            a.vstack_mut(&b).ok();
            a
        })
        .unwrap_or_default();
    predictions.rechunk_mut();
    Ok(predictions)
}
