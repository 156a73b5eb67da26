//! `nll`: negative log-likelihood of the gold label (log loss, cross-entropy), natural log.
//!
//! NLL = −(1/N) Σ_r ln max(p_r,y_r, ε) over the N rows evaluated (repeats counted), with
//! ε = `f64::EPSILON` = 2⁻⁵² ≈ 2.22e-16, the lower clip sklearn's `log_loss` applies to float64
//! input (`np.finfo(float64).eps`), so a zero probability on the label costs 52·ln 2 ≈ 36.04
//! instead of infinity. sklearn also clips from above at 1 − ε (recent versions) and no longer
//! renormalises; trustx does not clip from above, so a row with p_label = 1 costs exactly 0
//! here and 2.2e-16 in sklearn, a difference far below any reported precision. A probability
//! above 1 (rows sum to 1 only within 1e-4) is not clipped either: such a row contributes
//! −ln p_label, slightly below 0.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `nll`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NllSettings {}

/// The `nll` metric.
pub struct Nll;

impl CalibrationMetric for Nll {
    type Settings = NllSettings;
    const NAME: &'static str = "nll";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Negative log-likelihood of the gold label (log loss, natural log)";
    const DEFINITION: &'static str = "NLL = −(1/N) Σ_r ln max(p_r,label, ε), natural log, ε = 2^-52 \
        ≈ 2.22e-16 (f64 machine epsilon), the lower clip of sklearn's log_loss; no upper clip (sklearn \
        also clips at 1 − ε, which for p_label ≤ 1 raises the mean by at most 2.3e-16).";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(8);
    const CONVENTION: Convention =
        Convention { binning: "none", norm: "log loss (natural log)", mode: "true class", estimator: "plug-in" };

    fn compute(_settings: &NllSettings, input: &MetricInput) -> f64 {
        let p = input.preds;
        let total: f64 = input.rows.iter().map(|&r| -p.row(r)[p.labels[r]].max(f64::EPSILON).ln()).sum();
        total / input.rows.len() as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Nll>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn nll(p: &Predictions, rows: &[usize]) -> f64 {
        Nll::compute(&NllSettings::default(), &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Base-2 logarithms times ln 2, clip written as a branch, bootstrap multiplicities.
    fn oracle(p: &Predictions, rows: &[usize]) -> f64 {
        let eps = 2f64.powi(-52);
        let m = multiplicities(p.len(), rows);
        let mut bits = 0.0;
        for (i, &mult) in m.iter().enumerate() {
            let q = p.row(i)[p.labels[i]];
            let q = if q < eps { eps } else { q };
            bits -= mult as f64 * q.log2();
        }
        bits * std::f64::consts::LN_2 / rows.len() as f64
    }

    #[test]
    fn hand_computed() {
        // [0.2, 0.8] y 1 → −ln 0.8; [0.7, 0.3] y 1 → −ln 0.3; mean (ln 1.25 + ln(10/3)) / 2.
        let p = preds(2, &[0.2, 0.8, 0.7, 0.3], &[1, 1]);
        let want = -(0.8f64.ln() + 0.3f64.ln()) / 2.0;
        assert_close(nll(&p, &all_rows(&p)), want, "binary");
        assert_close(want, (1.25f64 * 10.0 / 3.0).ln() / 2.0, "arithmetic");
        // Rows [1, 1, 1] → −ln 0.3 = 1.2039728043259361.
        assert_close(nll(&p, &[1, 1, 1]), 1.2039728043259361, "bootstrap rows");
        // sklearn's doc example: log_loss(["spam", "ham", "ham", "spam"],
        // [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) = 0.21616... (ham = 0, spam = 1).
        let p = preds(2, &[0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65], &[1, 0, 0, 1]);
        let got = nll(&p, &all_rows(&p));
        assert!((got - 0.21616).abs() < 1e-5, "{got}");
    }

    #[test]
    fn edges() {
        // Probability 0 on the label is clipped to 2^-52: 52 ln 2 = 36.04365338911715.
        let p = preds(3, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], &[1, 1]);
        assert_close(nll(&p, &[0]), 52.0 * std::f64::consts::LN_2, "zero on the label");
        assert_close(nll(&p, &[0]), 36.04365338911715, "zero on the label, decimal");
        // Confident and correct: exactly 0 (no upper clip).
        assert_eq!(nll(&p, &[1, 1]), 0.0);
        // Uniform over 5 classes: ln 5, whatever the (same) label.
        let p = preds(5, &[0.2; 10], &[3, 3]);
        assert_close(nll(&p, &all_rows(&p)), 5f64.ln(), "uniform");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(19).iter().enumerate() {
            assert_close(nll(&case.preds, &case.rows), oracle(&case.preds, &case.rows), &format!("case {k}"));
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<NllSettings>();
    }
}
