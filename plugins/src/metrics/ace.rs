//! `ace`: adaptive (equal-mass) calibration error of the top label, after the equal-mass binning
//! of Nguyen & O'Connor (2015).
//!
//! Other "adaptive" calibration errors use the same idea but split differently: Mukhoti et al.'s
//! AdaECE interpolates bin edges between sorted confidences, Nixon et al.'s ACE (2019) is also
//! class-wise. Their numbers can differ from this one, which is defined as follows.
//!
//! The N rows evaluated (repeats counted, each occurrence its own element) are sorted by
//! top-label confidence conf = max_c p_c, ascending, with a stable sort: rows of equal
//! confidence keep their order in `rows`. The sorted sequence is cut into B contiguous groups
//! exactly as `numpy.array_split(sorted, B)` does: the first N mod B groups hold ⌊N/B⌋ + 1 rows,
//! the others ⌊N/B⌋; when N < B the last B − N groups are empty and skipped. Then
//! ACE = Σ over non-empty groups g of n_g/N · |acc_g − conf_g|, with acc_g the fraction of
//! the group whose arg max (lowest class index on ties) is the label and conf_g its mean
//! confidence. Because ties are broken by row order, a resample that permutes tied rows of
//! different correctness across a group boundary can change the value.

use trustx_framework::plugin::convention::Convention;

use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `ace`: its number of bins (see [`super::bins`]).
pub type AceSettings = super::bins::BinSettings;

/// The `ace` metric.
pub struct Ace;

impl CalibrationMetric for Ace {
    type Settings = AceSettings;
    const NAME: &'static str = "ace";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Adaptive (equal-mass) calibration error, top label";
    const DEFINITION: &'static str = "ACE = Σ over non-empty groups g of n_g/N · |acc_g − conf_g|, where \
        the rows are stably sorted by top-label confidence (ties keep their row order) and split into B \
        contiguous groups as numpy.array_split does (the first N mod B groups hold ⌊N/B⌋ + 1 rows, the \
        rest ⌊N/B⌋); acc_g is the fraction correct (arg max, lowest index on ties), conf_g the mean \
        confidence.";
    const LOWER_IS_BETTER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(4);
    const CONVENTION: Convention =
        Convention { binning: "equal-mass, {bins} bins", norm: "L1", mode: "top-label", estimator: "plug-in" };

    fn compute(settings: &AceSettings, input: &MetricInput) -> f64 {
        let groups = settings.bins_or(input.bins);
        let p = input.preds;
        let mut sorted: Vec<(f64, bool)> = input.rows.iter().map(|&r| (p.confidence(r), p.correct(r))).collect();
        // `sort_by` is stable: equal confidences keep their order in `rows`.
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = sorted.len();
        let (base, extra) = (n / groups, n % groups);
        let mut total = 0.0;
        let mut start = 0;
        for g in 0..groups {
            let size = base + usize::from(g < extra);
            if size == 0 {
                break; // sizes never increase: every later group is empty too
            }
            let group = &sorted[start..start + size];
            start += size;
            let acc = group.iter().filter(|(_, correct)| *correct).count() as f64 / size as f64;
            let conf = group.iter().map(|(c, _)| c).sum::<f64>() / size as f64;
            total += size as f64 / n as f64 * (acc - conf).abs();
        }
        total
    }
}

