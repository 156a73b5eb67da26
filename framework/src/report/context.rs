//! The report's template context: the summary with numbers formatted and tables pivoted
//! (rows = models, columns = metrics), so templates stay simple.

use crate::stages::aggregate::{AggregateRow, Summary};
use serde::Serialize;

/// One formatted cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// `0.0412 ± 0.0031`.
    pub text: String,
    /// `[0.031, 0.052]` or empty.
    pub interval: String,
}

/// One table row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// Cells, in column order.
    pub cells: Vec<Cell>,
}

/// A pivoted table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Column (metric) names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// Formats a number with four decimals (`n/a` for NaN).
pub fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "n/a".into() }
}

/// Pivots aggregate rows into a table.
pub fn pivot(rows: &[AggregateRow], models: &[(String, bool)]) -> Table {
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        if !columns.contains(&r.metric) {
            columns.push(r.metric.clone());
        }
    }
    let table_rows = models
        .iter()
        .filter(|(m, _)| rows.iter().any(|r| &r.model == m))
        .map(|(m, reference)| Row {
            model: m.clone(),
            reference: *reference,
            cells: columns
                .iter()
                .map(|c| match rows.iter().find(|r| &r.model == m && &r.metric == c) {
                    None => Cell { text: "–".into(), interval: String::new() },
                    Some(r) => Cell {
                        text: match r.std {
                            Some(s) => format!("{} ± {}", num(r.mean), num(s)),
                            None => num(r.mean),
                        },
                        interval: match (r.ci_low, r.ci_high) {
                            (Some(a), Some(b)) => format!("[{}, {}]", num(a), num(b)),
                            _ => String::new(),
                        },
                    },
                })
                .collect(),
        })
        .collect();
    Table { columns, rows: table_rows }
}

/// One formatted row of the alignment table.
#[derive(Debug, Clone, Serialize)]
pub struct AlignmentLine {
    /// Model.
    pub model: String,
    /// Explainer label.
    pub explainer: String,
    /// Metric label (`top-k-jaccard@10`).
    pub metric: String,
    /// `0.4123 ± 0.0210` (mean over seeds ± sd).
    pub value: String,
    /// `[0.38, 0.44]` or empty.
    pub interval: String,
    /// The model's floor: `0.8123 [0.79, 0.83]`, or `–`.
    pub floor: String,
    /// The reference's floor, same format.
    pub reference_floor: String,
    /// What the model's floor compares and over how many pairs: `explanation-seed, 3 pairs`.
    pub floor_kind: String,
}

fn interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(a), Some(b)) => format!("[{}, {}]", num(a), num(b)),
        _ => String::new(),
    }
}

fn floor_text(f: Option<&crate::stages::alignment_summary::FloorValue>) -> String {
    match f {
        None => "–".into(),
        Some(f) => format!("{} {}", num(f.mean), interval(f.ci_low, f.ci_high)).trim_end().to_string(),
    }
}

/// The alignment rows formatted for the templates.
pub fn alignment_lines(rows: &[crate::stages::alignment_summary::AlignmentAggregate]) -> Vec<AlignmentLine> {
    rows.iter()
        .map(|r| AlignmentLine {
            model: r.model.clone(),
            explainer: r.explainer.clone(),
            metric: r.metric.clone(),
            value: match r.std {
                Some(s) => format!("{} ± {}", num(r.mean), num(s)),
                None => num(r.mean),
            },
            interval: interval(r.ci_low, r.ci_high),
            floor: floor_text(r.floor.as_ref()),
            reference_floor: floor_text(r.reference_floor.as_ref()),
            floor_kind: r
                .floor
                .as_ref()
                .map(|f| format!("{}, {} pair{}", f.kind, f.pairs, if f.pairs == 1 { "" } else { "s" }))
                .unwrap_or_default(),
        })
        .collect()
}

/// Everything the templates see.
#[derive(Debug, Clone, Serialize)]
pub struct ReportContext {
    /// Title.
    pub title: String,
    /// Experiment name.
    pub experiment: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Experiment seeds.
    pub seeds: Vec<u64>,
    /// trustx version.
    pub version: String,
    /// The summary (dataset, models, raw rows, definitions).
    pub summary: Summary,
    /// Calibration table.
    pub calibration: Table,
    /// Similarity table.
    pub similarity: Table,
    /// Alignment table (model, explainer, metric, value, interval, floors).
    pub alignment: Vec<AlignmentLine>,
    /// The conventions every number follows.
    pub conventions: Vec<String>,
}

impl ReportContext {
    /// Builds the context.
    pub fn new(
        title: String,
        experiment: String,
        description: Option<String>,
        seeds: Vec<u64>,
        summary: Summary,
    ) -> Self {
        let models: Vec<(String, bool)> = summary.models.iter().map(|m| (m.name.clone(), m.reference)).collect();
        let conventions = vec![
            "Calibration is top-label: confidence = the largest probability, correct = arg max equals the gold label (ties go to the lowest class index).".to_string(),
            format!("Equal-width bins: {} bins over [0, 1]; bin i is (i/B, (i+1)/B], the first closed at 0, so a confidence on an edge belongs to the lower bin.", summary.bins),
            "Brier (multiclass) = mean over examples of Σ_c (p_c − y_c)², in [0, 2]; for two classes the positive-class form (p_1 − y)², in [0, 1], is reported separately as positive-brier.".to_string(),
            format!("Values are means over seeds ± sample standard deviation; intervals are {:.0}% percentile bootstrap intervals of that mean over {} resamples of the examples (the same resample for every seed).", summary.confidence * 100.0, summary.bootstrap),
            "delta-X = X(model) − X(reference) on the same examples and seed.".to_string(),
            "Alignment: run i of the reference's explainer against run i of the model's (same seed), one value per explained example, mean over examples, then mean ± sd over seeds; the interval resamples the examples. The noise floor is the same metric between one model's own runs under different seeds (every pair of seeds); with a deterministic explainer on one fixed model it is exact (0 pairs, the run compared with itself). An alignment well below the floor is a real difference between the models; one at the floor is explainer noise.".to_string(),
        ];
        ReportContext {
            calibration: pivot(&summary.calibration, &models),
            similarity: pivot(&summary.similarity, &models),
            alignment: alignment_lines(&summary.alignment),
            title,
            experiment,
            description,
            seeds,
            version: env!("CARGO_PKG_VERSION").to_string(),
            summary,
            conventions,
        }
    }
}
