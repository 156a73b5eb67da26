//! Reading an attributions file made elsewhere (captum, shap, trustx's own
//! `tables/attributions.csv`): Parquet, CSV (with a header row) or JSON lines, one row per
//! feature of one explanation.
//!
//! | column | required | what |
//! |---|---|---|
//! | `example_id` | yes | the example's id, compared as text with the dataset's |
//! | `explainer` | yes | the explainer's label, as `[[explainers]]` names it (`lime`, `partition-shap`, …) |
//! | `class` | yes | the class explained (0-based, the dataset's class order) |
//! | `feature` | yes | the word |
//! | `position` | yes | the word's 0-based position in its segment |
//! | `weight` | yes | the attribution (finite) |
//! | `segment` | no (0) | 0 for a single text or a premise, 1 for a hypothesis |
//! | `seed` | no (none) | the explainer's seed; empty for a deterministic explainer |
//!
//! Other columns (`model`, `model_seed`, …) are ignored, so a trustx attributions table
//! filtered to one model is a valid file. Every row's cells are checked here (a number where
//! a number is due), each error naming the file and the 1-based data row; which rows an
//! explain node needs is the engine's to check.

use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use trustx_framework::explain::AttributionRow;
use trustx_framework::plugin::model_source::{ImportedAttributions, ImportedRow};
use trustx_framework::polars::prelude::DataFrame;
use trustx_framework::tables::io::{column_strings, read_csv, read_jsonl, read_parquet};

/// The required columns.
pub const REQUIRED: [&str; 6] = ["example_id", "explainer", "class", "feature", "position", "weight"];

/// Reads and checks every row of `path`.
pub fn read(path: &Path) -> Result<ImportedAttributions> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let df: DataFrame = match ext.as_deref() {
        Some("csv") => read_csv(path, true)?,
        Some("parquet") | Some("pq") => read_parquet(path)?,
        Some("jsonl") | Some("ndjson") => read_jsonl(path)?,
        _ => bail!("{}: unknown table format; use a .parquet, .csv or .jsonl attributions file", path.display()),
    };
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !names.iter().any(|n| n == c)).collect();
    if !missing.is_empty() {
        bail!(
            "{}: no column {} (an attributions file has the columns {}, and optionally segment and seed; it has {})",
            path.display(),
            missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
            REQUIRED.join(", "),
            names.join(", ")
        );
    }
    let text = |c: &str| -> Result<Vec<Option<String>>> {
        if names.iter().any(|n| n == c) {
            column_strings(&df, c).with_context(|| format!("{}: column `{c}`", path.display()))
        } else {
            Ok(vec![None; df.height()])
        }
    };
    let (ids, explainers, classes, features) =
        (text("example_id")?, text("explainer")?, text("class")?, text("feature")?);
    let (positions, weights, segments, seeds) = (text("position")?, text("weight")?, text("segment")?, text("seed")?);
    let mut rows = Vec::with_capacity(df.height());
    for j in 0..df.height() {
        let line = j + 1;
        let at = |what: &str| anyhow!("{}: row {line}: {what}", path.display());
        let need = |cells: &[Option<String>], c: &str| -> Result<String> {
            cells[j].clone().filter(|v| !v.trim().is_empty()).ok_or_else(|| at(&format!("`{c}` is empty")))
        };
        let count = |cells: &[Option<String>], c: &str, default: Option<usize>| -> Result<usize> {
            match (cells[j].as_deref().map(str::trim).filter(|v| !v.is_empty()), default) {
                (None, Some(d)) => Ok(d),
                (None, None) => Err(at(&format!("`{c}` is empty"))),
                (Some(v), _) => whole_number(v)
                    .map(|n| n as usize)
                    .ok_or_else(|| at(&format!("`{c}` is `{v}`, not a whole number ≥ 0"))),
            }
        };
        let weight_text = need(&weights, "weight")?;
        let weight: f64 =
            weight_text.trim().parse().map_err(|_| at(&format!("`weight` is `{weight_text}`, not a number")))?;
        let seed = match seeds[j].as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                whole_number(v)
                    .ok_or_else(|| at(&format!("`seed` is `{v}`, not a whole number ≥ 0 (leave it empty for none)")))?,
            ),
        };
        rows.push(ImportedRow {
            line,
            explainer: need(&explainers, "explainer")?,
            row: AttributionRow {
                example_id: need(&ids, "example_id")?,
                class: count(&classes, "class", None)?,
                feature: features[j].clone().unwrap_or_default(),
                segment: count(&segments, "segment", Some(0))?,
                position: count(&positions, "position", None)?,
                weight,
                seed,
            },
        });
    }
    Ok(ImportedAttributions { file: path.to_path_buf(), rows })
}

/// A whole number ≥ 0 written as text: `3`, or `3.0` (a Parquet or JSON number cast to text).
fn whole_number(v: &str) -> Option<u64> {
    v.parse::<u64>().ok().or_else(|| v.parse::<f64>().ok().filter(|x| x.fract() == 0.0 && *x >= 0.0).map(|x| x as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("trustx-attr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_csv_and_jsonl_alike_with_optional_columns() {
        let csv = write(
            "a.csv",
            "model,example_id,class,feature,segment,position,weight,seed,explainer\nm,007,1,good,0,2,0.5,42,lime\nm,007,1,film,1,0,-0.25,,occlusion\n",
        );
        let a = read(&csv).unwrap();
        assert_eq!(a.rows.len(), 2);
        assert_eq!((a.rows[0].line, a.rows[0].explainer.as_str()), (1, "lime"));
        let r = &a.rows[0].row;
        assert_eq!(
            (r.example_id.as_str(), r.class, r.segment, r.position, r.weight, r.seed),
            ("007", 1, 0, 2, 0.5, Some(42))
        );
        assert_eq!((a.rows[1].row.segment, a.rows[1].row.seed), (1, None));
        let jsonl = write(
            "a.jsonl",
            "{\"example_id\": \"7\", \"explainer\": \"lime\", \"class\": 0, \"feature\": \"x\", \"position\": 3, \"weight\": 1.5}\n",
        );
        let b = read(&jsonl).unwrap();
        assert_eq!((b.rows[0].row.position, b.rows[0].row.segment, b.rows[0].row.seed), (3, 0, None));
    }

    #[test]
    fn names_the_file_the_row_and_the_cell() {
        let e = read(&write("m.csv", "example_id,class,feature,position,weight\n1,0,x,0,1\n")).unwrap_err().to_string();
        assert!(e.contains("m.csv: no column `explainer`"), "{e}");
        let e = read(&write(
            "w.csv",
            "example_id,explainer,class,feature,position,weight\n1,lime,0,x,0,1\n1,lime,0,y,1,abc\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("w.csv: row 2: `weight` is `abc`, not a number"), "{e}");
        let e = read(&write("c.csv", "example_id,explainer,class,feature,position,weight\n1,lime,-1,x,0,1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1: `class` is `-1`, not a whole number"), "{e}");
        let e = read(&write("x.txt", "")).unwrap_err().to_string();
        assert!(e.contains("unknown table format"), "{e}");
    }
}
