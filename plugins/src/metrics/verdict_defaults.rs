//! Tests of what the metric plugins declare to the engine: the default metric lists, the
//! verdict's default margins and how `[calibration.tolerances]` overrides them by name, and
//! the report's first-table columns.

use trustx_framework::manifest::Manifest;
use trustx_framework::plan::verdict_rules::{Comparison, Margin, VerdictRules};
use trustx_framework::plugin::alignment::AlignmentMetricEntry;
use trustx_framework::plugin::metric::CalibrationMetricEntry;
use trustx_framework::plugin::overview_column::OverviewColumns;
use trustx_framework::plugin::similarity::SimilarityMetricEntry;

const MANIFEST: &str = r#"
[experiment]
name = "x"
seeds = [1]
[dataset]
loader = "glue"
[dataset.eval]
path = "a"
[models.a]
source = "predictions"
reference = true
[[explainers]]
explainer = "lime"
[alignment]
k = [5, 10]
threshold = 0.6
"#;

fn rules(extra: &str) -> VerdictRules {
    let m: Manifest = toml::from_str(&format!("{MANIFEST}{extra}")).unwrap();
    VerdictRules::from_manifest(&m).unwrap()
}

fn margin(metric: &str, threshold: f64, comparison: Comparison, list: &str) -> Margin {
    let name = metric.strip_prefix("delta-").unwrap_or(metric);
    Margin { metric: metric.into(), threshold, comparison, missing: format!("add `{name}` to [calibration] {list}") }
}

#[test]
fn default_lists_come_from_the_plugins_in_their_declared_order() {
    assert_eq!(
        CalibrationMetricEntry::defaults(),
        ["accuracy", "macro-f1", "ece", "mce", "ace", "classwise-ece", "brier", "positive-brier", "nll"]
    );
    assert_eq!(
        SimilarityMetricEntry::defaults(),
        [
            "agreement",
            "confidence-tv",
            "reliability-distance",
            "flips-correct-to-wrong",
            "flips-wrong-to-correct",
            "kl-divergence",
            "js-divergence",
            "js-divergence-p95"
        ]
    );
    assert_eq!(
        AlignmentMetricEntry::defaults(),
        ["top-k-jaccard", "rbo", "rank-agreement", "sign-agreement", "signed-rank-agreement", "kendall-tau"]
    );
}

#[test]
fn default_margins_are_the_plugins_and_the_manifest_overrides_by_name() {
    let r = rules("");
    assert_eq!((r.k, r.threshold, r.alignment_metric.as_str()), (5, 0.6, "top-k-jaccard"));
    assert_eq!(r.explainers, vec!["lime".to_string()]);
    assert_eq!(
        r.margins,
        vec![
            margin("delta-ece", 0.02, Comparison::AbsAtMost, "metrics"),
            margin("agreement", 0.95, Comparison::AtLeast, "similarity"),
            margin("confidence-tv", 0.1, Comparison::AtMost, "similarity"),
        ]
    );
    assert_eq!(r.faithfulness_gap, None);
    // Old spellings (`_`) and new metrics; a metric not listed is tested and says what to add.
    let r = rules(
        "[calibration]\nmetrics = [\"ece\"]\nsimilarity = [\"agreement\"]\n[calibration.tolerances]\n\
         ece = 0.05\nconfidence_tv = 0.2\njs-divergence = 0.01\nbrier = 0.03\nfaithfulness_gap = 0.1\n",
    );
    assert_eq!(
        r.margins,
        vec![
            margin("delta-ece", 0.05, Comparison::AbsAtMost, "metrics"),
            margin("delta-brier", 0.03, Comparison::AbsAtMost, "metrics"),
            margin("agreement", 0.95, Comparison::AtLeast, "similarity"),
            margin("confidence-tv", 0.2, Comparison::AtMost, "similarity"),
            margin("js-divergence", 0.01, Comparison::AtMost, "similarity"),
        ]
    );
    assert_eq!(r.faithfulness_gap, Some(0.1));
}

#[test]
fn trustx_plugins_says_what_each_metric_declares() {
    let role = |kind, name| {
        trustx_framework::plugin::find(kind, name).and_then(trustx_framework::plugin::declared_role).unwrap_or_default()
    };
    use trustx_framework::plugin::PluginKind;
    assert!(
        role(PluginKind::Metric, "ece").contains("computed by default; verdict: |ece(model) − ece(reference)| ≤ 0.02")
    );
    assert!(role(PluginKind::Similarity, "agreement").contains("agreement ≥ 0.95"));
    assert_eq!(role(PluginKind::Similarity, "kl-divergence-p95"), "");
    assert!(role(PluginKind::Alignment, "top-k-jaccard").contains("[alignment] threshold"));
}

#[test]
fn the_first_table_has_the_columns_the_report_tests_render() {
    // The framework's report tests render `sample::overview_columns()`: it must be what the
    // bundled metrics declare, or those tests check a table no run produces.
    assert_eq!(OverviewColumns::declared(), trustx_framework::report::sample::overview_columns());
}
