//! Prediction shift between the reference and a compressed model, the quantities behind the
//! `flips-*`, `kl-divergence*` and `js-divergence*` similarity plugins (issue 15.2): how
//! predictions move, not only how much accuracy moves (Hooker et al. 2019, compression-
//! identified exemplars; Xu et al. 2021, label and probability loyalty; Dutta et al. 2024,
//! flips and KL divergence).
//!
//! Conventions, written out because other tools differ:
//! - **KL(ref ‖ model)** = Σ_c p_c ln(p_c / q_c) with p the reference's and q the model's class
//!   distribution, natural logarithm (nats); terms with p_c = 0 are 0; q_c is clipped below at
//!   10⁻¹² so a model that gives a class exactly 0 yields a large finite value, not ∞.
//! - **JS** is the Jensen–Shannon *divergence* (not its square root, the JS distance):
//!   JS = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), natural logarithm, in [0, ln 2].
//! - Per-example values are aggregated over the N rows evaluated (bootstrap repeats counted):
//!   the mean, or the 95th percentile with linear interpolation between order statistics
//!   (numpy's default `linear` method: position 0.95·(N − 1) in the sorted values).
//! - A flip compares top labels (arg max, lowest class index on ties) with the gold label:
//!   correct → wrong counts rows the reference gets right and the model wrong; wrong → correct
//!   the reverse; both are fractions of the N rows.

use trustx_framework::plugin::similarity::PairInput;

/// Smallest probability a model is taken to give a class in KL (clipping).
pub const KL_FLOOR: f64 = 1e-12;

/// KL(p ‖ q) in nats, with q clipped below at [`KL_FLOOR`].
pub fn kl(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).filter(|(pc, _)| **pc > 0.0).map(|(pc, qc)| pc * (pc / qc.max(KL_FLOOR)).ln()).sum()
}

/// The Jensen–Shannon divergence of p and q in nats (in [0, ln 2]).
pub fn js(p: &[f64], q: &[f64]) -> f64 {
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| 0.5 * (a + b)).collect();
    (0.5 * kl(p, &m) + 0.5 * kl(q, &m)).max(0.0)
}

/// Per-row values of `f(reference row, model row)` over the input's rows.
pub fn per_row(input: &PairInput, f: fn(&[f64], &[f64]) -> f64) -> Vec<f64> {
    input.rows.iter().map(|&r| f(input.reference.row(r), input.model.row(r))).collect()
}

/// The mean of `values` (non-empty).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The `q` quantile of `values` (non-empty), numpy's `linear` method.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The fraction of rows where the reference is `from_correct` and the model is not.
pub fn flips(input: &PairInput, from_correct: bool) -> f64 {
    let n = input
        .rows
        .iter()
        .filter(|&&r| input.reference.correct(r) == from_correct && input.model.correct(r) != from_correct)
        .count();
    n as f64 / input.rows.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divergences_by_hand() {
        let (p, q) = ([0.5, 0.5], [0.9, 0.1]);
        // KL = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.5 (ln 5 − ln 1.8)
        assert!((kl(&p, &q) - 0.5 * (5f64.ln() - 1.8f64.ln())).abs() < 1e-15);
        assert_eq!(kl(&p, &p), 0.0);
        assert!((js(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln()).abs() < 1e-15, "disjoint: ln 2");
        assert!(kl(&[1.0, 0.0], &[0.0, 1.0]).is_finite(), "clipped, not infinite");
        assert!((js(&p, &q) - js(&q, &p)).abs() < 1e-15, "symmetric");
    }

    #[test]
    fn flips_by_hand_and_every_plugin_on_random_pairs() {
        use crate::metrics::testing::*;
        use serde_json::json;
        use trustx_framework::plugin::similarity::SimilarityMetricEntry;
        // labels 1, 0, 1, 0; reference preds 1 (right), 0 (right), 0 (wrong), 1 (wrong);
        // model preds 0 (wrong), 0 (right), 1 (right), 1 (wrong): one correct→wrong, one wrong→correct.
        let r = preds(2, &[0.2, 0.8, 0.7, 0.3, 0.6, 0.4, 0.4, 0.6], &[1, 0, 1, 0]);
        let m = preds(2, &[0.6, 0.4, 0.9, 0.1, 0.3, 0.7, 0.1, 0.9], &[1, 0, 1, 0]);
        let rows = all_rows(&r);
        let input = PairInput { reference: &r, model: &m, rows: &rows, bins: 10 };
        assert_close(flips(&input, true), 0.25, "correct → wrong");
        assert_close(flips(&input, false), 0.25, "wrong → correct");
        assert_close(flips(&PairInput { rows: &[0, 0, 1], ..input }, true), 2.0 / 3.0, "repeats count");
        let names = [
            "flips-correct-to-wrong",
            "flips-wrong-to-correct",
            "kl-divergence",
            "kl-divergence-p95",
            "js-divergence",
            "js-divergence-p95",
        ];
        for name in names {
            let e = SimilarityMetricEntry::find(name).unwrap_or_else(|| panic!("{name} is not registered"));
            let same = PairInput { reference: &r, model: &r, rows: &rows, bins: 10 };
            assert_eq!((e.compute)(&json!({}), &same).unwrap(), 0.0, "{name} of a model with itself");
            for case in pair_cases(33) {
                let input =
                    PairInput { reference: &case.reference, model: &case.model, rows: &case.rows, bins: case.bins };
                let v = (e.compute)(&json!({}), &input).unwrap();
                let max = if name.starts_with("kl") {
                    30.0
                } else if name.starts_with("js") {
                    2f64.ln()
                } else {
                    1.0
                };
                assert!((0.0..=max + 1e-12).contains(&v), "{name} = {v}");
            }
        }
        // The mean KL equals the hand-computed per-row KLs' mean.
        let by_hand = (0..4).map(|i| kl(r.row(i), m.row(i))).sum::<f64>() / 4.0;
        let e = SimilarityMetricEntry::find("kl-divergence").unwrap();
        assert_close((e.compute)(&json!({}), &input).unwrap(), by_hand, "kl mean");
    }

    #[test]
    fn quantile_is_numpys_linear() {
        // numpy.percentile([1, 2, 3, 4], 95) = 3.85
        assert!((quantile(&[4.0, 1.0, 3.0, 2.0], 0.95) - 3.85).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }
}
