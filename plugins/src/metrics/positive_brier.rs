//! `positive-brier`: the binary Brier score in its positive-class form, sklearn's
//! `brier_score_loss(y, p[:, 1])` with `pos_label = 1`.
//!
//! Defined for two classes only. PositiveBrier = (1/N) Σ_r (p_r,1 − 1[y_r = 1])² over the N rows
//! evaluated (repeats counted); it lies in [0, 1]. With two classes
//! (p_0 − y_0)² = (p_1 − y_1)² (both coordinates miss by the same amount, as p_0 + p_1 = 1), so
//! `brier` = 2 · `positive-brier`, up to rows that sum to 1 only within tolerance.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `positive-brier`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositiveBrierSettings {}

/// The `positive-brier` metric (binary tasks only).
pub struct PositiveBrier;

impl CalibrationMetric for PositiveBrier {
    type Settings = PositiveBrierSettings;
    const NAME: &'static str = "positive-brier";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Binary Brier score of the positive class (sklearn's brier_score_loss), in [0, 1]";
    const DEFINITION: &'static str = "PositiveBrier = (1/N) Σ_r (p_r,1 − 1[y_r = 1])², the positive-class \
        (class 1) form of sklearn's brier_score_loss, binary tasks only; range [0, 1]; half of brier, \
        which sums over both classes.";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(7);
    const CONVENTION: Convention =
        Convention { binning: "none", norm: "squared error", mode: "positive class", estimator: "plug-in" };

    fn applies(num_classes: usize) -> bool {
        num_classes == 2
    }

    fn compute(_settings: &PositiveBrierSettings, input: &MetricInput) -> f64 {
        let p = input.preds;
        assert_eq!(p.num_classes, 2, "positive-brier is defined for two classes only (see `applies`)");
        let total: f64 = input
            .rows
            .iter()
            .map(|&r| {
                let d = p.row(r)[1] - if p.labels[r] == 1 { 1.0 } else { 0.0 };
                d * d
            })
            .sum();
        total / input.rows.len() as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<PositiveBrier>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn pb(p: &Predictions, rows: &[usize]) -> f64 {
        PositiveBrier::compute(&PositiveBrierSettings::default(), &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Branch on the label: (1 − p_1)² for positives, p_1² for negatives; bootstrap multiplicities.
    fn oracle(p: &Predictions, rows: &[usize]) -> f64 {
        let m = multiplicities(p.len(), rows);
        let mut total = 0.0;
        for (i, &mult) in m.iter().enumerate() {
            let q = p.row(i)[1];
            let loss = if p.labels[i] == 1 { (1.0 - q).powi(2) } else { q.powi(2) };
            total += mult as f64 * loss;
        }
        total / rows.len() as f64
    }

    #[test]
    fn hand_computed() {
        // [0.2, 0.8] y 1: (0.8 − 1)² = 0.04; [0.7, 0.3] y 1: (0.3 − 1)² = 0.49; [0.6, 0.4] y 0: 0.16.
        // mean = 0.69 / 3 = 0.23. (brier: 0.08, 0.98, 0.32 → 0.46 = 2 · 0.23.)
        let p = preds(2, &[0.2, 0.8, 0.7, 0.3, 0.6, 0.4], &[1, 1, 0]);
        assert_close(pb(&p, &all_rows(&p)), 0.23, "binary");
        // Rows [2, 2]: 0.16.
        assert_close(pb(&p, &[2, 2]), 0.16, "bootstrap rows");
    }

    #[test]
    fn edges() {
        let p = preds(2, &[0.0, 1.0, 1.0, 0.0], &[1, 1]);
        assert_eq!(pb(&p, &[0]), 0.0, "one example, correct at 1");
        assert_eq!(pb(&p, &[1, 1]), 1.0, "all wrong at 1: the maximum 1");
        let p = preds(2, &[0.5, 0.5, 0.5, 0.5], &[0, 0]);
        assert_eq!(pb(&p, &all_rows(&p)), 0.25, "every label class 0, p = 0.5");
    }

    #[test]
    fn binary_only() {
        assert!(PositiveBrier::applies(2));
        for c in [1, 3, 5] {
            assert!(!PositiveBrier::applies(c));
        }
    }

    #[test]
    fn matches_oracle_and_half_brier_on_random_inputs() {
        use crate::metrics::brier::{Brier, BrierSettings};
        for (k, case) in cases(18).iter().filter(|c| c.preds.num_classes == 2).enumerate() {
            let got = pb(&case.preds, &case.rows);
            assert_close(got, oracle(&case.preds, &case.rows), &format!("case {k}"));
            let input = MetricInput { preds: &case.preds, rows: &case.rows, bins: 10 };
            assert_close(
                2.0 * got,
                Brier::compute(&BrierSettings::default(), &input),
                &format!("case {k}: half brier"),
            );
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<PositiveBrierSettings>();
    }
}
