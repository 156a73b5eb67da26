//! Explainer plugins, one file each
//! ([`Explainer`](trustx_framework::plugin::explainer::Explainer)):
//!
//! | name | deterministic | features (default) | masking (default) |
//! |---|---|---|---|
//! | `lime` | no | bag of `\w+` words | delete (lime's) |
//! | `kernel-shap` | no (exact when 2^M fits the budget) | positions | mask token |
//! | `partition-shap` | yes | shap's tokens (`\W+` split) | shap's Text masker (`...`, collapsed) |
//! | `exact-shapley` | yes | positions | mask token |
//! | `occlusion` | yes | positions | remove |
//! | `integrated-gradients` | yes | positions | (embeddings) |
//!
//! Every perturbation explainer but `partition-shap` (which tokenizes and masks as shap's
//! Text masker) shares the settings `token_pattern`, `bow`, `masking` and
//! `output` and goes through the example's [`ExampleEngine`](trustx_framework::explain::ExampleEngine),
//! so equal masked texts run once per (model, example) whatever explainer or seed asks.

pub mod exact_shapley;
pub mod integrated_gradients;
pub mod kernel_shap;
pub mod lime;
pub mod occlusion;
pub mod partition_shap;

#[cfg(test)]
pub(crate) mod testing;

use trustx_framework::anyhow::Result;
use trustx_framework::explain::{Features, MaskMode, MaskedModel, Output};
use trustx_framework::plugin::explainer::{ExplainInput, example_features};

/// Features and the masked view of the example, from the shared settings.
pub(crate) fn prepare(input: &ExplainInput, token_pattern: &str, bow: bool) -> Result<Features> {
    example_features(input.engine, token_pattern, bow)
}

/// The engine seen through `features` for the input's class.
pub(crate) fn view<'e, 'a>(
    input: &ExplainInput<'e, 'a>,
    features: &'e Features,
    masking: MaskMode,
    output: Output,
) -> Result<MaskedModel<'e, 'a>> {
    MaskedModel::new(input.engine, features, masking, input.class, output)
}

pub(crate) fn remove() -> MaskMode {
    MaskMode::Remove
}

pub(crate) fn mask_token() -> MaskMode {
    MaskMode::MaskToken
}

pub(crate) fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use trustx_framework::plugin::PluginKind;
    use trustx_framework::plugin::explainer::ExplainerEntry;

    #[test]
    fn every_explainer_is_registered_and_documented() {
        let expected = [
            ("lime", false, false),
            ("kernel-shap", false, false),
            ("partition-shap", true, false),
            ("exact-shapley", true, false),
            ("occlusion", true, false),
            ("integrated-gradients", true, true),
        ];
        let registered: Vec<&str> =
            trustx_framework::inventory::iter::<ExplainerEntry>().map(|e| e.info.name).collect();
        for name in &registered {
            assert!(expected.iter().any(|(n, _, _)| n == name), "explainer `{name}` is not in this contract's table");
        }
        for (name, deterministic, gradients) in expected {
            let e = ExplainerEntry::find(name).unwrap_or_else(|| panic!("{name} registered"));
            assert_eq!(e.info.kind, PluginKind::Explainer);
            assert_eq!((e.deterministic, e.needs_gradients), (deterministic, gradients), "{name}");
            let docs = e.info.settings();
            let tokens = if name == "partition-shap" { "split_pattern" } else { "token_pattern" };
            assert!(docs.iter().any(|d| d.key == tokens), "{name}");
            assert!(docs.iter().all(|d| d.default.is_some() && !d.description.is_empty()), "{name}: {docs:?}");
            assert_eq!(e.row_seed(7), (!deterministic).then_some(7));
            let bad = (e.info.resolve)(&serde_json::json!({"nope": 1})).unwrap_err();
            assert_eq!(bad.path, ["nope"]);
        }
    }
}

/// Properties every perturbation explainer shares: pairs keep their separator, results do
/// not depend on threads or on what else used the engine.
#[cfg(test)]
mod shared_tests {
    use super::testing::*;
    use rand::SeedableRng;
    use serde_json::{Value, json};
    use trustx_framework::explain::{ExampleEngine, ExplainRng};
    use trustx_framework::plugin::explainer::{ExplainInput, ExplainerEntry, Explanation};

