//! The `predictions` model source: class probabilities a user already has, from any
//! framework, read from a Parquet, CSV or JSON-lines file.
//!
//! ```toml
//! [models.distilbert]
//! source = "predictions"
//! path = "preds/distilbert-seed{seed}.csv"   # `{seed}`: one file per experiment seed
//! # id_column = "id"
//! # columns = ["negative", "positive"]       # or: list_column = "probs"
//! ```
//!
//! The file holds one row per example: its id (column `id_column`) and its class
//! probabilities, either one column per class in class order (`columns`) or one
//! list-of-numbers column (`list_column`). Without either setting the source looks, in
//! this order, for columns named after the dataset's label names (case-insensitively, in
//! any column order: each column is read as the label it names), for
//! `prob_0` … `prob_{C-1}`, and for a list column `probs`. A file naming only some of the
//! labels is an error naming both lists.
//!
//! Ids are compared as text, so an integer id column `0, 1, 2` matches the dataset ids
//! `"0"`, `"1"`, `"2"` (CSV files are read as text, so `007` stays `007`). The
//! predictions come back in the order of the dataset's eval split, with its gold labels.
//! Every eval id must be in the file exactly once, and every probability row must be
//! finite, non-negative and sum to 1 within [`SUM_TOLERANCE`]; each error names the file,
//! the 1-based data row (and the line, for CSV) and the id. Rows whose id the dataset
//! does not have (e.g. because it was capped with `max_rows`) are ignored silently, and
//! their values are not checked. Blank lines of a CSV file are skipped; they still count
//! as rows (as polars counts them), so row numbers and line numbers stay those of the file.

use anyhow::{Result, anyhow};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use trustx_framework::plan::fingerprint::file_hash;
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::model_source::{
    Explainability, ImportedAttributions, ModelSource, ModelSourceEntry, PredictRequest,
};
use trustx_framework::predictions::Predictions;

mod file;
#[cfg(test)]
mod tests;

use file::{Format, PredictionsFile};

/// The placeholder in `path` that is replaced by the node's seed.
pub(crate) const SEED_PLACEHOLDER: &str = "{seed}";

/// How many missing ids an error message names.
pub(crate) const SHOWN_IDS: usize = 5;

/// Settings of the `predictions` source: the keys of `[models.NAME]` besides `source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictionsSettings {
    /// The predictions file: `.parquet`, `.csv` (with a header row) or `.jsonl` (one
    /// object per line). A relative path resolves against the manifest's folder. `{seed}`
    /// in the path is replaced by each experiment seed, so that there is one file per seed
    /// (the model is then seeded: one predict node per seed).
    pub path: String,
    /// The column holding each example's id, compared as text with the dataset's ids.
    #[serde(default = "default_id_column")]
    pub id_column: String,
    /// One probability column per class, in the dataset's class order. Default: columns
    /// named after the label names, else `prob_0` … `prob_{C-1}`, else `list_column`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// One column holding each row's list of class probabilities, in class order (in a CSV
    /// file written as text such as `[0.1, 0.9]`). Default: `probs`, when the file has
    /// neither per-class columns nor `columns` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_column: Option<String>,
    /// Attributions of this model computed elsewhere (captum, shap, …): a `.parquet`, `.csv`
    /// or `.jsonl` file with the columns example_id, explainer, class, feature, position,
    /// weight (and optionally segment, seed), as trustx's own `tables/attributions.csv`. With
    /// it the model is explained from the file by every `[[explainers]]` entry (its rows of
    /// that explainer), and enters alignment and the noise floor. `{seed}` as in `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributions: Option<String>,
}

fn default_id_column() -> String {
    "id".to_string()
}

/// Reads a model's class probabilities from a file made by any framework.
#[derive(Debug, Clone, Copy, Default)]
pub struct PredictionsSource;

impl ModelSource for PredictionsSource {
    type Settings = PredictionsSettings;
    const NAME: &'static str = "predictions";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "Class probabilities read from a Parquet, CSV or JSONL file (from any framework), matched to the dataset by id";

    fn seeded(settings: &Self::Settings) -> bool {
        settings.path.contains(SEED_PLACEHOLDER)
    }

