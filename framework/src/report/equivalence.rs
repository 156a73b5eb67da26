//! How one verdict test decides: the equivalence test on an interval (the default), or the
//! paper's point rule.
//!
//! **Interval rule** (two one-sided tests, Schuirmann 1987, read on the confidence interval):
//! with the (1 − 2α) bootstrap interval [lo, hi] of a value and its margin,
//! - *equivalent* when the whole interval lies inside the margin (for "≥ t": lo ≥ t; for
//!   "≤ t": hi ≤ t; for "|x| ≤ t": −t ≤ lo and hi ≤ t) — both one-sided tests reject at level α;
//! - *different* when the whole interval lies outside it (hi < t; lo > t; lo > t or hi < −t);
//! - *inconclusive* otherwise: the data do not show either at this sample size. The examples
//!   needed are estimated from the interval's half-width h at n examples, which shrinks as
//!   1/√n: n·(h/d)², with d the distance from the value to the margin (none when d = 0).
//!
//! **Point rule** (`[verdict] rule = "point"`): the value against the threshold, as the paper
//! reports; the interval is shown but does not decide.

use crate::manifest::schema::VerdictRule;
use serde::{Deserialize, Serialize};

/// An inconclusive test needing more than this many times its examples is reported as too
/// close to the margin to decide, not with the count.
pub const FAR_BEYOND: u64 = 100;

pub use crate::plan::verdict_rules::Comparison;

impl Comparison {
    /// By how much `value` misses `threshold` (positive: missed; zero or negative: passed).
    pub fn miss(self, value: f64, threshold: f64) -> f64 {
        match self {
            Comparison::AtLeast => threshold - value,
            Comparison::AtMost => value - threshold,
            Comparison::AbsAtMost => value.abs() - threshold,
        }
    }

    /// Whether the whole interval satisfies the margin.
    pub fn inside(self, (lo, hi): (f64, f64), t: f64) -> bool {
        match self {
            Comparison::AtLeast => lo >= t,
            Comparison::AtMost => hi <= t,
            Comparison::AbsAtMost => lo >= -t && hi <= t,
        }
    }

    /// By how much the whole interval misses the margin (positive only when no point of it
    /// satisfies it).
    pub fn interval_miss(self, (lo, hi): (f64, f64), t: f64) -> f64 {
        match self {
            Comparison::AtLeast => t - hi,
            Comparison::AtMost => lo - t,
            Comparison::AbsAtMost => (lo - t).max(-t - hi),
        }
    }
}

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Satisfies the margin: equivalent (interval rule) or passed (point rule).
    Pass,
    /// Misses it: different (interval rule) or failed (point rule).
    Fail,
    /// The interval straddles the margin: the data do not decide (interval rule only).
    Inconclusive,
    /// The test could not be run (the reason is in the test's note).
    NotRun,
}

impl Outcome {
    /// The word the report prints under `rule`.
    pub fn label(self, rule: VerdictRule) -> &'static str {
        match (self, rule) {
            (Outcome::Pass, VerdictRule::Interval) => "equivalent",
            (Outcome::Fail, VerdictRule::Interval) => "different",
            (Outcome::Pass, VerdictRule::Point) => "pass",
            (Outcome::Fail, VerdictRule::Point) => "fail",
            (Outcome::Inconclusive, _) => "inconclusive",
            (Outcome::NotRun, _) => "not run",
        }
    }
}

/// What a test decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The outcome.
    pub outcome: Outcome,
    /// By how much the margin was missed (failed tests): by the value (point rule) or by the
    /// nearest end of the interval (interval rule).
    pub missed_by: Option<f64>,
    /// For an inconclusive test, the examples that would decide it at the observed spread.
    pub examples_needed: Option<u64>,
    /// A remark: why the value or the interval could not decide.
    pub note: Option<String>,
}

