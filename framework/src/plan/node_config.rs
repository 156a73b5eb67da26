//! The typed config of each kind of node: written by the plan (its canonical JSON is what
//! the node's key hashes, [`super::key`]) and read back by the stage, so that what a stage
//! reads from its config is exactly what its key covers — what `trustx node run KEY` on
//! another host relies on. Plugin settings travel resolved (defaults filled); files travel
//! as their manifest paths *and* content hashes, the hash in the key, the path resolved
//! against the manifest's folder where the node runs.
//!
//! The JSON layout is the one the plan wrote before these types existed, field for field,
//! so the keys of stored runs are unchanged (`tests/cache.rs` reruns a stored experiment).

use super::node::Node;
use crate::data::BadRows;
use crate::manifest::schema::{Backend, ExplainedClass, FeatureIdentity};
use crate::model::LoadOptions;
use crate::model::special_text::SpecialTokenText;
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// The `data` node: the loader's settings and every split file with its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// The dataset's name in tables and the report.
    pub name: String,
    /// The loader's resolved settings.
    pub settings: Value,
    /// `[dataset] on_bad_rows`.
    pub on_bad_rows: BadRows,
    /// `[dataset] seed` (the row cap's stratified subsample).
    pub seed: u64,
    /// The eval split.
    pub eval: SplitConfig,
    /// The train split, if any.
    pub train: Option<SplitConfig>,
}

/// One split of the data node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Its files as the manifest writes them (relative to the manifest's folder).
    pub paths: Vec<PathBuf>,
    /// blake3 of each file (what the key depends on).
    pub blake3: Vec<String>,
    /// The row cap.
    pub max_rows: Option<NonZeroUsize>,
}

/// A `predict` node of a model source (a predictions file, a served model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourcePredictConfig {
    /// Model name.
    pub model: String,
    /// The source's resolved settings.
    pub settings: Value,
    /// The source's fingerprint of what it reads (files' hashes, a server's program).
    pub fingerprint: Value,
}

/// The settings every node running a neural model shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuralRun {
    /// Longest input in tokens.
    pub max_len: usize,
    /// The backend it computes on.
    pub backend: Backend,
    /// `keep` when special tokens' text is kept (absent for the default, `escape`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_tokens: Option<SpecialTokenText>,
}

impl NeuralRun {
    /// How the node loads its model: length, tokenization, and `batch_size` inputs per
    /// forward pass.
    pub fn load_options(&self, batch_size: usize) -> LoadOptions {
        LoadOptions {
            max_len: self.max_len,
            batch_size,
            special_text: self.special_tokens.unwrap_or_default(),
            ..LoadOptions::default()
        }
    }
}

/// What a neural model starts from, as its nodes' keys hold it: a checkpoint's defining
/// files' hashes (with the manifest's `labels` renaming when given), or an architecture
/// built from scratch with its vocabulary's hashes. The folders themselves are in the
/// node's [`Place`](super::place::Place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// The checkpoint's defining files' hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// The manifest's renaming of a fine-tuned head's label names to the dataset's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The architecture's settings, `vocab` replaced by its files' hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Value>,
}

/// A `predict` node of a neural model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeuralPredictConfig {
    /// Model name.
    pub model: String,
    /// The starting point (a checkpoint's fingerprint) of a model used as it is; null for a
    /// model read from its train or compress node.
    pub init: Option<InitConfig>,
    /// Batch size of inference.
    pub batch_size: usize,
    /// [`FORWARD_NUMERICS`].
    pub forward: u32,
    /// Length, backend, tokenization.
    #[serde(flatten)]
    pub run: NeuralRun,
}

/// A `train` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Model name.
    pub model: String,
    /// The starting point; absent for a variant fine-tuned from its compress node (an input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitConfig>,
    /// The trainer's resolved settings.
    pub settings: Value,
    /// Length, backend, tokenization.
    #[serde(flatten)]
    pub run: NeuralRun,
}

/// A `compress` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressConfig {
    /// The variant's name.
    pub variant: String,
    /// The model it is derived from.
    pub from: String,
    /// The compressor's resolved settings.
    pub settings: Value,
    /// Batch size of inference.
    pub batch_size: usize,
    /// The fine-tuned checkpoint compressed as it is (its fingerprint), when no node holds
    /// the source model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<InitConfig>,
    /// Length, backend, tokenization.
    #[serde(flatten)]
    pub run: NeuralRun,
}

/// Version of the explanation engine in explain nodes' keys. 2: words past the model's
/// window are not perturbed (issue 20.2) and each explanation's faithfulness is computed
/// (issue 14.4). 3: the forward computes as PyTorch's CPU kernels do ([`FORWARD_NUMERICS`]).
pub const EXPLAIN_ENGINE: u32 = 3;

/// Version of the packed forward's numerics in predict nodes' keys, so that a cached
/// prediction is never one of an older forward. 2: LayerNorm, attention and the int8
/// rescale as PyTorch's CPU kernels compute them (dynamic-int8 logits equal PyTorch's).
pub const FORWARD_NUMERICS: u32 = 2;

