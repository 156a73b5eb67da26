//! Alignment metric plugins: one number per example comparing two attributions of it
//! (model A vs model B, or one model under two seeds for the noise floor).
//!
//! Aggregation over examples and seeds (means, bootstrap intervals) is the engine's job;
//! a metric sees one pair of attributions of the same example.

use super::dataset::schema_of;
use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::explain::Attribution;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The top-K size used wherever none is given: `[alignment] k`'s default, the top-K
/// metrics' `k` default, the verdict's K. The one place this default lives.
pub const DEFAULT_K: usize = 10;

/// An alignment metric. Register with `inventory::submit! { AlignmentMetricEntry::of::<A>() }`.
pub trait AlignmentMetric: 'static {
    /// Settings (`deny_unknown_fields`, documented defaults).
    type Settings: Serialize + DeserializeOwned + JsonSchema + Send + Sync;
    /// Name used in the manifest.
    const NAME: &'static str;
    /// Version; part of the alignment node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Whether the metric compares only the sets of top-K features, so that it is 1 whenever
    /// both explanations have at most K features, whatever they rank: such examples are left
    /// out of its mean by default (`[alignment] min_features`).
    const TOP_K_SET: bool = false;
    /// The precise definition, printed in the report.
    const DEFINITION: &'static str;
    /// Its place in the list computed when `[alignment] metrics` is not given (`None`: only
    /// when listed).
    const DEFAULT_RANK: Option<u8> = None;
    /// Whether the verdict tests this metric at the first K against `[alignment] threshold`
    /// (the paper's Jaccard of the top-K sets). Exactly one registered metric declares it.
    const VERDICT: bool = false;
    /// The value for two attributions of the same example.
    fn compute(settings: &Self::Settings, a: &Attribution, b: &Attribution) -> f64;
    /// Checks the settings' values at `validate` (every problem, each naming its key).
    /// Default: nothing to check.
    fn check(_settings: &Self::Settings) -> Vec<SettingsError> {
        Vec::new()
    }
}

/// An alignment metric bound to its parsed settings ([`AlignmentMetricEntry::prepare`]).
pub type PreparedAlignment = Box<dyn Fn(&Attribution, &Attribution) -> anyhow::Result<f64> + Send + Sync>;

/// Registry entry of an alignment metric.
pub struct AlignmentMetricEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`AlignmentMetric::DEFINITION`].
    pub definition: &'static str,
    /// See [`AlignmentMetric::TOP_K_SET`].
    pub top_k_set: bool,
    /// See [`AlignmentMetric::DEFAULT_RANK`].
    pub default_rank: Option<u8>,
    /// See [`AlignmentMetric::VERDICT`].
    pub verdict: bool,
    /// See [`AlignmentMetric::compute`]; an error when the attributions are of different
    /// examples or the settings are bad.
    pub compute: fn(&Value, &Attribution, &Attribution) -> anyhow::Result<f64>,
    /// The metric bound to its settings, parsed once: what a node comparing many examples
    /// calls (an error when the attributions are of different examples).
    pub prepare: fn(&Value) -> anyhow::Result<PreparedAlignment>,
}

inventory::collect!(AlignmentMetricEntry);

impl AlignmentMetricEntry {
    /// The registry entry for metric `A`.
    pub const fn of<A: AlignmentMetric>() -> Self {
        AlignmentMetricEntry {
            info: PluginInfo {
                kind: PluginKind::Alignment,
                name: A::NAME,
                version: A::VERSION,
                summary: A::SUMMARY,
                schema: schema_of::<A::Settings>,
                resolve: resolve_settings::<A::Settings>,
                check: |v| match parse_settings::<A::Settings>(v) {
                    Ok(s) => A::check(&s),
                    Err(e) => vec![e],
                },
            },
            definition: A::DEFINITION,
            top_k_set: A::TOP_K_SET,
            default_rank: A::DEFAULT_RANK,
            verdict: A::VERDICT,
            compute: compute_erased::<A>,
            prepare: prepare_erased::<A>,
        }
    }

    /// Looks an alignment metric up by name.
    pub fn find(name: &str) -> Option<&'static AlignmentMetricEntry> {
        inventory::iter::<AlignmentMetricEntry>().find(|e| e.info.name == name)
    }

    /// The alignment metrics computed when the manifest lists none, in their declared order.
    pub fn defaults() -> Vec<&'static str> {
        super::ranked(inventory::iter::<AlignmentMetricEntry>().map(|e| (e.default_rank, e.info.name)))
    }

    /// The metric the verdict tests (the one declaring [`AlignmentMetric::VERDICT`]); an
    /// error when none or several are registered.
    pub fn verdict() -> anyhow::Result<&'static AlignmentMetricEntry> {
        let mut it = inventory::iter::<AlignmentMetricEntry>().filter(|e| e.verdict);
        match (it.next(), it.next()) {
            (Some(e), None) => Ok(e),
            (None, _) => {
                anyhow::bail!("no alignment metric plugin declares the verdict role (a build without plugins?)")
            }
            (Some(a), Some(b)) => anyhow::bail!(
                "alignment metrics `{}` and `{}` both declare the verdict role; exactly one may",
                a.info.name,
                b.info.name
            ),
        }
    }
}

fn compute_erased<A: AlignmentMetric>(settings: &Value, a: &Attribution, b: &Attribution) -> anyhow::Result<f64> {
    prepare_erased::<A>(settings)?(a, b)
}

fn prepare_erased<A: AlignmentMetric>(settings: &Value) -> anyhow::Result<PreparedAlignment> {
    let settings: A::Settings = parse_settings(settings)
        .map_err(|e| anyhow::anyhow!("alignment `{}`: setting `{}`: {}", A::NAME, e.path.join("."), e.message))?;
    Ok(Box::new(move |a, b| compare::<A>(&settings, a, b)))
}

fn compare<A: AlignmentMetric>(settings: &A::Settings, a: &Attribution, b: &Attribution) -> anyhow::Result<f64> {
    if a.example_id != b.example_id {
        anyhow::bail!(
            "alignment `{}`: attributions of examples {} and {} compared",
            A::NAME,
            a.example_id,
            b.example_id
        );
    }
    Ok(A::compute(settings, a, b))
}
