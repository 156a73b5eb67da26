//! Deciding one test: a value and its interval against a margin under the manifest's rule
//! ([`crate::report::equivalence`]), or a test that could not run and why; the similarity
//! tests read from the summary.

use super::*;

pub(super) fn interval(low: Option<f64>, high: Option<f64>) -> Option<(f64, f64)> {
    low.zip(high)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn judged(
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

pub(super) fn not_run(name: String, metric: &str, threshold: f64, comparison: Comparison, note: String) -> Test {
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
/// The test of one margin: the model's row of the margin's metric in the similarity table.
pub(super) fn similarity_test(summary: &Summary, rules: &VerdictRules, model: &str, margin: &Margin) -> Test {
    let Margin { metric, threshold, comparison, missing } = margin;
    let (metric, threshold, comparison) = (metric.as_str(), *threshold, *comparison);
    let examples = Some(summary.dataset.eval.kept).filter(|&n| n > 0);
    match summary.similarity.iter().find(|r| r.model == model && r.metric == metric) {
        Some(r) => judged(
            rules.rule,
            metric.into(),
            metric,
            r.mean,
            interval(r.ci_low, r.ci_high),
            threshold,
            comparison,
            examples,
        ),
        None => not_run(metric.into(), metric, threshold, comparison, format!("{metric} not computed: {missing}")),
    }
}
