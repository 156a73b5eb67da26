//! The manifest's sections as serde types.
//!
//! Engine sections deny unknown keys. Sections that name a plugin (`[dataset]`,
//! `[models.NAME]`, `[variants.NAME]`, `[train]`, `[[explainers]]`, metric entries) keep the
//! keys the engine does not know in `settings`, which the plugin's own settings struct
//! (`deny_unknown_fields`) then checks, so a typo anywhere is an error naming the key.

use crate::data::BadRows;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// A whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `[experiment]`: name, seeds, backend, results folder, jobs.
    pub experiment: Experiment,
    /// `[dataset]`: the loader and the splits.
    pub dataset: DatasetSpec,
    /// `[models.NAME]`: the models, exactly one with `reference = true`.
    pub models: BTreeMap<String, ModelSpec>,
    /// `[variants.NAME]`: compressed variants derived from a model.
    #[serde(default)]
    pub variants: BTreeMap<String, VariantSpec>,
    /// `[train]`: how models are fine-tuned.
    #[serde(default)]
    pub train: Option<TrainSpec>,
    /// `[[explainers]]`: the explainers to run.
    #[serde(default)]
    pub explainers: Vec<ExplainerSpec>,
    /// `[alignment]`: how explanations are compared.
    #[serde(default)]
    pub alignment: AlignmentSpec,
    /// `[calibration]`: calibration metrics and similarity.
    #[serde(default)]
    pub calibration: CalibrationSpec,
    /// `[report]`: what the report contains.
    #[serde(default)]
    pub report: ReportSpec,
    /// `[executor.slurm]`: the Slurm executor's job resources.
    #[serde(default)]
    pub executor: super::executor::ExecutorSpec,
    /// `[verdict]`: how each test decides (interval equivalence test or the paper's point rule).
    #[serde(default)]
    pub verdict: VerdictSpec,
}

/// How a verdict test decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictRule {
    /// An equivalence test on the interval (two one-sided tests): *equivalent* when the whole
    /// (1 − 2α) interval lies inside the margin, *different* when it lies wholly outside,
    /// *inconclusive* otherwise.
    #[default]
    Interval,
    /// The paper's rule: the point estimate against the threshold (for reproducing it).
    Point,
}

/// `[verdict]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictSpec {
    /// `interval` (default) or `point`.
    #[serde(default)]
    pub rule: VerdictRule,
    /// The equivalence test's α: each test uses the (1 − 2α) bootstrap interval, so setting it
    /// sets `[calibration] confidence` to 1 − 2α. Default (1 − confidence)/2 = 0.025 with the
    /// default 95% intervals.
    #[serde(default)]
    pub alpha: Option<f64>,
}

/// `[experiment]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name; also the results sub-folder (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// One-paragraph description for the report.
    #[serde(default)]
    pub description: Option<String>,
    /// Seeds; every random stage runs once per seed.
    pub seeds: Vec<u64>,
    /// Compute backend for neural models: `cpu` (default) or `cuda`.
    #[serde(default)]
    pub backend: Backend,
    /// The explain stage's backend, when it differs from `backend` (e.g. training on GPU
    /// nodes, explaining on CPU nodes of a cluster); default `backend`. It is part of the
    /// explain nodes' keys (float rounding differs between backends).
    #[serde(default)]
    pub explain_backend: Option<Backend>,
    /// Results folder (relative to the manifest's folder); default `results/` of the
    /// manifest's project folder (the nearest folder upwards holding `results/`, `.git` or
    /// `Cargo.toml`).
    #[serde(default)]
    pub results: Option<PathBuf>,
    /// Nodes run at once; default the number of cores.
    #[serde(default)]
    pub jobs: Option<NonZeroUsize>,
    /// `local` (default) or `slurm`; `trustx run --executor` overrides it.
    #[serde(default)]
    pub executor: super::executor::ExecutorKind,
    /// The memory explanations may use per example, checked at `validate` against each
    /// explainer's estimate: bytes or `"8 GB"`, `"512 MiB"`; default half the machine's
    /// available memory (or `TRUSTX_MEMORY_LIMIT`).
    #[serde(default)]
    pub memory_limit: Option<super::memory_size::MemorySize>,
}

