//! Explainer plugins (`[[explainers]] explainer = "..."`): attribute one prediction of one
//! model to the input's words.
//!
//! The engine's explain stage calls an explainer once per (model, example, explainer,
//! seed): it builds one [`ExampleEngine`] per (model, example), shared by every explainer
//! and seed so that equal masked texts run once, picks the explained class, derives the RNG
//! ([`crate::explain::rng_for`]) and calls the explainer [`ExplainerEntry::prepare`]d once
//! for the node (its settings parsed once, not per example and seed). The result's
//! [`Explanation::rows`] go to the attributions table. A deterministic explainer
//! ([`Explainer::DETERMINISTIC`]) ignores its RNG: its node key should leave the seed out and
//! its rows carry no seed.

use super::dataset::schema_of;
use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::explain::{
    Attribution, AttributionRow, EvalCounts, ExampleEngine, ExplainRng, Features, GradientClassifier, WordSplitter,
};
use anyhow::Context;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

/// What an explainer is asked to explain.
#[derive(Clone, Copy)]
pub struct ExplainInput<'e, 'a> {
    /// The cached predictor of the (model, example).
    pub engine: &'e ExampleEngine<'a>,
    /// The explained class (gold label or prediction: the caller's choice).
    pub class: usize,
    /// White-box access, for explainers with [`Explainer::NEEDS_GRADIENTS`].
    pub gradients: Option<&'e dyn GradientClassifier>,
}

/// An explainer's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// A weight per feature.
    pub attribution: Attribution,
    /// Evaluations this explanation asked for and caused.
    pub counts: EvalCounts,
    /// Explainer-specific numbers (lime's intercept and R², shap's base value, IG's
    /// completeness error), by name.
    pub diagnostics: BTreeMap<String, f64>,
}

/// An explainer. Register with `inventory::submit! { ExplainerEntry::of::<E>() }`.
pub trait Explainer: 'static {
    /// Settings (`deny_unknown_fields`, documented defaults).
    type Settings: Serialize + DeserializeOwned + JsonSchema + Send + Sync;
    /// Name used in `[[explainers]] explainer`.
    const NAME: &'static str;
    /// Version; part of the explain node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Whether the result ignores the RNG (then the seed is left out of node keys).
    const DETERMINISTIC: bool;
    /// Whether [`ExplainInput::gradients`] is required.
    const NEEDS_GRADIENTS: bool = false;
    /// Explains `input.class` of `input.engine`'s example. Errors name the example.
    fn explain(settings: &Self::Settings, input: &ExplainInput, rng: &mut ExplainRng) -> anyhow::Result<Explanation>;
    /// Checks the settings' values at `validate` — ranges, and what a value would cost in
    /// memory and model evaluations — returning every problem, each naming its key. Default:
    /// nothing to check.
    fn check(_settings: &Self::Settings) -> Vec<SettingsError> {
        Vec::new()
    }
}

/// An explainer bound to its parsed settings ([`ExplainerEntry::prepare`]): called for
/// every example and seed of a node.
pub type PreparedExplainer = Box<dyn Fn(&ExplainInput, &mut ExplainRng) -> anyhow::Result<Explanation> + Send + Sync>;

/// Registry entry of an explainer.
pub struct ExplainerEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`Explainer::DETERMINISTIC`].
    pub deterministic: bool,
    /// See [`Explainer::NEEDS_GRADIENTS`].
    pub needs_gradients: bool,
    /// Parses the settings (the plugin's JSON table) once and returns the explainer bound
    /// to them; see [`Explainer::explain`].
    pub prepare: fn(&Value) -> anyhow::Result<PreparedExplainer>,
}

inventory::collect!(ExplainerEntry);

impl ExplainerEntry {
    /// The registry entry for explainer `E`.
    pub const fn of<E: Explainer>() -> Self {
        ExplainerEntry {
            info: PluginInfo {
                kind: PluginKind::Explainer,
                name: E::NAME,
                version: E::VERSION,
                summary: E::SUMMARY,
                schema: schema_of::<E::Settings>,
                resolve: resolve_settings::<E::Settings>,
                check: |v| match parse_settings::<E::Settings>(v) {
                    Ok(s) => E::check(&s),
                    Err(e) => vec![e],
                },
            },
            deterministic: E::DETERMINISTIC,
            needs_gradients: E::NEEDS_GRADIENTS,
            prepare: prepare_erased::<E>,
        }
    }

    /// Looks an explainer up by name.
    pub fn find(name: &str) -> Option<&'static ExplainerEntry> {
        inventory::iter::<ExplainerEntry>().find(|e| e.info.name == name)
    }

    /// One explanation with settings parsed for it alone; a node explaining many examples
    /// [`prepare`](Self::prepare)s once instead.
    pub fn explain(&self, settings: &Value, input: &ExplainInput, rng: &mut ExplainRng) -> anyhow::Result<Explanation> {
        (self.prepare)(settings)?(input, rng)
    }

    /// The seed to record in rows: `None` for a deterministic explainer.
    pub fn row_seed(&self, seed: u64) -> Option<u64> {
        (!self.deterministic).then_some(seed)
    }
}

fn prepare_erased<E: Explainer>(settings: &Value) -> anyhow::Result<PreparedExplainer> {
    let settings: E::Settings =
        parse_settings(settings).with_context(|| format!("explainer `{}`: bad settings", E::NAME))?;
    Ok(Box::new(move |input, rng| explain_with::<E>(&settings, input, rng)))
}

fn explain_with<E: Explainer>(
    settings: &E::Settings,
    input: &ExplainInput,
    rng: &mut ExplainRng,
) -> anyhow::Result<Explanation> {
    if E::NEEDS_GRADIENTS && input.gradients.is_none() {
        anyhow::bail!("explainer `{}` needs a gradient-capable model (load it on an autodiff device)", E::NAME);
    }
    let mut explanation = E::explain(settings, input, rng)
        .with_context(|| format!("explainer `{}` on example {}", E::NAME, input.engine.example_id()))?;
    // Words the model never reads are not perturbed (see `Features::within`): say how many.
    if let Some(visible) = input.engine.visible_bytes() {
        let words =
            crate::explain::features::WordSplitter::default().keeping(&input.engine.classifier().special_words());
        let beyond: usize = input
            .engine
            .segments()
            .iter()
            .zip(visible)
            .map(|(text, &v)| words.spans(text).filter(|&(start, _)| start >= v).count())
            .sum();
        explanation.diagnostics.insert("words_beyond_window".to_string(), beyond as f64);
    }
    Ok(explanation)
}

impl Explanation {
    /// The attribution as table rows (seed `None` for a deterministic explainer).
    pub fn rows(&self, seed: Option<u64>) -> Vec<AttributionRow> {
        self.attribution.rows(seed)
    }
}

/// The features of the engine's example for the common settings `token_pattern` and
/// `bow`; a bad pattern is an error naming the setting.
pub fn example_features(engine: &ExampleEngine, token_pattern: &str, bow: bool) -> anyhow::Result<Features> {
    let splitter = WordSplitter::new(token_pattern)
        .context("setting `token_pattern`")?
        .keeping(&engine.classifier().special_words());
    Features::within(engine.segments(), &splitter, bow, engine.visible_bytes())
}

/// Default of the common `token_pattern` setting.
pub fn default_token_pattern() -> String {
    crate::explain::DEFAULT_WORD_PATTERN.to_string()
}
