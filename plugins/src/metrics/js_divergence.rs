//! `js-divergence`: Mean per-example Jensen–Shannon divergence (not distance) of the class distributions, in nats. Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::overview_column::OverviewColumn;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `js-divergence`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsDivergenceSettings {}

/// The `js-divergence` similarity.
pub struct JsDivergence;

impl SimilarityMetric for JsDivergence {
    type Settings = JsDivergenceSettings;
    const NAME: &'static str = "js-divergence";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "Mean per-example Jensen–Shannon divergence (not distance) of the class distributions, in nats.";
    const DEFINITION: &'static str = "mean over the N rows of JS(p^ref_r, p^model_r) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), natural log: the divergence, not its square root; in [0, ln 2].";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(6);
    const OVERVIEW: Option<OverviewColumn> = Some(OverviewColumn { order: 3, heading: "JS divergence" });
    const CONVENTION: Convention = Convention {
        binning: "none",
        norm: "Jensen–Shannon divergence (not its root), nats",
        mode: "all classes",
        estimator: "mean over examples",
    };

    fn compute(_settings: &JsDivergenceSettings, input: &PairInput) -> f64 {
        super::shift::mean(&super::shift::per_row(input, super::shift::js))
    }
}

inventory::submit! { SimilarityMetricEntry::of::<JsDivergence>() }