impl Experiment {
    /// The backend explanations run on: `explain_backend`, else `backend`.
    pub fn explain_backend(&self) -> Backend {
        self.explain_backend.unwrap_or(self.backend)
    }
}

/// Compute backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's Flex CPU backend.
    #[default]
    Cpu,
    /// burn-cuda (needs the `cuda` cargo feature and a GPU).
    Cuda,
}

/// One file or several.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single path.
    One(PathBuf),
    /// Several paths, read in order.
    Many(Vec<PathBuf>),
}

impl OneOrMany {
    /// The paths, in order.
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            OneOrMany::One(p) => vec![p.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `[dataset.eval]` / `[dataset.train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The split's file, or a list of files read in order.
    pub path: OneOrMany,
    /// Keep at most this many rows: a stratified subsample seeded by `[dataset] seed`.
    #[serde(default)]
    pub max_rows: Option<NonZeroUsize>,
}

/// `[dataset]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Loader plugin name (`trustx plugins --kind dataset`).
    pub loader: String,
    /// Display name; default the loader's task or the experiment name.
    #[serde(default)]
    pub name: Option<String>,
    /// `error` (default) stops at a malformed row; `skip` skips and counts.
    #[serde(default)]
    pub on_bad_rows: BadRows,
    /// Seed of the row-cap subsample (independent of the experiment seeds, so every seed
    /// sees the same examples).
    #[serde(default)]
    pub seed: u64,
    /// The split models are evaluated and explained on.
    pub eval: SplitSpec,
    /// The split models are fine-tuned on.
    #[serde(default)]
    pub train: Option<SplitSpec>,
    /// The loader's own settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `[models.NAME]`: a neural model run by trustx (`checkpoint = "DIR"` or
/// `architecture = {..}`), or a model source plugin (`source = "..."`) whose own settings
/// are the remaining keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Model source plugin (`trustx plugins --kind model-source`); leave it out for a
    /// neural model given by `checkpoint` or `architecture`.
    #[serde(default)]
    pub source: Option<String>,
    /// The model every other is compared with (exactly one).
    #[serde(default)]
    pub reference: bool,
    /// A Hugging Face checkpoint folder (BERT or DistilBERT).
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint already carries a head trained for this task: predict with it as is,
    /// without the `train` stage.
    #[serde(default)]
    pub finetuned: bool,
    /// A small model built from scratch and trained by the `train` stage:
    /// `{ type = "bert", layers, hidden, heads, ffn, vocab = "vocab.txt or folder" }`.
    #[serde(default)]
    pub architecture: Option<Value>,
    /// Longest input in tokens for training, prediction and explanation (default 128).
    #[serde(default)]
    pub max_len: Option<NonZeroUsize>,
    /// Batch size of prediction and explanation (default 32).
    #[serde(default)]
    pub batch_size: Option<NonZeroUsize>,
    /// What `[SEP]`, `[CLS]`, `[MASK]`… typed inside a text become: `"escape"` (the default:
    /// ordinary text) or `"keep"` (the special token, as transformers does).
    #[serde(default)]
    pub special_tokens: Option<crate::model::special_text::SpecialTokenText>,
    /// A fine-tuned checkpoint's label names (its `config.json` `id2label`) renamed to the
    /// dataset's, where they differ: `{ LABEL_0 = "negative", LABEL_1 = "positive" }`.
    /// Outputs are matched to the dataset's classes by name, case-insensitively.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// The source's own settings (for `source = "..."` only).
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `[variants.NAME]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantSpec {
    /// The model (or variant) it is derived from.
    pub from: String,
    /// Compressor plugin.
    pub compressor: String,
    /// Fine-tune the compressed model with the manifest's `[train]` trainer. Default false.
    #[serde(default)]
    pub finetune: bool,
    /// The compressor's own settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `[train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSpec {
    /// Trainer plugin.
    #[serde(default = "default_trainer")]
    pub trainer: String,
    /// Seeds training runs with; default the experiment's seeds. The paper trained once
    /// (seed 42) and explained with three seeds.
    #[serde(default)]
    pub seeds: Option<Vec<u64>>,
    /// The trainer's own settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

fn default_trainer() -> String {
    "finetune".into()
}

/// `[[explainers]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExplainerSpec {
    /// Explainer plugin.
    pub explainer: String,
    /// The explainer's own settings.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// Which words an alignment compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureIdentity {
    /// Word strings (the paper's choice).
    #[default]
    Words,
    /// Word positions.
    Positions,
}

/// Which class an explanation explains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExplainedClass {
    /// The gold label (the paper's choice).
    #[default]
    Gold,
    /// The model's prediction.
    Predicted,
}

/// `[alignment]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignmentSpec {
    /// Top-K sizes to compare.
    #[serde(default = "default_k")]
    pub k: Vec<usize>,
    /// Jaccard@K a variant must reach to be trust-equivalent.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Compare word strings or positions.
    #[serde(default)]
    pub features: FeatureIdentity,
    /// Explain the gold label or the prediction.
    #[serde(default)]
    pub class: ExplainedClass,
    /// Examples explained: the first N eval examples in dataset order (after the dataset's
    /// own subsampling), or all of them when there are fewer.
    #[serde(default = "default_examples")]
    pub examples: usize,
    /// Alignment metrics (`trustx plugins --kind alignment`), each computed at every K
    /// of `k` and on the `features` chosen here.
    #[serde(default = "default_alignment_metrics")]
    pub metrics: Vec<MetricRef>,
    /// Examples whose explanations (either model's) have fewer features than this are left
    /// out of every alignment metric's mean and counted. Unset: a metric at K leaves out the
    /// examples with K or fewer features, whose top K is every feature (Jaccard@K = 1 whatever
    /// the explanations rank); 0 keeps every example.
    #[serde(default)]
    pub min_features: Option<usize>,
    /// Also explain the compression-identified examples (a compared model's label differs
    /// from the reference's in most seeds) beyond the first `examples`, so the report can show
    /// both models' explanations of each; they enter the alignment means like the others.
    #[serde(default)]
    pub include_flips: bool,
}

impl Default for AlignmentSpec {
    fn default() -> Self {
        AlignmentSpec {
            k: default_k(),
            threshold: default_threshold(),
            features: Default::default(),
            class: Default::default(),
            examples: default_examples(),
            metrics: default_alignment_metrics(),
            min_features: None,
            include_flips: false,
        }
    }
}

fn default_examples() -> usize {
    100
}

/// The alignment metrics computed when the manifest lists none: each plugin declares its
/// place in the list ([`crate::plugin::alignment::AlignmentMetric::DEFAULT_RANK`]).
fn default_alignment_metrics() -> Vec<MetricRef> {
    names(crate::plugin::alignment::AlignmentMetricEntry::defaults())
}

fn names(list: Vec<&'static str>) -> Vec<MetricRef> {
    list.into_iter().map(|s| MetricRef::Name(s.to_string())).collect()
}

fn default_k() -> Vec<usize> {
    vec![crate::plugin::alignment::DEFAULT_K]
}

fn default_threshold() -> f64 {
    0.7
}

/// A metric in a list: a name, or a table with `metric = NAME` and its settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricRef {
    /// Just the name, default settings.
    Name(String),
    /// Name and settings.
    Table {
        /// Metric plugin name.
        metric: String,
        /// Its settings.
        #[serde(flatten)]
        settings: Map<String, Value>,
    },
}

