//! `debiased-ece`: the debiased ℓ2 calibration error of Kumar, Liang & Ma ("Verified Uncertainty
//! Calibration", NeurIPS 2019), computed as their library uncertainty-calibration 0.1.4 computes
//! it (`calibration.lower_bound_scaling_ce(probs, labels, p=2, debias=True,
//! binning_scheme=get_equal_bins)`).
//!
//! The N rows evaluated (repeats counted) give one score s and one outcome y each: in the
//! top-label mode s = max_c p_c and y = 1[arg max = label] (lowest class index on ties); in the
//! classwise mode (the library's "marginal") each class k separately, s = p_k and y = 1[label = k].
//! The scores are split into B equal-mass bins as the library does: sorted, cut into
//! min(B, N) consecutive parts (`numpy.array_split`: the first N mod B parts one longer), each
//! boundary the midpoint between the last score of a part and the first of the next, the last
//! boundary 1, repeated boundaries merged; bin i holds (b_{i−1}, b_i]. Each bin b with n_b ≥ 2
//! contributes n_b/N · [(s̄_b − ȳ_b)² − ȳ_b(1 − ȳ_b)/(n_b − 1)]: the plug-in squared gap minus
//! an unbiased estimate of its noise (a bin of fewer than two rows contributes 0). The
//! debiased ECE is √max(0, Σ_b …); classwise, √((1/C) Σ_k max(0, Σ_b …)). It estimates the
//! root-mean-square calibration error (ℓ2, not the ℓ1 of `ece`); the plug-in estimate
//! overstates it on small samples, this one does not in expectation (for the squared error).
//! The library's ℓ1 debiasing draws random normals and is not reproducible; it is not offered.

use std::num::NonZeroUsize;
use trustx_framework::plugin::convention::Convention;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Which probabilities are calibrated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The top label's confidence against whether it is right.
    #[default]
    TopLabel,
    /// Every class's probability against whether it is the label, the squared errors averaged
    /// over classes (the library's `mode="marginal"`).
    Classwise,
}

/// Settings of `debiased-ece`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebiasedEceSettings {
    /// Number of equal-mass bins B (at least 1); unset: the manifest's `[calibration] bins`
    /// (default 10; the library's own default is 15).
    #[serde(default)]
    pub bins: Option<NonZeroUsize>,
    /// `top-label` (default) or `classwise`.
    #[serde(default)]
    pub mode: Mode,
}

/// The `debiased-ece` metric.
pub struct DebiasedEce;

impl CalibrationMetric for DebiasedEce {
    type Settings = DebiasedEceSettings;
    const NAME: &'static str = "debiased-ece";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Debiased ℓ2 calibration error, equal-mass bins (Kumar et al. 2019)";
    const DEFINITION: &'static str = "Debiased ECE = √max(0, Σ over bins b with n_b ≥ 2 of n_b/N · [(s̄_b − ȳ_b)² \
        − ȳ_b(1 − ȳ_b)/(n_b − 1)]), s the top-label confidence and y = 1 when the arg max is the label (or, \
        classwise, each class's probability and indicator, the squares averaged over classes), B equal-mass \
        bins cut at midpoints between sorted scores; an ℓ2 (root-mean-square) error. Computed as \
        uncertainty-calibration 0.1.4's lower_bound_scaling_ce(p=2, debias=True).";
    const LOWER_IS_BETTER: bool = true;
    const CONVENTION: Convention = Convention {
        binning: "equal-mass, {bins} bins (the library's get_equal_bins)",
        norm: "L2 (root mean square)",
        mode: "{mode}",
        estimator: "debiased (Kumar et al. 2019)",
    };

    fn compute(settings: &DebiasedEceSettings, input: &MetricInput) -> f64 {
        let bins = settings.bins.map_or(input.bins, NonZeroUsize::get);
        let p = input.preds;
        match settings.mode {
            Mode::TopLabel => {
                let pairs: Vec<(f64, f64)> =
                    input.rows.iter().map(|&r| (p.confidence(r), f64::from(u8::from(p.correct(r))))).collect();
                debiased_square_error(&pairs, bins).max(0.0).sqrt()
            }
            Mode::Classwise => {
                let c = p.num_classes;
                let mut total = 0.0;
                for k in 0..c {
                    let pairs: Vec<(f64, f64)> =
                        input.rows.iter().map(|&r| (p.row(r)[k], f64::from(u8::from(p.labels[r] == k)))).collect();
                    total += debiased_square_error(&pairs, bins).max(0.0);
                }
                (total / c as f64).sqrt()
            }
        }
    }
}

inventory::submit! { CalibrationMetricEntry::of::<DebiasedEce>() }

/// The library's `get_equal_bins(scores, num_bins)`: upper boundaries, the last one 1.
fn equal_mass_boundaries(scores: &[f64], bins: usize) -> Vec<f64> {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let parts = bins.min(n);
    // numpy.array_split: the first n % parts parts have one more element.
    let (base, extra) = (n / parts, n % parts);
    let mut boundaries = Vec::with_capacity(parts);
    let mut end = 0;
    for i in 0..parts - 1 {
        end += base + usize::from(i < extra);
        boundaries.push((sorted[end - 1] + sorted[end]) / 2.0);
    }
    boundaries.push(1.0);
    boundaries.sort_by(f64::total_cmp);
    boundaries.dedup();
    boundaries
}

