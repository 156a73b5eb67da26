//! `table`: any CSV, JSON-lines or Parquet table with a column mapping, read through
//! polars (`trustx_framework::tables::io`); the format follows the extension (`.csv`,
//! `.jsonl` / `.ndjson`, `.parquet` / `.pq`). Use it for data already exported by another
//! tool, e.g. a Hugging Face `datasets` split written with `to_parquet` / `to_json`.
//!
//! - Text: column `text`, plus `text_pair` for pair tasks (two segments).
//! - Id: column `id`, read as text (CSV columns are read as text, so `007` stays `007`);
//!   without it, the 0-based row index, counted across the split's files in order
//!   (malformed rows included, so ids do not depend on `on_bad_rows`).
//! - Label: column `label`. Integer labels (an integer or float column in Parquet / JSON
//!   lines; in CSV, a column whose values are all integers) are class indices 0..C−1,
//!   named by `labels` when given, else `"0"`..`"C-1"` with C = largest label + 1. In CSV,
//!   a column is read as indices when most of its values are integers and more of them
//!   are integers than are names listed in `labels`; its other values are malformed rows
//!   (so a names column whose names look like numbers stays names). Text
//!   labels are looked up in `labels` when given, else the label names
//!   are the sorted distinct values of all the split's files. Surrounding whitespace of a
//!   label is ignored.
//! - Malformed rows: a null text, text pair or label, an empty id, or a label that is not
//!   a class (an unknown name, or an index out of range). They are named `file:LINE` in CSV
//!   (the data row's line, header being line 1; quoted fields spanning lines are not
//!   counted) and `file: row N` (1-based data row) in Parquet and JSON lines.

use super::common::{IdTracker, no_examples, reject};
use file::read_file;
use labels::LabelMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;
use trustx_framework::data::RowCounts;
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};

/// Largest integer label accepted without `labels` (guards against an id column mapped as
/// the label, which would create millions of classes).
const MAX_DEFAULT_CLASSES: usize = 1000;

/// Settings of the `table` loader: which column holds what.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// Column holding each example's id (read as text). Default: none, the 0-based row
    /// index is the id.
    #[serde(default)]
    pub id: Option<String>,
    /// Column holding the text (the first segment). Default: `"text"`.
    #[serde(default = "default_text")]
    pub text: String,
    /// Column holding the second text of a pair task (e.g. the hypothesis). Default: none
    /// (single-text task).
    #[serde(default)]
    pub text_pair: Option<String>,
    /// Column holding the label (integer class index or label name). Default: `"label"`.
    #[serde(default = "default_label")]
    pub label: String,
    /// Label names in class-index order. Integer labels index this list; text labels must
    /// be one of its names. Default: none (integer labels are named `"0"`..`"C-1"`; text
    /// labels get their sorted distinct values as names).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

fn default_text() -> String {
    "text".to_string()
}

fn default_label() -> String {
    "label".to_string()
}

impl Default for TableSettings {
    fn default() -> Self {
        TableSettings { id: None, text: default_text(), text_pair: None, label: default_label(), labels: None }
    }
}

/// Loader of CSV / JSON-lines / Parquet tables with a column mapping.
pub struct Table;

impl DatasetLoader for Table {
    type Settings = TableSettings;
    const NAME: &'static str = "table";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "CSV, JSON-lines or Parquet tables with a column mapping (id, text, text_pair, label)";

    fn validate(settings: &TableSettings, _base_dir: &Path) -> Result<(), SettingsError> {
        check_labels(settings)
    }

    fn load(settings: &TableSettings, _base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded> {
        check_labels(settings)?;
        let files = request.paths.iter().map(|p| read_file(settings, p)).collect::<anyhow::Result<Vec<_>>>()?;
        let labels = LabelMap::new(settings, &files);
        let mut gate = BadRowGate::new(request.on_bad_rows);
        let mut counts = RowCounts::default();
        let mut ids = IdTracker::default();
        let mut examples = Vec::new();
        for file in &files {
            for (loc, row) in &file.rows {
                let row_index = counts.read;
                counts.read += 1;
                let example = row.clone().and_then(|r| file.example(settings, &labels, r, row_index));
                match example {
                    Ok(example) => {
                        ids.insert(&example.id, &file.path, *loc)?;
                        examples.push(example);
                    }
                    Err(what) => reject(&mut gate, request.on_bad_rows, &file.path, *loc, what)?,
                }
            }
        }
        counts.bad = gate.skipped;
        if examples.is_empty() {
            return Err(no_examples(request.paths, &counts));
        }
        Ok(Loaded { examples, label_names: labels.names, counts })
    }
}

inventory::submit! { DatasetLoaderEntry::of::<Table>() }

fn check_labels(settings: &TableSettings) -> Result<(), SettingsError> {
    let Some(labels) = &settings.labels else {
        return Ok(());
    };
    if labels.is_empty() {
        return Err(SettingsError::at(
            "labels",
            "the list of label names is empty; list them in class-index order, or leave `labels` out",
        ));
    }
    let mut seen = HashSet::new();
    for name in labels {
        if name.trim().is_empty() {
            return Err(SettingsError::at("labels", "a label name is empty"));
        }
        if !seen.insert(name.trim()) {
            return Err(SettingsError::at("labels", format!("label name `{name}` is listed twice")));
        }
    }
    Ok(())
}

mod file;
mod labels;
#[cfg(test)]
mod tests;
