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

use anyhow::{Context, Result, anyhow, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use trustx_framework::data::Dataset;
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::model_source::{
    Explainability, ImportedAttributions, ModelSource, ModelSourceEntry, PredictRequest,
};
use trustx_framework::polars::prelude::DataFrame;
use trustx_framework::predictions::{Predictions, SUM_TOLERANCE, check_row};
use trustx_framework::tables::io::{column_f64, column_f64_lists, column_strings, read_csv, read_jsonl, read_parquet};

/// The placeholder in `path` that is replaced by the node's seed.
const SEED_PLACEHOLDER: &str = "{seed}";

/// How many missing ids an error message names.
const SHOWN_IDS: usize = 5;

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
        let bytes = std::fs::read(&path).with_context(|| format!("reading {} to fingerprint it", path.display()))?;
        Ok(Value::String(blake3::hash(&bytes).to_hex().to_string()))
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
        let bytes = std::fs::read(&path).with_context(|| format!("reading {} to fingerprint it", path.display()))?;
        Ok(Value::String(blake3::hash(&bytes).to_hex().to_string()))
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

/// The table formats the source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    Jsonl,
}

impl Format {
    fn of(path: &Path) -> Result<Format, String> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") | Some("ndjson") => Ok(Format::Jsonl),
            _ => Err(format!("{}: unknown table format; use a .parquet, .csv or .jsonl file", path.display())),
        }
    }
}

/// Where the class probabilities of a file are.
#[derive(Debug, Clone, PartialEq)]
enum Layout {
    /// One column per class, in class order.
    Columns(Vec<String>),
    /// One column of lists.
    List(String),
}

/// One cell of a probability column, before checking.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(f64),
    Null,
    /// Text that is not a number.
    Text(String),
}

/// A predictions file, read.
struct PredictionsFile {
    path: PathBuf,
    format: Format,
    df: DataFrame,
    /// For CSV: the 1-based line on which each data row starts (when it could be mapped).
    csv_lines: Option<Vec<usize>>,
    /// For CSV: rows with every field empty (blank lines), which are skipped.
    blank: Vec<bool>,
}

impl PredictionsFile {
    fn read(path: &Path) -> Result<PredictionsFile> {
        let format = Format::of(path).map_err(|e| anyhow!(e))?;
        let df = match format {
            // All text: ids stay exactly as written; numbers are parsed below.
            Format::Csv => read_csv(path, true)?,
            Format::Parquet => read_parquet(path)?,
            Format::Jsonl => read_jsonl(path)?,
        };
        let csv_lines = match format {
            Format::Csv => {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Some(csv_record_lines(&bytes)).filter(|lines| lines.len() == df.height())
            }
            _ => None,
        };
        let mut blank = vec![format == Format::Csv; df.height()];
        if format == Format::Csv {
            for column in df.columns() {
                for (row, null) in column.is_null().iter().enumerate() {
                    if null != Some(true) {
                        blank[row] = false;
                    }
                }
            }
        }
        Ok(PredictionsFile { path: path.to_path_buf(), format, df, csv_lines, blank })
    }

    /// `file: row N (line L), id `x``, for errors about data row `row` (0-based).
    fn at(&self, row: usize, id: &str) -> String {
        match (self.format, self.csv_lines.as_ref().and_then(|l| l.get(row))) {
            (Format::Csv, Some(line)) => format!("{}: row {} (line {line}), id `{id}`", self.path.display(), row + 1),
            _ => format!("{}: row {}, id `{id}`", self.path.display(), row + 1),
        }
    }

    fn row_only(&self, row: usize) -> String {
        match (self.format, self.csv_lines.as_ref().and_then(|l| l.get(row))) {
            (Format::Csv, Some(line)) => {
                format!("{}: row {} (line {line})", self.path.display(), row + 1)
            }
            _ => format!("{}: row {}", self.path.display(), row + 1),
        }
    }

    fn column_names(&self) -> Vec<String> {
        self.df.get_column_names().iter().map(|n| n.to_string()).collect()
    }

    fn has_column(&self, name: &str) -> bool {
        self.df.get_column_names().iter().any(|n| n.as_str() == name)
    }

    fn no_column(&self, name: &str, setting: &str) -> anyhow::Error {
        anyhow!(
            "{}: no column `{name}` (set by `{setting}`); the file's columns are: {}",
            self.path.display(),
            self.column_names().join(", ")
        )
    }