/// An `explain` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainConfig {
    /// Model name.
    pub model: String,
    /// The explainer's label (`lime`, `lime#2`).
    pub explainer: String,
    /// The explainer's resolved settings.
    pub settings: Value,
    /// Explanation seeds (empty for a deterministic explainer).
    pub seeds: Vec<u64>,
    /// The first N eval examples are explained.
    pub examples: usize,
    /// The class explained.
    pub class: ExplainedClass,
    /// The model's max length (none for a model that is not neural).
    pub max_len: Option<usize>,
    /// The model's batch size (none for a model that is not neural).
    pub batch_size: Option<usize>,
    /// The backend explanations compute on (`[experiment] explain_backend`).
    pub backend: Backend,
    /// [`EXPLAIN_ENGINE`].
    pub engine: u32,
    /// `keep` when special tokens' text is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_tokens: Option<SpecialTokenText>,
    /// The compression-identified examples are explained too (`[alignment] include_flips`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_flips: bool,
    /// For attributions read from a file: the file's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<Value>,
}

/// An `alignment` or `floor` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentConfig {
    /// Every alignment metric at every K.
    pub metrics: Vec<MetricVariant>,
    /// What the top-K sets hold.
    pub features: FeatureIdentity,
    /// The class explained.
    pub class: ExplainedClass,
    /// `[alignment] min_features`; `None`: K + 1 for a metric at K, every example otherwise.
    #[serde(default)]
    pub min_features: Option<usize>,
    /// The pairings computed: `same-seed`, `cross-seed` (issue 15.4).
    #[serde(default)]
    pub pairings: Vec<String>,
}

/// One alignment metric at one K, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVariant {
    /// Plugin name.
    pub name: String,
    /// Display label (`top-k-jaccard@10`).
    pub label: String,
    /// The plugin's version.
    pub version: String,
    /// K, for metrics that take one.
    pub k: Option<usize>,
    /// Resolved settings (K and feature identity filled in).
    pub settings: Value,
}

/// The config of calibration and similarity nodes (and the aggregate's `calibration` part):
/// the metrics with their versions and resolved settings, binning and bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Equal-width bins.
    pub bins: usize,
    /// Calibration metrics with their resolved settings.
    pub metrics: Vec<MetricConfig>,
    /// Similarity metrics with their resolved settings.
    pub similarity: Vec<MetricConfig>,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Interval level.
    pub confidence: f64,
}

/// One metric of an [`EvalConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricConfig {
    /// Plugin name.
    pub name: String,
    /// Plugin version (in the key: a changed metric recomputes).
    pub version: String,
    /// Resolved settings.
    pub settings: Value,
}

/// The `aggregate` node: the calibration config its tables are computed with, the models'
/// and explainers' names and roles it labels rows with, and the alignment settings its notes
/// and highlights read. The calibration part is the calibration and similarity nodes' config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateConfig {
    /// Equal-width bins, metrics, bootstrap and level (as in calibration nodes).
    #[serde(flatten)]
    pub calibration: EvalConfig,
    /// Version of the aggregate code (see `plan::build`).
    pub aggregate_version: String,
    /// Every model, indexed as the plan's tasks index them (the reference first).
    pub models: Vec<ModelRole>,
    /// Every explainer's label, indexed as the plan's tasks index them.
    pub explainers: Vec<String>,
    /// The alignment settings the tables' notes and the highlights read.
    pub alignment: AlignmentSettings,
}

/// A model as the tables and the report name and describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRole {
    /// Its name.
    pub name: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// Where it comes from (`checkpoint+train`, `quantize`, `predictions`, …).
    pub origin: String,
    /// The model a variant is derived from.
    pub derived_from: Option<String>,
    /// A variant's compressor.
    pub compressor: Option<String>,
    /// Whether it can be explained (a network, a served model, imported attributions).
    pub explainable: bool,
}

/// `[alignment]` as the aggregate node reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentSettings {
    /// The top-K sizes, the first being the verdict's.
    pub k: Vec<usize>,
    /// `[alignment] examples`.
    pub examples: usize,
    /// What the top-K sets hold.
    pub features: FeatureIdentity,
    /// `[alignment] min_features`.
    pub min_features: Option<usize>,
    /// `[alignment] include_flips`.
    pub include_flips: bool,
    /// The alignment metrics listed (their definitions go to the report).
    pub metrics: Vec<String>,
    /// The verdict's alignment metric at the first K, which the highlights compute (none
    /// without explainers).
    pub verdict_metric: Option<MetricVariant>,
}

/// The JSON a node's config is stored as (and keyed by).
pub fn to_config<T: Serialize>(config: &T) -> Result<Value> {
    serde_json::to_value(config).context("writing a node's config (internal error)")
}

impl Node {
    /// The name of the plugin computing the node (empty when none does).
    pub fn plugin_name(&self) -> &str {
        self.plugin.as_ref().map(|(name, _)| name.as_str()).unwrap_or_default()
    }

    /// The node's config as the typed config of its stage.
    pub fn config_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.config.clone())
            .with_context(|| format!("reading the config of node {} (internal error)", self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_fields_are_absent_as_the_untyped_configs_wrote_them() {
        let run = NeuralRun { max_len: 64, backend: Backend::Cpu, special_tokens: None };
        let train = TrainConfig { model: "m".into(), init: None, settings: json!({}), run: run.clone() };
        assert_eq!(to_config(&train).unwrap(), json!({"model": "m", "settings": {}, "max_len": 64, "backend": "cpu"}));
        let predict =
            NeuralPredictConfig { model: "m".into(), init: None, batch_size: 8, forward: FORWARD_NUMERICS, run };
        let v = to_config(&predict).unwrap();
        assert_eq!(
            v,
            json!({"model": "m", "init": null, "batch_size": 8, "forward": 2, "max_len": 64, "backend": "cpu"})
        );
        let back: NeuralPredictConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, predict);
    }
}
