//! `reliability-distance`: mean absolute difference between the reference's and the model's
//! top-label reliability curves.
//!
//! Both models' rows (the same N rows, repeats counted) are binned by top-label confidence
//! max_c p_c into B equal-width bins with trustx's single convention
//! ([`trustx_framework::calibration::binning`]: bin i is (i/B, (i+1)/B], the first closed at 0);
//! acc_b is the fraction of a model's rows in bin b whose arg max (lowest class index on ties)
//! is the label. Over the set S of bins non-empty for both models, with weights
//! w_b = (n^ref_b + n^model_b) / 2, RD = Σ_{b∈S} w_b |acc^ref_b − acc^model_b| / Σ_{b∈S} w_b, in
//! [0, 1]. When S is empty the curves share no bin and cannot be compared: RD is then defined
//! as 1.0, the largest possible value. Bins that only one model populates do not enter RD;
//! `confidence-tv` measures that part of the difference.

use trustx_framework::plugin::convention::Convention;

use trustx_framework::calibration::binning::reliability_curve;
use trustx_framework::plugin::metric::MetricInput;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `reliability-distance`: its number of bins (see [`super::bins`]).
pub type ReliabilityDistanceSettings = super::bins::BinSettings;

/// The `reliability-distance` similarity.
pub struct ReliabilityDistance;

impl SimilarityMetric for ReliabilityDistance {
    type Settings = ReliabilityDistanceSettings;
    const NAME: &'static str = "reliability-distance";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Weighted mean absolute difference between the two reliability curves";
    const DEFINITION: &'static str = "RD = Σ_b w_b |acc^ref_b − acc^model_b| / Σ_b w_b over the bins b \
        non-empty for both models, w_b = (n^ref_b + n^model_b)/2, acc_b the fraction correct (arg max, \
        lowest index on ties) among the rows whose top-label confidence is in bin b of B equal-width bins \
        (i/B, (i+1)/B], the first closed at 0; RD = 1.0 when no bin is non-empty for both.";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(2);
    const CONVENTION: Convention = Convention {
        binning: "equal-width, {bins} bins (i/B, (i+1)/B]",
        norm: "weighted mean |Δaccuracy| over shared bins",
        mode: "top-label",
        estimator: "plug-in",
    };

    fn compute(settings: &ReliabilityDistanceSettings, input: &PairInput) -> f64 {
        let bins = settings.bins_or(input.bins);
        let curve = |preds| reliability_curve(&MetricInput { preds, rows: input.rows, bins }, bins);
        let (reference, model) = (curve(input.reference), curve(input.model));
        let (mut weighted, mut weights) = (0.0, 0.0);
        for (a, b) in reference.bins.iter().zip(&model.bins) {
            if let (Some(acc_a), Some(acc_b)) = (a.accuracy, b.accuracy) {
                let w = (a.count + b.count) as f64 / 2.0;
                weighted += w * (acc_a - acc_b).abs();
                weights += w;
            }
        }
        if weights > 0.0 { weighted / weights } else { 1.0 }
    }
}

