//! `classwise-ece`: class-wise expected calibration error (Kull et al. 2019, "Beyond
//! temperature scaling", the classwise-ECE of their eq. 6).
//!
//! For every class k in 0..C (all C classes, whether or not they occur), the probability p_k of
//! every one of the N rows evaluated (repeats counted) is binned into B equal-width bins with
//! trustx's single convention ([`trustx_framework::calibration::binning`]: bin i is
//! (i/B, (i+1)/B], the first closed at 0, so p_k = 0 is in bin 0), and
//! ECE_k = Σ over non-empty bins b of n_b/N · |mean_b(1[y = k]) − mean_b(p_k)|.
//! Classwise-ECE = (1/C) Σ_k ECE_k. Unlike `ece`, no arg max is involved.

use trustx_framework::plugin::convention::Convention;

use trustx_framework::calibration::binning::bin_pairs;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `classwise-ece`: its number of bins (see [`super::bins`]).
pub type ClasswiseEceSettings = super::bins::BinSettings;

/// The `classwise-ece` metric.
pub struct ClasswiseEce;

impl CalibrationMetric for ClasswiseEce {
    type Settings = ClasswiseEceSettings;
    const NAME: &'static str = "classwise-ece";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Class-wise expected calibration error (Kull et al. 2019)";
    const DEFINITION: &'static str = "Classwise-ECE = (1/C) Σ over all C classes k of ECE_k, where \
        ECE_k = Σ over non-empty bins b of n_b/N · |mean_b 1[y = k] − mean_b p_k|, the N rows binned by \
        p_k into B equal-width bins (i/B, (i+1)/B], the first closed at 0.";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(5);
    const CONVENTION: Convention = Convention {
        binning: "equal-width, {bins} bins (i/B, (i+1)/B] per class",
        norm: "L1",
        mode: "classwise (mean over classes)",
        estimator: "plug-in",
    };

