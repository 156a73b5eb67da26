//! The trust-equivalence verdict of each compared model, from the summary and the manifest's
//! thresholds: pure, so the rules are tested here and the report only renders the result.
//!
//! The tests: Jaccard@K (the first K of `[alignment] k`) of every explainer ≥ `[alignment]
//! threshold`, |ΔECE| ≤ `ece`, confidence-histogram distance ≤ `confidence_tv`, prediction
//! agreement ≥ `agreement`. Each decides by [`super::equivalence`]: under the default interval
//! rule a test is *equivalent*, *different* or *inconclusive* from its (1 − 2α) interval.
//! A model is trust-equivalent only when every test is equivalent (passes); one different
//! (failed) test makes it "not trust-equivalent"; otherwise — a test inconclusive or not run
//! (no explainers, a metric not computed) — it is "not established", never a pass.

use crate::tables::summary::Summary;
use crate::tables::summary::alignment::{AlignmentAggregate, FloorValue, Pairing};
use serde::{Deserialize, Serialize};

/// The alignment metric plugin the verdict reads.
pub const JACCARD: &str = "top-k-jaccard";

use super::equivalence::decide;
pub use super::equivalence::{Comparison, Outcome};
use crate::manifest::schema::VerdictRule;
pub use crate::plan::report_config::VerdictRules;

/// One test of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Test {
    /// What is tested: `alignment lime top-k-jaccard@10`, `delta-ece` (its magnitude is tested:
    /// the margin reads `|x| ≤`), `confidence-tv`, `agreement`.
    pub name: String,
    /// The summary metric it reads.
    pub metric: String,
    /// Its value (mean over seeds), `None` when not run.
    pub value: Option<f64>,
    /// Its bootstrap interval, when known.
    pub ci: Option<(f64, f64)>,
    /// The threshold.
    pub threshold: f64,
    /// How value and threshold compare.
    pub comparison: Comparison,
    /// Pass (equivalent), fail (different), inconclusive or not run.
    pub outcome: Outcome,
    /// The outcome as the report prints it under the rule (`equivalent`, `different`,
    /// `inconclusive`, `pass`, `fail`, `not run`).
    pub label: String,
    /// By how much the margin was missed (failed tests only): by the value (point rule) or
    /// by the nearest end of the interval (interval rule).
    pub missed_by: Option<f64>,
    /// The examples the value was computed from, when known.
    pub examples: Option<usize>,
    /// For an inconclusive test: the examples that would decide it at the observed spread.
    pub examples_needed: Option<u64>,
    /// For alignment: the noise floor compared with, and whether the value lies within it
    /// (its interval overlaps the floor's).
    pub floor: Option<FloorCheck>,
    /// Why it was not run, or a remark.
    pub note: Option<String>,
    /// For alignment: which runs were paired for the value tested (`cross-seed` under the
    /// interval rule when the seeds allow it, the value comparable with the floor;
    /// `same-seed` under the point rule, the paper's protocol).
    #[serde(default)]
    pub pairing: Option<Pairing>,
}

/// An alignment value beside its noise floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorCheck {
    /// Whose floor: `reference` or `model`.
    pub of: String,
    /// The floor's mean.
    pub mean: f64,
    /// The floor's interval, when known.
    pub ci: Option<(f64, f64)>,
    /// The value's interval overlaps the floor's (or, without intervals, equals it).
    pub within: bool,
}

/// The verdict of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every test passed.
    TrustEquivalent,
    /// At least one test failed.
    NotTrustEquivalent,
    /// No test failed but at least one could not be run.
    NotEstablished,
}

impl Status {
    /// The badge text.
    pub fn label(self) -> &'static str {
        match self {
            Status::TrustEquivalent => "trust-equivalent",
            Status::NotTrustEquivalent => "not trust-equivalent",
            Status::NotEstablished => "not established",
        }
    }
}

/// One compared model's verdict with every test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVerdict {
    /// Model name.
    pub model: String,
    /// The verdict.
    pub status: Status,
    /// Its badge text.
    pub label: String,
    /// Every test, alignment first.
    pub tests: Vec<Test>,
    /// One sentence: which tests failed and by how much, or what was not measured.
    pub explanation: String,
}

