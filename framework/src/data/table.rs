//! Dataset splits as Parquet tables: `id`, `text`, `text_pair` (null for single texts), `label`.

use super::Example;
use crate::tables::io::{column_f64, column_strings};
use anyhow::{Result, anyhow};
use polars::prelude::{Column, DataFrame};

/// The examples of a split as a frame.
pub fn examples_frame(examples: &[Example]) -> Result<DataFrame> {
    let ids: Vec<&str> = examples.iter().map(|e| e.id.as_str()).collect();
    let text: Vec<&str> = examples.iter().map(|e| e.segments.first().map(String::as_str).unwrap_or("")).collect();
    let pair: Vec<Option<&str>> = examples.iter().map(|e| e.segments.get(1).map(String::as_str)).collect();
    let label: Vec<u32> = examples.iter().map(|e| e.label as u32).collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("id".into(), ids),
        Column::new("text".into(), text),
        Column::new("text_pair".into(), pair),
        Column::new("label".into(), label),
    ])?)
}

/// The examples of a frame written by [`examples_frame`].
pub fn frame_examples(df: &DataFrame) -> Result<Vec<Example>> {
    let ids = column_strings(df, "id")?;
    let text = column_strings(df, "text")?;
    let pair = column_strings(df, "text_pair")?;
    let label = column_f64(df, "label")?;
    let mut out = Vec::with_capacity(ids.len());
    for i in 0..ids.len() {
        let missing = || anyhow!("stored dataset row {i} has a null field");
        let mut segments = vec![text[i].clone().ok_or_else(missing)?];
        if let Some(p) = &pair[i] {
            segments.push(p.clone());
        }
        out.push(Example {
            id: ids[i].clone().ok_or_else(missing)?,
            segments,
            label: label[i].ok_or_else(missing)? as usize,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_single_and_pair() {
        let ex = vec![
            Example { id: "a".into(), segments: vec!["one".into()], label: 1 },
            Example { id: "b".into(), segments: vec!["p".into(), "h".into()], label: 0 },
        ];
        let df = examples_frame(&ex).unwrap();
        assert_eq!(frame_examples(&df).unwrap(), ex);
    }
}
