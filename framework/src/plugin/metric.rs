//! Calibration metric plugins: one number from one model's predictions.

use super::dataset::schema_of;
use super::overview_column::OverviewColumn;
use super::{PluginInfo, PluginKind, parse_settings, resolve_settings};
use crate::predictions::Predictions;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The rows a metric is computed on: all examples, or a bootstrap resample (with repeats).
#[derive(Debug, Clone, Copy)]
pub struct MetricInput<'a> {
    /// The model's predictions.
    pub preds: &'a Predictions,
    /// Row indices into `preds` (a row may repeat in a bootstrap resample).
    pub rows: &'a [usize],
    /// The `[calibration] bins` default, for metrics that bin.
    pub bins: usize,
}

/// A calibration metric. Register with `inventory::submit! { CalibrationMetricEntry::of::<M>() }`.
pub trait CalibrationMetric: 'static {
    /// Settings of the metric (`{ metric = "ece", bins = 15 }` in `[calibration] metrics`).
    type Settings: Serialize + DeserializeOwned + JsonSchema + Send + Sync;
    /// Name used in `[calibration] metrics`.
    const NAME: &'static str;
    /// Version; part of the calibration node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// The precise definition, printed in the report.
    const DEFINITION: &'static str;
    /// Whether smaller values are better (ECE) or larger (accuracy).
    const LOWER_IS_BETTER: bool;
    /// Its binning, norm, mode and estimator (tables and report record them).
    const CONVENTION: super::convention::Convention = super::convention::Convention::NONE;
    /// Its place in the list computed when `[calibration] metrics` is not given (`None`: only
    /// when listed).
    const DEFAULT_RANK: Option<u8> = None;
    /// The margin the verdict tests |metric(model) − metric(reference)| against unless
    /// `[calibration.tolerances]` sets one (`None`: tested only when the manifest sets one).
    const DELTA_TOLERANCE: Option<f64> = None;
    /// A column of each model's value in the report's first table (`None`: no column).
    const OVERVIEW: Option<OverviewColumn> = None;
    /// A column of its change from the reference in the report's first table.
    const OVERVIEW_DELTA: Option<OverviewColumn> = None;
    /// Whether the metric is defined for this many classes (positive-class Brier: 2 only).
    fn applies(_num_classes: usize) -> bool {
        true
    }
    /// The metric's value on `input.rows`; `input.rows` is never empty.
    fn compute(settings: &Self::Settings, input: &MetricInput) -> f64;
}

/// A calibration metric bound to its parsed settings ([`CalibrationMetricEntry::prepare`]).
pub type PreparedMetric = Box<dyn Fn(&MetricInput) -> f64 + Send + Sync>;

/// Registry entry of a calibration metric.
pub struct CalibrationMetricEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`CalibrationMetric::DEFINITION`].
    pub definition: &'static str,
    /// See [`CalibrationMetric::LOWER_IS_BETTER`].
    pub lower_is_better: bool,
    /// Its binning, norm, mode and estimator.
    pub convention: super::convention::Convention,
    /// See [`CalibrationMetric::DEFAULT_RANK`].
    pub default_rank: Option<u8>,
    /// See [`CalibrationMetric::DELTA_TOLERANCE`].
    pub delta_tolerance: Option<f64>,
    /// See [`CalibrationMetric::OVERVIEW`].
    pub overview: Option<OverviewColumn>,
    /// See [`CalibrationMetric::OVERVIEW_DELTA`].
    pub overview_delta: Option<OverviewColumn>,
    /// See [`CalibrationMetric::applies`].
    pub applies: fn(usize) -> bool,
    /// See [`CalibrationMetric::compute`]; settings were checked at validation.
    pub compute: fn(&Value, &MetricInput) -> anyhow::Result<f64>,
    /// The metric bound to its settings, parsed once: what a node evaluating it on many
    /// resamples calls.
    pub prepare: fn(&Value) -> anyhow::Result<PreparedMetric>,
}

inventory::collect!(CalibrationMetricEntry);

impl CalibrationMetricEntry {
    /// The registry entry for metric `M`.
    pub const fn of<M: CalibrationMetric>() -> Self {
        CalibrationMetricEntry {
            info: PluginInfo {
                kind: PluginKind::Metric,
                name: M::NAME,
                version: M::VERSION,
                summary: M::SUMMARY,
                schema: schema_of::<M::Settings>,
                resolve: resolve_settings::<M::Settings>,
                check: super::descriptor::no_check,
            },
            definition: M::DEFINITION,
            lower_is_better: M::LOWER_IS_BETTER,
            convention: M::CONVENTION,
            default_rank: M::DEFAULT_RANK,
            delta_tolerance: M::DELTA_TOLERANCE,
            overview: M::OVERVIEW,
            overview_delta: M::OVERVIEW_DELTA,
            applies: M::applies,
            compute: |v, input| Ok(M::compute(&parse_settings(v)?, input)),
            prepare: |v| {
                let settings: M::Settings = parse_settings(v)?;
                Ok(Box::new(move |input| M::compute(&settings, input)))
            },
        }
    }

    /// Looks a metric up by name.
    pub fn find(name: &str) -> Option<&'static CalibrationMetricEntry> {
        inventory::iter::<CalibrationMetricEntry>().find(|e| e.info.name == name)
    }

    /// The metrics computed when the manifest lists none, in their declared order.
    pub fn defaults() -> Vec<&'static str> {
        super::ranked(inventory::iter::<CalibrationMetricEntry>().map(|e| (e.default_rank, e.info.name)))
    }
}
