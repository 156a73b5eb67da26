//! The alignment part of the run's summary (`summary.json`): what the report and the
//! verdict read about explanations. The explain and alignment stages fill it; the report
//! renders it.
//!
//! Values are means over examples of a per-example alignment metric (Jaccard of top-K
//! sets, rank-biased overlap, …), then mean and spread over seeds. Every value sits beside
//! its noise floor: the same metric between one model's explanations under two seeds.

use serde::{Deserialize, Serialize};

/// The faithfulness row the verdict's faithfulness test reads: the reference's
/// comprehensiveness minus the model's, per example, averaged (paired bootstrap interval).
pub const FAITHFULNESS_GAP: &str = "comprehensiveness-gap";

/// The faithfulness of one model's explanations by one explainer to that model (ERASER's
/// comprehensiveness or sufficiency AOPC, [`crate::explain::faithfulness`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaithfulnessAggregate {
    /// Model.
    pub model: String,
    /// Explainer label.
    pub explainer: String,
    /// `comprehensiveness` (higher: more faithful) or `sufficiency` (lower: more faithful).
    pub metric: String,
    /// Mean over runs (explanation and training seeds) of the mean over examples.
    pub mean: f64,
    /// Sample standard deviation of the run means (one run: none).
    pub std: Option<f64>,
    /// Bootstrap interval of the mean, examples resampled.
    pub ci_low: Option<f64>,
    /// Bootstrap interval of the mean, examples resampled.
    pub ci_high: Option<f64>,
    /// Runs averaged.
    pub runs: usize,
    /// Examples.
    pub examples: usize,
}

/// A noise floor: the metric between one model's own explanations under two seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorValue {
    /// Mean over seed pairs of the mean over examples.
    pub mean: f64,
    /// Bootstrap interval (over examples) of that mean.
    pub ci_low: Option<f64>,
    /// Bootstrap interval (over examples) of that mean.
    pub ci_high: Option<f64>,
    /// Seed pairs compared (0 for a deterministic explainer on one fixed model: the floor
    /// is then exact, 1 for similarity metrics).
    pub pairs: usize,
    /// What the pairs compare: `exact` (one run), `explanation-seed` (one trained model,
    /// explainer seeds differ), `training-seed` (a deterministic explainer on models
    /// trained with different seeds) or `training-and-explanation-seed`.
    #[serde(default)]
    pub kind: String,
}

/// Model-to-reference alignment over pairs of runs with different seeds (the reference's
/// run of seed s₁ against the model's run of seed s₂ ≠ s₁): runs that share no explainer
/// noise, like the two runs of a noise floor, so this is the value to hold against the floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossSeedValue {
    /// Mean over the pairs of the mean over examples.
    pub mean: f64,
    /// Bootstrap interval (over examples) of that mean.
    pub ci_low: Option<f64>,
    /// Bootstrap interval (over examples) of that mean.
    pub ci_high: Option<f64>,
    /// (reference seed, model seed) pairs compared.
    pub pairs: usize,
}

impl FloorValue {
    /// Whether a value with interval `value` (low, high) lies within this floor: the two
    /// intervals overlap (a value without interval is the point). An exact floor (a
    /// deterministic explainer on one model, no pair) has no noise to be within.
    pub fn overlaps(&self, value: (f64, f64)) -> bool {
        let (lo, hi) = self.ci_low.zip(self.ci_high).unwrap_or((self.mean, self.mean));
        self.kind != "exact" && self.pairs > 0 && value.0 <= hi && lo <= value.1
    }
}

/// One alignment metric of one model's explanations against the reference's, across seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentAggregate {
    /// Model (or variant) name.
    pub model: String,
    /// Explainer plugin name.
    pub explainer: String,
    /// Display label of the metric: `top-k-jaccard@10`, `rbo`, ….
    pub metric: String,
    /// The alignment metric plugin.
    pub plugin: String,
    /// K, for top-K metrics.
    pub k: Option<usize>,
    /// Mean over seeds of the mean over examples.
    pub mean: f64,
    /// Sample standard deviation over seeds (`None` for one seed).
    pub std: Option<f64>,
    /// Bootstrap interval of the seed mean (examples resampled).
    pub ci_low: Option<f64>,
    /// Bootstrap interval of the seed mean (examples resampled).
    pub ci_high: Option<f64>,
    /// Seeds (paired runs) compared.
    pub seeds: usize,
    /// Examples explained per seed.
    pub examples: usize,
    /// Examples left out of the mean for having too few features (`[alignment]
    /// min_features`; by default K or fewer for a metric at K).
    #[serde(default)]
    pub left_out: usize,
    /// The same metric over pairs of runs of different seeds (`None` with one seed, or when
    /// a deterministic explainer runs once per model).
    #[serde(default)]
    pub cross_seed: Option<CrossSeedValue>,
    /// The model's own noise floor for this explainer and metric.
    pub floor: Option<FloorValue>,
    /// The reference's noise floor for this explainer and metric.
    pub reference_floor: Option<FloorValue>,
}

/// Which pairs of runs a tested alignment value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairing {
    /// Run i of the reference against run i of the model (the paper's protocol).
    SameSeed,
    /// Runs of different seeds (comparable with the noise floor).
    CrossSeed,
}

impl AlignmentAggregate {
    /// The floor a value is held against: the reference's, else the model's own; with whose.
    pub fn compared_floor(&self) -> Option<(&'static str, &FloorValue)> {
        match (&self.reference_floor, &self.floor) {
            (Some(f), _) => Some(("reference", f)),
            (None, Some(f)) => Some(("model", f)),
            (None, None) => None,
        }
    }

    /// The value comparable with a noise floor: across seeds when there are pairs of
    /// different seeds, else the same-seed value; with its interval and pairing.
    pub fn floor_comparable(&self) -> (f64, Option<(f64, f64)>, Pairing) {
        match &self.cross_seed {
            Some(c) => (c.mean, c.ci_low.zip(c.ci_high), Pairing::CrossSeed),
            None => (self.mean, self.ci_low.zip(self.ci_high), Pairing::SameSeed),
        }
    }
}

/// One word of an example as a model's explanation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighlightedWord {
    /// Segment (0 premise / text, 1 hypothesis).
    pub segment: usize,
    /// The word.
    pub text: String,
    /// Its attribution weight for the explained class.
    pub weight: f64,
    /// 1-based rank by |weight| when it is in the top K, else `None`.
    pub rank: Option<usize>,
}

/// One model's explanation of an example, for the side-by-side table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHighlight {
    /// Model name.
    pub model: String,
    /// Its predicted label.
    pub predicted: String,
    /// Every word of the example in reading order.
    pub words: Vec<HighlightedWord>,
    /// Jaccard@K of its top-K with the reference's (`None` for the reference).
    pub jaccard: Option<f64>,
}

/// An example with the top-K words of every model highlighted (the paper's Table 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleHighlight {
    /// Example id.
    pub example_id: String,
    /// Its text (or premise and hypothesis).
    pub segments: Vec<String>,
    /// Gold label name.
    pub label: String,
    /// Explainer shown.
    pub explainer: String,
    /// Explanation seed shown (`None` for a deterministic explainer).
    pub seed: Option<u64>,
    /// K of the highlighted sets.
    pub k: usize,
    /// Reference first.
    pub models: Vec<ModelHighlight>,
}