    /// Every registered explainer that needs no gradients (perturbation explainers).
    fn perturbation() -> Vec<&'static str> {
        let names: Vec<&str> = trustx_framework::inventory::iter::<ExplainerEntry>()
            .filter(|e| !e.needs_gradients)
            .map(|e| e.info.name)
            .collect();
        assert!(names.len() >= 5, "perturbation explainers registered: {names:?}");
        names
    }

    /// Fewer samples than the defaults where a plugin samples, to keep the tests fast.
    fn settings(name: &str) -> Value {
        match name {
            "lime" => json!({"num_samples": 300}),
            "kernel-shap" => json!({"nsamples": 200}),
            _ => json!({}),
        }
    }

    fn run(engine: &ExampleEngine, name: &str, seed: u64) -> Explanation {
        let entry = ExplainerEntry::find(name).unwrap();
        let input = ExplainInput { engine, class: 1, gradients: None };
        entry.explain(&settings(name), &input, &mut ExplainRng::seed_from_u64(seed)).unwrap()
    }

    #[test]
    fn a_pair_never_loses_its_separator() {
        let mut model = Additive::new(0.0, &[("man", 1.0), ("guitar", 0.5), ("person", -0.7), ("music", 0.3)]);
        model.segments = Some(2);
        let pair = vec!["A man plays a guitar.".to_string(), "A person plays music.".to_string()];
        let engine = ExampleEngine::new(&model, "pair", pair).unwrap();
        for name in perturbation() {
            // partition-shap masks as shap's Text masker does (no `masking` setting).
            let maskings: &[&str] = if name == "partition-shap" { &[""] } else { &["remove", "mask_token"] };
            for masking in maskings {
                let entry = ExplainerEntry::find(name).unwrap();
                let mut s = settings(name);
                if !masking.is_empty() {
                    s["masking"] = json!(masking);
                }
                let input = ExplainInput { engine: &engine, class: 1, gradients: None };
                let e = entry.explain(&s, &input, &mut ExplainRng::seed_from_u64(1)).unwrap();
                assert!(e.attribution.features.iter().all(|f| f.text != "[SEP]"), "{name}");
                assert!(e.attribution.features.iter().any(|f| f.segment == 1), "{name}");
            }
        }
        let seen = model.seen.lock().unwrap();
        assert!(seen.iter().any(|t| t[0].is_empty() && t[1].is_empty()), "the empty coalition was asked for");
        for t in seen.iter() {
            assert_eq!(t.len(), 2, "{t:?}");
            assert!(!t[1].contains("man") && !t[1].contains("guitar"), "premise words in the hypothesis: {t:?}");
            assert!(!t[0].contains("person") && !t[0].contains("music"), "hypothesis words in the premise: {t:?}");
        }
    }

    #[test]
    fn same_seed_same_attributions_whatever_the_threads() {
        let (model, _, _) = five_words();
        let texts = ["truly great film , boring plot", "a great plot", "boring , boring film", "truly truly great"];
        let sequential: Vec<Vec<Explanation>> = texts
            .iter()
            .map(|t| {
                let engine = ExampleEngine::new(&model, *t, vec![t.to_string()]).unwrap();
                perturbation().iter().map(|n| run(&engine, n, 42)).collect()
            })
            .collect();
        // Four threads share one engine per example, explainers in reverse order.
        let threaded: Vec<Vec<Explanation>> = std::thread::scope(|scope| {
            let handles: Vec<_> = texts
                .iter()
                .map(|t| {
                    let model = &model;
                    scope.spawn(move || {
                        let engine = ExampleEngine::new(model, *t, vec![t.to_string()]).unwrap();
                        let inner: Vec<Explanation> = std::thread::scope(|s2| {
                            let names = perturbation();
                            let hs: Vec<_> = names.iter().rev().map(|n| s2.spawn(|| run(&engine, n, 42))).collect();
                            hs.into_iter().map(|h| h.join().unwrap()).collect()
                        });
                        inner.into_iter().rev().collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (a, b) in sequential.iter().zip(&threaded) {
            for (x, y) in a.iter().zip(b) {
                assert_eq!(x.attribution, y.attribution);
            }
        }
    }
}
