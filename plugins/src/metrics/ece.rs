//! `ece`: expected calibration error of the top label with equal-width bins (Guo et al. 2017,
//! after Naeini et al. 2015).
//!
//! Each of the N rows evaluated (repeats counted) contributes its top-label confidence
//! conf = max_c p_c and whether its arg max (lowest class index on ties) equals the label.
//! The rows are binned into B equal-width bins with trustx's single convention
//! ([`trustx_framework::calibration::binning`]): bin i is (i/B, (i+1)/B], the first bin closed at
//! 0, edges computed as `i as f64 / B`, so a confidence of exactly 0.7 lies in bin 6 of 10. Then
//! ECE = Σ over non-empty bins b of n_b/N · |acc_b − conf_b|, with acc_b the fraction correct
//! and conf_b the mean confidence of bin b. A confidence above 1 (rows sum to 1 only within
//! 1e-4) goes to the last bin. Libraries that bin [a, b) (some torchmetrics versions) or by
//! `np.digitize` can differ on confidences exactly on an edge.

use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::overview_column::OverviewColumn;

use trustx_framework::calibration::binning::reliability_curve;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `ece`: its number of bins (see [`super::bins`]).
pub type EceSettings = super::bins::BinSettings;

/// The `ece` metric.
pub struct Ece;

impl CalibrationMetric for Ece {
    type Settings = EceSettings;
    const NAME: &'static str = "ece";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Expected calibration error, top label, equal-width bins";
    const DEFINITION: &'static str = "ECE = Σ over non-empty bins b of n_b/N · |acc_b − conf_b|, where \
        conf = max_c p_c is the top-label confidence, acc_b the fraction of bin b whose arg max (lowest \
        index on ties) is the label, conf_b its mean confidence; B equal-width bins (i/B, (i+1)/B], the \
        first closed at 0.";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(2);
    const OVERVIEW_DELTA: Option<OverviewColumn> = Some(OverviewColumn { order: 0, heading: "ΔECE" });
    const DELTA_TOLERANCE: Option<f64> = Some(0.02);
    const CONVENTION: Convention = Convention::TOP_LABEL_BINNED;