/// The verdicts of every compared model and the one-sentence answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The reference model.
    pub reference: String,
    /// The rules applied.
    pub rules: VerdictRules,
    /// One per non-reference model, in summary order.
    pub models: Vec<ModelVerdict>,
    /// The overall answer in one sentence.
    pub answer: String,
}

fn interval(low: Option<f64>, high: Option<f64>) -> Option<(f64, f64)> {
    low.zip(high)
}

fn floor_check(row: &AlignmentAggregate, mean: f64, ci: Option<(f64, f64)>) -> Option<FloorCheck> {
    let (of, f): (&str, &FloorValue) = match (&row.reference_floor, &row.floor) {
        (Some(f), _) => ("reference", f),
        (None, Some(f)) => ("model", f),
        (None, None) => return None,
    };
    let value = ci.unwrap_or((mean, mean));
    let floor = interval(f.ci_low, f.ci_high).unwrap_or((f.mean, f.mean));
    // An exact floor (a deterministic explainer on one model) has no noise to be within.
    let within = f.kind != "exact" && f.pairs > 0 && value.0 <= floor.1 && floor.0 <= value.1;
    Some(FloorCheck { of: of.into(), mean: f.mean, ci: interval(f.ci_low, f.ci_high), within })
}

#[allow(clippy::too_many_arguments)]
fn judged(
    rule: VerdictRule,
    name: String,
    metric: &str,
    value: f64,
    ci: Option<(f64, f64)>,
    threshold: f64,
    comparison: Comparison,
    examples: Option<usize>,
) -> Test {
    let d = decide(rule, value, ci, threshold, comparison, examples);
    Test {
        name,
        metric: metric.into(),
        value: Some(value),
        ci,
        threshold,
        comparison,
        outcome: d.outcome,
        label: d.outcome.label(rule).into(),
        missed_by: d.missed_by,
        examples,
        examples_needed: d.examples_needed,
        floor: None,
        note: d.note,
        pairing: None,
    }
}

fn not_run(name: String, metric: &str, threshold: f64, comparison: Comparison, note: String) -> Test {
    Test {
        name,
        metric: metric.into(),
        value: None,
        ci: None,
        threshold,
        comparison,
        outcome: Outcome::NotRun,
        label: Outcome::NotRun.label(VerdictRule::Interval).into(),
        missed_by: None,
        examples: None,
        examples_needed: None,
        floor: None,
        note: Some(note),
        pairing: None,
    }
}

/// The alignment value a verdict tests under `rule`, with its interval and pairing: under the
/// interval rule the value comparable with the noise floor (across seeds when there are pairs
/// of different seeds: runs that share no explainer noise); under the point rule the paper's
/// same-seed protocol.
pub fn tested_alignment(a: &AlignmentAggregate, rule: VerdictRule) -> (f64, Option<(f64, f64)>, Pairing) {
    match rule {
        VerdictRule::Interval => a.floor_comparable(),
        VerdictRule::Point => (a.mean, interval(a.ci_low, a.ci_high), Pairing::SameSeed),
    }
}

fn alignment_tests(summary: &Summary, rules: &VerdictRules, model: &str) -> Vec<Test> {
    let mut explainers = rules.explainers.clone();
    for a in &summary.alignment {
        if !explainers.contains(&a.explainer) {
            explainers.push(a.explainer.clone());
        }
    }
    let metric = format!("{JACCARD}@{}", rules.k);
    if explainers.is_empty() {
        return vec![not_run(
            "alignment".into(),
            &metric,
            rules.threshold,
            Comparison::AtLeast,
            "alignment not measured: no explainers configured ([[explainers]])".into(),
        )];
    }
    explainers
        .iter()
        .map(|e| {
            let name = format!("alignment {e} {metric}");
            let row = summary
                .alignment
                .iter()
                .find(|a| a.model == model && &a.explainer == e && a.plugin == JACCARD && a.k == Some(rules.k));
            match row {
                None => not_run(
                    name,
                    &metric,
                    rules.threshold,
                    Comparison::AtLeast,
                    format!("alignment not measured: no {metric} value for explainer `{e}`"),
                ),
                Some(r) => {
                    // The interval rule tests the value comparable with the noise floor (runs
                    // of different seeds share no explainer noise); the point rule keeps the
                    // paper's same-seed protocol.
                    let (mean, ci, pairing) = tested_alignment(r, rules.rule);
                    let mut t = judged(
                        rules.rule,
                        name,
                        &metric,
                        mean,
                        ci,
                        rules.threshold,
                        Comparison::AtLeast,
                        Some(r.examples),
                    );
                    t.floor = floor_check(r, mean, ci);
                    t.pairing = Some(pairing);
                    if let (Pairing::CrossSeed, Some(c)) = (pairing, &r.cross_seed) {
                        let same = match interval(r.ci_low, r.ci_high) {
                            Some((lo, hi)) => format!("{:.4} [{lo:.4}, {hi:.4}]", r.mean),
                            None => format!("{:.4}", r.mean),
                        };
                        let remark = format!(
                            "across seeds: {} pairs of runs of different seeds, like the floor's; same seed: {same}",
                            c.pairs
                        );
                        t.note = Some(match t.note.take() {
                            Some(n) => format!("{remark}; {n}"),
                            None => remark,
                        });
                    }
                    t
                }
            }
        })
        .collect()
}

