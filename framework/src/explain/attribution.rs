//! Attributions: a weight per feature for one example and one explained class, the rows
//! they are stored as, and the ranked top-K that alignment metrics compare.
//!
//! Ranking: features are ranked by |weight|, largest first; ties keep feature order (segment
//! by segment, in text order). A feature of weight exactly 0 is never ranked: the explainer
//! gave it no importance (lime's unselected features, a word the model ignores), so it
//! cannot enter a top-K set. Features are compared by their word text (the paper's choice:
//! the same word in two models' explanations is the same feature) or by their position
//! (`segment:position`). On words, a text that occurs more than once keeps its highest
//! ranked occurrence (and that occurrence's weight).

use super::features::Features;
use anyhow::{Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One row of the attributions table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionRow {
    /// The example's id.
    pub example_id: String,
    /// The explained class.
    pub class: usize,
    /// The feature's word text.
    pub feature: String,
    /// Segment of the feature (0 = text or premise, 1 = hypothesis).
    pub segment: usize,
    /// Position of the (first) word of the feature in its segment.
    pub position: usize,
    /// The attribution.
    pub weight: f64,
    /// The seed of a stochastic explainer; `None` for a deterministic one.
    pub seed: Option<u64>,
}

/// A feature as an attribution refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRef {
    /// Segment index.
    pub segment: usize,
    /// Position of the (first) word in its segment.
    pub position: usize,
    /// Word text.
    pub text: String,
}

/// How features are identified when two attributions are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKey {
    /// By word text (the paper's choice).
    #[default]
    Word,
    /// By `segment:position`.
    Position,
}

/// A weight per feature for one example and class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The example's id.
    pub example_id: String,
    /// The explained class.
    pub class: usize,
    /// The features, in feature order.
    pub features: Vec<FeatureRef>,
    /// One weight per feature.
    pub weights: Vec<f64>,
}

impl Attribution {
    /// An attribution of `weights` (one per feature of `features`).
    pub fn new(example_id: &str, class: usize, features: &Features, weights: Vec<f64>) -> Result<Self> {
        if weights.len() != features.len() {
            bail!("example {example_id}: {} weights for {} features", weights.len(), features.len());
        }
        if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
            bail!(
                "example {example_id}: the weight of feature {i} ({:?}) is {}",
                features.features()[i].text,
                weights[i]
            );
        }
        let features = features
            .features()
            .iter()
            .map(|f| FeatureRef { segment: f.segment, position: f.position, text: f.text.clone() })
            .collect();
        Ok(Self { example_id: example_id.to_string(), class, features, weights })
    }

    /// The attribution as table rows, one per feature.
    pub fn rows(&self, seed: Option<u64>) -> Vec<AttributionRow> {
        self.features
            .iter()
            .zip(&self.weights)
            .map(|(f, &weight)| AttributionRow {
                example_id: self.example_id.clone(),
                class: self.class,
                feature: f.text.clone(),
                segment: f.segment,
                position: f.position,
                weight,
                seed,
            })
            .collect()
    }

    /// Rebuilds attributions from rows, one per (example, class) in order of first
    /// appearance; rows of one attribution keep their order.
    pub fn from_rows(rows: &[AttributionRow]) -> Vec<Attribution> {
        let mut out: Vec<Attribution> = Vec::new();
        let mut index: std::collections::HashMap<(&str, usize), usize> = Default::default();
        for r in rows {
            let i = *index.entry((r.example_id.as_str(), r.class)).or_insert_with(|| {
                out.push(Attribution {
                    example_id: r.example_id.clone(),
                    class: r.class,
                    features: Vec::new(),
                    weights: Vec::new(),
                });
                out.len() - 1
            });
            out[i].features.push(FeatureRef { segment: r.segment, position: r.position, text: r.feature.clone() });
            out[i].weights.push(r.weight);
        }
        out
    }

    /// The comparison key of feature `i`.
    pub fn key(&self, i: usize, on: FeatureKey) -> String {
        let f = &self.features[i];
        match on {
            FeatureKey::Word => f.text.clone(),
            FeatureKey::Position => format!("{}:{}", f.segment, f.position),
        }
    }

    /// Every non-zero feature as (key, weight), ranked by |weight| (ties: feature order),
    /// each key once (its highest ranked occurrence).
    pub fn ranked(&self, on: FeatureKey) -> Vec<(String, f64)> {
        let mut order: Vec<usize> = (0..self.weights.len()).filter(|&i| self.weights[i] != 0.0).collect();
        order.sort_by(|&a, &b| self.weights[b].abs().total_cmp(&self.weights[a].abs()).then(a.cmp(&b)));
        let mut seen = HashSet::new();
        order
            .into_iter()
            .filter_map(|i| {
                let k = self.key(i, on);
                seen.insert(k.clone()).then_some((k, self.weights[i]))
            })
            .collect()
    }

    /// The K highest ranked keys (fewer when fewer features have a non-zero weight).
    pub fn top_k(&self, k: usize, on: FeatureKey) -> Vec<String> {
        self.ranked(on).into_iter().take(k).map(|(key, _)| key).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::features::WordSplitter;

    fn attr(weights: Vec<f64>) -> Attribution {
        let f = Features::new(&["the cat saw the dog".to_string()], &WordSplitter::default(), false).unwrap();
        Attribution::new("e", 1, &f, weights).unwrap()
    }

    #[test]
    fn top_k_ties_zeros_and_duplicates() {
        let a = attr(vec![0.5, -0.5, 0.0, -0.9, 0.1]);
        assert_eq!(a.top_k(10, FeatureKey::Position), ["0:3", "0:0", "0:1", "0:4"]);
        // Words: "the" at position 3 outranks "the" at 0, which is dropped.
        assert_eq!(a.ranked(FeatureKey::Word), [("the".into(), -0.9), ("cat".into(), -0.5), ("dog".into(), 0.1)]);
        assert_eq!(a.top_k(2, FeatureKey::Word), ["the", "cat"]);
        assert!(attr(vec![0.0; 5]).top_k(3, FeatureKey::Word).is_empty());
    }

    #[test]
    fn rows_round_trip() {
        let a = attr(vec![0.5, -0.5, 0.0, -0.9, 0.1]);
        let rows = a.rows(Some(3));
        assert_eq!(rows[3].feature, "the");
        assert_eq!(rows[3].position, 3);
        assert_eq!(rows[3].seed, Some(3));
        assert_eq!(Attribution::from_rows(&rows), vec![a]);
        let f = Features::new(&["a".to_string()], &WordSplitter::default(), false).unwrap();
        assert!(Attribution::new("e", 0, &f, vec![f64::NAN]).is_err());
        assert!(Attribution::new("e", 0, &f, vec![]).is_err());
    }
}
