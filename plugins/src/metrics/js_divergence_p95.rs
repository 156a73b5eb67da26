//! `js-divergence-p95`: 95th percentile of per-example Jensen–Shannon divergence, in nats. Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `js-divergence-p95`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsDivergenceP95Settings {}

/// The `js-divergence-p95` similarity.
pub struct JsDivergenceP95;

impl SimilarityMetric for JsDivergenceP95 {
    type Settings = JsDivergenceP95Settings;
    const NAME: &'static str = "js-divergence-p95";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "95th percentile of per-example Jensen–Shannon divergence, in nats.";
    const DEFINITION: &'static str = "95th percentile (numpy linear interpolation) over the N rows of the Jensen–Shannon divergence (not its square root) in nats.";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(7);
    const CONVENTION: Convention = Convention {
        binning: "none",
        norm: "Jensen–Shannon divergence (not its root), nats",
        mode: "all classes",
        estimator: "95th percentile over examples",
    };

    fn compute(_settings: &JsDivergenceP95Settings, input: &PairInput) -> f64 {
        super::shift::quantile(&super::shift::per_row(input, super::shift::js), 0.95)
    }
}

inventory::submit! { SimilarityMetricEntry::of::<JsDivergenceP95>() }