struct SimilarityTest<'a> {
    metric: &'a str,
    name: &'a str,
    threshold: f64,
    comparison: Comparison,
    missing: &'a str,
}

fn similarity_test(summary: &Summary, rules: &VerdictRules, model: &str, spec: SimilarityTest) -> Test {
    let SimilarityTest { metric, name, threshold, comparison, missing } = spec;
    let examples = Some(summary.dataset.eval.kept).filter(|&n| n > 0);
    match summary.similarity.iter().find(|r| r.model == model && r.metric == metric) {
        Some(r) => judged(
            rules.rule,
            name.into(),
            metric,
            r.mean,
            interval(r.ci_low, r.ci_high),
            threshold,
            comparison,
            examples,
        ),
        None => not_run(name.into(), metric, threshold, comparison, format!("{metric} not computed: {missing}")),
    }
}

/// One test per explainer: the reference's comprehensiveness minus the model's ≤ `tolerance`.
fn faithfulness_tests(summary: &Summary, rules: &VerdictRules, model: &str, tolerance: f64) -> Vec<Test> {
    let metric = crate::tables::summary::alignment::FAITHFULNESS_GAP;
    rules
        .explainers
        .iter()
        .map(|e| {
            let name = format!("faithfulness gap {e}");
            match summary.faithfulness.iter().find(|f| f.model == model && &f.explainer == e && f.metric == metric) {
                Some(f) => judged(
                    rules.rule,
                    name,
                    metric,
                    f.mean,
                    f.ci_low.zip(f.ci_high),
                    tolerance,
                    Comparison::AtMost,
                    Some(f.examples),
                ),
                None => not_run(
                    name,
                    metric,
                    tolerance,
                    Comparison::AtMost,
                    format!("faithfulness not measured for explainer `{e}`"),
                ),
            }
        })
        .collect()
}

fn fmt(x: f64) -> String {
    format!("{x:.3}")
}

fn explain(tests: &[Test], status: Status) -> String {
    let failed: Vec<String> = tests
        .iter()
        .filter(|t| t.outcome == Outcome::Fail)
        .map(|t| {
            let interval = t.ci.map(|(lo, hi)| format!(" [{}, {}]", fmt(lo), fmt(hi))).unwrap_or_default();
            let by = if t.label == "different" { "interval missed by" } else { "missed by" };
            let mut s = format!(
                "{} = {}{interval} (needs {} {}; {by} {})",
                t.name,
                t.value.map(fmt).unwrap_or_default(),
                t.comparison.symbol(),
                fmt(t.threshold),
                t.missed_by.map(fmt).unwrap_or_default()
            );
            if t.floor.as_ref().is_some_and(|f| f.within) {
                s.push_str(", overlapping the noise floor");
            }
            s
        })
        .collect();
    let mut missing: Vec<String> = tests
        .iter()
        .filter(|t| t.outcome == Outcome::Inconclusive)
        .map(|t| {
            format!("{} inconclusive ({})", t.name, t.note.as_deref().unwrap_or("the interval straddles the margin"))
        })
        .collect();
    missing.extend(tests.iter().filter(|t| t.outcome == Outcome::NotRun).filter_map(|t| t.note.clone()));
    let mut missing_dedup: Vec<String> = Vec::new();
    for m in missing {
        if !missing_dedup.contains(&m) {
            missing_dedup.push(m);
        }
    }
    match status {
        Status::TrustEquivalent => "every test passed".into(),
        Status::NotTrustEquivalent => {
            let mut s = format!("failed: {}", failed.join("; "));
            if !missing_dedup.is_empty() {
                s.push_str(&format!("; also {}", missing_dedup.join("; ")));
            }
            s
        }
        Status::NotEstablished => missing_dedup.join("; "),
    }
}

