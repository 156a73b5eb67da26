//! The run's summary (`summary.json`, written by the aggregate node): the structured content
//! the report renders beside the tables — models and their cards, metrics aggregated over
//! seeds, alignment against the noise floor, highlighted examples. It lives beside the
//! tables, not in a stage, so the report reads it from the store without any stage code.

pub mod alignment;

use crate::calibration::ReliabilityCurve;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `dataset.json`: everything but the examples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Display name.
    pub name: String,
    /// Label names.
    pub label_names: Vec<String>,
    /// Row accounting of the eval split.
    pub eval: crate::data::RowCounts,
    /// Row accounting of the train split, if any.
    pub train: Option<crate::data::RowCounts>,
}

/// A model's card: the columns of the paper's Table 1, and what the model is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// The model's name in the manifest.
    pub model: String,
    /// `bert` or `distilbert`.
    pub model_type: String,
    /// Encoder layers.
    pub layers: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Parameters (all tensors, embeddings included).
    pub parameters: usize,
    /// Size of the weights file on disk, in MB (10^6 bytes).
    pub size_mb: f64,
    /// Measured wall-clock milliseconds per example at `batch_size` (prediction on the eval
    /// split). It depends on what else ran at the time (`[experiment] jobs`).
    pub ms_per_example: f64,
    /// CPU milliseconds per example (every core of the node's thread pool), which does not
    /// depend on what ran beside it; `None` where the OS does not report CPU time.
    #[serde(default)]
    pub cpu_ms_per_example: Option<f64>,
    /// Batch size of the measurement.
    pub batch_size: usize,
    /// Longest input in tokens.
    pub max_len: usize,
    /// The compute backend.
    pub backend: String,
    /// Examples predicted.
    pub examples: usize,
    /// Bits per weight of the Linear layers (32 unless quantised).
    pub weight_bits: u32,
    /// Fraction of the encoder layers' Linear weights that are exactly zero (measured).
    pub sparsity: f64,
    /// How the weights are quantised (`None`: f32), e.g. `int8 simulated (per-channel):
    /// int8-rounded weights stored as f32`.
    #[serde(default)]
    pub quantization: Option<String>,
    /// Size in MB of the compressed format a deployment would ship (int8 weights + scales),
    /// when smaller than the stored f32 folder (`size_mb`); `None` otherwise.
    #[serde(default)]
    pub deploy_size_mb: Option<f64>,
}

/// A metric aggregated over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateRow {
    /// Model name.
    pub model: String,
    /// Metric name.
    pub metric: String,
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds (`None` for one seed).
    pub std: Option<f64>,
    /// Bootstrap interval of the seed mean.
    pub ci_low: Option<f64>,
    /// Bootstrap interval of the seed mean.
    pub ci_high: Option<f64>,
    /// Number of seeds.
    pub seeds: usize,
}

/// One model in the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Name.
    pub name: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// Source plugin.
    pub source: String,
    /// Seeds of its predictions (empty when unseeded).
    pub seeds: Vec<u64>,
    /// Reliability curve per seed (`None` key for unseeded), for charts.
    pub reliability: Vec<(Option<u64>, ReliabilityCurve)>,
    /// The model card of a neural model (milliseconds per example: mean over seeds).
    pub card: Option<ModelCard>,
    /// For a compressed variant: the model it was derived from.
    #[serde(default)]
    pub derived_from: Option<String>,
    /// For a compressed variant: its compressor plugin.
    #[serde(default)]
    pub compressor: Option<String>,
}

/// What the report renders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The dataset's metadata and row accounting.
    pub dataset: DatasetMeta,
    /// Models, reference first.
    pub models: Vec<ModelSummary>,
    /// Calibration metrics across seeds.
    pub calibration: Vec<AggregateRow>,
    /// Similarity to the reference across seeds.
    pub similarity: Vec<AggregateRow>,
    /// Definition of every metric computed.
    pub definitions: BTreeMap<String, String>,
    /// Lower-is-better flag of every metric computed.
    pub lower_is_better: BTreeMap<String, bool>,
    /// Bins, bootstrap resamples and interval level.
    pub bins: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Interval level.
    pub confidence: f64,
    /// Alignment of each model's explanations with the reference's, beside the noise floor.
    #[serde(default)]
    pub alignment: Vec<alignment::AlignmentAggregate>,
    /// Faithfulness of each model's explanations to the model (comprehensiveness, sufficiency).
    #[serde(default)]
    pub faithfulness: Vec<alignment::FaithfulnessAggregate>,
    /// Example inputs with every model's top-K words (the paper's Table 2).
    #[serde(default)]
    pub highlights: Vec<alignment::ExampleHighlight>,
    /// What the alignment tables leave out and why (models that cannot be explained).
    #[serde(default)]
    pub alignment_notes: Vec<String>,
    /// Every noise floor (the reference's too), by model, explainer and metric.
    #[serde(default)]
    pub floors: Vec<FloorSummary>,
    /// Compression-identified examples: those whose label a compared model changes in most
    /// seeds, most often flipped first.
    #[serde(default)]
    pub flipped: Vec<FlippedExample>,
    /// For the compression-identified examples that were explained, the reference's and the
    /// flipping model's explanations side by side (the flipping model second), in the order of
    /// `flipped`.
    #[serde(default)]
    pub flip_explanations: Vec<alignment::ExampleHighlight>,
}

/// A compression-identified example (Hooker et al. 2019): the compared model's label differs
/// from the reference's in most seed pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlippedExample {
    /// The compared model.
    pub model: String,
    /// The example's id.
    pub example: String,
    /// Its text (a pair's segments joined by ` ‖ `).
    pub text: String,
    /// Its gold label.
    pub gold: String,
    /// The reference's label (the one it gives most often over the seeds).
    pub reference_label: String,
    /// The reference's mean probability of that label.
    pub reference_p: f64,
    /// The model's label (most often over the seeds).
    pub model_label: String,
    /// The model's mean probability of its label.
    pub model_p: f64,
    /// Seed pairs in which the labels differ.
    pub flips: usize,
    /// Seed pairs compared.
    pub pairs: usize,
}

/// One noise floor in the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloorSummary {
    /// Model name.
    pub model: String,
    /// Explainer label.
    pub explainer: String,
    /// Metric label.
    pub metric: String,
    /// The floor.
    pub floor: alignment::FloorValue,
}