    /// The ids, as text. Floats that are all whole numbers (pandas turns an integer
    /// column with gaps into floats) are written without the `.0`.
    fn ids(&self, id_column: &str) -> Result<Vec<Option<String>>> {
        if !self.has_column(id_column) {
            return Err(self.no_column(id_column, "id_column"));
        }
        let dtype = self.df.column(id_column)?.dtype().clone();
        if dtype.is_float() {
            let values = column_f64(&self.df, id_column)?;
            if values.iter().flatten().all(|v| v.fract() == 0.0 && v.abs() < 9.0e15) {
                return Ok(values.into_iter().map(|v| v.map(|v| format!("{}", v as i64))).collect());
            }
        }
        column_strings(&self.df, id_column).with_context(|| format!("{}: reading the id column", self.path.display()))
    }

    /// Decides where the probabilities are.
    fn layout(&self, settings: &PredictionsSettings, dataset: &Dataset) -> Result<Layout> {
        let names = &dataset.label_names;
        let classes = names.len();
        if let Some(columns) = &settings.columns {
            if let Some(missing) = columns.iter().find(|c| !self.has_column(c)) {
                return Err(self.no_column(missing, "columns"));
            }
            if columns.len() != classes {
                bail!(
                    "{}: `columns` names {} probability columns ({}) but the dataset `{}` has {classes} labels ({})",
                    self.path.display(),
                    columns.len(),
                    columns.join(", "),
                    dataset.name,
                    names.join(", ")
                );
            }
            return Ok(Layout::Columns(columns.clone()));
        }
        if let Some(list) = &settings.list_column {
            if !self.has_column(list) {
                return Err(self.no_column(list, "list_column"));
            }
            return Ok(Layout::List(list.clone()));
        }
        if let Some(layout) = self.label_columns(dataset)? {
            return Ok(layout);
        }
        let mut prob_columns: Vec<(usize, String)> = self
            .column_names()
            .into_iter()
            .filter_map(|n| {
                let k = n.strip_prefix("prob_")?;
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some((k.parse::<usize>().ok()?, n.clone()))
            })
            .collect();
        prob_columns.sort();
        if !prob_columns.is_empty() {
            let contiguous = prob_columns.iter().enumerate().all(|(i, (k, _))| i == *k);
            if contiguous && prob_columns.len() == classes {
                return Ok(Layout::Columns(prob_columns.into_iter().map(|(_, n)| n).collect()));
            }
            bail!(
                "{}: the file's probability columns are {} but the dataset `{}` has {classes} labels ({}), \
                 which needs prob_0 … prob_{}; or name the columns with `columns`",
                self.path.display(),
                prob_columns.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", "),
                dataset.name,
                names.join(", "),
                classes.saturating_sub(1)
            );
        }
        if self.has_column("probs") {
            return Ok(Layout::List("probs".to_string()));
        }
        bail!(
            "{}: found no probability columns; tried columns named after the dataset's labels ({}), \
             prob_0 … prob_{}, and a list column `probs`; the file's columns are: {}. \
             Set `columns` (one column per class, in class order) or `list_column`",
            self.path.display(),
            names.join(", "),
            classes.saturating_sub(1),
            self.column_names().join(", ")
        )
    }

    /// The probability columns named after the dataset's labels, matched case-insensitively
    /// (an exact match first), in the dataset's class order, whatever the file's column order;
    /// `None` when the file names none of them. A file naming only some is an error naming
    /// both lists, never a silent fallback to another layout.
    fn label_columns(&self, dataset: &Dataset) -> Result<Option<Layout>> {
        let names = &dataset.label_names;
        let columns = self.column_names();
        let find = |label: &str| -> Option<String> {
            if self.has_column(label) {
                return Some(label.to_string());
            }
            let mut hits = columns.iter().filter(|c| c.trim().eq_ignore_ascii_case(label.trim()));
            match (hits.next(), hits.next()) {
                (Some(c), None) => Some(c.clone()),
                _ => None,
            }
        };
        let found: Vec<Option<String>> = names.iter().map(|n| find(n)).collect();
        if found.iter().all(Option::is_none) {
            return Ok(None);
        }
        if found.iter().all(Option::is_some) {
            return Ok(Some(Layout::Columns(found.into_iter().flatten().collect())));
        }
        let missing: Vec<&str> =
            names.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(n, _)| n.as_str()).collect();
        bail!(
            "{}: the file has probability columns for some of the dataset `{}`'s labels ({}) but not for {}; \
             the file's columns are: {}. Name one column per label (matched case-insensitively), \
             or set `columns` to the probability columns in the dataset's class order",
            self.path.display(),
            dataset.name,
            names.join(", "),
            missing.join(", "),
            columns.join(", ")
        )
    }

    /// A probability column as cells (numbers, nulls, or unparsable text).
    fn cells(&self, name: &str) -> Result<Vec<Cell>> {
        let dtype = self.df.column(name)?.dtype().clone();
        if dtype.is_string() {
            Ok(column_strings(&self.df, name)?
                .into_iter()
                .map(|v| match v {
                    None => Cell::Null,
                    Some(text) => parse_number(&text).map_or(Cell::Text(text), Cell::Number),
                })
                .collect())
        } else if dtype.is_primitive_numeric() || dtype.is_null() || dtype.is_bool() {
            Ok(column_f64(&self.df, name)?.into_iter().map(|v| v.map_or(Cell::Null, Cell::Number)).collect())
        } else {
            bail!("{}: column `{name}` holds {dtype}, not probabilities (numbers)", self.path.display())
        }
    }

    /// A list column as one optional list per row; text cells such as `[0.1, 0.9]` (how
    /// pandas writes a list to CSV) or `[0.1 0.9]` (a NumPy array) are parsed.
    fn lists(&self, name: &str) -> Result<Vec<Option<Vec<Cell>>>> {
        let dtype = self.df.column(name)?.dtype().clone();
        if dtype.is_string() {
            Ok(column_strings(&self.df, name)?.into_iter().map(|v| v.map(|t| parse_list(&t))).collect())
        } else if dtype.is_list() {
            let lists = column_f64_lists(&self.df, name).with_context(|| format!("{}", self.path.display()))?;
            Ok(lists
                .into_iter()
                .map(|l| l.map(|l| l.into_iter().map(|v| v.map_or(Cell::Null, Cell::Number)).collect()))
                .collect())
        } else {
            bail!(
                "{}: column `{name}` holds {dtype}, not lists of probabilities; name per-class columns with `columns` instead",
                self.path.display()
            )
        }
    }

    /// The predictions for the dataset's eval split.
    fn predictions(&self, settings: &PredictionsSettings, dataset: &Dataset) -> Result<Predictions> {
        let classes = dataset.label_names.len();
        if classes == 0 {
            bail!("the dataset `{}` has no label names", dataset.name);
        }
        let layout = self.layout(settings, dataset)?;
        let ids = self.ids(&settings.id_column)?;
        let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
        for (row, id) in ids.iter().enumerate() {
            if self.blank[row] {
                continue;
            }
            let Some(id) = id else {
                bail!("{}: no id (column `{}` is empty)", self.row_only(row), settings.id_column);
            };
            if let Some(first) = row_of.insert(id, row) {
                bail!(
                    "{}: the id is repeated (first on row {}); each example must appear once",
                    self.at(row, id),
                    first + 1
                );
            }
        }
        let eval = &dataset.eval.examples;
        let missing: Vec<&str> = eval.iter().map(|e| e.id.as_str()).filter(|id| !row_of.contains_key(id)).collect();
        if !missing.is_empty() {
            let mut msg = format!(
                "{}: {} of the dataset's {} eval ids are not in column `{}`: {}",
                self.path.display(),
                missing.len(),
                eval.len(),
                settings.id_column,
                quoted(&missing)
            );
            if missing.len() == eval.len() {
                let first: Vec<&str> = ids.iter().flatten().map(String::as_str).collect();
                let _ = write!(msg, "; none matches: the file's ids are {} (ids are compared as text)", quoted(&first));
            }
            bail!(msg);
        }
        let mut probs = Vec::with_capacity(eval.len() * classes);
        let mut row_probs = Vec::with_capacity(classes);
        match &layout {
            Layout::Columns(columns) => {
                let cells = columns.iter().map(|c| self.cells(c)).collect::<Result<Vec<_>>>()?;
                for example in eval {
                    let row = row_of[example.id.as_str()];
                    row_probs.clear();
                    for (c, column) in columns.iter().enumerate() {
                        row_probs.push(match &cells[c][row] {
                            Cell::Number(p) => *p,
                            Cell::Null => bail!(
                                "{}: probability of class {c} (column `{column}`) is missing (null)",
                                self.at(row, &example.id)
                            ),
                            Cell::Text(t) => bail!(
                                "{}: probability of class {c} (column `{column}`) is `{t}`, not a number",
                                self.at(row, &example.id)
                            ),
                        });
                    }
                    self.check(&row_probs, row, &example.id)?;
                    probs.extend_from_slice(&row_probs);
                }
            }
            Layout::List(column) => {
                let lists = self.lists(column)?;
                for example in eval {
                    let row = row_of[example.id.as_str()];
                    let Some(list) = &lists[row] else {
                        bail!("{}: no probabilities (column `{column}` is empty)", self.at(row, &example.id));
                    };
                    if list.len() != classes {
                        bail!(
                            "{}: {} probabilities in column `{column}` but the dataset `{}` has {classes} labels ({})",
                            self.at(row, &example.id),
                            list.len(),
                            dataset.name,
                            dataset.label_names.join(", ")
                        );
                    }
                    row_probs.clear();
                    for (c, cell) in list.iter().enumerate() {
                        row_probs.push(match cell {
                            Cell::Number(p) => *p,
                            Cell::Null => bail!(
                                "{}: probability of class {c} (item {c} of column `{column}`) is missing (null)",
                                self.at(row, &example.id)
                            ),
                            Cell::Text(t) => bail!(
                                "{}: probability of class {c} (item {c} of column `{column}`) is `{t}`, not a number",
                                self.at(row, &example.id)
                            ),
                        });
                    }
                    self.check(&row_probs, row, &example.id)?;
                    probs.extend_from_slice(&row_probs);
                }
            }
        }
        let predictions = Predictions {
            ids: eval.iter().map(|e| e.id.clone()).collect(),
            labels: eval.iter().map(|e| e.label).collect(),
            num_classes: classes,
            probs,
        };
        predictions.check().map_err(|e| anyhow!("{}: {e}", self.path.display()))?;
        Ok(predictions)
    }

    fn check(&self, row_probs: &[f64], row: usize, id: &str) -> Result<()> {
        check_row(row_probs).map_err(|e| {
            let hint = if e.contains("sum to") {
                format!(" (each row must sum to 1 within {SUM_TOLERANCE}; were logits or percentages written instead of probabilities?)")
            } else {
                String::new()
            };
            anyhow!("{}: {e}{hint}", self.at(row, id))
        })
    }
}

