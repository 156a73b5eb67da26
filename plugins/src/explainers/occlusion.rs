//! `occlusion`: leave one feature out.
//!
//! weight_i = F(x) − F(x without feature i), where F is the explained output (the class
//! probability by default) and "without" removes the word (or, with `masking =
//! "mask_token"`, replaces it by the mask token). M + 1 evaluations. Deterministic.

use super::{prepare, remove, view};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustx_framework::anyhow::Result;
use trustx_framework::explain::{Attribution, ExplainRng, Mask, MaskMode, Output};
use trustx_framework::plugin::explainer::{
    ExplainInput, Explainer, ExplainerEntry, Explanation, default_token_pattern,
};

/// Settings of `occlusion`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OcclusionSettings {
    /// Regex that splits each segment into words.
    #[serde(default = "default_token_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true) or per word position (false).
    #[serde(default)]
    pub bow: bool,
    /// What happens to the left-out word: `remove` or `mask_token`.
    #[serde(default = "remove")]
    pub masking: MaskMode,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

impl Default for OcclusionSettings {
    fn default() -> Self {
        Self { token_pattern: default_token_pattern(), bow: false, masking: remove(), output: Output::default() }
    }
}

/// The `occlusion` explainer.
pub struct Occlusion;

impl Explainer for Occlusion {
    type Settings = OcclusionSettings;
    const NAME: &'static str = "occlusion";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Leave one word out: F(x) − F(x without the word)";
    const DETERMINISTIC: bool = true;

    fn explain(s: &OcclusionSettings, input: &ExplainInput, _rng: &mut ExplainRng) -> Result<Explanation> {
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let mut model = view(input, &features, s.masking, s.output)?;
        let m = features.len();
        let masks: Vec<Mask> = std::iter::once(Mask::full(m))
            .chain((0..m).map(|i| {
                let mut k = Mask::full(m);
                k.set(i, false);
                k
            }))
            .collect();
        let f = model.eval(&masks)?;
        let weights = f[1..].iter().map(|v| f[0] - v).collect();
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, weights)?;
        let diagnostics = BTreeMap::from([("output".to_string(), f[0])]);
        Ok(Explanation { attribution, counts: model.counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<Occlusion>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::testing::*;

    #[test]
    fn equals_single_word_deltas() {
        let (model, text, _) = five_words();
        let e = explain::<Occlusion>(&model, &[text], &OcclusionSettings::default(), 0);
        let p = |t: &str| 1.0 / (1.0 + (-model.log_odds(&[t.to_string()])).exp());
        let full = p(text);
        let want = [
            full - p("great film , boring plot"),
            full - p("truly film , boring plot"),
            full - p("truly great , boring plot"),
            0.0,
            full - p("truly great film , plot"),
            full - p("truly great film , boring"),
        ];
        assert_close(&e.attribution.weights, &want, 1e-12, "occlusion");
        assert_eq!(e.counts.requested, 7);
        // In log-odds, occlusion of an additive model is the word's weight.
        let s = settings::<Occlusion>(serde_json::json!({"output": "log-odds"}));
        let e = explain::<Occlusion>(&model, &[text], &s, 0);
        assert_close(&e.attribution.weights, &five_words().2, 1e-9, "log-odds");
    }
}