/// The verdict of one compared model.
pub fn model_verdict(summary: &Summary, rules: &VerdictRules, model: &str) -> ModelVerdict {
    let tol = &rules.tolerances;
    let mut tests = alignment_tests(summary, rules, model);
    for spec in [
        SimilarityTest {
            metric: "delta-ece",
            name: "delta-ece",
            threshold: tol.ece,
            comparison: Comparison::AbsAtMost,
            missing: "add `ece` to [calibration] metrics",
        },
        SimilarityTest {
            metric: "confidence-tv",
            name: "confidence-tv",
            threshold: tol.confidence_tv,
            comparison: Comparison::AtMost,
            missing: "add `confidence-tv` to [calibration] similarity",
        },
        SimilarityTest {
            metric: "agreement",
            name: "agreement",
            threshold: tol.agreement,
            comparison: Comparison::AtLeast,
            missing: "add `agreement` to [calibration] similarity",
        },
    ] {
        tests.push(similarity_test(summary, rules, model, spec));
    }
    // The prediction shift is tested when the manifest sets a tolerance for it (issue 15.2).
    let shift = [
        (
            tol.flips_correct_to_wrong,
            "flips-correct-to-wrong",
            "add `flips-correct-to-wrong` to [calibration] similarity",
        ),
        (tol.js_divergence, "js-divergence", "add `js-divergence` to [calibration] similarity"),
    ];
    for (threshold, metric, missing) in shift {
        if let Some(threshold) = threshold {
            let spec = SimilarityTest { metric, name: metric, threshold, comparison: Comparison::AtMost, missing };
            tests.push(similarity_test(summary, rules, model, spec));
        }
    }
    if let Some(tolerance) = tol.faithfulness_gap {
        tests.extend(faithfulness_tests(summary, rules, model, tolerance));
    }
    let status = if tests.iter().any(|t| t.outcome == Outcome::Fail) {
        Status::NotTrustEquivalent
    } else if tests.iter().any(|t| t.outcome != Outcome::Pass) {
        Status::NotEstablished
    } else {
        Status::TrustEquivalent
    };
    ModelVerdict {
        model: model.into(),
        status,
        label: status.label().into(),
        explanation: explain(&tests, status),
        tests,
    }
}

/// The verdicts of every non-reference model and the one-sentence answer.
pub fn verdict(summary: &Summary, rules: &VerdictRules) -> Verdict {
    let reference = summary.models.iter().find(|m| m.reference).map(|m| m.name.clone()).unwrap_or_default();
    let models: Vec<ModelVerdict> =
        summary.models.iter().filter(|m| !m.reference).map(|m| model_verdict(summary, rules, &m.name)).collect();
    let answer = answer(&reference, &models);
    Verdict { reference, rules: rules.clone(), models, answer }
}

fn names(models: &[ModelVerdict], status: Status) -> Vec<&str> {
    models.iter().filter(|m| m.status == status).map(|m| m.model.as_str()).collect()
}