inventory::submit! { CalibrationMetricEntry::of::<Ace>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::predictions::Predictions;

    fn ace(p: &Predictions, rows: &[usize], groups: usize) -> f64 {
        Ace::compute(&AceSettings { bins: NonZeroUsize::new(groups) }, &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Sort positions 0..N by (confidence, position) with an insertion sort; position j of the
    /// sorted order belongs to the group g with start(g) ≤ j < start(g + 1), where
    /// start(g) = g·⌊N/B⌋ + min(g, N mod B) (numpy's `div_points`); weights as sums over members.
    fn oracle(p: &Predictions, rows: &[usize], groups: usize) -> f64 {
        let n = rows.len();
        let conf = |j: usize| oracle_top(p.row(rows[j])).1;
        let mut order: Vec<usize> = Vec::new();
        for j in 0..n {
            let at = order.iter().position(|&o| conf(o) > conf(j)).unwrap_or(order.len());
            order.insert(at, j);
        }
        let start = |g: usize| g * (n / groups) + g.min(n % groups);
        let mut total = 0.0;
        for g in 0..groups {
            let members: Vec<usize> = (start(g)..start(g + 1)).map(|j| rows[order[j]]).collect();
            if members.is_empty() {
                continue;
            }
            let hits = members.iter().filter(|&&r| oracle_top(p.row(r)).0 == p.labels[r]).count() as f64;
            let conf_sum: f64 = members.iter().map(|&r| oracle_top(p.row(r)).1).sum();
            // n_g/N · |hits/n_g − conf_sum/n_g| = |hits − conf_sum| / N
            total += (hits - conf_sum).abs() / n as f64;
        }
        total
    }

    /// Five binary rows: confidences 0.8 ✓, 0.7 ✗, 0.95 ✓, 0.9 ✗, 0.75 ✓.
    fn five() -> Predictions {
        preds(2, &[0.2, 0.8, 0.3, 0.7, 0.05, 0.95, 0.9, 0.1, 0.75, 0.25], &[1, 0, 1, 1, 0])
    }

    #[test]
    fn hand_computed() {
        // Sorted: 0.7 ✗, 0.75 ✓, 0.8 ✓, 0.9 ✗, 0.95 ✓. B = 2 → sizes 3, 2 (larger first).
        // group 1: acc 2/3, conf 0.75  → |2/3 − 0.75| = 1/12, weight 3/5 → 0.05
        // group 2: acc 1/2, conf 0.925 → 0.425,           weight 2/5 → 0.17
        // ACE = 0.22.
        let p = five();
        assert_close(ace(&p, &all_rows(&p), 2), 0.22, "B = 2");
        // B = 10 > N = 5: five singleton groups |1[correct] − conf|, five empty ones skipped:
        // (0.7 + 0.25 + 0.2 + 0.9 + 0.05) / 5 = 2.1 / 5 = 0.42.
        assert_close(ace(&p, &all_rows(&p), 10), 0.42, "B > N");
        // B = 3 → sizes 2, 2, 1: {0.7 ✗, 0.75 ✓} |0.5 − 0.725| = 0.225 · 2/5 = 0.09;
        // {0.8 ✓, 0.9 ✗} |0.5 − 0.85| = 0.35 · 2/5 = 0.14; {0.95 ✓} 0.05 · 1/5 = 0.01 → 0.24.
        assert_close(ace(&p, &all_rows(&p), 3), 0.24, "B = 3");
        // Rows [1, 1, 2] (bootstrap), B = 2 → sizes 2, 1: {0.7 ✗, 0.7 ✗} 0.7 · 2/3; {0.95 ✓} 0.05 · 1/3
        // → 1.45/3.
        assert_close(ace(&p, &[1, 1, 2], 2), 1.45 / 3.0, "bootstrap rows");
    }

    #[test]
    fn ties_keep_their_row_order() {
        // a = 0.6 ✓, b = 0.6 ✗, c = 0.5 ✓ (tie 0.5/0.5 predicts class 0). B = 2 → sizes 2, 1.
        let p = preds(2, &[0.6, 0.4, 0.6, 0.4, 0.5, 0.5], &[0, 1, 0]);
        // rows [a, b, c] → sorted [c, a, b]: {c ✓, a ✓} |1 − 0.55| · 2/3 = 0.3; {b ✗} 0.6 / 3 = 0.2 → 0.5.
        assert_close(ace(&p, &[0, 1, 2], 2), 0.5, "a before b");
        // rows [b, a, c] → sorted [c, b, a]: {c ✓, b ✗} |0.5 − 0.55| · 2/3 = 1/30; {a ✓} 0.4/3 → 1/6.
        assert_close(ace(&p, &[1, 0, 2], 2), 1.0 / 6.0, "b before a");
    }

    #[test]
    fn edges() {
        let p = preds(3, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0], &[1, 2]);
        assert_eq!(ace(&p, &[0], 10), 0.0, "one example, correct at 1");
        assert_eq!(ace(&p, &[1], 1), 1.0, "one example, wrong at 1");
        assert_eq!(ace(&p, &[0, 0, 0, 0], 3), 0.0, "all correct");
        assert_eq!(ace(&p, &[1, 1, 1], 2), 1.0, "all wrong at 1");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(15).iter().enumerate() {
            let got = ace(&case.preds, &case.rows, case.bins);
            assert_close(got, oracle(&case.preds, &case.rows, case.bins), &format!("case {k}, B = {}", case.bins));
        }
    }

    #[test]
    fn settings() {
        assert_bins_setting::<AceSettings>(|s| s.bins.map(NonZeroUsize::get));
    }
}
