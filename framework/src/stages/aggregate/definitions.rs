//! What the summary says about each metric: its convention (binning, norm, mode, estimator)
//! with its settings filled in, its definition, and which direction is better — all from
//! the plugins' declarations, by metric name.

use crate::plan::node_config::{AggregateConfig, EvalConfig};
use std::collections::BTreeMap;

/// Each metric's convention (binning, norm, mode, estimator) with its settings filled in, by
/// metric name; a `delta-` row (a model minus the reference) has its metric's.
pub(super) fn conventions(cfg: &EvalConfig) -> BTreeMap<String, [String; 4]> {
    let mut out = BTreeMap::new();
    for m in &cfg.metrics {
        if let Some(e) = crate::plugin::metric::CalibrationMetricEntry::find(&m.name) {
            let c = e.convention.filled(&m.settings, cfg.bins);
            out.insert(format!("delta-{}", m.name), c.clone());
            out.insert(m.name.clone(), c);
        }
    }
    for m in &cfg.similarity {
        if let Some(e) = crate::plugin::similarity::SimilarityMetricEntry::find(&m.name) {
            out.insert(m.name.clone(), e.convention.filled(&m.settings, cfg.bins));
        }
    }
    out
}

/// Each metric's definition (with its convention in words) and whether lower is better (a
/// `delta-` row has its metric's direction), for the metrics of `agg`.
pub(super) fn definitions(agg: &AggregateConfig) -> (BTreeMap<String, String>, BTreeMap<String, bool>) {
    let cfg = &agg.calibration;
    let mut definitions = BTreeMap::new();
    let mut lower_is_better = BTreeMap::new();
    for m in &cfg.metrics {
        if let Some(e) = crate::plugin::metric::CalibrationMetricEntry::find(&m.name) {
            definitions
                .insert(m.name.clone(), format!("{} {}", e.definition, e.convention.sentence(&m.settings, cfg.bins)));
            lower_is_better.insert(m.name.clone(), e.lower_is_better);
            lower_is_better.insert(format!("delta-{}", m.name), e.lower_is_better);
        }
    }
    for s in &cfg.similarity {
        if let Some(e) = crate::plugin::similarity::SimilarityMetricEntry::find(&s.name) {
            definitions
                .insert(s.name.clone(), format!("{} {}", e.definition, e.convention.sentence(&s.settings, cfg.bins)));
            lower_is_better.insert(s.name.clone(), e.lower_is_closer);
        }
    }
    if !agg.explainers.is_empty() {
        for name in &agg.alignment.metrics {
            if let Some(e) = crate::plugin::alignment::AlignmentMetricEntry::find(name) {
                definitions.insert(name.clone(), e.definition.to_string());
                lower_is_better.insert(name.clone(), false);
            }
        }
    }
    (definitions, lower_is_better)
}