fn answer(reference: &str, models: &[ModelVerdict]) -> String {
    if models.is_empty() {
        return format!("Only the reference {reference} is declared: there is nothing to compare it with.");
    }
    let yes = names(models, Status::TrustEquivalent);
    let no = names(models, Status::NotTrustEquivalent);
    let open = names(models, Status::NotEstablished);
    let mut parts = Vec::new();
    if !yes.is_empty() {
        parts.push(format!("trust-equivalent: {}", yes.join(", ")));
    }
    if !no.is_empty() {
        parts.push(format!("not trust-equivalent: {}", no.join(", ")));
    }
    if !open.is_empty() {
        parts.push(format!("not established (a test inconclusive or not run): {}", open.join(", ")));
    }
    let lead = if yes.len() == models.len() {
        format!("Every compared model is trust-equivalent to {reference}")
    } else if yes.is_empty() {
        format!("No compared model is shown to be trust-equivalent to {reference}")
    } else {
        format!("{} of {} compared models are trust-equivalent to {reference}", yes.len(), models.len())
    };
    format!("{lead} — {}.", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::full_summary;

    fn rules() -> VerdictRules {
        crate::report::sample::rules(&["lime", "partition-shap"], VerdictRule::Point)
    }

    fn test<'a>(v: &'a ModelVerdict, name: &str) -> &'a Test {
        v.tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no test {name} in {:?}", v.tests))
    }

    #[test]
    fn passing_model_is_trust_equivalent() {
        let s = full_summary();
        let v = model_verdict(&s, &rules(), "bert-int8");
        assert_eq!(v.status, Status::TrustEquivalent, "{v:?}");
        assert!(v.tests.iter().all(|t| t.outcome == Outcome::Pass));
        assert_eq!(v.tests.len(), 5);
        assert_eq!(v.explanation, "every test passed");
    }

    #[test]
    fn failing_tests_are_listed_with_their_miss() {
        let s = full_summary();
        let v = model_verdict(&s, &rules(), "bert-tiny");
        assert_eq!(v.status, Status::NotTrustEquivalent);
        let lime = test(&v, "alignment lime top-k-jaccard@10");
        assert_eq!(lime.outcome, Outcome::Fail);
        assert!((lime.missed_by.unwrap() - (0.7 - 0.38)).abs() < 1e-12);
        let (lo, hi) = lime.ci.unwrap();
        assert!((lo - 0.35).abs() < 1e-12 && (hi - 0.41).abs() < 1e-12);
        assert!(!lime.floor.as_ref().unwrap().within);
        let ece = test(&v, "delta-ece");
        assert_eq!(ece.outcome, Outcome::Fail);
        assert!((ece.missed_by.unwrap() - (0.061 - 0.02)).abs() < 1e-12);
        let agreement = test(&v, "agreement");
        assert!((agreement.missed_by.unwrap() - (0.95 - 0.86)).abs() < 1e-12);
        assert!(
            v.explanation.contains("agreement = 0.860 [0.852, 0.868] (needs ≥ 0.950; missed by 0.090)"),
            "{}",
            v.explanation
        );
    }

    #[test]
    fn negative_delta_ece_is_tested_by_magnitude() {
        let mut s = full_summary();
        for r in s.similarity.iter_mut().filter(|r| r.metric == "delta-ece" && r.model == "bert-int8") {
            r.mean = -0.03;
        }
        let v = model_verdict(&s, &rules(), "bert-int8");
        let t = test(&v, "delta-ece");
        assert_eq!(t.outcome, Outcome::Fail);
        assert!((t.missed_by.unwrap() - 0.01).abs() < 1e-12);
        r_pass(&mut s, -0.015);
        assert_eq!(model_verdict(&s, &rules(), "bert-int8").status, Status::TrustEquivalent);
    }

    fn r_pass(s: &mut Summary, value: f64) {
        for r in s.similarity.iter_mut().filter(|r| r.metric == "delta-ece" && r.model == "bert-int8") {
            r.mean = value;
        }
    }

    #[test]
    fn no_explainers_is_not_established_never_a_pass() {
        let mut s = full_summary();
        s.alignment.clear();
        let mut r = rules();
        r.explainers.clear();
        let v = model_verdict(&s, &r, "bert-int8");
        assert_eq!(v.status, Status::NotEstablished);
        assert_eq!(v.tests[0].outcome, Outcome::NotRun);
        assert!(v.explanation.contains("alignment not measured"), "{}", v.explanation);
        // A calibration failure still decides the verdict.
        assert_eq!(model_verdict(&s, &r, "bert-tiny").status, Status::NotTrustEquivalent);
        assert!(model_verdict(&s, &r, "bert-tiny").explanation.contains("also alignment not measured"));
    }

    #[test]
    fn a_configured_explainer_without_rows_is_not_run() {
        let s = full_summary();
        let mut r = rules();
        r.explainers.push("occlusion".into());
        let v = model_verdict(&s, &r, "bert-int8");
        assert_eq!(v.status, Status::NotEstablished);
        assert_eq!(test(&v, "alignment occlusion top-k-jaccard@10").outcome, Outcome::NotRun);
    }

    #[test]
    fn a_value_overlapping_the_floor_is_flagged() {
        let s = full_summary();
        let v = model_verdict(&s, &rules(), "bert-int8");
        let shap = test(&v, "alignment partition-shap top-k-jaccard@10");
        let f = shap.floor.as_ref().unwrap();
        assert_eq!(f.of, "reference");
        assert!(f.within, "{f:?}");
    }

    #[test]
    fn the_interval_rule_tests_alignment_across_seeds_and_the_point_rule_same_seed() {
        use crate::tables::summary::alignment::CrossSeedValue;
        let mut s = full_summary();
        // Same-seed runs share LIME's masks: 0.98 there, 0.62 between runs of different seeds,
        // below the reference's floor as two independent runs would be.
        for a in s.alignment.iter_mut().filter(|a| a.model == "bert-int8" && a.explainer == "lime") {
            (a.mean, a.ci_low, a.ci_high) = (0.98, Some(0.97), Some(0.99));
            a.cross_seed = Some(CrossSeedValue { mean: 0.62, ci_low: Some(0.58), ci_high: Some(0.66), pairs: 6 });
            a.reference_floor = Some(FloorValue {
                mean: 0.64,
                ci_low: Some(0.60),
                ci_high: Some(0.68),
                pairs: 3,
                kind: "explanation-seed".into(),
            });
        }
        let mut r = rules();
        r.rule = VerdictRule::Interval;
        let v = model_verdict(&s, &r, "bert-int8");
        let lime = test(&v, "alignment lime top-k-jaccard@10");
        assert_eq!((lime.value, lime.ci, lime.pairing), (Some(0.62), Some((0.58, 0.66)), Some(Pairing::CrossSeed)));
        assert_eq!(lime.outcome, Outcome::Fail, "{lime:?}");
        let note = lime.note.as_deref().unwrap();
        assert!(
            note.contains("across seeds: 6 pairs") && note.contains("same seed: 0.9800 [0.9700, 0.9900]"),
            "{note}"
        );
        assert_eq!(v.status, Status::NotTrustEquivalent);
        // The floor is held against the value tested: [0.58, 0.66] overlaps the reference's
        // floor [0.60, 0.68]; the same-seed [0.97, 0.99] would not.
        assert!(lime.floor.as_ref().unwrap().within, "{lime:?}");
        // The paper's protocol: same seed, under the point rule.
        let point = test(&model_verdict(&s, &rules(), "bert-int8"), "alignment lime top-k-jaccard@10").clone();
        assert_eq!((point.value, point.pairing), (Some(0.98), Some(Pairing::SameSeed)));
        assert_eq!(point.outcome, Outcome::Pass);
        // Without cross-seed pairs (one seed, or a deterministic explainer run once) the
        // interval rule tests the same-seed value.
        let shap = test(&v, "alignment partition-shap top-k-jaccard@10");
        assert_eq!(shap.pairing, Some(Pairing::SameSeed));
    }

    #[test]
    fn missing_similarity_metrics_are_not_run_and_name_the_fix() {
        let mut s = full_summary();
        s.similarity.retain(|r| r.metric != "confidence-tv");
        let v = model_verdict(&s, &rules(), "bert-int8");
        let t = test(&v, "confidence-tv");
        assert_eq!(t.outcome, Outcome::NotRun);
        assert!(t.note.as_ref().unwrap().contains("[calibration] similarity"));
    }

    #[test]
    fn answer_names_every_group() {
        let s = full_summary();
        let v = verdict(&s, &rules());
        assert_eq!(v.reference, "bert-base");
        assert_eq!(v.models.len(), 2);
        assert_eq!(
            v.answer,
            "1 of 2 compared models are trust-equivalent to bert-base — trust-equivalent: bert-int8; not trust-equivalent: bert-tiny."
        );
        let mut only = s.clone();
        only.models.retain(|m| m.reference);
        assert!(verdict(&only, &rules()).answer.contains("nothing to compare"));
    }

    #[test]
    fn under_the_interval_rule_a_straddling_interval_leaves_the_verdict_open() {
        let mut s = full_summary();
        let mut r = rules();
        r.rule = VerdictRule::Interval;
        // bert-tiny's intervals lie wholly outside their margins: different, not trust-equivalent.
        let tiny = model_verdict(&s, &r, "bert-tiny");
        assert_eq!(tiny.status, Status::NotTrustEquivalent);
        assert_eq!(test(&tiny, "agreement").label, "different");
        // The quickstart's case: Jaccard 0.7346 with [0.6546, 0.8180] against 0.7 passes the
        // point rule but is inconclusive under the interval rule.
        for a in s.alignment.iter_mut().filter(|a| a.model == "bert-int8" && a.explainer == "lime") {
            (a.mean, a.ci_low, a.ci_high) = (0.7346, Some(0.6546), Some(0.8180));
        }
        let point = model_verdict(&s, &rules(), "bert-int8");
        assert_eq!(test(&point, "alignment lime top-k-jaccard@10").outcome, Outcome::Pass);
        let v = model_verdict(&s, &r, "bert-int8");
        let lime = test(&v, "alignment lime top-k-jaccard@10");
        assert_eq!((lime.outcome, lime.label.as_str()), (Outcome::Inconclusive, "inconclusive"));
        assert!(lime.examples_needed.is_some_and(|n| n as usize > lime.examples.unwrap()), "{lime:?}");
        assert_ne!(v.status, Status::TrustEquivalent);
        assert!(v.explanation.contains("alignment lime top-k-jaccard@10 inconclusive"), "{}", v.explanation);
    }

    #[test]
    fn a_faithfulness_tolerance_adds_a_test_per_explainer() {
        let mut s = full_summary();
        let mut r = rules();
        r.tolerances.faithfulness_gap = Some(0.05);
        let gap = |model: &str, mean: f64| crate::tables::summary::alignment::FaithfulnessAggregate {
            model: model.into(),
            explainer: "lime".into(),
            metric: crate::tables::summary::alignment::FAITHFULNESS_GAP.into(),
            mean,
            std: None,
            ci_low: Some(mean - 0.01),
            ci_high: Some(mean + 0.01),
            runs: 3,
            examples: 100,
        };
        s.faithfulness = vec![gap("bert-int8", 0.02), gap("bert-tiny", 0.19)];
        let int8 = model_verdict(&s, &r, "bert-int8");
        assert_eq!(test(&int8, "faithfulness gap lime").outcome, Outcome::Pass);
        assert_eq!(test(&int8, "faithfulness gap partition-shap").outcome, Outcome::NotRun);
        let tiny = model_verdict(&s, &r, "bert-tiny");
        assert_eq!(test(&tiny, "faithfulness gap lime").outcome, Outcome::Fail);
        // Without the tolerance there is no faithfulness test.
        assert!(model_verdict(&s, &rules(), "bert-int8").tests.iter().all(|t| !t.name.starts_with("faithfulness")));
    }

    #[test]
    fn shift_tolerances_add_tests() {
        let mut s = full_summary();
        let mut r = rules();
        r.tolerances.flips_correct_to_wrong = Some(0.02);
        r.tolerances.js_divergence = Some(0.01);
        let row = |model: &str, metric: &str, mean: f64| crate::tables::summary::AggregateRow {
            model: model.into(),
            metric: metric.into(),
            mean,
            std: None,
            ci_low: Some(mean - 0.001),
            ci_high: Some(mean + 0.001),
            seeds: 3,
        };
        s.similarity.push(row("bert-int8", "flips-correct-to-wrong", 0.01));
        s.similarity.push(row("bert-tiny", "flips-correct-to-wrong", 0.09));
        let int8 = model_verdict(&s, &r, "bert-int8");
        assert_eq!(test(&int8, "flips-correct-to-wrong").outcome, Outcome::Pass);
        assert_eq!(test(&int8, "js-divergence").outcome, Outcome::NotRun, "not computed: not run, never a pass");
        assert_eq!(int8.status, Status::NotEstablished);
        let tiny = model_verdict(&s, &r, "bert-tiny");
        assert_eq!(test(&tiny, "flips-correct-to-wrong").outcome, Outcome::Fail);
        // Without tolerances the shift is reported, not tested.
        assert!(model_verdict(&s, &rules(), "bert-int8").tests.iter().all(|t| !t.name.starts_with("flips")));
    }

    #[test]
    fn nan_fails() {
        for rule in [VerdictRule::Point, VerdictRule::Interval] {
            let t = judged(rule, "x".into(), "x", f64::NAN, None, 0.5, Comparison::AtLeast, None);
            assert_eq!(t.outcome, Outcome::Fail);
        }
    }
}
