//! `kl-divergence`: Mean per-example KL(reference ‖ model) of the class distributions, in nats. Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `kl-divergence`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KlDivergenceSettings {}

/// The `kl-divergence` similarity.
pub struct KlDivergence;

impl SimilarityMetric for KlDivergence {
    type Settings = KlDivergenceSettings;
    const NAME: &'static str = "kl-divergence";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Mean per-example KL(reference ‖ model) of the class distributions, in nats.";
    const DEFINITION: &'static str = "mean over the N rows of KL(p^ref_r ‖ p^model_r) = Σ_c p^ref_c ln(p^ref_c / max(p^model_c, 1e-12)), natural log (nats); terms with p^ref_c = 0 are 0.";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(5);
    const CONVENTION: Convention = Convention {
        binning: "none",
        norm: "KL(reference ‖ model), nats",
        mode: "all classes",
        estimator: "mean over examples",
    };

    fn compute(_settings: &KlDivergenceSettings, input: &PairInput) -> f64 {
        super::shift::mean(&super::shift::per_row(input, super::shift::kl))
    }
}

inventory::submit! { SimilarityMetricEntry::of::<KlDivergence>() }
