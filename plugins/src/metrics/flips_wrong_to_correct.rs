//! `flips-wrong-to-correct`: Fraction of examples the reference gets wrong and the model gets right. Conventions and sources in [`super::shift`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::overview_column::OverviewColumn;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `flips-wrong-to-correct`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlipsWrongToCorrectSettings {}

/// The `flips-wrong-to-correct` similarity.
pub struct FlipsWrongToCorrect;

impl SimilarityMetric for FlipsWrongToCorrect {
    type Settings = FlipsWrongToCorrectSettings;
    const NAME: &'static str = "flips-wrong-to-correct";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of examples the reference gets wrong and the model gets right.";
    const DEFINITION: &'static str = "(1/N) Σ_r 1[argmax p^ref_r ≠ y_r and argmax p^model_r = y_r] over the N rows (repeats counted), arg max lowest index on ties.";
    const LOWER_IS_CLOSER: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(4);
    const OVERVIEW: Option<OverviewColumn> =
        Some(OverviewColumn { order: 2, heading: "flips: correct→wrong / wrong→correct" });
    const CONVENTION: Convention =
        Convention { binning: "none", norm: "share of examples", mode: "label flips", estimator: "plug-in" };

    fn compute(_settings: &FlipsWrongToCorrectSettings, input: &PairInput) -> f64 {
        super::shift::flips(input, false)
    }
}

inventory::submit! { SimilarityMetricEntry::of::<FlipsWrongToCorrect>() }
