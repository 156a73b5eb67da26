//! `accuracy`: the fraction of rows whose top label is the gold label.
//!
//! Accuracy = (1/N) Σ_r 1[argmax p_r = y_r] over the N rows evaluated (a bootstrap resample
//! counts a repeated row once per occurrence); the arg max takes the lowest class index on
//! ties, as everywhere in trustx. Same as sklearn's `accuracy_score(y, p.argmax(1))`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};
use trustx_framework::plugin::overview_column::OverviewColumn;

/// Settings of `accuracy`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccuracySettings {}

/// The `accuracy` metric.
pub struct Accuracy;

impl CalibrationMetric for Accuracy {
    type Settings = AccuracySettings;
    const NAME: &'static str = "accuracy";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of examples whose top-label prediction is correct";
    const DEFINITION: &'static str = "Accuracy = (1/N) Σ_r 1[argmax_c p_r,c = y_r] over the N rows \
        (repeats counted), the arg max taking the lowest class index on ties.";
    const LOWER_IS_BETTER: bool = false;
    const DEFAULT_RANK: Option<u8> = Some(0);
    const OVERVIEW: Option<OverviewColumn> = Some(OverviewColumn { order: 0, heading: "accuracy" });

    fn compute(_settings: &AccuracySettings, input: &MetricInput) -> f64 {
        let correct = input.rows.iter().filter(|&&r| input.preds.correct(r)).count();
        correct as f64 / input.rows.len() as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Accuracy>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn acc(p: &Predictions, rows: &[usize]) -> f64 {
        Accuracy::compute(&AccuracySettings::default(), &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Weighted by bootstrap multiplicities, top label by first-maximum scan.
    fn oracle(p: &Predictions, rows: &[usize]) -> f64 {
        let m = multiplicities(p.len(), rows);
        let hits: usize = (0..p.len()).filter(|&i| oracle_top(p.row(i)).0 == p.labels[i]).map(|i| m[i]).sum();
        hits as f64 / rows.len() as f64
    }

    #[test]
    fn hand_computed() {
        // preds 1, 0 (tie 0.5/0.5 → class 0), 1, 2; labels 1, 0, 0, 2: correct, correct, wrong,
        // correct → 3/4. Rows [2, 2, 0]: wrong, wrong, correct → 1/3.
        let p = preds(3, &[0.1, 0.8, 0.1, 0.5, 0.5, 0.0, 0.2, 0.7, 0.1, 0.0, 0.0, 1.0], &[1, 0, 0, 2]);
        assert_close(acc(&p, &all_rows(&p)), 0.75, "all rows");
        assert_close(acc(&p, &[2, 2, 0]), 1.0 / 3.0, "bootstrap rows");
    }

    #[test]
    fn edges_one_example_all_correct_all_wrong() {
        let p = preds(2, &[0.3, 0.7, 1.0, 0.0], &[1, 1]);
        assert_eq!(acc(&p, &[0]), 1.0);
        assert_eq!(acc(&p, &[1]), 0.0);
        assert_eq!(acc(&p, &[0, 0, 0]), 1.0);
        assert_eq!(acc(&p, &[1, 1]), 0.0);
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(11).iter().enumerate() {
            assert_close(acc(&case.preds, &case.rows), oracle(&case.preds, &case.rows), &format!("case {k}"));
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<AccuracySettings>();
    }
}
