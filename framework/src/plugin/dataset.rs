//! Dataset loader plugins: files in, labelled examples out.

use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::data::{BadRows, Example, RowCounts};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the engine asks a loader for: one split's files and the bad-row policy.
#[derive(Debug, Clone)]
pub struct LoadRequest<'a> {
    /// `"train"` or `"eval"`.
    pub split: &'a str,
    /// The split's files, resolved against the manifest's folder, in manifest order.
    pub paths: &'a [PathBuf],
    /// What to do with a malformed row.
    pub on_bad_rows: BadRows,
}

/// What a loader returns for one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// Examples in file order, ids unique.
    pub examples: Vec<Example>,
    /// Label names, indexed by `Example::label`.
    pub label_names: Vec<String>,
    /// Row accounting (`read`, `unlabelled`, `bad`, `excluded`; the engine fills the rest).
    pub counts: RowCounts,
}

/// A dataset loader. Implement it, then register with
/// `inventory::submit! { DatasetLoaderEntry::of::<MyLoader>() }`.
pub trait DatasetLoader: 'static {
    /// Settings: the loader's own keys of `[dataset]` (`deny_unknown_fields`).
    type Settings: Serialize + DeserializeOwned + JsonSchema;
    /// Name used as `[dataset] loader = "..."`.
    const NAME: &'static str;
    /// Version; part of the data node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Checks settings that need the file system (e.g. a path that must exist).
    fn validate(_settings: &Self::Settings, _base_dir: &Path) -> Result<(), SettingsError> {
        Ok(())
    }
    /// Reads one split. Errors name the file and line.
    fn load(settings: &Self::Settings, base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded>;
}

/// Registry entry of a dataset loader.
pub struct DatasetLoaderEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// Validates settings against the file system.
    pub validate: fn(&Value, &Path) -> Result<(), SettingsError>,
    /// Loads a split.
    pub load: fn(&Value, &Path, &LoadRequest) -> anyhow::Result<Loaded>,
}

inventory::collect!(DatasetLoaderEntry);

impl DatasetLoaderEntry {
    /// The registry entry for loader `L`.
    pub const fn of<L: DatasetLoader>() -> Self {
        DatasetLoaderEntry {
            info: PluginInfo {
                kind: PluginKind::Dataset,
                name: L::NAME,
                version: L::VERSION,
                summary: L::SUMMARY,
                schema: schema_of::<L::Settings>,
                resolve: resolve_settings::<L::Settings>,
                check: super::descriptor::no_check,
            },
            validate: validate_erased::<L>,
            load: load_erased::<L>,
        }
    }

    /// Looks a loader up by name.
    pub fn find(name: &str) -> Option<&'static DatasetLoaderEntry> {
        inventory::iter::<DatasetLoaderEntry>().find(|e| e.info.name == name)
    }
}

fn validate_erased<L: DatasetLoader>(v: &Value, base: &Path) -> Result<(), SettingsError> {
    L::validate(&parse_settings(v)?, base)
}

fn load_erased<L: DatasetLoader>(v: &Value, base: &Path, r: &LoadRequest) -> anyhow::Result<Loaded> {
    L::load(&parse_settings(v)?, base, r)
}

/// The JSON schema of a settings type (used by every kind's registry entry).
pub fn schema_of<S: JsonSchema>() -> schemars::Schema {
    schemars::schema_for!(S)
}

/// Counts or rejects malformed rows according to the policy; keeps loaders short.
#[derive(Debug)]
pub struct BadRowGate {
    policy: BadRows,
    /// Rows skipped so far.
    pub skipped: usize,
}

impl BadRowGate {
    /// A gate applying `policy`.
    pub fn new(policy: BadRows) -> Self {
        BadRowGate { policy, skipped: 0 }
    }

    /// Reports a malformed row: an error naming `file:line` under `error`, a count under `skip`.
    pub fn reject(&mut self, file: &Path, line: usize, what: impl std::fmt::Display) -> anyhow::Result<()> {
        match self.policy {
            BadRows::Skip => {
                self.skipped += 1;
                Ok(())
            }
            BadRows::Error => Err(anyhow::anyhow!(
                "{}:{line}: {what} (fix the row, or set `on_bad_rows = \"skip\"` in [dataset] to skip and count such rows)",
                file.display()
            )),
        }
    }
}
