//! `flips-correct-to-wrong`: Fraction of examples the reference gets right and the model gets wrong (the churn users see). Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::overview_column::OverviewColumn;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `flips-correct-to-wrong`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlipsCorrectToWrongSettings {}

/// The `flips-correct-to-wrong` similarity.
pub struct FlipsCorrectToWrong;

impl SimilarityMetric for FlipsCorrectToWrong {
    type Settings = FlipsCorrectToWrongSettings;
    const NAME: &'static str = "flips-correct-to-wrong";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "Fraction of examples the reference gets right and the model gets wrong (the churn users see).";
    const DEFINITION: &'static str = "(1/N) Σ_r 1[argmax p^ref_r = y_r and argmax p^model_r ≠ y_r] over the N rows (repeats counted), arg max lowest index on ties.";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(3);
    const OVERVIEW: Option<OverviewColumn> =
        Some(OverviewColumn { order: 2, heading: "flips: correct→wrong / wrong→correct" });
    const CONVENTION: Convention =
        Convention { binning: "none", norm: "share of examples", mode: "label flips", estimator: "plug-in" };

    fn compute(_settings: &FlipsCorrectToWrongSettings, input: &PairInput) -> f64 {
        super::shift::flips(input, true)
    }
}

inventory::submit! { SimilarityMetricEntry::of::<FlipsCorrectToWrong>() }
