//! `brier`: the multiclass Brier score (Brier 1950), the mean squared distance between the
//! probability vector and the one-hot label.
//!
//! Brier = (1/N) Σ_r Σ_c (p_r,c − y_r,c)² over the N rows evaluated (repeats counted), with
//! y_r the one-hot encoding of the label; it lies in [0, 2]. This is Brier's original form,
//! summed over all classes. For two classes it is twice `positive-brier`, the positive-class
//! form that sklearn's `brier_score_loss` returns on binary input: compare like with like.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `brier`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrierSettings {}

/// The `brier` metric.
pub struct Brier;

impl CalibrationMetric for Brier {
    type Settings = BrierSettings;
    const NAME: &'static str = "brier";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Multiclass Brier score: mean squared error to the one-hot label, in [0, 2]";
    const DEFINITION: &'static str = "Brier = (1/N) Σ_r Σ_c (p_r,c − y_r,c)² with y_r the one-hot label, \
        summed over all C classes; range [0, 2]; for two classes twice the positive-class form \
        (positive-brier, sklearn's binary brier_score_loss).";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(6);
    const CONVENTION: Convention =
        Convention { binning: "none", norm: "squared error", mode: "all classes", estimator: "plug-in" };

    fn compute(_settings: &BrierSettings, input: &MetricInput) -> f64 {
        let p = input.preds;
        let total: f64 = input
            .rows
            .iter()
            .map(|&r| {
                let label = p.labels[r];
                p.row(r)
                    .iter()
                    .enumerate()
                    .map(|(c, &q)| {
                        let d = q - if c == label { 1.0 } else { 0.0 };
                        d * d
                    })
                    .sum::<f64>()
            })
            .sum();
        total / input.rows.len() as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Brier>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn brier(p: &Predictions, rows: &[usize]) -> f64 {
        Brier::compute(&BrierSettings::default(), &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Expanded form Σ_c p_c² − 2 p_label + 1 per example, weighted by bootstrap multiplicity.
    fn oracle(p: &Predictions, rows: &[usize]) -> f64 {
        let m = multiplicities(p.len(), rows);
        let mut total = 0.0;
        for (i, &mult) in m.iter().enumerate() {
            let row = p.row(i);
            let squares: f64 = row.iter().map(|q| q * q).sum();
            total += mult as f64 * (squares - 2.0 * row[p.labels[i]] + 1.0);
        }
        total / rows.len() as f64
    }

    #[test]
    fn hand_computed() {
        // [0.2, 0.8] y 1: 0.2² + 0.2² = 0.08; [0.7, 0.3] y 1: 0.7² + 0.7² = 0.98 → mean 0.53.
        let p = preds(2, &[0.2, 0.8, 0.7, 0.3], &[1, 1]);
        assert_close(brier(&p, &all_rows(&p)), 0.53, "binary");
        // Rows [1, 1, 0]: (0.98 · 2 + 0.08) / 3 = 0.68.
        assert_close(brier(&p, &[1, 1, 0]), 0.68, "bootstrap rows");
        // [0.5, 0.3, 0.2] y 2: 0.25 + 0.09 + 0.64 = 0.98.
        let p = preds(3, &[0.5, 0.3, 0.2], &[2]);
        assert_close(brier(&p, &[0]), 0.98, "three classes");
    }

    #[test]
    fn edges() {
        let p = preds(3, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0], &[1, 2]);
        assert_eq!(brier(&p, &[0, 0]), 0.0, "all correct, confident");
        assert_eq!(brier(&p, &[1]), 2.0, "confidently wrong: the maximum 2");
        assert_eq!(brier(&p, &all_rows(&p)), 1.0);
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(17).iter().enumerate() {
            assert_close(brier(&case.preds, &case.rows), oracle(&case.preds, &case.rows), &format!("case {k}"));
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<BrierSettings>();
    }
}
