//! The verdict's tests on explanations: Jaccard@K of every explainer against the threshold,
//! held beside the noise floor, on the value comparable with the floor (across seeds under the
//! interval rule), and the faithfulness gap when a tolerance is set.

use super::*;

pub(super) fn floor_check(row: &AlignmentAggregate, mean: f64, ci: Option<(f64, f64)>) -> Option<FloorCheck> {
    let (of, f) = row.compared_floor()?;
    let within = f.overlaps(ci.unwrap_or((mean, mean)));
    Some(FloorCheck { of: of.into(), mean: f.mean, ci: interval(f.ci_low, f.ci_high), within })
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

pub(super) fn alignment_tests(summary: &Summary, rules: &VerdictRules, model: &str) -> Vec<Test> {
    let mut explainers = rules.explainers.clone();
    for a in &summary.alignment {
        if !explainers.contains(&a.explainer) {
            explainers.push(a.explainer.clone());
        }
    }
    let metric = format!("{}@{}", rules.alignment_metric, rules.k);
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
            let row = summary.alignment.iter().find(|a| {
                a.model == model && &a.explainer == e && a.plugin == rules.alignment_metric && a.k == Some(rules.k)
            });
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

/// One test per explainer: the reference's comprehensiveness minus the model's ≤ `tolerance`.
pub(super) fn faithfulness_tests(summary: &Summary, rules: &VerdictRules, model: &str, tolerance: f64) -> Vec<Test> {
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
