//! Reading and writing polars frames (Parquet, CSV, JSON lines) and typed column access.

use anyhow::{Context, Result, anyhow};
use polars::prelude::{
    Column, CsvReadOptions, CsvWriter, DataFrame, DataType, JsonFormat, JsonReader, ParquetReader, ParquetWriter,
    SerReader, SerWriter,
};
use std::path::Path;

/// A frame as Parquet bytes (deterministic for the same frame).
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df).context("writing Parquet")?;
    Ok(buf)
}

/// A frame as CSV bytes with a header row.
pub fn csv_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).include_header(true).finish(df).context("writing CSV")?;
    Ok(buf)
}

/// Reads a Parquet file.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    ParquetReader::new(file).finish().with_context(|| format!("reading Parquet {}", path.display()))
}

/// Reads a CSV file with a header row; every column is read as text when `all_text`.
pub fn read_csv(path: &Path, all_text: bool) -> Result<DataFrame> {
    let mut opts = CsvReadOptions::default().with_has_header(true);
    if all_text {
        opts = opts.with_infer_schema_length(Some(0));
    }
    opts.try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .with_context(|| format!("reading CSV {}", path.display()))
}

/// Reads a JSON-lines file (one object per line).
pub fn read_jsonl(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    JsonReader::new(file)
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .with_context(|| format!("reading JSON lines {}", path.display()))
}

/// Reads a table by extension: `.parquet`, `.csv`, `.jsonl` / `.ndjson`.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("parquet") | Some("pq") => read_parquet(path),
        Some("csv") => read_csv(path, false),
        Some("jsonl") | Some("ndjson") => read_jsonl(path),
        _ => Err(anyhow!("{}: unknown table format; use a .parquet, .csv or .jsonl file", path.display())),
    }
}

/// A column as text (numbers are formatted; nulls are `None`).
pub fn column_strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let col = df.column(name).map_err(|_| missing(df, name))?;
    let s = col.cast(&DataType::String)?;
    Ok(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

/// A column as f64 (integers are widened; nulls are `None`).
pub fn column_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let col = df.column(name).map_err(|_| missing(df, name))?;
    let s = col.cast(&DataType::Float64).with_context(|| format!("column `{name}` is not numeric"))?;
    Ok(s.f64()?.iter().collect())
}

/// A list-of-numbers column as `Vec<f64>` per row (`None` for a null row).
pub fn column_f64_lists(df: &DataFrame, name: &str) -> Result<Vec<Option<Vec<Option<f64>>>>> {
    let col = df.column(name).map_err(|_| missing(df, name))?;
    let s = col
        .cast(&DataType::List(Box::new(DataType::Float64)))
        .with_context(|| format!("column `{name}` is not a list of numbers"))?;
    let list = s.list()?;
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        out.push(match list.get_as_series(i) {
            None => None,
            Some(series) => Some(series.f64()?.iter().collect()),
        });
    }
    Ok(out)
}

fn missing(df: &DataFrame, name: &str) -> anyhow::Error {
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    anyhow!("no column `{name}` (columns are: {})", names.join(", "))
}

/// Builds a column of optional strings.
pub fn str_col(name: &str, values: Vec<Option<String>>) -> Column {
    Column::new(name.into(), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_and_is_deterministic() {
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("id".into(), ["a", "b"]),
            Column::new("p".into(), [0.25f64, 0.5]),
        ])
        .unwrap();
        let a = parquet_bytes(&mut df).unwrap();
        let b = parquet_bytes(&mut df).unwrap();
        assert_eq!(a, b);
        let dir = std::env::temp_dir().join(format!("trustx-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        std::fs::write(&path, &a).unwrap();
        let back = read_parquet(&path).unwrap();
        assert_eq!(column_strings(&back, "id").unwrap(), vec![Some("a".into()), Some("b".into())]);
        assert_eq!(column_f64(&back, "p").unwrap(), vec![Some(0.25), Some(0.5)]);
        assert!(column_f64(&back, "nope").unwrap_err().to_string().contains("columns are: id, p"));
        std::fs::remove_dir_all(dir).ok();
    }
}
