//! Calibration-similarity plugins: one number comparing a model with the reference.

use super::dataset::schema_of;
use super::overview_column::OverviewColumn;
use super::{PluginInfo, PluginKind, parse_settings, resolve_settings};
use crate::predictions::Predictions;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A reference and a model on the same examples, restricted to `rows`.
#[derive(Debug, Clone, Copy)]
pub struct PairInput<'a> {
    /// The reference model's predictions.
    pub reference: &'a Predictions,
    /// The compared model's predictions (same ids, same order).
    pub model: &'a Predictions,
    /// Row indices (a row may repeat in a bootstrap resample).
    pub rows: &'a [usize],
    /// The `[calibration] bins` default.
    pub bins: usize,
}

/// A similarity metric. Register with `inventory::submit! { SimilarityMetricEntry::of::<S>() }`.
pub trait SimilarityMetric: 'static {
    /// Settings of the metric.
    type Settings: Serialize + DeserializeOwned + JsonSchema + Send + Sync;
    /// Name used in `[calibration] similarity`.
    const NAME: &'static str;
    /// Version; part of the similarity node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// The precise definition, printed in the report.
    const DEFINITION: &'static str;
    /// Whether smaller values mean more similar (a distance) or larger (an agreement).
    const LOWER_IS_CLOSER: bool;
    /// Its binning, norm, mode and estimator (tables and report record them).
    const CONVENTION: super::convention::Convention = super::convention::Convention::NONE;
    /// Its place in the list computed when `[calibration] similarity` is not given (`None`:
    /// only when listed).
    const DEFAULT_RANK: Option<u8> = None;
    /// The margin the verdict tests the value against (≤ for a distance, ≥ for an agreement,
    /// by [`Self::LOWER_IS_CLOSER`]) unless `[calibration.tolerances]` sets one (`None`:
    /// reported, tested only when the manifest sets one).
    const TOLERANCE: Option<f64> = None;
    /// A column of its value in the report's first table (`None`: no column); metrics with
    /// the same heading share one.
    const OVERVIEW: Option<OverviewColumn> = None;
    /// The value on `input.rows`; never empty.
    fn compute(settings: &Self::Settings, input: &PairInput) -> f64;
}

/// A similarity metric bound to its parsed settings ([`SimilarityMetricEntry::prepare`]).
pub type PreparedSimilarity = Box<dyn Fn(&PairInput) -> f64 + Send + Sync>;

/// Registry entry of a similarity metric.
pub struct SimilarityMetricEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`SimilarityMetric::DEFINITION`].
    pub definition: &'static str,
    /// See [`SimilarityMetric::LOWER_IS_CLOSER`].
    pub lower_is_closer: bool,
    /// Its binning, norm, mode and estimator.
    pub convention: super::convention::Convention,
    /// See [`SimilarityMetric::DEFAULT_RANK`].
    pub default_rank: Option<u8>,
    /// See [`SimilarityMetric::TOLERANCE`].
    pub tolerance: Option<f64>,
    /// See [`SimilarityMetric::OVERVIEW`].
    pub overview: Option<OverviewColumn>,
    /// See [`SimilarityMetric::compute`].
    pub compute: fn(&Value, &PairInput) -> anyhow::Result<f64>,
    /// The metric bound to its settings, parsed once: what a node evaluating it on many
    /// resamples calls.
    pub prepare: fn(&Value) -> anyhow::Result<PreparedSimilarity>,
}

inventory::collect!(SimilarityMetricEntry);

impl SimilarityMetricEntry {
    /// The registry entry for similarity `S`.
    pub const fn of<S: SimilarityMetric>() -> Self {
        SimilarityMetricEntry {
            info: PluginInfo {
                kind: PluginKind::Similarity,
                name: S::NAME,
                version: S::VERSION,
                summary: S::SUMMARY,
                schema: schema_of::<S::Settings>,
                resolve: resolve_settings::<S::Settings>,
                check: super::descriptor::no_check,
            },
            definition: S::DEFINITION,
            lower_is_closer: S::LOWER_IS_CLOSER,
            convention: S::CONVENTION,
            default_rank: S::DEFAULT_RANK,
            tolerance: S::TOLERANCE,
            overview: S::OVERVIEW,
            compute: |v, input| Ok(S::compute(&parse_settings(v)?, input)),
            prepare: |v| {
                let settings: S::Settings = parse_settings(v)?;
                Ok(Box::new(move |input| S::compute(&settings, input)))
            },
        }
    }

    /// Looks a similarity metric up by name.
    pub fn find(name: &str) -> Option<&'static SimilarityMetricEntry> {
        inventory::iter::<SimilarityMetricEntry>().find(|e| e.info.name == name)
    }

    /// The similarity metrics computed when the manifest lists none, in their declared order.
    pub fn defaults() -> Vec<&'static str> {
        super::ranked(inventory::iter::<SimilarityMetricEntry>().map(|e| (e.default_rank, e.info.name)))
    }
}
