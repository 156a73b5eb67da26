//! The columns of the report's first table that metric plugins declare: a calibration
//! metric may give a column of its value per model (accuracy) and one of its change from the
//! reference (ΔECE); a similarity metric a column of its value (agreement). Metrics that
//! declare the same heading share a column, their cells stacked (the two flip rates). The
//! engine lays the table out from these declarations, never from metric names.

use super::metric::CalibrationMetricEntry;
use super::similarity::SimilarityMetricEntry;
use serde::{Deserialize, Serialize};

/// Where a metric's column goes and what it is headed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewColumn {
    /// Its place among the columns of its part of the table (smaller first).
    pub order: u8,
    /// The column's heading.
    pub heading: &'static str,
}

/// One column of the first table: its heading and the metrics (rows of the calibration or
/// similarity table) whose values it shows, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The heading.
    pub heading: String,
    /// Metric names as the summary tables name their rows (`accuracy`, `delta-ece`).
    pub metrics: Vec<String>,
}

/// The first table's metric columns: each model's own values (before size and speed), then
/// its comparisons with the reference (after alignment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewColumns {
    /// Calibration metrics' values per model.
    pub quality: Vec<Column>,
    /// Calibration metrics' changes and similarity metrics, per compared model.
    pub comparison: Vec<Column>,
}

impl OverviewColumns {
    /// The columns the registered metrics declare.
    pub fn declared() -> Self {
        let mut quality = Vec::new();
        let mut comparison = Vec::new();
        for e in inventory::iter::<CalibrationMetricEntry>() {
            if let Some(c) = e.overview {
                quality.push((c, e.info.name.to_string()));
            }
            if let Some(c) = e.overview_delta {
                comparison.push((c, format!("delta-{}", e.info.name)));
            }
        }
        for e in inventory::iter::<SimilarityMetricEntry>() {
            if let Some(c) = e.overview {
                comparison.push((c, e.info.name.to_string()));
            }
        }
        OverviewColumns { quality: group(quality), comparison: group(comparison) }
    }
}

/// Declared columns sorted by (order, heading, metric), metrics of one heading together.
fn group(mut declared: Vec<(OverviewColumn, String)>) -> Vec<Column> {
    declared.sort_by(|(a, m), (b, n)| (a.order, a.heading, m).cmp(&(b.order, b.heading, n)));
    let mut out: Vec<Column> = Vec::new();
    for (c, metric) in declared {
        match out.iter_mut().find(|col| col.heading == c.heading) {
            Some(col) => col.metrics.push(metric),
            None => out.push(Column { heading: c.heading.to_string(), metrics: vec![metric] }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_heading_shares_a_column_in_declared_order() {
        let c = |order, heading| OverviewColumn { order, heading };
        let cols = group(vec![
            (c(3, "flips"), "flips-wrong-to-correct".into()),
            (c(1, "agreement"), "agreement".into()),
            (c(3, "flips"), "flips-correct-to-wrong".into()),
        ]);
        assert_eq!(
            cols,
            vec![
                Column { heading: "agreement".into(), metrics: vec!["agreement".into()] },
                Column {
                    heading: "flips".into(),
                    metrics: vec!["flips-correct-to-wrong".into(), "flips-wrong-to-correct".into()]
                },
            ]
        );
    }
}