/// The library's `unbiased_square_ce(bin(data, get_equal_bins(...)))` on (score, outcome) pairs.
fn debiased_square_error(pairs: &[(f64, f64)], bins: usize) -> f64 {
    let scores: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let boundaries = equal_mass_boundaries(&scores, bins);
    // (count, Σ score, Σ outcome) per bin; `searchsorted(side="left")`, past the last boundary
    // (a score above 1 within tolerance) into the last bin, as `fast_bin`'s split does.
    let mut acc = vec![(0usize, 0.0, 0.0); boundaries.len()];
    for &(s, y) in pairs {
        let i = boundaries.partition_point(|&b| b < s).min(boundaries.len() - 1);
        acc[i].0 += 1;
        acc[i].1 += s;
        acc[i].2 += y;
    }
    let n = pairs.len() as f64;
    acc.iter()
        .filter(|b| b.0 >= 2)
        .map(|&(count, s, y)| {
            let m = count as f64;
            let (mean_s, mean_y) = (s / m, y / m);
            m / n * ((mean_s - mean_y).powi(2) - mean_y * (1.0 - mean_y) / (m - 1.0))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::smooth_ece::tests::references;
    use crate::metrics::testing::*;

    fn settings(bins: usize, mode: Mode) -> DebiasedEceSettings {
        DebiasedEceSettings { bins: NonZeroUsize::new(bins), mode }
    }

    #[test]
    fn matches_uncertainty_calibration() {
        for (case, p) in references() {
            let rows = all_rows(&p);
            let input = MetricInput { preds: &p, rows: &rows, bins: 10 };
            let top = DebiasedEce::compute(&settings(case.bins, Mode::TopLabel), &input);
            assert!(
                (top - case.debiased_ece_top_label).abs() <= 1e-9,
                "{}: {top} vs {}",
                case.name,
                case.debiased_ece_top_label
            );
            let classwise = DebiasedEce::compute(&settings(case.bins, Mode::Classwise), &input);
            assert!(
                (classwise - case.debiased_ece_marginal).abs() <= 1e-9,
                "{}: {classwise} vs {}",
                case.name,
                case.debiased_ece_marginal
            );
        }
    }

    #[test]
    fn hand_computed() {
        // Four binary rows, confidences 0.6 ✓, 0.7 ✗, 0.8 ✓, 0.9 ✓; B = 2 → boundaries
        // (0.7 + 0.8)/2 = 0.75 and 1. Bin 1: s̄ = 0.65, ȳ = 0.5 → 0.0225 − 0.25/1 = −0.2275;
        // bin 2: s̄ = 0.85, ȳ = 1 → 0.0225 − 0 = 0.0225. Weighted: (−0.2275 + 0.0225)/2 < 0 → 0.
        let p = preds(2, &[0.4, 0.6, 0.7, 0.3, 0.2, 0.8, 0.1, 0.9], &[1, 1, 1, 1]);
        let rows = all_rows(&p);
        assert_eq!(
            DebiasedEce::compute(&settings(2, Mode::TopLabel), &MetricInput { preds: &p, rows: &rows, bins: 10 }),
            0.0
        );
        // One bin (B = 1): s̄ = 0.75, ȳ = 0.75 → 0 − 0.1875/3 < 0 → 0. Confident and always wrong:
        // rows 0.9 ✗ ×3 → s̄ = 0.9, ȳ = 0 → 0.81 − 0 → 0.9.
        let wrong = preds(2, &[0.9, 0.1, 0.9, 0.1, 0.9, 0.1], &[1, 1, 1]);
        let r = all_rows(&wrong);
        let v = DebiasedEce::compute(&settings(1, Mode::TopLabel), &MetricInput { preds: &wrong, rows: &r, bins: 10 });
        assert_close(v, 0.9, "always wrong at 0.9");
    }

    #[test]
    fn boundaries_follow_array_split() {
        // 5 scores in 2 parts: [a, b, c] [d, e] → midpoint of c and d.
        assert_eq!(equal_mass_boundaries(&[0.5, 0.1, 0.3, 0.9, 0.7], 2), vec![0.6, 1.0]);
        // Ties merge boundaries; more bins than scores → one part per score.
        assert_eq!(equal_mass_boundaries(&[0.5, 0.5, 0.5, 0.5], 4), vec![0.5, 1.0]);
        assert_eq!(equal_mass_boundaries(&[0.2], 10), vec![1.0]);
    }

    #[test]
    fn settings_parse() {
        let s: DebiasedEceSettings = serde_json::from_value(serde_json::json!({"mode": "classwise"})).unwrap();
        assert_eq!(s.mode, Mode::Classwise);
        assert!(serde_json::from_value::<DebiasedEceSettings>(serde_json::json!({"mode": "marginal"})).is_err());
        assert!(serde_json::from_value::<DebiasedEceSettings>(serde_json::json!({"bins": 0})).is_err());
    }
}
