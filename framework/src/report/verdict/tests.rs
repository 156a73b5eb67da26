//! The verdict rules on the sample summary: every outcome, both rules, missing tests.

use super::*;
use crate::report::sample::full_summary;
use crate::tables::summary::alignment::FloorValue;

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
    assert!(note.contains("across seeds: 6 pairs") && note.contains("same seed: 0.9800 [0.9700, 0.9900]"), "{note}");
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
    r.faithfulness_gap = Some(0.05);
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
    r.margins.push(crate::report::sample::margin("flips-correct-to-wrong", 0.02, Comparison::AtMost));
    r.margins.push(crate::report::sample::margin("js-divergence", 0.01, Comparison::AtMost));
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