/// The first few ids, quoted, and how many in all when there are more.
fn quoted(ids: &[&str]) -> String {
    let mut out = ids.iter().take(SHOWN_IDS).map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN_IDS {
        let _ = write!(out, ", … ({} in all)", ids.len());
    }
    out
}

/// A number written as text (surrounding blanks allowed; `nan`, `inf` are numbers here,
/// and rejected later as not finite).
fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// A list written as text: `[0.1, 0.9]`, `[0.1 0.9]` or `0.1,0.9`.
fn parse_list(text: &str) -> Vec<Cell> {
    let inner = text.trim();
    let inner = inner.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(inner);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "null" | "None" => Cell::Null,
            _ => parse_number(t).map_or_else(|| Cell::Text(t.to_string()), Cell::Number),
        })
        .collect()
}

/// The 1-based line on which each data record of a CSV file starts, the header skipped,
/// counted as polars counts records: every line is one (blank ones too), a quoted field
/// may span lines, and a final line break does not start another record.
fn csv_record_lines(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut line = 1;
    let mut at_start = true;
    let mut in_quotes = false;
    for &b in bytes {
        if at_start {
            starts.push(line);
            at_start = false;
        }
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' => {
                line += 1;
                at_start = !in_quotes;
            }
            _ => {}
        }
    }
    if !starts.is_empty() {
        starts.remove(0);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustx_framework::data::{Example, Split};
    use trustx_framework::plugin::model_source::ModelSource;
    use trustx_framework::polars::prelude::{Column, DataFrame};
    use trustx_framework::tables::io::parquet_bytes;

    /// A fresh temporary folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "trustx-predictions-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dataset(ids: &[&str], labels: &[usize], names: &[&str]) -> Dataset {
        Dataset {
            name: "toy".into(),
            label_names: names.iter().map(|n| n.to_string()).collect(),
            train: None,
            eval: Split {
                examples: ids
                    .iter()
                    .zip(labels)
                    .map(|(id, &label)| Example { id: id.to_string(), segments: vec![format!("text {id}")], label })
                    .collect(),
                counts: Default::default(),
            },
        }
    }

    fn sst() -> Dataset {
        dataset(&["0", "1", "2"], &[1, 0, 1], &["negative", "positive"])
    }

    fn settings(path: &str) -> PredictionsSettings {
        serde_json::from_value(serde_json::json!({ "path": path })).unwrap()
    }

    fn predict_with(dir: &TempDir, s: &PredictionsSettings, ds: &Dataset, seed: Option<u64>) -> Result<Predictions> {
        PredictionsSource::predict(s, &PredictRequest { model: "m", dataset: ds, seed, base_dir: &dir.0 })
    }

    fn predict(dir: &TempDir, file: &str, ds: &Dataset) -> Result<Predictions> {
        predict_with(dir, &settings(file), ds, None)
    }

    fn err(dir: &TempDir, file: &str, ds: &Dataset) -> String {
        format!("{:#}", predict(dir, file, ds).unwrap_err())
    }

    const EXPECTED: [f64; 6] = [0.25, 0.75, 0.5, 0.5, 0.125, 0.875];

    fn check_sst(p: &Predictions) {
        assert_eq!(p.ids, ["0", "1", "2"]);
        assert_eq!(p.labels, [1, 0, 1]);
        assert_eq!(p.num_classes, 2);
        assert_eq!(p.probs, EXPECTED);
    }

    #[test]
    fn sources_predictions_csv_label_name_columns_any_order() {
        let dir = TempDir::new("csv");
        // File order differs from dataset order; an extra id (capped dataset) is ignored.
        dir.write("p.csv", "positive,id,negative\n0.875,2,0.125\n0.75,0,0.25\n0.3,99,0.7\n0.5,1,0.5\n");
        check_sst(&predict(&dir, "p.csv", &sst()).unwrap());
    }

    #[test]
    fn sources_predictions_label_columns_match_case_insensitively() {
        let dir = TempDir::new("case");
        // Upper-case names in the reverse order: still read as the labels they name.
        dir.write("p.csv", "id,POSITIVE,Negative\n0,0.75,0.25\n1,0.5,0.5\n2,0.875,0.125\n");
        check_sst(&predict(&dir, "p.csv", &sst()).unwrap());
    }

    #[test]
    fn sources_predictions_some_label_columns_is_an_error_naming_both_lists() {
        let dir = TempDir::new("partial");
        // `prob_0`/`prob_1` would fit, but a column named after one label says the file
        // names its classes: reading it by position could swap them silently.
        dir.write("p.csv", "id,positive,prob_0,prob_1\n0,0.75,0.25,0.75\n1,0.5,0.5,0.5\n2,0.875,0.125,0.875\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("negative, positive") && e.contains("but not for negative"), "{e}");
        assert!(e.contains("id, positive, prob_0, prob_1") && e.contains("`columns`"), "{e}");
    }

    #[test]
    fn sources_predictions_csv_prob_k_columns() {
        let dir = TempDir::new("probk");
        dir.write("p.csv", "id,prob_0,prob_1\n0,0.25,0.75\n1,0.5,0.5\n2,0.125,0.875\n");
        check_sst(&predict(&dir, "p.csv", &sst()).unwrap());
    }

    #[test]
    fn sources_predictions_csv_list_text_from_pandas_and_numpy() {
        let dir = TempDir::new("csvlist");
        dir.write("p.csv", "id,probs\n0,\"[0.25, 0.75]\"\n1,[0.5 0.5]\n2,\"[0.125, 0.875]\"\n");
        check_sst(&predict(&dir, "p.csv", &sst()).unwrap());
    }

    #[test]
    fn sources_predictions_explicit_columns_and_id_column() {
        let dir = TempDir::new("explicit");
        dir.write("p.csv", "guid,a,b,c\n0,0.25,0.75,9\n1,0.5,0.5,9\n2,0.125,0.875,9\n");
        let s: PredictionsSettings =
            serde_json::from_value(serde_json::json!({"path": "p.csv", "id_column": "guid", "columns": ["a", "b"]}))
                .unwrap();
        check_sst(&predict_with(&dir, &s, &sst(), None).unwrap());
    }

    #[test]
    fn sources_predictions_csv_keeps_ids_as_text() {
        let dir = TempDir::new("textids");
        dir.write("p.csv", "id,negative,positive\n007,0.25,0.75\n7,0.5,0.5\n");
        let ds = dataset(&["007", "7"], &[1, 0], &["negative", "positive"]);
        assert_eq!(predict(&dir, "p.csv", &ds).unwrap().probs, [0.25, 0.75, 0.5, 0.5]);
    }

    #[test]
    fn sources_predictions_parquet_integer_ids_and_list_column() {
        let dir = TempDir::new("parquet");
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("id".into(), [2i64, 1, 0]),
            Column::new("prob_0".into(), [0.125f64, 0.5, 0.25]),
            Column::new("prob_1".into(), [0.875f64, 0.5, 0.75]),
        ])
        .unwrap();
        dir.write("p.parquet", parquet_bytes(&mut df).unwrap());
        check_sst(&predict(&dir, "p.parquet", &sst()).unwrap());

        // A float id column of whole numbers (pandas with gaps) still matches.
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("id".into(), [0.0f64, 1.0, 2.0]),
            Column::new("negative".into(), [0.25f64, 0.5, 0.125]),
            Column::new("positive".into(), [0.75f64, 0.5, 0.875]),
        ])
        .unwrap();
        dir.write("f.parquet", parquet_bytes(&mut df).unwrap());
        check_sst(&predict(&dir, "f.parquet", &sst()).unwrap());
    }

    #[test]
    fn sources_predictions_jsonl_list_and_named_list_column() {
        let dir = TempDir::new("jsonl");
        dir.write(
            "p.jsonl",
            "{\"id\": 0, \"probs\": [0.25, 0.75]}\n{\"id\": 1, \"probs\": [0.5, 0.5]}\n{\"id\": 2, \"probs\": [0.125, 0.875]}\n",
        );
        check_sst(&predict(&dir, "p.jsonl", &sst()).unwrap());
        dir.write(
            "q.jsonl",
            "{\"id\": \"0\", \"scores\": [0.25, 0.75]}\n{\"id\": \"1\", \"scores\": [0.5, 0.5]}\n{\"id\": \"2\", \"scores\": [0.125, 0.875]}\n",
        );
        let s: PredictionsSettings =
            serde_json::from_value(serde_json::json!({"path": "q.jsonl", "list_column": "scores"})).unwrap();
        check_sst(&predict_with(&dir, &s, &sst(), None).unwrap());
    }

    #[test]
    fn sources_predictions_missing_ids_are_named_and_counted() {
        let dir = TempDir::new("missing");
        dir.write("p.csv", "id,negative,positive\n1,0.5,0.5\n");
        let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let ds = dataset(&ids, &[0; 10], &["negative", "positive"]);
        let e = err(&dir, "p.csv", &ds);
        assert!(e.contains("p.csv") && e.contains("9 of the dataset's 10 eval ids"), "{e}");
        assert!(e.contains("`0`, `2`, `3`, `4`, `5`, … (9 in all)"), "{e}");

        // No id matches at all: show both sides.
        dir.write("q.csv", "id,negative,positive\na,0.5,0.5\n");
        let e = err(&dir, "q.csv", &sst());
        assert!(e.contains("none matches") && e.contains("`a`"), "{e}");
    }

    #[test]
    fn sources_predictions_repeated_id_names_both_rows() {
        let dir = TempDir::new("dup");
        dir.write("p.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.5\n0,0.25,0.75\n2,0.1,0.9\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv: row 3 (line 4), id `0`") && e.contains("repeated (first on row 1)"), "{e}");
    }

    #[test]
    fn sources_predictions_null_nan_inf_text_probabilities() {
        let dir = TempDir::new("bad");
        for (value, wanted) in [
            ("", "missing (null)"),
            ("NaN", "NaN, not a finite number"),
            ("inf", "inf, not a finite number"),
            ("abc", "`abc`, not a number"),
        ] {
            dir.write("p.csv", format!("id,negative,positive\n0,0.25,0.75\n1,{value},0.5\n2,0.125,0.875\n"));
            let e = err(&dir, "p.csv", &sst());
            assert!(e.contains("p.csv: row 2 (line 3), id `1`") && e.contains(wanted), "{value}: {e}");
        }
        // Null in a Parquet column, NaN in a JSONL list.
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("id".into(), ["0", "1", "2"]),
            Column::new("negative".into(), [Some(0.25f64), Some(0.5), None]),
            Column::new("positive".into(), [0.75f64, 0.5, 0.875]),
        ])
        .unwrap();
        dir.write("p.parquet", parquet_bytes(&mut df).unwrap());
        let e = err(&dir, "p.parquet", &sst());
        assert!(e.contains("p.parquet: row 3, id `2`") && e.contains("missing (null)"), "{e}");
        dir.write("p.jsonl", "{\"id\": 0, \"probs\": [0.25, 0.75]}\n{\"id\": 1, \"probs\": [0.5, null]}\n");
        let e = err(&dir, "p.jsonl", &dataset(&["0", "1"], &[0, 0], &["negative", "positive"]));
        assert!(e.contains("p.jsonl: row 2, id `1`") && e.contains("item 1") && e.contains("null"), "{e}");
    }

    #[test]
    fn sources_predictions_negative_and_bad_sum() {
        let dir = TempDir::new("sum");
        dir.write("p.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.5\n2,-0.125,1.125\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv: row 3 (line 4), id `2`") && e.contains("negative (-0.125)"), "{e}");
        dir.write("p.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.6\n2,0.125,0.875\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv: row 2 (line 3), id `1`") && e.contains("sum to 1.1"), "{e}");
        // Within the tolerance is fine.
        dir.write("p.csv", "id,negative,positive\n0,0.25,0.75005\n1,0.5,0.5\n2,0.125,0.875\n");
        assert!(predict(&dir, "p.csv", &sst()).is_ok());
    }

    #[test]
    fn sources_predictions_class_count_mismatch_names_both() {
        let dir = TempDir::new("classes");
        let three = &["a", "b", "c"];
        dir.write("p.csv", "id,prob_0,prob_1\n0,0.25,0.75\n1,0.5,0.5\n2,0.125,0.875\n");
        let e = err(&dir, "p.csv", &dataset(&["0", "1", "2"], &[0, 1, 2], three));
        assert!(e.contains("prob_0, prob_1") && e.contains("3 labels (a, b, c)"), "{e}");

        dir.write("p.jsonl", "{\"id\": 0, \"probs\": [0.25, 0.75]}\n");
        let e = err(&dir, "p.jsonl", &dataset(&["0"], &[0], three));
        assert!(e.contains("row 1, id `0`") && e.contains("2 probabilities") && e.contains("3 labels"), "{e}");

        let s: PredictionsSettings =
            serde_json::from_value(serde_json::json!({"path": "p.csv", "columns": ["prob_0", "prob_1"]})).unwrap();
        let e = format!("{:#}", predict_with(&dir, &s, &dataset(&["0"], &[0], three), None).unwrap_err());
        assert!(e.contains("2 probability columns") && e.contains("3 labels"), "{e}");
    }

    #[test]
    fn sources_predictions_no_probability_columns_lists_what_was_tried() {
        let dir = TempDir::new("nocols");
        dir.write("p.csv", "id,score\n0,0.7\n1,0.5\n2,0.1\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("negative, positive") && e.contains("prob_0 … prob_1") && e.contains("`probs`"), "{e}");
        assert!(e.contains("columns are: id, score"), "{e}");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv"), "{e}");
        dir.write("q.csv", "idx,negative,positive\n0,0.5,0.5\n");
        let e = err(&dir, "q.csv", &sst());
        assert!(e.contains("no column `id`") && e.contains("id_column"), "{e}");
    }

    #[test]
    fn sources_predictions_null_id_names_the_row() {
        let dir = TempDir::new("nullid");
        dir.write("p.csv", "id,negative,positive\n0,0.25,0.75\n,0.5,0.5\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv: row 2 (line 3)") && e.contains("no id"), "{e}");
    }

    #[test]
    fn sources_predictions_validate_settings() {
        let dir = TempDir::new("validate");
        let s = settings("nope.csv");
        let e = PredictionsSource::validate(&s, &dir.0, &[]).unwrap_err();
        assert_eq!(e.path, ["path"]);
        assert!(e.message.contains("nope.csv does not exist"), "{}", e.message);
        dir.write("p.csv", "id,prob_0\n");
        assert!(PredictionsSource::validate(&settings("p.csv"), &dir.0, &[]).is_ok());
        let e = PredictionsSource::validate(&settings("p.tsv"), &dir.0, &[]).unwrap_err();
        assert!(e.message.contains("unknown table format"), "{}", e.message);
        let both: PredictionsSettings =
            serde_json::from_value(serde_json::json!({"path": "p.csv", "columns": ["a", "b"], "list_column": "probs"}))
                .unwrap();
        let e = PredictionsSource::validate(&both, &dir.0, &[]).unwrap_err();
        assert_eq!(e.path, ["list_column"]);
        assert!(e.message.contains("not both"), "{}", e.message);
        // Registered, with defaults filled and unknown keys rejected.
        let entry = ModelSourceEntry::find("predictions").expect("registered");
        let resolved = (entry.info.resolve)(&serde_json::json!({"path": "p.csv"})).unwrap();
        assert_eq!(resolved, serde_json::json!({"path": "p.csv", "id_column": "id"}));
        let e = (entry.info.resolve)(&serde_json::json!({"path": "p.csv", "colums": ["a"]})).unwrap_err();
        assert_eq!(e.path, ["colums"]);
    }

    #[test]
    fn sources_predictions_seed_template() {
        let dir = TempDir::new("seed");
        let s = settings("m-seed{seed}.csv");
        assert!(PredictionsSource::seeded(&s));
        assert!(!PredictionsSource::seeded(&settings("m.csv")));
        dir.write("m-seed1.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.5\n2,0.125,0.875\n");
        dir.write("m-seed2.csv", "id,negative,positive\n0,0.5,0.5\n1,0.5,0.5\n2,0.5,0.5\n");
        assert!(PredictionsSource::validate(&s, &dir.0, &[1, 2]).is_ok());
        let e = PredictionsSource::validate(&s, &dir.0, &[1, 2, 3]).unwrap_err();
        assert_eq!(e.path, ["path"]);
        assert!(
            e.message.contains("m-seed3.csv does not exist (seed 3)") && e.message.contains("1, 2, 3"),
            "{}",
            e.message
        );

        check_sst(&predict_with(&dir, &s, &sst(), Some(1)).unwrap());
        assert_eq!(predict_with(&dir, &s, &sst(), Some(2)).unwrap().probs, [0.5; 6]);
        let e = format!("{:#}", predict_with(&dir, &s, &sst(), None).unwrap_err());
        assert!(e.contains("no seed"), "{e}");

        let f1 = PredictionsSource::fingerprint(&s, &dir.0, Some(1)).unwrap();
        let f2 = PredictionsSource::fingerprint(&s, &dir.0, Some(2)).unwrap();
        assert_ne!(f1, f2);
        assert_eq!(f1, PredictionsSource::fingerprint(&s, &dir.0, Some(1)).unwrap());
        dir.write("m-seed1.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.5\n2,0.25,0.75\n");
        let changed = PredictionsSource::fingerprint(&s, &dir.0, Some(1)).unwrap();
        assert_ne!(f1, changed);
        assert_eq!(changed.as_str().map(str::len), Some(64));
        assert!(PredictionsSource::fingerprint(&s, &dir.0, Some(9)).is_err());
    }

    #[test]
    fn sources_predictions_absolute_path_ignores_base_dir() {
        let dir = TempDir::new("abs");
        let path = dir.write("p.csv", "id,negative,positive\n0,0.25,0.75\n1,0.5,0.5\n2,0.125,0.875\n");
        let s = settings(path.to_str().unwrap());
        let ds = sst();
        let p = PredictionsSource::predict(
            &s,
            &PredictRequest { model: "m", dataset: &ds, seed: None, base_dir: Path::new("/nonexistent") },
        )
        .unwrap();
        check_sst(&p);
    }

    #[test]
    fn sources_predictions_csv_line_numbers_follow_quotes_and_blank_lines() {
        assert_eq!(csv_record_lines(b"id,x\n1,a\n2,b\n"), [2, 3]);
        assert_eq!(csv_record_lines(b"id,x\r\n1,\"a\nb\"\r\n2,b"), [2, 4]);
        assert_eq!(csv_record_lines(b"id,x\n\n1,a\n\n2,b\n\n"), [2, 3, 4, 5, 6]);
        assert_eq!(csv_record_lines(b"id,x\n1,\"a\n\nb\"\n2,b\n"), [2, 5]);
    }

    #[test]
    fn sources_predictions_csv_line_numbers_match_polars_rows() {
        let dir = TempDir::new("lines");
        // A quoted field over two lines, a blank line (skipped) and trailing blank lines.
        dir.write("p.csv", "id,negative,positive,note\n0,0.25,0.75,\"two\nlines\"\n\n1,0.5,0.5,x\n2,0.5,0.6,y\n\n\n");
        let e = err(&dir, "p.csv", &sst());
        assert!(e.contains("p.csv: row 4 (line 6), id `2`"), "{e}");
    }

    /// End to end through the registries: the bundled SST-2 dev file loaded by the `glue`
    /// loader, and the committed bag-of-words predictions read with default settings.
    #[test]
    fn sources_predictions_reads_bundled_bow_baselines_with_glue_ids() {
        use trustx_framework::data::BadRows;
        use trustx_framework::plugin::dataset::{DatasetLoaderEntry, LoadRequest};
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let glue = DatasetLoaderEntry::find("glue").expect("glue loader registered");
        let paths = [root.join("data/sst2/dev.tsv")];
        let loaded = (glue.load)(
            &serde_json::json!({"task": "sst2"}),
            &root,
            &LoadRequest { split: "eval", paths: &paths, on_bad_rows: BadRows::Error },
        )
        .unwrap();
        let ds = Dataset {
            name: "sst2".into(),
            label_names: loaded.label_names,
            train: None,
            eval: Split { examples: loaded.examples, counts: Default::default() },
        };
        let entry = ModelSourceEntry::find("predictions").unwrap();
        let settings = serde_json::json!({"path": "data/predictions/sst2-bow/bow-reference-seed{seed}.csv"});
        assert!((entry.seeded)(&settings).unwrap());
        (entry.validate)(&settings, &root, &[42, 43, 44]).unwrap();
        let request = PredictRequest { model: "bow-reference", dataset: &ds, seed: Some(42), base_dir: &root };
        let p = (entry.predict)(&settings, &request).unwrap();
        assert_eq!(p.len(), 872);
        let correct = (0..p.len()).filter(|&i| p.correct(i)).count();
        // data/predictions/sst2-bow/README.md: accuracy 0.7305 for seed 42.
        assert_eq!(correct, 637, "accuracy {}", correct as f64 / 872.0);
    }
}
