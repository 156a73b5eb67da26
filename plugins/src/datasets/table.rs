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

use super::common::{IdTracker, Loc, lines, no_examples, reject};
use anyhow::anyhow;
use polars::prelude::{DataFrame, JsonFormat, JsonReader, SerReader};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use trustx_framework::data::{Example, RowCounts};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};
use trustx_framework::tables::io::{column_strings, read_csv, read_table};

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

/// Each data row of a file in file order: where it is, and its index in the columns (or
/// why it is malformed, for a JSON line polars could not be given).
type Rows = Vec<(Loc, Result<usize, String>)>;

/// One file's columns, as text.
struct FileData {
    path: PathBuf,
    /// Each data row in file order (see [`Rows`]).
    rows: Rows,
    ids: Option<Vec<Option<String>>>,
    text: Vec<Option<String>>,
    pair: Option<Vec<Option<String>>>,
    label: Vec<Option<String>>,
    /// The label column holds numbers (see the module doc).
    numeric_label: bool,
}

/// The table formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
    /// Parquet, or an unknown extension (`read_table` explains which are known).
    Other,
}

fn read_file(settings: &TableSettings, path: &Path) -> anyhow::Result<FileData> {
    if !path.is_file() {
        return Err(anyhow!("cannot read {}: no such file", path.display()));
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("csv") => Format::Csv,
        Some("jsonl") | Some("ndjson") => Format::JsonLines,
        _ => Format::Other,
    };
    let (df, rows) = match format {
        // CSV is read as text so ids and texts stay exactly as written.
        Format::Csv => {
            let df = read_csv(path, true).map_err(|e| anyhow!("{e:#}"))?;
            let rows = (0..df.height()).map(|r| (Loc::Line(r + 2), Ok(r))).collect();
            (Some(df), rows)
        }
        Format::JsonLines => read_json_lines(settings, path)?,
        Format::Other => {
            let df = read_table(path).map_err(|e| anyhow!("{e:#}"))?;
            let rows = (0..df.height()).map(|r| (Loc::Row(r + 1), Ok(r))).collect();
            (Some(df), rows)
        }
    };
    let mut data = FileData {
        path: path.to_path_buf(),
        rows,
        ids: None,
        text: vec![],
        pair: None,
        label: vec![],
        numeric_label: true,
    };
    // A JSON-lines file without one well-formed line has no columns to look up.
    let Some(df) = df else { return Ok(data) };
    let column = |name: &str, key: &str| {
        column_strings(&df, name)
            .map_err(|e| anyhow!("{}: {e:#}; set `{key}` to the right column name", path.display()))
    };
    data.text = column(&settings.text, "text")?;
    data.pair = settings.text_pair.as_deref().map(|c| column(c, "text_pair")).transpose()?;
    data.ids = settings.id.as_deref().map(|c| column(c, "id")).transpose()?;
    data.label = column(&settings.label, "label")?;
    data.numeric_label = if format == Format::Csv {
        // Decided by the majority, so that one stray value is a malformed row on its own
        // line rather than turning every other row into one.
        let values = || data.label.iter().flatten().map(|v| v.trim()).filter(|v| !v.is_empty());
        let integers = values().filter(|v| v.parse::<i64>().is_ok()).count();
        let names = settings
            .labels
            .as_ref()
            .map_or(0, |names| values().filter(|v| names.iter().any(|n| n.trim() == *v)).count());
        integers > names && integers * 2 > values().count()
    } else {
        numeric_dtype(&df, &settings.label)
    };
    Ok(data)
}