inventory::submit! { SimilarityMetricEntry::of::<ReliabilityDistance>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn rd(reference: &Predictions, model: &Predictions, rows: &[usize], bins: usize) -> f64 {
        ReliabilityDistance::compute(
            &ReliabilityDistanceSettings { bins: NonZeroUsize::new(bins) },
            &PairInput { reference, model, rows, bins: 10 },
        )
    }

    /// Per bin, member lists of both models by explicit edge comparison; accuracies as hit
    /// counts over member counts; weights as integer sums n_ref + n_model (the factor ½ cancels).
    fn oracle(reference: &Predictions, model: &Predictions, rows: &[usize], bins: usize) -> f64 {
        let members = |p: &Predictions, b: usize| -> Vec<usize> {
            rows.iter().copied().filter(|&r| oracle_bin(oracle_top(p.row(r)).1, bins) == b).collect()
        };
        let hits = |p: &Predictions, m: &[usize]| m.iter().filter(|&&r| oracle_top(p.row(r)).0 == p.labels[r]).count();
        let (mut num, mut den) = (0.0, 0usize);
        for b in 0..bins {
            let (mr, mm) = (members(reference, b), members(model, b));
            if mr.is_empty() || mm.is_empty() {
                continue;
            }
            let gap = (hits(reference, &mr) as f64 / mr.len() as f64 - hits(model, &mm) as f64 / mm.len() as f64).abs();
            num += (mr.len() + mm.len()) as f64 * gap;
            den += mr.len() + mm.len();
        }
        if den == 0 { 1.0 } else { num / den as f64 }
    }

    #[test]
    fn hand_computed() {
        // C = 3, labels 0, 0, 1, 2, B = 2 (bins [0, 0.5] and (0.5, 1]).
        // ref:   0.9 ✓, 0.6 ✓, 0.4 ✓ (pred 1), 0.5 ✗ (pred 0, on the edge → bin 0)
        //        bin 0 {0.4 ✓, 0.5 ✗}: acc 1/2, n 2; bin 1 {0.9 ✓, 0.6 ✓}: acc 1, n 2.
        // model: 0.9 ✓, 0.8 ✓, 0.45 ✗ (pred 0), 0.95 ✓ (pred 2)
        //        bin 0 {0.45 ✗}: acc 0, n 1;      bin 1 {0.9, 0.8, 0.95 ✓}: acc 1, n 3.
        // bin 0: w = 1.5, |1/2 − 0| = 1/2; bin 1: w = 2.5, |1 − 1| = 0 → RD = 0.75 / 4 = 0.1875.
        // (Had 0.5 gone to bin 1: w 1 · 1 + w 3 · 1/3 → 2/4 = 0.5.)
        let labels = [0, 0, 1, 2];
        let r = preds(3, &[0.9, 0.05, 0.05, 0.6, 0.2, 0.2, 0.3, 0.4, 0.3, 0.5, 0.3, 0.2], &labels);
        let m = preds(3, &[0.9, 0.05, 0.05, 0.8, 0.1, 0.1, 0.45, 0.3, 0.25, 0.05, 0.0, 0.95], &labels);
        assert_close(rd(&r, &m, &all_rows(&r), 2), 0.1875, "B = 2");
        // B = 1: ref acc 3/4, model acc 3/4 → 0.
        assert_eq!(rd(&r, &m, &all_rows(&r), 1), 0.0);
        // Rows [2, 2, 3], B = 2: ref bin 0 {0.4 ✓, 0.4 ✓, 0.5 ✗} acc 2/3, n 3, bin 1 empty;
        // model bin 0 {0.45 ✗ ×2} acc 0, n 2, bin 1 {0.95 ✓}. Shared: bin 0 only → 2/3.
        assert_close(rd(&r, &m, &[2, 2, 3], 2), 2.0 / 3.0, "bootstrap rows");
    }

    #[test]
    fn no_shared_bin_gives_one() {
        // One example: ref confidence 0.5 (bin 0 of 2), model 0.9 (bin 1) → no shared bin → 1.0,
        // even though both are correct.
        let r = preds(2, &[0.5, 0.5], &[0]);
        let m = preds(2, &[0.9, 0.1], &[0]);
        assert_eq!(rd(&r, &m, &[0], 2), 1.0);
        // With one bin they share it: both correct → 0.
        assert_eq!(rd(&r, &m, &[0], 1), 0.0);
    }

    #[test]
    fn edges() {
        // Identical models → 0; all correct vs all wrong at confidence 1 → 1.
        let r = preds(2, &[0.0, 1.0, 0.0, 1.0], &[1, 1]);
        let m = preds(2, &[1.0, 0.0, 1.0, 0.0], &[1, 1]);
        assert_eq!(rd(&r, &r, &[0, 1, 1], 10), 0.0);
        assert_eq!(rd(&r, &m, &all_rows(&r), 10), 1.0);
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in pair_cases(23).iter().enumerate() {
            let got = rd(&case.reference, &case.model, &case.rows, case.bins);
            let want = oracle(&case.reference, &case.model, &case.rows, case.bins);
            assert_close(got, want, &format!("case {k}, B = {}", case.bins));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<ReliabilityDistanceSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
