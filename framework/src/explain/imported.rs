//! Attributions computed elsewhere (captum, shap, any tool) and read from a file by a model
//! source: which rows an explain node takes, checked against what it explains.
//!
//! An explain node of explainer E on such a model needs, for every explanation seed of the
//! node (none for a deterministic explainer) and every explained example, the rows of E with
//! that seed, that example and the explained class (the gold label, or the model's prediction
//! with `[alignment] class = "predicted"`). Rows of other explainers, other seeds, other
//! classes and examples that are not explained are ignored; a row of E naming an example the
//! eval split lacks, or a weight that is not finite, is an error naming the row.

use super::AttributionRow;
use crate::plugin::model_source::{ImportedAttributions, ImportedRow};
use anyhow::{Result, bail};
use std::collections::{BTreeSet, HashMap, HashSet};

/// One explained example: its id and the class explained.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained<'a> {
    /// Example id.
    pub id: &'a str,
    /// Explained class.
    pub class: usize,
}

fn seed_text(seed: Option<u64>) -> String {
    seed.map_or_else(|| "none (a deterministic explainer)".to_string(), |s| s.to_string())
}

/// The rows explainer `explainer` needs for `seeds` × `explained`, by seed then example order
/// then file order. `eval_ids`: every id of the eval split.
pub fn select(
    file: &ImportedAttributions,
    explainer: &str,
    seeds: &[Option<u64>],
    explained: &[Explained],
    eval_ids: &HashSet<&str>,
) -> Result<Vec<AttributionRow>> {
    let path = file.file.display();
    let own: Vec<&ImportedRow> = file.rows.iter().filter(|r| r.explainer == explainer).collect();
    if own.is_empty() {
        let found: BTreeSet<&str> = file.rows.iter().map(|r| r.explainer.as_str()).collect();
        bail!(
            "{path}: no rows for explainer `{explainer}` (the file's `explainer` column has: {}); \
             give its attributions, or drop `{explainer}` from [[explainers]]",
            found.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    for r in &own {
        if !eval_ids.contains(r.row.example_id.as_str()) {
            bail!(
                "{path}: row {}: example id `{}` is not in the dataset's eval split (ids are compared as text)",
                r.line,
                r.row.example_id
            );
        }
        if !r.row.weight.is_finite() {
            bail!("{path}: row {}: weight {} of `{}` is not a finite number", r.line, r.row.weight, r.row.feature);
        }
    }
    // Rows by (example, seed), in file order: one pass over the file, not one per example.
    let mut by_example: HashMap<(&str, Option<u64>), Vec<&ImportedRow>> = HashMap::new();
    for r in &own {
        by_example.entry((r.row.example_id.as_str(), r.row.seed)).or_default().push(r);
    }
    let mut out = Vec::new();
    for &seed in seeds {
        for e in explained {
            let of_example: &[&ImportedRow] = by_example.get(&(e.id, seed)).map_or(&[], Vec::as_slice);
            let rows: Vec<AttributionRow> =
                of_example.iter().filter(|r| r.row.class == e.class).map(|r| r.row.clone()).collect();
            if rows.is_empty() {
                if of_example.is_empty() {
                    let seeds_of: BTreeSet<String> = own
                        .iter()
                        .filter(|r| r.row.example_id == e.id)
                        .map(|r| r.row.seed.map_or_else(|| "none".into(), |s| s.to_string()))
                        .collect();
                    bail!(
                        "{path}: explainer `{explainer}` has no rows for example `{}` with seed {}{}; every explained \
                         example needs its attributions for every explanation seed",
                        e.id,
                        seed_text(seed),
                        if seeds_of.is_empty() {
                            String::new()
                        } else {
                            format!(" (it has seeds {})", seeds_of.into_iter().collect::<Vec<_>>().join(", "))
                        }
                    );
                }
                let classes: BTreeSet<usize> = of_example.iter().map(|r| r.row.class).collect();
                bail!(
                    "{path}: explainer `{explainer}`, example `{}`, seed {}: no rows for class {}, the class explained \
                     (the file has class {}; `[alignment] class` = \"gold\" or \"predicted\" chooses it)",
                    e.id,
                    seed_text(seed),
                    e.class,
                    classes.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
                );
            }
            out.extend(rows);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::model_source::ImportedRow;

    fn row(line: usize, explainer: &str, id: &str, seed: Option<u64>, class: usize, w: f64) -> ImportedRow {
        ImportedRow {
            line,
            explainer: explainer.into(),
            row: AttributionRow {
                example_id: id.into(),
                class,
                feature: format!("w{line}"),
                segment: 0,
                position: line,
                weight: w,
                seed,
            },
        }
    }

    fn file(rows: Vec<ImportedRow>) -> ImportedAttributions {
        ImportedAttributions { file: "attr.csv".into(), rows }
    }

    #[test]
    fn takes_the_explained_class_of_each_seed_in_order() {
        let f = file(vec![
            row(1, "lime", "b", Some(2), 1, 0.5),
            row(2, "lime", "a", Some(1), 0, 0.1),
            row(3, "lime", "a", Some(1), 1, 0.2),
            row(4, "shap", "a", None, 1, 0.3),
            row(5, "lime", "b", Some(1), 1, 0.4),
            row(6, "lime", "a", Some(2), 1, 0.6),
            row(7, "lime", "c", Some(1), 1, 0.7),
        ]);
        let ids: HashSet<&str> = ["a", "b", "c"].into();
        let explained = [Explained { id: "a", class: 1 }, Explained { id: "b", class: 1 }];
        let rows = select(&f, "lime", &[Some(1), Some(2)], &explained, &ids).unwrap();
        let got: Vec<(String, Option<u64>, f64)> =
            rows.iter().map(|r| (r.example_id.clone(), r.seed, r.weight)).collect();
        assert_eq!(
            got,
            [
                ("a".into(), Some(1), 0.2),
                ("b".into(), Some(1), 0.4),
                ("a".into(), Some(2), 0.6),
                ("b".into(), Some(2), 0.5)
            ]
        );
        let det = select(&f, "shap", &[None], &explained[..1], &ids).unwrap();
        assert_eq!(det.len(), 1);
    }

    #[test]
    fn names_the_row_or_the_example_that_is_wrong() {
        let ids: HashSet<&str> = ["a"].into();
        let one = [Explained { id: "a", class: 1 }];
        let err = |f: ImportedAttributions, seeds: &[Option<u64>]| {
            select(&f, "lime", seeds, &one, &ids).unwrap_err().to_string()
        };
        let e = err(file(vec![row(3, "lime", "zz", Some(1), 1, 0.1)]), &[Some(1)]);
        assert!(e.contains("attr.csv: row 3: example id `zz` is not in the dataset's eval split"), "{e}");
        let e = err(file(vec![row(4, "lime", "a", Some(1), 1, f64::NAN)]), &[Some(1)]);
        assert!(e.contains("row 4: weight NaN"), "{e}");
        let e = err(file(vec![row(1, "lime", "a", Some(1), 0, 0.1)]), &[Some(1)]);
        assert!(e.contains("example `a`, seed 1: no rows for class 1") && e.contains("the file has class 0"), "{e}");
        let e = err(file(vec![row(1, "lime", "a", Some(1), 1, 0.1)]), &[Some(1), Some(2)]);
        assert!(e.contains("no rows for example `a` with seed 2 (it has seeds 1)"), "{e}");
        let e = err(file(vec![row(1, "shap", "a", None, 1, 0.1)]), &[Some(1)]);
        assert!(e.contains("no rows for explainer `lime` (the file's `explainer` column has: shap)"), "{e}");
    }
}
