//! `kl-divergence-p95`: 95th percentile of per-example KL(reference ‖ model), in nats: the tail of prediction shift. Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `kl-divergence-p95`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KlDivergenceP95Settings {}

/// The `kl-divergence-p95` similarity.
pub struct KlDivergenceP95;

impl SimilarityMetric for KlDivergenceP95 {
    type Settings = KlDivergenceP95Settings;
    const NAME: &'static str = "kl-divergence-p95";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "95th percentile of per-example KL(reference ‖ model), in nats: the tail of prediction shift.";
    const DEFINITION: &'static str = "95th percentile (numpy linear interpolation) over the N rows of KL(p^ref_r ‖ p^model_r) in nats, model probabilities clipped below at 1e-12.";
    const LOWER_IS_CLOSER: bool = true;
    const CONVENTION: Convention = Convention {
        binning: "none",
        norm: "KL(reference ‖ model), nats",
        mode: "all classes",
        estimator: "95th percentile over examples",
    };

    fn compute(_settings: &KlDivergenceP95Settings, input: &PairInput) -> f64 {
        super::shift::quantile(&super::shift::per_row(input, super::shift::kl), 0.95)
    }
}

inventory::submit! { SimilarityMetricEntry::of::<KlDivergenceP95>() }
