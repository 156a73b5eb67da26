//! `mce`: maximum calibration error of the top label with equal-width bins (Naeini et al. 2015).
//!
//! The same bins as `ece` (trustx's single convention, [`trustx_framework::calibration::binning`]:
//! bin i is (i/B, (i+1)/B], the first closed at 0, edges `i as f64 / B`), and
//! MCE = max over non-empty bins b of |acc_b − conf_b|. Empty bins are skipped, not counted as 0
//! gaps; a bin holding a single row counts fully, so MCE is sensitive to sparse bins.

use trustx_framework::plugin::convention::Convention;

use trustx_framework::calibration::binning::reliability_curve;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `mce`: its number of bins (see [`super::bins`]).
pub type MceSettings = super::bins::BinSettings;

/// The `mce` metric.
pub struct Mce;

impl CalibrationMetric for Mce {
    type Settings = MceSettings;
    const NAME: &'static str = "mce";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Maximum calibration error, top label, equal-width bins";
    const DEFINITION: &'static str = "MCE = max over non-empty bins b of |acc_b − conf_b|, where conf = \
        max_c p_c is the top-label confidence, acc_b the fraction of bin b whose arg max (lowest index on \
        ties) is the label, conf_b its mean confidence; B equal-width bins (i/B, (i+1)/B], the first \
        closed at 0.";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(3);
    const CONVENTION: Convention = Convention {
        binning: "equal-width, {bins} bins (i/B, (i+1)/B]",
        norm: "L∞ (largest gap)",
        mode: "top-label",
        estimator: "plug-in",
    };

    fn compute(settings: &MceSettings, input: &MetricInput) -> f64 {
        let bins = settings.bins_or(input.bins);
        reliability_curve(input, bins)
            .bins
            .iter()
            .filter_map(|b| Some((b.accuracy? - b.confidence?).abs()))
            .fold(0.0, f64::max)
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Mce>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn mce(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        Mce::compute(&MceSettings { bins: NonZeroUsize::new(bins) }, &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Per-bin member lists by explicit edge comparison; the largest gap among non-empty bins.
    fn oracle(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        let mut gaps = Vec::new();
        for b in 0..bins {
            let members: Vec<usize> =
                rows.iter().copied().filter(|&r| oracle_bin(oracle_top(p.row(r)).1, bins) == b).collect();
            if members.is_empty() {
                continue;
            }
            let m = members.len() as f64;
            let acc = members.iter().filter(|&&r| oracle_top(p.row(r)).0 == p.labels[r]).count() as f64 / m;
            let conf = members.iter().map(|&r| oracle_top(p.row(r)).1).sum::<f64>() / m;
            gaps.push((acc - conf).abs());
        }
        let mut max = gaps[0];
        for g in gaps {
            if g > max {
                max = g;
            }
        }
        max
    }

    #[test]
    fn hand_computed() {
        // Confidences 0.8 ✓, 0.7 ✗, 0.95 ✓, 0.9 ✗, 0.75 ✓, B = 10:
        // bin 6 {0.7 ✗} 0.7; bin 7 {0.8 ✓, 0.75 ✓} 0.225; bin 8 {0.9 ✗} 0.9; bin 9 {0.95 ✓} 0.05 → 0.9.
        let p = preds(2, &[0.2, 0.8, 0.3, 0.7, 0.05, 0.95, 0.9, 0.1, 0.75, 0.25], &[1, 0, 1, 1, 0]);
        assert_close(mce(&p, &all_rows(&p), 10), 0.9, "B = 10");
        // Without row 3: bin 6 {0.7 ✗} gives 0.7.
        assert_close(mce(&p, &[0, 1, 2, 4], 10), 0.7, "without 0.9");
        // Rows [0, 4, 4]: bin 7 only, all correct, conf (0.8 + 0.75 + 0.75)/3 → 1 − 2.3/3 = 0.7/3.
        assert_close(mce(&p, &[0, 4, 4], 10), 0.7 / 3.0, "bootstrap rows");
        // B = 1: one bin, acc 3/5, conf 0.82 → 0.22.
        assert_close(mce(&p, &all_rows(&p), 1), 0.22, "B = 1");
    }

    #[test]
    fn edges() {
        let p = preds(2, &[0.0, 1.0, 0.0, 1.0], &[1, 0]);
        assert_eq!(mce(&p, &[0], 10), 0.0, "one example, correct at 1");
        assert_eq!(mce(&p, &[1, 1], 10), 1.0, "all wrong at 1");
        assert_eq!(mce(&p, &all_rows(&p), 10), 0.5, "one bin, half right");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(14).iter().enumerate() {
            let got = mce(&case.preds, &case.rows, case.bins);
            assert_close(got, oracle(&case.preds, &case.rows, case.bins), &format!("case {k}, B = {}", case.bins));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<MceSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