/// Reads JSON lines: each line is checked first (a line that is not a JSON object is a
/// malformed row, not a failed file), then the well-formed lines go to polars, which
/// infers the column types from all of them. Blank lines are skipped, as polars does;
/// `row N` counts the other lines.
fn read_json_lines(settings: &TableSettings, path: &Path) -> anyhow::Result<(Option<DataFrame>, Rows)> {
    let keys: Vec<&str> = [
        Some(settings.text.as_str()),
        settings.text_pair.as_deref(),
        Some(settings.label.as_str()),
        settings.id.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let bytes = super::common::read_file(path)?;
    let mut good: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut rows = Vec::new();
    let mut kept = 0;
    for (_, line) in lines(&bytes) {
        let parsed = match line {
            Ok(l) if l.trim().is_empty() => continue,
            Ok(l) => match serde_json::from_str::<serde_json::Value>(l) {
                Ok(serde_json::Value::Object(o)) => {
                    match keys.iter().find(|k| o.get(**k).is_some_and(|v| v.is_array() || v.is_object())) {
                        Some(k) => Err(format!("key `{k}` holds a list or an object, not a text or a number")),
                        None => Ok(l),
                    }
                }
                Ok(_) => Err("not a JSON object".to_string()),
                Err(e) => Err(format!("not valid JSON ({e})")),
            },
            Err(e) => Err(format!("not valid UTF-8 ({e})")),
        };
        let loc = Loc::Row(rows.len() + 1);
        match parsed {
            Ok(l) => {
                good.extend_from_slice(l.as_bytes());
                good.push(b'\n');
                rows.push((loc, Ok(kept)));
                kept += 1;
            }
            Err(what) => rows.push((loc, Err(what))),
        }
    }
    if kept == 0 {
        return Ok((None, rows));
    }
    let df = JsonReader::new(Cursor::new(good))
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish()
        .map_err(|e| anyhow!("reading JSON lines {}: {e}", path.display()))?;
    if df.height() != kept {
        return Err(anyhow!("reading JSON lines {}: {kept} lines gave {} rows", path.display(), df.height()));
    }
    Ok((Some(df), rows))
}

fn numeric_dtype(df: &DataFrame, column: &str) -> bool {
    df.column(column).is_ok_and(|c| c.dtype().is_integer() || c.dtype().is_float())
}

impl FileData {
    /// The example of data row `row` (0-based), or what is wrong with it.
    fn example(
        &self,
        settings: &TableSettings,
        labels: &LabelMap,
        row: usize,
        row_index: usize,
    ) -> Result<Example, String> {
        let cell = |col: &[Option<String>]| col.get(row).cloned().flatten();
        let text = cell(&self.text).ok_or_else(|| format!("null text (column `{}`)", settings.text))?;
        let mut segments = vec![text];
        if let (Some(col), Some(name)) = (&self.pair, &settings.text_pair) {
            segments.push(cell(col).ok_or_else(|| format!("null text pair (column `{name}`)"))?);
        }
        let raw = cell(&self.label).ok_or_else(|| format!("null label (column `{}`)", settings.label))?;
        let label = labels.index(raw.trim(), self.numeric_label)?;
        let id = match (&self.ids, &settings.id) {
            (Some(col), Some(name)) => {
                let id = cell(col).map(|s| s.trim().to_string()).unwrap_or_default();
                if id.is_empty() {
                    return Err(format!("null or empty id (column `{name}`)"));
                }
                id
            }
            _ => row_index.to_string(),
        };
        Ok(Example { id, segments, label })
    }
}

/// How label values become class indices.
struct LabelMap {
    names: Vec<String>,
    /// Whether the names were given in the settings.
    given: bool,
    /// Every file's label column is numeric.
    numeric: bool,
}

impl LabelMap {
    fn new(settings: &TableSettings, files: &[FileData]) -> Self {
        let numeric = files.iter().all(|f| f.numeric_label);
        let values = || files.iter().flat_map(|f| f.label.iter().flatten()).map(|v| v.trim());
        match &settings.labels {
            Some(names) => {
                LabelMap { names: names.iter().map(|n| n.trim().to_string()).collect(), given: true, numeric }
            }
            None if numeric => {
                let classes = values()
                    .filter_map(|v| class_index(v).ok())
                    .filter(|&i| i < MAX_DEFAULT_CLASSES)
                    .max()
                    .map_or(0, |m| m + 1);
                LabelMap { names: (0..classes).map(|i| i.to_string()).collect(), given: false, numeric }
            }
            None => {
                let distinct: BTreeSet<&str> = values().filter(|v| !v.is_empty()).collect();
                LabelMap { names: distinct.into_iter().map(str::to_string).collect(), given: false, numeric }
            }
        }
    }

    /// The class index of a (trimmed) label value.
    fn index(&self, value: &str, numeric_file: bool) -> Result<usize, String> {
        if self.numeric && numeric_file {
            let i = class_index(value)?;
            if i < self.names.len() {
                Ok(i)
            } else if self.given {
                Err(format!(
                    "label {value} is out of range: `labels` names {} classes (0..{})",
                    self.names.len(),
                    self.names.len()
                ))
            } else {
                Err(format!(
                    "label {value} is too large for a class index (at most {}); list the label names in `labels`",
                    MAX_DEFAULT_CLASSES - 1
                ))
            }
        } else {
            self.names.iter().position(|n| n == value).ok_or_else(|| {
                let known = self.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                format!("unknown label `{value}` (label names are {known})")
            })
        }
    }
}

/// A numeric label value (`3`, `3.0`) as a class index.
fn class_index(value: &str) -> Result<usize, String> {
    if let Ok(i) = value.parse::<usize>() {
        return Ok(i);
    }
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u32::MAX as f64 => Ok(f as usize),
        _ => Err(format!("label `{value}` is not a class index (a non-negative integer)")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
    use super::*;
    use polars::prelude::Column;
    use serde_json::json;
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::parse_settings;
    use trustx_framework::tables::io::parquet_bytes;

    fn load(settings: &TableSettings, paths: &[PathBuf], policy: BadRows) -> anyhow::Result<Loaded> {
        Table::load(settings, Path::new("."), &request(paths, policy))
    }

    fn pair_settings() -> TableSettings {
        TableSettings {
            id: Some("id".into()),
            text: "premise".into(),
            text_pair: Some("hypothesis".into()),
            ..TableSettings::default()
        }
    }

    fn summary(l: &Loaded) -> Vec<(String, Vec<String>, usize)> {
        l.examples.iter().map(|e| (e.id.clone(), e.segments.clone(), e.label)).collect()
    }

    fn ex(id: &str, segments: &[&str], label: usize) -> (String, Vec<String>, usize) {
        (id.to_string(), segments.iter().map(|s| s.to_string()).collect(), label)
    }

    #[test]
    fn csv_with_integer_labels_and_text_ids() {
        let dir = TempDir::new("table-csv");
        let path = dir.file(
            "d.csv",
            "\u{feff}id,premise,hypothesis,label\r\n007,\"A \"\"quoted\"\", comma\",H1,1\r\n8,P2,H2,0\r\n9,P3,H3,2",
        );
        let l = load(&pair_settings(), &[path], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["0", "1", "2"]);
        assert_eq!(
            summary(&l),
            [ex("007", &["A \"quoted\", comma", "H1"], 1), ex("8", &["P2", "H2"], 0), ex("9", &["P3", "H3"], 2)]
        );
        assert_eq!(l.counts.read, 3);
    }

    #[test]
    fn csv_bad_rows_are_named_by_line() {
        let dir = TempDir::new("table-csv-bad");
        let path = dir.file("d.csv", "text,label\ngood,pos\n,neg\nbad label,meh\nnull label,\nfine,neg\n");
        let s = TableSettings { labels: Some(vec!["neg".into(), "pos".into()]), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:3:", path.display())) && e.contains("null text"), "{e}");
        let l = load(&s, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (5, 3));
        assert_eq!(summary(&l), [ex("0", &["good"], 1), ex("4", &["fine"], 0)]);
        let path = dir.file("u.csv", "text,label\ngood,pos\nbad label,meh\n");
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:3:", path.display())) && e.contains("unknown label `meh`"), "{e}");
    }

    #[test]
    fn one_stray_label_in_an_index_column_is_a_bad_row_on_its_own_line() {
        let dir = TempDir::new("table-csv-stray");
        let mut text = String::from("text,label\n");
        for i in 0..20 {
            text.push_str(&format!(
                "row {i},{}\n",
                if i == 15 {
                    "positive?"
                } else if i % 2 == 0 {
                    "0"
                } else {
                    "1"
                }
            ));
        }
        let path = dir.file("d.csv", &text);
        let s = TableSettings { labels: Some(vec!["neg".into(), "pos".into()]), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:17:", path.display())), "{e}");
        let l = load(&s, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad, l.examples.len()), (20, 1, 19));
        let l = load(&TableSettings::default(), std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.label_names.len(), l.examples.len()), (2, 19));
    }

    #[test]
    fn csv_text_labels_without_names_are_sorted() {
        let dir = TempDir::new("table-csv-text");
        let a = dir.file("a.csv", "text,label\nx,positive\ny,negative\n");
        let b = dir.file("b.csv", "text,label\nz,neutral\n");
        let l = load(&TableSettings::default(), &[a, b], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["negative", "neutral", "positive"]);
        assert_eq!(summary(&l), [ex("0", &["x"], 2), ex("1", &["y"], 0), ex("2", &["z"], 1)]);
        // Names that look like numbers are names when `labels` lists them.
        let c = dir.file("c.csv", "text,label\nx,4\ny,0\n");
        let s = TableSettings { labels: Some(vec!["4".into(), "0".into()]), ..TableSettings::default() };
        let l = load(&s, std::slice::from_ref(&c), BadRows::Error).unwrap();
        assert_eq!(label_counts(&l), [1, 1]);
        assert_eq!(l.examples[0].label, 0);
        // Without `labels` they are indices.
        let l = load(&TableSettings::default(), &[c], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["0", "1", "2", "3", "4"]);
        assert_eq!(l.examples[0].label, 4);
    }

    #[test]
    fn jsonl_rows_are_named_by_row() {
        let dir = TempDir::new("table-jsonl");
        let lines = [
            json!({"id": 10, "sentence": "a", "label": "pos"}),
            json!({"id": 11, "sentence": null, "label": "neg"}),
            json!({"id": 12, "sentence": "c", "label": "neg"}),
            json!({"id": 13, "sentence": "d"}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let path = dir.file("d.jsonl", text);
        let s = TableSettings { id: Some("id".into()), text: "sentence".into(), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}: row 2:", path.display())) && e.contains("null text"), "{e}");
        let l = load(&s, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (4, 2));
        assert_eq!(l.label_names, ["neg", "pos"]);
        assert_eq!(summary(&l), [ex("10", &["a"], 1), ex("12", &["c"], 0)]);
        // Integer labels in JSON are indices into `labels`.
        let path = dir.file("i.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 3}\n");
        let s = TableSettings { labels: Some(vec!["neg".into(), "pos".into()]), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}: row 2:", path.display())) && e.contains("out of range"), "{e}");
        let l = load(&s, &[path], BadRows::Skip).unwrap();
        assert_eq!((l.examples.len(), l.examples[0].label, l.counts.bad), (1, 1, 1));
    }

    #[test]
    fn jsonl_malformed_lines_bom_crlf_and_blank_lines() {
        let dir = TempDir::new("table-jsonl-bad");
        let text = "\u{feff}{\"text\": \"a\", \"label\": 1}\r\n{oops\r\n\r\n[1, 2]\r\n{\"text\": [\"nested\"], \"label\": 0}\r\n{\"text\": \"b\", \"label\": 0}\r\n\r\n";
        let path = dir.file("d.jsonl", text);
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}: row 2:", path.display())) && e.contains("not valid JSON"), "{e}");
        let l = load(&TableSettings::default(), std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (5, 3));
        assert_eq!(l.label_names, ["0", "1"]);
        // Row-index ids count the malformed rows too.
        assert_eq!(summary(&l), [ex("0", &["a"], 1), ex("4", &["b"], 0)]);
        let only_bad = dir.file("bad.jsonl", "{oops\n");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&only_bad), BadRows::Skip));
        assert!(e.contains("no labelled example in") && e.contains("1 malformed"), "{e}");
        let empty = dir.file("empty.jsonl", "");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&empty), BadRows::Error));
        assert!(e.contains("no labelled example in") && e.contains(&empty.display().to_string()), "{e}");
    }

    #[test]
    fn parquet_with_nulls_floats_and_duplicates() {
        let dir = TempDir::new("table-parquet");
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("uid".into(), ["a", "b", "c", "d"]),
            Column::new("text".into(), [Some("t1"), Some("t2"), None, Some("t4")]),
            Column::new("label".into(), [Some(0.0f64), Some(1.0), Some(1.0), Some(0.5)]),
        ])
        .unwrap();
        let path = dir.file("d.parquet", parquet_bytes(&mut df).unwrap());
        let s = TableSettings { id: Some("uid".into()), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}: row 3:", path.display())) && e.contains("null text"), "{e}");
        let l = load(&s, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!(l.label_names, ["0", "1"]);
        assert_eq!(summary(&l), [ex("a", &["t1"], 0), ex("b", &["t2"], 1)]);
        assert_eq!(l.counts.bad, 2);
        // The same ids in a second file: the error names both files and rows.
        let e = message(load(&s, &[path.clone(), path.with_file_name("e.parquet")], BadRows::Skip));
        assert!(e.contains("e.parquet"), "{e}");
        let copy = dir.file("e.parquet", std::fs::read(&path).unwrap());
        let e = message(load(&s, &[path.clone(), copy.clone()], BadRows::Skip));
        assert!(
            e.contains(&format!("{}: row 1", path.display())) && e.contains(&format!("{}: row 1", copy.display())),
            "{e}"
        );
        assert!(e.contains("`a`"), "{e}");
    }

    #[test]
    fn parquet_integer_labels_and_default_ids() {
        let dir = TempDir::new("table-parquet-int");
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("text".into(), ["x", "y", "z"]),
            Column::new("hyp".into(), ["X", "Y", "Z"]),
            Column::new("label".into(), [2i64, 0, 1]),
        ])
        .unwrap();
        let a = dir.file("a.parquet", parquet_bytes(&mut df).unwrap());
        let b = dir.file("b.parquet", parquet_bytes(&mut df).unwrap());
        let s = TableSettings {
            text_pair: Some("hyp".into()),
            labels: Some(vec!["entailment".into(), "neutral".into(), "contradiction".into()]),
            ..TableSettings::default()
        };
        let l = load(&s, &[a, b], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["entailment", "neutral", "contradiction"]);
        let ids: Vec<&str> = l.examples.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(l.examples[0].segments, ["x", "X"]);
        assert_eq!(l.examples[0].label, 2);
    }

    #[test]
    fn duplicate_ids_in_csv_name_both_lines() {
        let dir = TempDir::new("table-dup");
        let path = dir.file("d.csv", "id,text,label\na,x,0\nb,y,1\na,z,1\n");
        let s = TableSettings { id: Some("id".into()), ..TableSettings::default() };
        let e = message(load(&s, std::slice::from_ref(&path), BadRows::Skip));
        assert!(
            e.contains(&path.display().to_string())
                && e.contains("line 2")
                && e.contains("line 4")
                && e.contains("`a`"),
            "{e}"
        );
    }

    #[test]
    fn missing_column_empty_and_missing_files() {
        let dir = TempDir::new("table-missing");
        let path = dir.file("d.csv", "sentence,label\nx,0\n");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&path), BadRows::Error));
        assert!(
            e.contains(&path.display().to_string()) && e.contains("no column `text`") && e.contains("sentence, label"),
            "{e}"
        );
        assert!(e.contains("set `text`"), "{e}");
        let header_only = dir.file("h.csv", "text,label\n");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&header_only), BadRows::Error));
        assert!(e.contains(&header_only.display().to_string()), "{e}");
        let empty = dir.file("e.csv", "");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&empty), BadRows::Error));
        assert!(e.contains(&empty.display().to_string()), "{e}");
        let missing = dir.0.join("nope.parquet");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&missing), BadRows::Error));
        assert!(e.contains(&missing.display().to_string()), "{e}");
        let tsv = dir.file("d.tsv", "text\tlabel\n");
        let e = message(load(&TableSettings::default(), std::slice::from_ref(&tsv), BadRows::Error));
        assert!(e.contains(&tsv.display().to_string()) && e.contains("unknown table format"), "{e}");
    }

    #[test]
    fn real_sst2_dev_as_csv_and_parquet() {
        let Some(data) = data_dir() else { return };
        // Convert the GLUE TSV with the glue loader and write it back out as tables.
        let glue = super::super::glue::Glue::load(
            &super::super::glue::GlueSettings {
                task: super::super::glue::GlueTask::Sst2,
                layout: super::super::glue::GlueLayout::Header,
            },
            &data,
            &request(&[data.join("sst2/dev.tsv")], BadRows::Error),
        )
        .unwrap();
        let texts: Vec<String> = glue.examples.iter().map(|e| e.segments[0].clone()).collect();
        let labels: Vec<i64> = glue.examples.iter().map(|e| e.label as i64).collect();
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("sentence".into(), texts),
            Column::new("label".into(), labels),
        ])
        .unwrap();
        let dir = TempDir::new("table-sst2");
        let parquet = dir.file("dev.parquet", parquet_bytes(&mut df).unwrap());
        let csv = dir.file("dev.csv", trustx_framework::tables::io::csv_bytes(&mut df).unwrap());
        let s = TableSettings {
            text: "sentence".into(),
            labels: Some(vec!["negative".into(), "positive".into()]),
            ..TableSettings::default()
        };
        for path in [parquet, csv] {
            let l = load(&s, &[path], BadRows::Error).unwrap();
            assert_eq!(l.counts.read, 872);
            assert_eq!(label_counts(&l), [428, 444]);
            assert_eq!(l.examples, glue.examples);
        }
    }

    #[test]
    fn settings_and_validation() {
        let s: TableSettings = parse_settings(&json!({})).unwrap();
        assert_eq!(
            (s.text.as_str(), s.label.as_str(), s.id.is_none(), s.labels.is_none()),
            ("text", "label", true, true)
        );
        let e = parse_settings::<TableSettings>(&json!({"text_column": "x"})).unwrap_err();
        assert_eq!(e.path, ["text_column"]);
        let s: TableSettings = parse_settings(&json!({"labels": ["a", "a"]})).unwrap();
        assert_eq!(Table::validate(&s, Path::new(".")).unwrap_err().path, ["labels"]);
        let s: TableSettings = parse_settings(&json!({"labels": []})).unwrap();
        assert_eq!(Table::validate(&s, Path::new(".")).unwrap_err().path, ["labels"]);
        assert!(DatasetLoaderEntry::find("table").is_some());
    }

    #[test]
    fn class_indices() {
        assert_eq!(class_index("3"), Ok(3));
        assert_eq!(class_index("3.0"), Ok(3));
        assert!(class_index("-1").is_err());
        assert!(class_index("0.5").is_err());
        assert!(class_index("NaN").is_err());
    }
}
