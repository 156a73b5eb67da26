//! The trust-equivalence verdict of each compared model, from the summary and the manifest's
//! thresholds: pure, so the rules are tested here and the report only renders the result.
//!
//! The tests ([`VerdictRules`], resolved by the plan from the manifest and the plugins'
//! declared defaults): the verdict's alignment metric (Jaccard@K, the first K of
//! `[alignment] k`) of every explainer ≥ `[alignment] threshold`, then one test per margin —
//! by default |ΔECE| ≤ 0.02, prediction agreement ≥ 0.95, confidence-histogram distance
//! ≤ 0.1 — and the faithfulness gap when `[calibration.tolerances]` sets one. Each decides by [`super::equivalence`]: under the default interval
//! rule a test is *equivalent*, *different* or *inconclusive* from its (1 − 2α) interval.
//! A model is trust-equivalent only when every test is equivalent (passes); one different
//! (failed) test makes it "not trust-equivalent"; otherwise — a test inconclusive or not run
//! (no explainers, a metric not computed) — it is "not established", never a pass.

use crate::tables::summary::Summary;
use crate::tables::summary::alignment::{AlignmentAggregate, Pairing};
use serde::{Deserialize, Serialize};

use super::equivalence::decide;
pub use super::equivalence::{Comparison, Outcome};
use crate::manifest::schema::VerdictRule;
pub use crate::plan::verdict_rules::{Margin, VerdictRules};

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

mod explanations;
mod judge;
#[cfg(test)]
mod tests;

pub use explanations::tested_alignment;
use explanations::*;
use judge::*;

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
    let mut tests = alignment_tests(summary, rules, model);
    for margin in &rules.margins {
        tests.push(similarity_test(summary, rules, model, margin));
    }
    if let Some(tolerance) = rules.faithfulness_gap {
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
