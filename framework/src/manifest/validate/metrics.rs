//! Validation of `[alignment]` and `[calibration]`: K, threshold, the metric lists (each
//! plugin once, settings resolved), bins, confidence and the tolerances.

use super::{Checker, MAX_BINS, ResolvedMetric};
use crate::manifest::schema::{Manifest, MetricRef};
use crate::plugin::alignment::AlignmentMetricEntry;
use crate::plugin::metric::CalibrationMetricEntry;
use crate::plugin::similarity::SimilarityMetricEntry;
use crate::plugin::{self, PluginKind};
use serde_json::Value;
use std::collections::BTreeSet;

/// `[alignment]`: the alignment metrics, in manifest order.
pub(super) fn alignment(c: &mut Checker, m: &Manifest) -> Vec<ResolvedMetric> {
    if m.alignment.k.is_empty() || m.alignment.k.contains(&0) {
        c.error(&["alignment", "k"], "give one or more positive top-K sizes, e.g. k = [10]");
    }
    if !(0.0..=1.0).contains(&m.alignment.threshold) {
        c.error(&["alignment", "threshold"], "a Jaccard threshold lies in [0, 1]");
    }
    if m.alignment.examples == 0 {
        c.error(&["alignment", "examples"], "explain at least one example, e.g. examples = 100");
    }
    let alignment_metrics =
        resolve_metrics(c, &["alignment", "metrics"], &m.alignment.metrics, PluginKind::Alignment, |n| {
            AlignmentMetricEntry::find(n).map(|e| &e.info)
        });
    for (i, r) in m.alignment.metrics.iter().enumerate() {
        for key in ["k", "on"] {
            if r.settings().get(key).is_some() {
                c.error(
                    &["alignment", "metrics", &i.to_string(), key],
                    format!(
                        "`{key}` is set for every metric by [alignment] {}; remove it here",
                        if key == "k" { "k" } else { "features" }
                    ),
                );
            }
        }
    }

    alignment_metrics
}

/// `[calibration]`: the calibration and similarity metrics, in manifest order.
pub(super) fn calibration(c: &mut Checker, m: &Manifest) -> (Vec<ResolvedMetric>, Vec<ResolvedMetric>) {
    let metrics = resolve_metrics(c, &["calibration", "metrics"], &m.calibration.metrics, PluginKind::Metric, |n| {
        CalibrationMetricEntry::find(n).map(|e| &e.info)
    });
    let similarity =
        resolve_metrics(c, &["calibration", "similarity"], &m.calibration.similarity, PluginKind::Similarity, |n| {
            SimilarityMetricEntry::find(n).map(|e| &e.info)
        });
    // [calibration] bins and every metric's own `bins`: a count past MAX_BINS would only ask
    // for memory (one slot per bin and class) without a usable reliability diagram.
    if m.calibration.bins.get() > MAX_BINS {
        c.error(
            &["calibration", "bins"],
            format!("{} bins: at most {MAX_BINS} (10 or 15 is usual)", m.calibration.bins),
        );
    }
    for (list, refs) in [("metrics", &m.calibration.metrics), ("similarity", &m.calibration.similarity)] {
        for (i, r) in refs.iter().enumerate() {
            if let Some(bins) = r.settings().get("bins").and_then(Value::as_u64).filter(|&b| b > MAX_BINS as u64) {
                c.error(
                    &["calibration", list, &i.to_string(), "bins"],
                    format!("{bins} bins: at most {MAX_BINS} (10 or 15 is usual)"),
                );
            }
        }
    }
    super::tolerances::check(&m.calibration.tolerances, c);
    if !(m.calibration.confidence > 0.0 && m.calibration.confidence < 1.0) {
        c.error(&["calibration", "confidence"], "a confidence level lies strictly between 0 and 1, e.g. 0.95");
    }

    (metrics, similarity)
}

fn resolve_metrics(
    c: &mut Checker,
    list: &[&str],
    refs: &[MetricRef],
    kind: PluginKind,
    find: impl Fn(&str) -> Option<&'static plugin::PluginInfo>,
) -> Vec<ResolvedMetric> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, r) in refs.iter().enumerate() {
        let idx = i.to_string();
        let Some(info) = find(r.name()) else {
            c.unknown_plugin(&[list[0], list[1], &idx], kind, r.name());
            continue;
        };
        if !seen.insert(r.name().to_string()) {
            c.error(&[list[0], list[1], &idx], format!("`{}` is listed twice", r.name()));
            continue;
        }
        match (info.resolve)(&r.settings()) {
            Ok(settings) => {
                for e in (info.check)(&settings) {
                    c.settings_error(&[list[0], list[1], &idx], e);
                }
                out.push(ResolvedMetric { name: r.name().to_string(), settings })
            }
            Err(e) => c.settings_error(&[list[0], list[1], &idx], e),
        }
    }
    out
}