impl MetricRef {
    /// The metric's name.
    pub fn name(&self) -> &str {
        match self {
            MetricRef::Name(n) => n,
            MetricRef::Table { metric, .. } => metric,
        }
    }

    /// Its settings table (empty for a bare name).
    pub fn settings(&self) -> Value {
        match self {
            MetricRef::Name(_) => Value::Object(Map::new()),
            MetricRef::Table { settings, .. } => Value::Object(settings.clone()),
        }
    }
}

/// `[calibration.tolerances]`: the margins the verdict tests, keyed by metric name. A
/// calibration metric's key (`ece = 0.02`) bounds |metric(model) − metric(reference)|; a
/// similarity metric's key (`agreement = 0.95`, `confidence-tv = 0.1`) bounds its value from
/// below or above by the metric's direction; `faithfulness-gap` bounds the reference's
/// comprehensiveness minus the model's. `_` and `-` are the same in keys (`confidence_tv`).
/// A metric plugin may declare a default margin (ECE 0.02, agreement 0.95, confidence-tv
/// 0.1); a key here replaces it, and a metric without one is tested only when set here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tolerances(pub BTreeMap<String, f64>);

/// The `[calibration.tolerances]` key of the faithfulness test.
pub const FAITHFULNESS_GAP: &str = "faithfulness-gap";

