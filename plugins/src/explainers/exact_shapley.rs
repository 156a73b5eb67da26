//! `exact-shapley`: Shapley values by enumerating all 2^M coalitions.
//!
//! φ_i = Σ over S ⊆ N∖{i} of |S|! (M − |S| − 1)! / M! · (F(S ∪ {i}) − F(S)), where F(S) is
//! the explained output with only the features of S present (the others masked). Exact,
//! deterministic, and 2^M evaluations: refused above M = 14 (16 384 evaluations). The
//! values satisfy efficiency: Σ φ_i = F(N) − F(∅).

use super::{mask_token, prepare, view};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::{Attribution, ExplainRng, Mask, MaskMode, Output};
use trustx_framework::plugin::explainer::{
    ExplainInput, Explainer, ExplainerEntry, Explanation, default_token_pattern,
};

/// Largest number of features `exact-shapley` accepts.
pub const MAX_FEATURES: usize = 14;

/// Settings of `exact-shapley`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExactShapleySettings {
    /// Regex that splits each segment into words.
    #[serde(default = "default_token_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true) or per word position (false).
    #[serde(default)]
    pub bow: bool,
    /// What happens to an absent word: `remove` or `mask_token`.
    #[serde(default = "mask_token")]
    pub masking: MaskMode,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

impl Default for ExactShapleySettings {
    fn default() -> Self {
        Self { token_pattern: default_token_pattern(), bow: false, masking: mask_token(), output: Output::default() }
    }
}

/// The `exact-shapley` explainer.
pub struct ExactShapley;

/// Shapley values from the outputs of all 2^M coalitions (`values[bits]`, feature i = bit i).
pub fn shapley_from_table(values: &[f64], m: usize) -> Vec<f64> {
    // weight[s] = s! (M − s − 1)! / M! = 1 / (M · C(M − 1, s)).
    let mut weight = vec![0.0; m.max(1)];
    let mut binom = 1.0; // C(M − 1, s)
    for (s, w) in weight.iter_mut().enumerate().take(m) {
        *w = 1.0 / (m as f64 * binom);
        binom = binom * (m - 1 - s) as f64 / (s + 1) as f64;
    }
    (0..m)
        .map(|i| {
            let bit = 1usize << i;
            (0..values.len())
                .filter(|s| s & bit == 0)
                .map(|s| weight[s.count_ones() as usize] * (values[s | bit] - values[s]))
                .sum()
        })
        .collect()
}

impl Explainer for ExactShapley {
    type Settings = ExactShapleySettings;
    const NAME: &'static str = "exact-shapley";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Exact Shapley values over all 2^M word coalitions (M ≤ 14)";
    const DETERMINISTIC: bool = true;

    fn explain(s: &ExactShapleySettings, input: &ExplainInput, _rng: &mut ExplainRng) -> Result<Explanation> {
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let m = features.len();
        if m > MAX_FEATURES {
            bail!(
                "{m} features: exact Shapley values need 2^{m} evaluations and are limited to {MAX_FEATURES} \
                 features; use kernel-shap or partition-shap"
            );
        }
        let mut model = view(input, &features, s.masking, s.output)?;
        let masks: Vec<Mask> = (0..1u64 << m).map(|bits| Mask::from_bits(m, bits)).collect();
        let values = model.eval(&masks)?;
        let weights = shapley_from_table(&values, m);
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, weights)?;
        let diagnostics =
            BTreeMap::from([("base_value".to_string(), values[0]), ("output".to_string(), values[values.len() - 1])]);
        Ok(Explanation { attribution, counts: model.counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<ExactShapley>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::testing::*;

    #[test]
    fn additive_model_gives_the_word_weights() {
        let (model, text, want) = five_words();
        let s = settings::<ExactShapley>(serde_json::json!({"output": "log-odds"}));
        let e = explain::<ExactShapley>(&model, &[text], &s, 0);
        assert_close(&e.attribution.weights, &want, 1e-9, "exact");
        assert_eq!(e.counts.requested, 64);
    }

    #[test]
    fn hand_computed_game() {
        // Two players, v(∅)=0, v(a)=1, v(b)=2, v(ab)=5: φ_a = (1 + 3)/2 = 2, φ_b = (2 + 4)/2 = 3.
        assert_eq!(shapley_from_table(&[0.0, 1.0, 2.0, 5.0], 2), [2.0, 3.0]);
        assert_eq!(shapley_from_table(&[1.0], 0), Vec::<f64>::new());
    }

    #[test]
    fn efficiency_in_probability_and_refusal_of_long_inputs() {
        let (model, text, _) = five_words();
        let e = explain::<ExactShapley>(&model, &[text], &ExactShapleySettings::default(), 0);
        let sum: f64 = e.attribution.weights.iter().sum();
        assert!((sum - (e.diagnostics["output"] - e.diagnostics["base_value"])).abs() < 1e-12);
        let long = "w ".repeat(15);
        let engine = trustx_framework::explain::ExampleEngine::new(&model, "long", vec![long]).unwrap();
        let input = ExplainInput { engine: &engine, class: 1, gradients: None };
        let mut rng = <ExplainRng as rand::SeedableRng>::seed_from_u64(0);
        let err = ExactShapley::explain(&ExactShapleySettings::default(), &input, &mut rng).unwrap_err();
        assert!(err.to_string().contains("15 features"), "{err}");
    }
}
