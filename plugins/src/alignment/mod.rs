//! Alignment metric plugins, one file each
//! ([`AlignmentMetric`](trustx_framework::plugin::alignment::AlignmentMetric)): per-example
//! agreement of two attributions (Krishna et al. 2022, "The Disagreement Problem in
//! Explainable Machine Learning", plus rank-biased overlap, Webber et al. 2010).
//!
//! Every metric compares top-K lists: features ranked by |weight| with ties in feature
//! order, zero weights never ranked, keyed by word text (default, as the paper) or by
//! position ([`Attribution::ranked`](trustx_framework::explain::Attribution::ranked)).
//! When fewer than K features have a non-zero weight the lists are shorter, and the
//! Krishna metrics divide by the longer list's length instead of K; two empty lists agree
//! perfectly (1).

pub mod kendall_tau;
pub mod rank_agreement;
pub mod rbo;
pub mod sign_agreement;
pub mod signed_rank_agreement;
pub mod top_k_jaccard;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::explain::{Attribution, FeatureKey};

/// Settings shared by the top-K metrics.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopKSettings {
    /// List length K (at least 1).
    #[serde(default = "default_k")]
    pub k: std::num::NonZeroUsize,
    /// Compare features by `word` text (the paper) or by `position`.
    #[serde(default)]
    pub on: FeatureKey,
}

fn default_k() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(trustx_framework::plugin::alignment::DEFAULT_K).unwrap_or(std::num::NonZeroUsize::MIN)
}

impl Default for TopKSettings {
    fn default() -> Self {
        Self { k: default_k(), on: FeatureKey::Word }
    }
}

/// The two top-K lists as (key, weight), best first.
pub(crate) fn top_lists(a: &Attribution, b: &Attribution, k: usize, on: FeatureKey) -> [Vec<(String, f64)>; 2] {
    [a, b].map(|x| x.ranked(on).into_iter().take(k).collect())
}

#[cfg(test)]
pub(crate) mod testing {
    use trustx_framework::explain::{Attribution, FeatureRef};

    /// An attribution over `words` (positions 0..n in segment 0) with `weights`.
    pub fn attr(words: &[&str], weights: &[f64]) -> Attribution {
        Attribution {
            example_id: "e".into(),
            class: 0,
            features: words
                .iter()
                .enumerate()
                .map(|(i, w)| FeatureRef { segment: 0, position: i, text: w.to_string() })
                .collect(),
            weights: weights.to_vec(),
        }
    }

    pub fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[cfg(test)]
mod tests {
    use super::testing::attr;
    use trustx_framework::plugin::PluginKind;
    use trustx_framework::plugin::alignment::AlignmentMetricEntry;

    #[test]
    fn every_registered_metric_checks_examples() {
        let entries: Vec<&AlignmentMetricEntry> = trustx_framework::inventory::iter::<AlignmentMetricEntry>().collect();
        assert!(entries.len() >= 6, "{} alignment metrics registered", entries.len());
        for e in entries {
            let name = e.info.name;
            assert_eq!(e.info.kind, PluginKind::Alignment);
            assert!(e.definition.len() > 40, "{name}");
            assert!(e.info.settings().iter().all(|d| d.default.is_some()), "{name}");
            let a = attr(&["x", "y"], &[1.0, 0.5]);
            let mut b = a.clone();
            assert_eq!((e.compute)(&serde_json::json!({}), &a, &b).unwrap(), 1.0, "{name}: identical");
            b.example_id = "other".into();
            assert!((e.compute)(&serde_json::json!({}), &a, &b).is_err());
            assert!((e.compute)(&serde_json::json!({"k": 0}), &a, &a).is_err());
        }
    }
}
