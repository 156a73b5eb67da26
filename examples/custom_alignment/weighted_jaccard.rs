//! `weighted-jaccard`: a user's own alignment metric plugin, written outside the
//! `trustx-plugins` crate (the README's "Writing a plugin" walks through this file).
//!
//! The paper's top-K Jaccard only asks *whether* a word is among the K most important of
//! both explanations. The weighted Jaccard index (Ioffe 2010, "Improved consistent
//! sampling, weighted minhash and L1 sketching") also asks *how much* weight each
//! explanation gives it: over the union U of the two top-K feature sets,
//!
//! ```text
//! WJ = Σ_{f∈U} min(a(f), b(f)) / Σ_{f∈U} max(a(f), b(f))
//! ```
//!
//! where a(f) is |weight| of feature f in the first attribution (0 when f has no non-zero
//! weight there), b(f) likewise in the second. With `normalize = true` (the default) each
//! side's magnitudes are first divided by their sum over U, so the index compares where
//! the two explanations put their attribution mass, not how large their weights are
//! (LIME's and SHAP's weights of two models live on different scales). Signs are ignored:
//! `sign-agreement` measures those. WJ = 1 when U is empty (neither attribution has a
//! non-zero weight), as for `top-k-jaccard`.
//!
//! A plugin file has three parts: the settings struct, the type implementing the kind's
//! trait, and the `inventory::submit!` line that registers it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use trustx_framework::explain::{Attribution, FeatureKey};
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

// Part 1: the settings, as a manifest gives them in the alignment metrics list, e.g.
// `{ metric = "weighted-jaccard", normalize = false }`. The doc comments are what
// `trustx plugins` prints; the defaults make every key optional. The engine fills `k` and
// `on` from the alignment section's top-K sizes and feature identity, as for the built-in
// top-K metrics.

/// Settings of `weighted-jaccard`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedJaccardSettings {
    /// List length K (at least 1): the union of both top-K feature sets is compared.
    #[serde(default = "default_k")]
    pub k: NonZeroUsize,
    /// Compare features by `word` text (the paper) or by `position`.
    #[serde(default)]
    pub on: FeatureKey,
    /// Divide each side's |weights| by their sum over the union first (scale-free).
    #[serde(default = "default_normalize")]
    pub normalize: bool,
}

fn default_k() -> NonZeroUsize {
    NonZeroUsize::new(10).unwrap_or(NonZeroUsize::MIN)
}

fn default_normalize() -> bool {
    true
}

impl Default for WeightedJaccardSettings {
    fn default() -> Self {
        WeightedJaccardSettings { k: default_k(), on: FeatureKey::Word, normalize: default_normalize() }
    }
}

// Part 2: the metric. NAME is what a manifest writes, VERSION enters the key of every
// alignment node that uses it (bump it when the numbers it computes change), DEFINITION is
// printed in the report.

/// The `weighted-jaccard` alignment metric.
pub struct WeightedJaccard;

impl AlignmentMetric for WeightedJaccard {
    type Settings = WeightedJaccardSettings;
    const NAME: &'static str = "weighted-jaccard";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Weighted Jaccard index of |weights| over the union of the two top-K sets";
    const DEFINITION: &'static str = "WJ = Σ min(a(f), b(f)) / Σ max(a(f), b(f)) over the union U of the two top-K \
        feature sets (K features of largest |weight|, ties in feature order, zero weights excluded, compared by word \
        text or position), where a(f) and b(f) are the features' |weight| in each attribution (0 when absent) and, \
        with normalize = true, each side is first divided by its sum over U; signs are ignored; WJ = 1 when U is empty.";

    fn compute(s: &WeightedJaccardSettings, a: &Attribution, b: &Attribution) -> f64 {
        let (ra, rb) = (a.ranked(s.on), b.ranked(s.on));
        let k = s.k.get();
        // U in a fixed order (a's top-K, then b's top-K not already in it): the sums below
        // add in the same order on every run.
        let mut union: Vec<&str> = Vec::new();
        for (key, _) in ra.iter().take(k).chain(rb.iter().take(k)) {
            if !union.contains(&key.as_str()) {
                union.push(key);
            }
        }
        if union.is_empty() {
            return 1.0;
        }
        // |weight| of every ranked key (its best occurrence), looked up for each f in U.
        let magnitudes = |ranked: &[(String, f64)]| -> Vec<f64> {
            let by_key: HashMap<&str, f64> = ranked.iter().map(|(key, w)| (key.as_str(), w.abs())).collect();
            let m: Vec<f64> = union.iter().map(|f| by_key.get(f).copied().unwrap_or(0.0)).collect();
            let total: f64 = m.iter().sum();
            if s.normalize && total > 0.0 { m.iter().map(|x| x / total).collect() } else { m }
        };
        let (ma, mb) = (magnitudes(&ra), magnitudes(&rb));
        let (mut low, mut high) = (0.0, 0.0);
        for (x, y) in ma.iter().zip(&mb) {
            low += x.min(*y);
            high += x.max(*y);
        }
        // high > 0: every f in U has a non-zero weight on at least one side.
        if high > 0.0 { low / high } else { 1.0 }
    }
}

// Part 3: the registration. Linking this file into a binary is all the engine needs to
// find the metric by name; nothing else names it.
inventory::submit! { AlignmentMetricEntry::of::<WeightedJaccard>() }
