//! Explainer plugins, one file each
//! ([`Explainer`](trustx_framework::plugin::explainer::Explainer)):
//!
//! | name | deterministic | features (default) | masking (default) |
//! |---|---|---|---|
//! | `lime` | no | bag of words | remove |
//! | `kernel-shap` | no (exact when 2^M fits the budget) | positions | mask token |
//! | `partition-shap` | yes | positions | mask token |
//! | `exact-shapley` | yes | positions | mask token |
//! | `occlusion` | yes | positions | remove |
//! | `integrated-gradients` | yes | positions | (embeddings) |
//!
//! Every perturbation explainer shares the settings `token_pattern`, `bow`, `masking` and
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
        for (name, deterministic, gradients) in expected {
            let e = ExplainerEntry::find(name).unwrap_or_else(|| panic!("{name} registered"));
            assert_eq!(e.info.kind, PluginKind::Explainer);
            assert_eq!((e.deterministic, e.needs_gradients), (deterministic, gradients), "{name}");
            let docs = e.info.settings();
            assert!(docs.iter().any(|d| d.key == "token_pattern"), "{name}");
            assert!(docs.iter().all(|d| d.default.is_some() && !d.description.is_empty()), "{name}: {docs:?}");
            assert_eq!(e.row_seed(7), (!deterministic).then_some(7));
            let bad = (e.info.resolve)(&serde_json::json!({"nope": 1})).unwrap_err();
            assert_eq!(bad.path, ["nope"]);
        }
    }
}