    fn compute(settings: &ClasswiseEceSettings, input: &MetricInput) -> f64 {
        let bins = settings.bins_or(input.bins);
        let p = input.preds;
        let c = p.num_classes;
        let n = input.rows.len() as f64;
        let mut total = 0.0;
        for k in 0..c {
            let pairs = input.rows.iter().map(|&r| (p.row(r)[k], if p.labels[r] == k { 1.0 } else { 0.0 }));
            let curve = bin_pairs(pairs, bins);
            let ece_k: f64 =
                curve.bins.iter().filter_map(|b| Some(b.count as f64 / n * (b.accuracy? - b.confidence?).abs())).sum();
            total += ece_k;
        }
        total / c as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<ClasswiseEce>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn cw(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        ClasswiseEce::compute(
            &ClasswiseEceSettings { bins: NonZeroUsize::new(bins) },
            &MetricInput { preds: p, rows, bins: 10 },
        )
    }

    /// A C × B table of (count, Σ 1[y = k], Σ p_k) filled by explicit edge comparison, then
    /// Σ_k Σ_b |hits − prob sum| / N / C.
    fn oracle(p: &Predictions, rows: &[usize], bins: usize) -> f64 {
        let c = p.num_classes;
        let mut table = vec![vec![(0usize, 0.0f64, 0.0f64); bins]; c];
        for &r in rows {
            for (k, per_class) in table.iter_mut().enumerate() {
                let cell = &mut per_class[oracle_bin(p.row(r)[k], bins)];
                cell.0 += 1;
                cell.1 += f64::from(u8::from(p.labels[r] == k));
                cell.2 += p.row(r)[k];
            }
        }
        let n = rows.len() as f64;
        let mut total = 0.0;
        for per_class in &table {
            for &(count, hits, prob) in per_class {
                if count > 0 {
                    total += (hits - prob).abs() / n;
                }
            }
        }
        total / c as f64
    }

    /// C = 3: rows [1, 0, 0] y 0; [0.5, 0.5, 0] y 1; [0.2, 0.2, 0.6] y 1; [0.1, 0.6, 0.3] y 2.
    fn four() -> Predictions {
        preds(3, &[1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.2, 0.2, 0.6, 0.1, 0.6, 0.3], &[0, 1, 1, 2])
    }

    #[test]
    fn hand_computed() {
        // B = 2: bins [0, 0.5] and (0.5, 1]; 0.5 is on the edge and goes to bin 0, 0 to bin 0, 1 to bin 1.
        // class 0: p 1, .5, .2, .1; y 1, 0, 0, 0. bin 0 {.5, .2, .1}: |0 − 0.8/3| · 3/4 = 0.2;
        //          bin 1 {1}: |1 − 1| = 0.                                          ECE_0 = 0.2
        // class 1: p 0, .5, .2, .6; y 0, 1, 1, 0. bin 0 {0, .5, .2}: |2/3 − 0.7/3| · 3/4 = 1.3/4 = 0.325;
        //          bin 1 {.6}: |0 − .6| · 1/4 = 0.15.                               ECE_1 = 0.475
        // class 2: p 0, 0, .6, .3; y 0, 0, 0, 1. bin 0 {0, 0, .3}: |1/3 − 0.1| · 3/4 = 0.175;
        //          bin 1 {.6}: 0.6 / 4 = 0.15.                                      ECE_2 = 0.325
        // mean = (0.2 + 0.475 + 0.325) / 3 = 1/3.
        let p = four();
        assert_close(cw(&p, &all_rows(&p), 2), 1.0 / 3.0, "B = 2");
        // B = 1: class 0 |1/4 − 1.8/4| = 0.2; class 1 |2/4 − 1.3/4| = 0.175; class 2 |1/4 − 0.9/4| = 0.025
        // mean = 0.4 / 3.
        assert_close(cw(&p, &all_rows(&p), 1), 0.4 / 3.0, "B = 1");
        // Rows [0, 0, 3], B = 2 (N = 3):
        // class 0: p 1, 1, .1; y 1, 1, 0. bin 0 {.1}: .1/3; bin 1 {1, 1}: 0.           ECE_0 = 0.1/3
        // class 1: p 0, 0, .6; y 0, 0, 0. bin 0 {0, 0}: 0; bin 1 {.6}: .6/3.           ECE_1 = 0.6/3
        // class 2: p 0, 0, .3; y 0, 0, 1. bin 0 {0, 0, .3}: |1/3 − .1| = 0.7/3.        ECE_2 = 0.7/3
        // mean = 1.4 / 9.
        assert_close(cw(&p, &[0, 0, 3], 2), 1.4 / 9.0, "bootstrap rows");
    }

    #[test]
    fn edges() {
        // One-hot rows, all correct: every p_k is 0 (bin 0, label frequency 0) or 1 (last bin,
        // frequency 1) → 0, whatever B.
        let p = preds(3, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[0, 2]);
        // With B = 1 the single bin mixes them, but class 0 gives |1/2 − 1/2| = 0, and so on → 0.
        for b in [1, 2, 10] {
            assert_eq!(cw(&p, &all_rows(&p), b), 0.0, "B = {b}");
        }
        // One example, one-hot, wrong: classes 0 and 1 each contribute 1, class 2 contributes 0 → 2/3.
        let p = preds(3, &[1.0, 0.0, 0.0], &[1]);
        assert_close(cw(&p, &[0], 10), 2.0 / 3.0, "one wrong example");
        // Every label is class 1, C = 2, B = 2, rows [0.5, 0.5] and [0.3, 0.7]:
        // class 0: p .5, .3 both in bin 0, y 0 → |0 − 0.4| = 0.4;
        // class 1: p .5 (bin 0, y 1) → 0.5/2; p .7 (bin 1, y 1) → 0.3/2 → 0.4. mean 0.4.
        let p = preds(2, &[0.5, 0.5, 0.3, 0.7], &[1, 1]);
        assert_close(cw(&p, &all_rows(&p), 2), 0.4, "same label everywhere");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(16).iter().enumerate() {
            let got = cw(&case.preds, &case.rows, case.bins);
            assert_close(got, oracle(&case.preds, &case.rows, case.bins), &format!("case {k}, B = {}", case.bins));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<ClasswiseEceSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
