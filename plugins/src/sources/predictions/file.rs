//! Reading a predictions file: its format, where the probabilities are (one column per
//! class or one list column), and every row checked against the dataset's eval split, each
//! error naming the file, the data row (and the CSV line) and the id.

use super::{PredictionsSettings, SHOWN_IDS};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use trustx_framework::data::Dataset;
use trustx_framework::polars::prelude::DataFrame;
use trustx_framework::predictions::{Predictions, SUM_TOLERANCE, check_row};
use trustx_framework::tables::io::{column_f64, column_f64_lists, column_strings, read_csv, read_jsonl, read_parquet};

/// The table formats the source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Parquet,
    Csv,
    Jsonl,
}

impl Format {
    pub(super) fn of(path: &Path) -> Result<Format, String> {
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
pub(super) enum Layout {
    /// One column per class, in class order.
    Columns(Vec<String>),
    /// One column of lists.
    List(String),
}

/// One cell of a probability column, before checking.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Number(f64),
    Null,
    /// Text that is not a number.
    Text(String),
}

/// A predictions file, read.
pub(super) struct PredictionsFile {
    path: PathBuf,
    format: Format,
    df: DataFrame,
    /// For CSV: the 1-based line on which each data row starts (when it could be mapped).
    csv_lines: Option<Vec<usize>>,
    /// For CSV: rows with every field empty (blank lines), which are skipped.
    blank: Vec<bool>,
}

impl PredictionsFile {
    pub(super) fn read(path: &Path) -> Result<PredictionsFile> {
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
    pub(super) fn at(&self, row: usize, id: &str) -> String {
        match (self.format, self.csv_lines.as_ref().and_then(|l| l.get(row))) {
            (Format::Csv, Some(line)) => format!("{}: row {} (line {line}), id `{id}`", self.path.display(), row + 1),
            _ => format!("{}: row {}, id `{id}`", self.path.display(), row + 1),
        }
    }

    pub(super) fn row_only(&self, row: usize) -> String {
        match (self.format, self.csv_lines.as_ref().and_then(|l| l.get(row))) {
            (Format::Csv, Some(line)) => {
                format!("{}: row {} (line {line})", self.path.display(), row + 1)
            }
            _ => format!("{}: row {}", self.path.display(), row + 1),
        }
    }

    pub(super) fn column_names(&self) -> Vec<String> {
        self.df.get_column_names().iter().map(|n| n.to_string()).collect()
    }

    pub(super) fn has_column(&self, name: &str) -> bool {
        self.df.get_column_names().iter().any(|n| n.as_str() == name)
    }

    pub(super) fn no_column(&self, name: &str, setting: &str) -> anyhow::Error {
        anyhow!(
            "{}: no column `{name}` (set by `{setting}`); the file's columns are: {}",
            self.path.display(),
            self.column_names().join(", ")
        )
    }

    /// The ids, as text. Floats that are all whole numbers (pandas turns an integer
    /// column with gaps into floats) are written without the `.0`.
    pub(super) fn ids(&self, id_column: &str) -> Result<Vec<Option<String>>> {
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
    pub(super) fn layout(&self, settings: &PredictionsSettings, dataset: &Dataset) -> Result<Layout> {
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
    pub(super) fn label_columns(&self, dataset: &Dataset) -> Result<Option<Layout>> {
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
    pub(super) fn cells(&self, name: &str) -> Result<Vec<Cell>> {
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
    pub(super) fn lists(&self, name: &str) -> Result<Vec<Option<Vec<Cell>>>> {
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
    pub(super) fn predictions(&self, settings: &PredictionsSettings, dataset: &Dataset) -> Result<Predictions> {
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

    pub(super) fn check(&self, row_probs: &[f64], row: usize, id: &str) -> Result<()> {
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
pub(super) fn quoted(ids: &[&str]) -> String {
    let mut out = ids.iter().take(SHOWN_IDS).map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ");
    if ids.len() > SHOWN_IDS {
        let _ = write!(out, ", … ({} in all)", ids.len());
    }
    out
}

/// A number written as text (surrounding blanks allowed; `nan`, `inf` are numbers here,
/// and rejected later as not finite).
pub(super) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

/// A list written as text: `[0.1, 0.9]`, `[0.1 0.9]` or `0.1,0.9`.
pub(super) fn parse_list(text: &str) -> Vec<Cell> {
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
pub(super) fn csv_record_lines(bytes: &[u8]) -> Vec<usize> {
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
