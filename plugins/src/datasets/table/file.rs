//! Reading one file of the `table` loader (CSV, JSON lines, Parquet) into text columns,
//! and a data row of it into an example.

use super::super::common::{Loc, lines};
use super::TableSettings;
use super::labels::LabelMap;
use anyhow::anyhow;
use polars::prelude::{DataFrame, JsonFormat, JsonReader, SerReader};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use trustx_framework::data::Example;
use trustx_framework::tables::io::{column_strings, read_csv, read_table};

/// Each data row of a file in file order: where it is, and its index in the columns (or
/// why it is malformed, for a JSON line polars could not be given).
pub(super) type Rows = Vec<(Loc, Result<usize, String>)>;

/// One file's columns, as text.
pub(super) struct FileData {
    pub(super) path: PathBuf,
    /// Each data row in file order (see [`Rows`]).
    pub(super) rows: Rows,
    pub(super) ids: Option<Vec<Option<String>>>,
    pub(super) text: Vec<Option<String>>,
    pub(super) pair: Option<Vec<Option<String>>>,
    pub(super) label: Vec<Option<String>>,
    /// The label column holds numbers (see the module doc).
    pub(super) numeric_label: bool,
}

/// The table formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
    /// Parquet, or an unknown extension (`read_table` explains which are known).
    Other,
}

pub(super) fn read_file(settings: &TableSettings, path: &Path) -> anyhow::Result<FileData> {
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
    let bytes = super::super::common::read_file(path)?;
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
    pub(super) fn example(
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
