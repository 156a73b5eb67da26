//! Model source plugins: where a model's predictions come from (`[models.NAME] source`).

use super::dataset::schema_of;
use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::data::Dataset;
use crate::explain::Classifier;
use crate::predictions::Predictions;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// What the `predict` stage hands a model source.
#[derive(Debug, Clone)]
pub struct PredictRequest<'a> {
    /// The model's name in the manifest.
    pub model: &'a str,
    /// The dataset (predictions are made on `dataset.eval`).
    pub dataset: &'a Dataset,
    /// The seed of this node, when the source is seeded.
    pub seed: Option<u64>,
    /// The manifest's folder, against which relative paths resolve.
    pub base_dir: &'a Path,
}

/// What the explain stage can get from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explainability {
    /// Nothing: the source gives predictions only, and its model is not explained.
    None,
    /// A black-box classifier that answers any text ([`ModelSource::classifier`]), which
    /// every explainer that needs no gradients can explain.
    BlackBox,
    /// Attributions computed elsewhere (captum, shap, any tool), read from a file
    /// ([`ModelSource::attributions`]): they enter alignment and the noise floor like trustx's
    /// own; faithfulness needs the model itself and is not measured.
    Imported,
}

/// One row of an attributions file: the explainer it is of, the row, and its 1-based data
/// row in the file (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRow {
    /// 1-based data row of the file (the header not counted).
    pub line: usize,
    /// The explainer's label (as `[[explainers]]` names it).
    pub explainer: String,
    /// The attribution.
    pub row: crate::explain::AttributionRow,
}

/// An attributions file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAttributions {
    /// The file (for messages).
    pub file: std::path::PathBuf,
    /// Every row, in file order.
    pub rows: Vec<ImportedRow>,
}

/// A model source. Register with `inventory::submit! { ModelSourceEntry::of::<MySource>() }`.
pub trait ModelSource: 'static {
    /// Settings: the source's own keys of `[models.NAME]`.
    type Settings: Serialize + DeserializeOwned + JsonSchema;
    /// Name used as `source = "..."`.
    const NAME: &'static str;
    /// Version; part of the predict node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Whether predictions differ per experiment seed (one predict node per seed).
    fn seeded(settings: &Self::Settings) -> bool;
    /// Checks settings against the file system, e.g. that files exist.
    fn validate(_settings: &Self::Settings, _base_dir: &Path, _seeds: &[u64]) -> Result<(), SettingsError> {
        Ok(())
    }
    /// Extra content for the node key beyond the settings, e.g. the blake3 of input files,
    /// so that a changed file reruns the node.
    fn fingerprint(_settings: &Self::Settings, _base_dir: &Path, _seed: Option<u64>) -> anyhow::Result<Value> {
        Ok(Value::Null)
    }
    /// Predicts class probabilities for every example of `request.dataset.eval`.
    fn predict(settings: &Self::Settings, request: &PredictRequest) -> anyhow::Result<Predictions>;
    /// What the explain stage can get from this source (default: nothing).
    fn explainability(_settings: &Self::Settings) -> Explainability {
        Explainability::None
    }
    /// The model as a black box, for one explain node (only called when
    /// [`ModelSource::explainability`] says [`Explainability::BlackBox`]). It lives as long
    /// as the node, and is dropped (stopped) at its end.
    fn classifier(_settings: &Self::Settings, _request: &PredictRequest) -> anyhow::Result<Box<dyn Classifier>> {
        anyhow::bail!("source `{}` gives predictions only; it cannot answer texts", Self::NAME)
    }
    /// The attributions file of the model instance of `seed` (only called when
    /// [`ModelSource::explainability`] says [`Explainability::Imported`]), every row checked
    /// for its types; which rows an explain node needs is the engine's to check.
    fn attributions(
        _settings: &Self::Settings,
        _base_dir: &Path,
        _seed: Option<u64>,
    ) -> anyhow::Result<ImportedAttributions> {
        anyhow::bail!("source `{}` has no attributions file", Self::NAME)
    }
    /// Content for the explain nodes' keys: the blake3 of the attributions file, so that a
    /// changed file re-explains (default: nothing).
    fn attributions_fingerprint(
        _settings: &Self::Settings,
        _base_dir: &Path,
        _seed: Option<u64>,
    ) -> anyhow::Result<Value> {
        Ok(Value::Null)
    }
}

/// Registry entry of a model source.
pub struct ModelSourceEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`ModelSource::seeded`].
    pub seeded: fn(&Value) -> Result<bool, SettingsError>,
    /// See [`ModelSource::validate`].
    pub validate: fn(&Value, &Path, &[u64]) -> Result<(), SettingsError>,
    /// See [`ModelSource::fingerprint`].
    pub fingerprint: fn(&Value, &Path, Option<u64>) -> anyhow::Result<Value>,
    /// See [`ModelSource::predict`].
    pub predict: fn(&Value, &PredictRequest) -> anyhow::Result<Predictions>,
    /// See [`ModelSource::explainability`].
    pub explainability: fn(&Value) -> Result<Explainability, SettingsError>,
    /// See [`ModelSource::classifier`].
    pub classifier: fn(&Value, &PredictRequest) -> anyhow::Result<Box<dyn Classifier>>,
    /// See [`ModelSource::attributions`].
    pub attributions: fn(&Value, &Path, Option<u64>) -> anyhow::Result<ImportedAttributions>,
    /// See [`ModelSource::attributions_fingerprint`].
    pub attributions_fingerprint: fn(&Value, &Path, Option<u64>) -> anyhow::Result<Value>,
}

inventory::collect!(ModelSourceEntry);

impl ModelSourceEntry {
    /// The registry entry for source `M`.
    pub const fn of<M: ModelSource>() -> Self {
        ModelSourceEntry {
            info: PluginInfo {
                kind: PluginKind::ModelSource,
                name: M::NAME,
                version: M::VERSION,
                summary: M::SUMMARY,
                schema: schema_of::<M::Settings>,
                resolve: resolve_settings::<M::Settings>,
                check: super::descriptor::no_check,
            },
            seeded: |v| Ok(M::seeded(&parse_settings(v)?)),
            validate: |v, base, seeds| M::validate(&parse_settings(v)?, base, seeds),
            fingerprint: |v, base, seed| M::fingerprint(&parse_settings(v)?, base, seed),
            predict: |v, r| M::predict(&parse_settings(v)?, r),
            explainability: |v| Ok(M::explainability(&parse_settings(v)?)),
            classifier: |v, r| M::classifier(&parse_settings(v)?, r),
            attributions: |v, base, seed| M::attributions(&parse_settings(v)?, base, seed),
            attributions_fingerprint: |v, base, seed| M::attributions_fingerprint(&parse_settings(v)?, base, seed),
        }
    }

    /// Looks a source up by name.
    pub fn find(name: &str) -> Option<&'static ModelSourceEntry> {
        inventory::iter::<ModelSourceEntry>().find(|e| e.info.name == name)
    }
}
