//! `confidence-tv`: total-variation distance between the top-label confidence histograms of the
//! reference and the model.
//!
//! Each model's top-label confidences conf = max_c p_c over the N rows evaluated (repeats
//! counted) are binned into B equal-width bins with trustx's single convention
//! ([`trustx_framework::calibration::binning`]: bin i is (i/B, (i+1)/B], the first closed at 0)
//! and normalised to shares h_b = n_b / N. Then TV = ½ Σ_b |h^ref_b − h^model_b|, in [0, 1]:
//! 0 when both put the same share of rows in every bin, 1 when no bin holds rows of both.
//! Correctness plays no part; this compares how confident the models are, not how right.

use trustx_framework::plugin::convention::Convention;

use trustx_framework::calibration::binning::reliability_curve;
use trustx_framework::plugin::metric::MetricInput;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `confidence-tv`: its number of bins (see [`super::bins`]).
pub type ConfidenceTvSettings = super::bins::BinSettings;

/// The `confidence-tv` similarity.
pub struct ConfidenceTv;

impl SimilarityMetric for ConfidenceTv {
    type Settings = ConfidenceTvSettings;
    const NAME: &'static str = "confidence-tv";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Total-variation distance between the top-label confidence histograms";
    const DEFINITION: &'static str = "TV = ½ Σ_b |h^ref_b − h^model_b|, h_b = n_b / N the share of the N \
        rows whose top-label confidence max_c p_c falls in bin b of B equal-width bins (i/B, (i+1)/B], \
        the first closed at 0; range [0, 1].";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(1);
    const TOLERANCE: Option<f64> = Some(0.1);
    const CONVENTION: Convention = Convention {
        binning: "equal-width, {bins} bins (i/B, (i+1)/B]",
        norm: "total variation of the histograms",
        mode: "top-label",
        estimator: "plug-in",
    };

    fn compute(settings: &ConfidenceTvSettings, input: &PairInput) -> f64 {
        let bins = settings.bins_or(input.bins);
        let histogram = |preds| reliability_curve(&MetricInput { preds, rows: input.rows, bins }, bins).histogram();
        let (h_ref, h_model) = (histogram(input.reference), histogram(input.model));
        0.5 * h_ref.iter().zip(&h_model).map(|(a, b)| (a - b).abs()).sum::<f64>()
    }
}

inventory::submit! { SimilarityMetricEntry::of::<ConfidenceTv>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn tv(reference: &Predictions, model: &Predictions, rows: &[usize], bins: usize) -> f64 {
        ConfidenceTv::compute(
            &ConfidenceTvSettings { bins: NonZeroUsize::new(bins) },
            &PairInput { reference, model, rows, bins: 10 },
        )
    }

    /// Counts per bin by explicit edge comparison, then the identity TV = 1 − Σ_b min(h_ref, h_model)
    /// (valid because both histograms sum to 1).
    fn oracle(reference: &Predictions, model: &Predictions, rows: &[usize], bins: usize) -> f64 {
        let count =
            |p: &Predictions, b: usize| rows.iter().filter(|&&r| oracle_bin(oracle_top(p.row(r)).1, bins) == b).count();
        let n = rows.len() as f64;
        let overlap: f64 = (0..bins).map(|b| (count(reference, b) as f64 / n).min(count(model, b) as f64 / n)).sum();
        1.0 - overlap
    }

    #[test]
    fn hand_computed() {
        // B = 10. ref confidences 0.8 (bin 7), 0.7 (edge → bin 6), 0.95 (bin 9): shares 1/3 each.
        // model confidences 0.8 (bin 7), 0.72 (bin 7), 0.95 (bin 9): bin 7 2/3, bin 9 1/3.
        // TV = ½ (|1/3 − 0| + |1/3 − 2/3| + 0) = 1/3. (Had 0.7 gone to bin 7, TV would be 0.)
        let r = preds(2, &[0.2, 0.8, 0.7, 0.3, 0.05, 0.95], &[1, 0, 1]);
        let m = preds(2, &[0.2, 0.8, 0.72, 0.28, 0.95, 0.05], &[1, 0, 1]);
        assert_close(tv(&r, &m, &all_rows(&r), 10), 1.0 / 3.0, "B = 10");
        // B = 1: one bin holds everything → 0.
        assert_eq!(tv(&r, &m, &all_rows(&r), 1), 0.0);
        // Rows [1, 1, 2]: ref bin 6 2/3, bin 9 1/3; model bin 7 2/3, bin 9 1/3 → ½ (2/3 + 2/3) = 2/3.
        assert_close(tv(&r, &m, &[1, 1, 2], 10), 2.0 / 3.0, "bootstrap rows");
    }

    #[test]
    fn edges() {
        // One example, confidences 0.5 (bin 0 of 2, on the edge) and 1 (bin 1): disjoint → 1.
        let r = preds(2, &[0.5, 0.5], &[0]);
        let m = preds(2, &[1.0, 0.0], &[0]);
        assert_eq!(tv(&r, &m, &[0], 2), 1.0);
        assert_eq!(tv(&r, &m, &[0], 1), 0.0);
        assert_eq!(tv(&r, &r, &[0, 0], 10), 0.0, "identical models");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in pair_cases(22).iter().enumerate() {
            let got = tv(&case.reference, &case.model, &case.rows, case.bins);
            let want = oracle(&case.reference, &case.model, &case.rows, case.bins);
            assert_close(got, want, &format!("case {k}, B = {}", case.bins));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<ConfidenceTvSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