    fn validate(settings: &Self::Settings, base_dir: &Path, seeds: &[u64]) -> Result<(), SettingsError> {
        if settings.columns.is_some() && settings.list_column.is_some() {
            return Err(SettingsError::at(
                "list_column",
                "set either `columns` (one column per class) or `list_column` (one list column), not both",
            ));
        }
        if let Some(columns) = &settings.columns {
            if columns.is_empty() {
                return Err(SettingsError::at(
                    "columns",
                    "is empty; name one probability column per class, in class order",
                ));
            }
            if let Some(dup) = columns.iter().enumerate().find_map(|(i, c)| columns[..i].contains(c).then_some(c)) {
                return Err(SettingsError::at("columns", format!("names the column `{dup}` twice")));
            }
        }
        if settings.id_column.is_empty() {
            return Err(SettingsError::at("id_column", "is empty; name the column that holds the example ids"));
        }
        Format::of(Path::new(&settings.path)).map_err(|e| SettingsError::at("path", e))?;
        if let Some(attributions) = &settings.attributions {
            Format::of(Path::new(attributions)).map_err(|e| SettingsError::at("attributions", e))?;
            let seeded = attributions.contains(SEED_PLACEHOLDER);
            let files: Vec<(Option<u64>, Result<PathBuf, String>)> = if seeded {
                seeds.iter().map(|&s| (Some(s), resolve_path(attributions, base_dir, Some(s)))).collect()
            } else {
                vec![(None, resolve_path(attributions, base_dir, None))]
            };
            for (seed, file) in files {
                let file = file.map_err(|e| SettingsError::at("attributions", e))?;
                if !file.is_file() {
                    return Err(SettingsError::at(
                        "attributions",
                        format!(
                            "{} does not exist{}; give the attributions file (relative paths resolve against {})",
                            file.display(),
                            seed.map(|s| format!(" (seed {s})")).unwrap_or_default(),
                            base_dir.display()
                        ),
                    ));
                }
            }
        }
        let check = |path: PathBuf, seed: Option<u64>| -> Result<(), SettingsError> {
            if path.is_file() {
                return Ok(());
            }
            let what = if path.exists() { "is not a file" } else { "does not exist" };
            let message = match seed {
                Some(seed) => format!(
                    "{} {what} (seed {seed}); `{SEED_PLACEHOLDER}` in `path` is replaced by each experiment seed \
                     ({}), so there must be one predictions file per seed; relative paths resolve against {}",
                    path.display(),
                    seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                    base_dir.display()
                ),
                None => format!(
                    "{} {what}; give the Parquet, CSV or JSONL file of class probabilities \
                     (a relative path resolves against the manifest's folder, {})",
                    path.display(),
                    base_dir.display()
                ),
            };
            Err(SettingsError::at("path", message))
        };
        if Self::seeded(settings) {
            for &seed in seeds {
                check(
                    resolve_path(&settings.path, base_dir, Some(seed)).map_err(|e| SettingsError::at("path", e))?,
                    Some(seed),
                )?;
            }
            Ok(())
        } else {
            check(resolve_path(&settings.path, base_dir, None).map_err(|e| SettingsError::at("path", e))?, None)
        }
    }

    fn fingerprint(settings: &Self::Settings, base_dir: &Path, seed: Option<u64>) -> Result<Value> {
        let path = resolve_path(&settings.path, base_dir, seed).map_err(|e| anyhow!(e))?;
        Ok(Value::String(file_hash(&path)?))
    }

    fn explainability(settings: &Self::Settings) -> Explainability {
        if settings.attributions.is_some() { Explainability::Imported } else { Explainability::None }
    }

    fn attributions(settings: &Self::Settings, base_dir: &Path, seed: Option<u64>) -> Result<ImportedAttributions> {
        let file = settings.attributions.as_deref().ok_or_else(|| anyhow!("no `attributions` file is set"))?;
        let path = resolve_attributions(file, base_dir, seed)?;
        super::attributions_file::read(&path)
    }

    fn attributions_fingerprint(settings: &Self::Settings, base_dir: &Path, seed: Option<u64>) -> Result<Value> {
        let Some(file) = settings.attributions.as_deref() else { return Ok(Value::Null) };
        let path = resolve_attributions(file, base_dir, seed)?;
        Ok(Value::String(file_hash(&path)?))
    }

    fn predict(settings: &Self::Settings, request: &PredictRequest) -> Result<Predictions> {
        let path = resolve_path(&settings.path, request.base_dir, request.seed).map_err(|e| anyhow!(e))?;
        let file = PredictionsFile::read(&path)?;
        file.predictions(settings, request.dataset)
    }
}

inventory::submit! { ModelSourceEntry::of::<PredictionsSource>() }

/// The attributions file for a model instance of `seed` (`None` when the model is not
/// seeded: then a `{seed}` in the name cannot be filled).
fn resolve_attributions(file: &str, base_dir: &Path, seed: Option<u64>) -> Result<PathBuf> {
    resolve_path(file, base_dir, seed).map_err(|e| {
        anyhow!("`attributions`: {e}; with one predictions file for every seed, use `{SEED_PLACEHOLDER}` in `path` too")
    })
}

/// The file the settings name for `seed`: `{seed}` replaced, resolved against `base_dir`.
fn resolve_path(path: &str, base_dir: &Path, seed: Option<u64>) -> Result<PathBuf, String> {
    let path = if path.contains(SEED_PLACEHOLDER) {
        match seed {
            Some(seed) => path.replace(SEED_PLACEHOLDER, &seed.to_string()),
            None => {
                return Err(format!(
                    "`{path}` contains `{SEED_PLACEHOLDER}` but no seed was given; run the model with experiment seeds"
                ));
            }
        }
    } else {
        path.to_string()
    };
    Ok(base_dir.join(path))
}