    fn compute(settings: &EceSettings, input: &MetricInput) -> f64 {
        let bins = settings.bins_or(input.bins);
        let curve = reliability_curve(input, bins);
        let n = curve.total as f64;
        curve.bins.iter().filter_map(|b| Some(b.count as f64 / n * (b.accuracy? - b.confidence?).abs())).sum()
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Ece>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn ece(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        Ece::compute(&EceSettings { bins: NonZeroUsize::new(bins) }, &MetricInput { preds: p, rows, bins: 10 })
    }

    /// For each bin, collect its members by explicit edge comparison, then average.
    fn oracle(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        let n = rows.len() as f64;
        let mut total = 0.0;
        for b in 0..bins {
            let members: Vec<usize> =
                rows.iter().copied().filter(|&r| oracle_bin(oracle_top(p.row(r)).1, bins) == b).collect();
            if members.is_empty() {
                continue;
            }
            let m = members.len() as f64;
            let acc = members.iter().filter(|&&r| oracle_top(p.row(r)).0 == p.labels[r]).count() as f64 / m;
            let conf = members.iter().map(|&r| oracle_top(p.row(r)).1).sum::<f64>() / m;
            total += m / n * (acc - conf).abs();
        }
        total
    }

    /// Five binary rows: confidences 0.8 ✓, 0.7 ✗, 0.95 ✓, 0.9 ✗, 0.75 ✓ (✓ = correct).
    fn five() -> Predictions {
        preds(2, &[0.2, 0.8, 0.3, 0.7, 0.05, 0.95, 0.9, 0.1, 0.75, 0.25], &[1, 0, 1, 1, 0])
    }

    #[test]
    fn hand_computed() {
        // B = 10. 0.7 lies on the edge 7/10 and goes to bin 6; 0.8 on 8/10 goes to bin 7; 0.9 to bin 8.
        // bin 6 {0.7 ✗}:          |0 − 0.7|   = 0.7,   weight 1/5
        // bin 7 {0.8 ✓, 0.75 ✓}:  |1 − 0.775| = 0.225, weight 2/5
        // bin 8 {0.9 ✗}:          |0 − 0.9|   = 0.9,   weight 1/5
        // bin 9 {0.95 ✓}:         |1 − 0.95|  = 0.05,  weight 1/5
        // ECE = 0.4 · 0.225 + 0.2 · (0.7 + 0.9 + 0.05) = 0.09 + 0.33 = 0.42.
        // (Had 0.7 gone to bin 7: 3/5 · |2/3 − 0.75| + 0.2 · (0.9 + 0.05) = 0.24.)
        let p = five();
        assert_close(ece(&p, &all_rows(&p), 10), 0.42, "B = 10");
        // B = 2: everything in (0.5, 1]: acc 3/5, conf 4.1/5 = 0.82 → |0.6 − 0.82| = 0.22.
        assert_close(ece(&p, &all_rows(&p), 2), 0.22, "B = 2");
        // Rows [0, 0, 1]: bin 7 {0.8 ✓ ×2} gap 0.2, weight 2/3; bin 6 {0.7 ✗} gap 0.7, weight 1/3
        // → 0.4/3 + 0.7/3 = 11/30.
        assert_close(ece(&p, &[0, 0, 1], 10), 11.0 / 30.0, "bootstrap rows");
    }

    #[test]
    fn default_bins_come_from_the_input() {
        let p = five();
        let rows = all_rows(&p);
        let unset = Ece::compute(&EceSettings::default(), &MetricInput { preds: &p, rows: &rows, bins: 2 });
        assert_close(unset, 0.22, "input.bins = 2");
    }

    #[test]
    fn edges() {
        // One example, confidence 1, correct → 0; wrong → 1.
        let p = preds(3, &[0.0, 1.0, 0.0], &[1]);
        assert_eq!(ece(&p, &[0], 10), 0.0);
        let p = preds(3, &[0.0, 1.0, 0.0], &[2]);
        assert_eq!(ece(&p, &[0], 10), 1.0);
        // All correct at confidence 1 in a bootstrap with repeats → 0.
        let p = preds(2, &[1.0, 0.0, 0.0, 1.0], &[0, 1]);
        assert_eq!(ece(&p, &[0, 1, 1, 0, 0], 15), 0.0);
        // All wrong: ECE is the mean confidence. 0.5 tie predicts class 0, label 1: wrong.
        let p = preds(2, &[0.5, 0.5, 0.4, 0.6], &[1, 0]);
        assert_close(ece(&p, &all_rows(&p), 10), 0.55, "all wrong");
        // Confidence 1/3 (C = 3, uniform) lies in bin 0 of 3 ((0, 1/3] closed at 0), 2/3 on the
        // edge of bins 1 and 2 goes to bin 1: both bins have one wrong row → (1/3 + 2/3)/2 = 0.5.
        let third = 1.0 / 3.0;
        let p = preds(3, &[third, third, third, 2.0 / 3.0, third, 0.0], &[1, 1]);
        assert_close(ece(&p, &all_rows(&p), 3), 0.5, "edges of thirds");
        // A confidence just above 1 (rows sum to 1 within 1e-4) is clamped into the last bin.
        let p = preds(2, &[1.00005, 0.0], &[0]);
        assert_close(ece(&p, &[0], 10), 0.00005, "above 1");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(13).iter().enumerate() {
            let got = ece(&case.preds, &case.rows, case.bins);
            assert_close(got, oracle(&case.preds, &case.rows, case.bins), &format!("case {k}, B = {}", case.bins));
            // And the engine's default bin count.
            let unset =
                Ece::compute(&EceSettings::default(), &MetricInput { preds: &case.preds, rows: &case.rows, bins: 10 });
            assert_close(unset, oracle(&case.preds, &case.rows, 10), &format!("case {k}, default bins"));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<EceSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