impl Tolerances {
    /// The margin set for `name` (written with `-` or `_`), if any.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| canonical_key(k) == name).map(|(_, &v)| v)
    }
}

/// A tolerance key as metric names spell it: `_` read as `-`.
pub fn canonical_key(key: &str) -> String {
    key.replace('_', "-")
}

/// `[calibration]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSpec {
    /// Equal-width bins for ECE, MCE, histograms and reliability diagrams.
    #[serde(default = "default_bins")]
    pub bins: NonZeroUsize,
    /// Calibration metrics of each model (`trustx plugins --kind metric`).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<MetricRef>,
    /// Similarity metrics of each model to the reference (`--kind similarity`).
    #[serde(default = "default_similarity")]
    pub similarity: Vec<MetricRef>,
    /// Bootstrap resamples of the examples for confidence intervals (0: none).
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Confidence level of the intervals.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Verdict tolerances.
    #[serde(default)]
    pub tolerances: Tolerances,
}

impl Default for CalibrationSpec {
    fn default() -> Self {
        CalibrationSpec {
            bins: default_bins(),
            metrics: default_metrics(),
            similarity: default_similarity(),
            bootstrap: default_bootstrap(),
            confidence: default_confidence(),
            tolerances: Tolerances::default(),
        }
    }
}

fn default_bins() -> NonZeroUsize {
    NonZeroUsize::new(10).unwrap_or(NonZeroUsize::MIN)
}

/// The calibration metrics computed when the manifest lists none, each plugin declaring its
/// place ([`crate::plugin::metric::CalibrationMetric::DEFAULT_RANK`]).
fn default_metrics() -> Vec<MetricRef> {
    names(crate::plugin::metric::CalibrationMetricEntry::defaults())
}
/// The similarity metrics computed when the manifest lists none (agreement, the calibration
/// distances and the prediction shift the report's first table shows), each plugin declaring
/// its place ([`crate::plugin::similarity::SimilarityMetric::DEFAULT_RANK`]).
fn default_similarity() -> Vec<MetricRef> {
    names(crate::plugin::similarity::SimilarityMetricEntry::defaults())
}
fn default_bootstrap() -> usize {
    1000
}
/// The default `[calibration] confidence` of the bootstrap intervals.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

fn default_confidence() -> f64 {
    DEFAULT_CONFIDENCE
}

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// Self-contained `report.html`.
    Html,
    /// `report.md`.
    Md,
}

/// `[report]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Title; default the experiment name.
    #[serde(default)]
    pub title: Option<String>,
    /// Formats to write.
    #[serde(default = "default_formats")]
    pub formats: Vec<ReportFormat>,
    /// A folder of templates overriding the built-in `report.html.j2` / `report.md.j2`.
    #[serde(default)]
    pub templates: Option<PathBuf>,
}

impl Default for ReportSpec {
    fn default() -> Self {
        ReportSpec { title: None, formats: default_formats(), templates: None }
    }
}

fn default_formats() -> Vec<ReportFormat> {
    vec![ReportFormat::Html, ReportFormat::Md]
}