/// Decides one test: `value` with interval `ci` against `threshold` under `rule`; `n` is the
/// number of examples the interval was computed from (for the sample-size estimate).
pub fn decide(
    rule: VerdictRule,
    value: f64,
    ci: Option<(f64, f64)>,
    threshold: f64,
    comparison: Comparison,
    n: Option<usize>,
) -> Decision {
    let none = Decision { outcome: Outcome::Pass, missed_by: None, examples_needed: None, note: None };
    if !value.is_finite() {
        return Decision {
            outcome: Outcome::Fail,
            missed_by: None,
            note: Some("the value is not a number".into()),
            ..none
        };
    }
    if rule == VerdictRule::Point {
        let miss = comparison.miss(value, threshold);
        return if miss <= 0.0 { none } else { Decision { outcome: Outcome::Fail, missed_by: Some(miss), ..none } };
    }
    let Some(ci) = ci.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) else {
        return Decision {
            outcome: Outcome::Inconclusive,
            note: Some(
                "no interval (bootstrap resamples = 0, or too few examples): the equivalence test cannot decide; \
                 set [calibration] bootstrap, or [verdict] rule = \"point\" for the point rule"
                    .into(),
            ),
            ..none
        };
    };
    if comparison.inside(ci, threshold) {
        return none;
    }
    let miss = comparison.interval_miss(ci, threshold);
    if miss > 0.0 {
        return Decision { outcome: Outcome::Fail, missed_by: Some(miss), ..none };
    }
    let half = (ci.1 - ci.0) / 2.0;
    let distance = comparison.miss(value, threshold).abs();
    let examples_needed = n.filter(|_| distance > 0.0 && half > 0.0).map(|n| {
        let needed = (n as f64 * (half / distance).powi(2)).ceil();
        if needed.is_finite() && needed < u64::MAX as f64 { needed as u64 } else { u64::MAX }
    });
    let note = match examples_needed {
        // More than a hundred times the sample: the value sits too close to the margin for a
        // sample size to be a useful answer; say so instead of quoting millions.
        Some(m) if n.is_some_and(|n| m > (n as u64).saturating_mul(FAR_BEYOND)) => format!(
            "the interval [{:.3}, {:.3}] straddles the margin {} {threshold}, and the value is so close to it that more than {}× the examples (now {}) would be needed to decide",
            ci.0,
            ci.1,
            comparison.symbol(),
            FAR_BEYOND,
            n.unwrap_or(0)
        ),
        Some(m) => format!(
            "the interval [{:.3}, {:.3}] straddles the margin {} {threshold}: about {m} examples (now {}) would decide it at the observed spread",
            ci.0,
            ci.1,
            comparison.symbol(),
            n.unwrap_or(0)
        ),
        None if distance == 0.0 => {
            format!("the value sits on the margin {} {threshold}: no sample size decides it", comparison.symbol())
        }
        None => {
            format!("the interval [{:.3}, {:.3}] straddles the margin {} {threshold}", ci.0, ci.1, comparison.symbol())
        }
    };
    Decision { outcome: Outcome::Inconclusive, examples_needed, note: Some(note), ..none }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Comparison::*;
    use VerdictRule::*;

    fn outcome(ci: (f64, f64), t: f64, c: Comparison) -> Outcome {
        decide(Interval, (ci.0 + ci.1) / 2.0, Some(ci), t, c, Some(100)).outcome
    }

    #[test]
    fn intervals_on_each_side_of_and_across_the_margin() {
        // ≥ 0.7 (Jaccard, agreement)
        assert_eq!(outcome((0.72, 0.80), 0.7, AtLeast), Outcome::Pass);
        assert_eq!(outcome((0.60, 0.68), 0.7, AtLeast), Outcome::Fail);
        assert_eq!(outcome((0.6546, 0.8180), 0.7, AtLeast), Outcome::Inconclusive);
        assert_eq!(outcome((0.70, 0.75), 0.7, AtLeast), Outcome::Pass);
        // ≤ 0.1 (confidence TV)
        assert_eq!(outcome((0.02, 0.08), 0.1, AtMost), Outcome::Pass);
        assert_eq!(outcome((0.11, 0.2), 0.1, AtMost), Outcome::Fail);
        assert_eq!(outcome((0.05, 0.15), 0.1, AtMost), Outcome::Inconclusive);
        // |x| ≤ 0.02 (ΔECE): outside on either side is different
        assert_eq!(outcome((-0.015, 0.01), 0.02, AbsAtMost), Outcome::Pass);
        assert_eq!(outcome((0.021, 0.05), 0.02, AbsAtMost), Outcome::Fail);
        assert_eq!(outcome((-0.05, -0.03), 0.02, AbsAtMost), Outcome::Fail);
        assert_eq!(outcome((-0.03, 0.0), 0.02, AbsAtMost), Outcome::Inconclusive);
        assert_eq!(outcome((-0.03, 0.03), 0.02, AbsAtMost), Outcome::Inconclusive);
    }

    #[test]
    fn the_miss_of_a_different_test_is_the_nearest_end() {
        let d = decide(Interval, 0.64, Some((0.60, 0.68)), 0.7, AtLeast, Some(50));
        assert!((d.missed_by.unwrap() - 0.02).abs() < 1e-12);
        let d = decide(Interval, -0.04, Some((-0.05, -0.03)), 0.02, AbsAtMost, Some(50));
        assert!((d.missed_by.unwrap() - 0.01).abs() < 1e-12);
    }

    #[test]
    fn the_examples_needed_scale_with_the_spread() {
        // Half-width 0.08 at 20 examples, 0.0346 from the margin: 20 · (0.08/0.0346)² ≈ 107.
        let d = decide(Interval, 0.7346, Some((0.6546, 0.8146)), 0.7, AtLeast, Some(20));
        assert_eq!(d.outcome, Outcome::Inconclusive);
        assert_eq!(d.examples_needed, Some(107));
        assert!(d.note.unwrap().contains("about 107 examples (now 20)"));
        // The minilm-sst2 student's ΔECE: 0.0199 against 0.02, 27 million examples "needed".
        let close = decide(Interval, 0.0199, Some((-0.0005, 0.0359)), 0.02, AbsAtMost, Some(872));
        assert!(close.examples_needed.unwrap() > 872 * FAR_BEYOND);
        let note = close.note.unwrap();
        assert!(
            note.contains("so close to it that more than 100× the examples (now 872)") && !note.contains("about"),
            "{note}"
        );
        let on = decide(Interval, 0.7, Some((0.65, 0.75)), 0.7, AtLeast, Some(20));
        assert_eq!(on.examples_needed, None);
        assert!(on.note.unwrap().contains("no sample size"));
    }

    #[test]
    fn the_point_rule_reads_the_value_only() {
        let d = decide(Point, 0.7346, Some((0.6546, 0.8180)), 0.7, AtLeast, Some(20));
        assert_eq!(d.outcome, Outcome::Pass);
        let d = decide(Point, 0.69, Some((0.6, 0.8)), 0.7, AtLeast, Some(20));
        assert_eq!((d.outcome, d.missed_by.map(|m| (m * 100.0).round())), (Outcome::Fail, Some(1.0)));
    }

    #[test]
    fn no_interval_or_nan_never_passes() {
        assert_eq!(decide(Interval, 0.9, None, 0.7, AtLeast, Some(20)).outcome, Outcome::Inconclusive);
        assert_eq!(decide(Interval, f64::NAN, Some((0.8, 0.9)), 0.7, AtLeast, None).outcome, Outcome::Fail);
        assert_eq!(decide(Point, f64::NAN, None, 0.7, AtLeast, None).outcome, Outcome::Fail);
    }

    /// A simulated pair of models whose true agreement is 0.93 against a margin of 0.95: with
    /// few examples the bootstrap interval straddles the margin (inconclusive); as the sample
    /// grows it shrinks below it (different).
    #[test]
    fn a_small_true_difference_turns_from_inconclusive_to_different_as_the_sample_grows() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut decide_at = |n: usize| {
            let agree: Vec<f64> = (0..n).map(|_| if rng.random::<f64>() < 0.93 { 1.0 } else { 0.0 }).collect();
            let mean = agree.iter().sum::<f64>() / n as f64;
            let mut means: Vec<f64> =
                (0..400).map(|_| (0..n).map(|_| agree[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
            means.sort_by(f64::total_cmp);
            let ci = (means[(0.025 * 400.0) as usize], means[(0.975 * 400.0) as usize - 1]);
            decide(Interval, mean, Some(ci), 0.95, AtLeast, Some(n)).outcome
        };
        assert_eq!(decide_at(40), Outcome::Inconclusive);
        assert_eq!(decide_at(4000), Outcome::Fail);
    }
}
