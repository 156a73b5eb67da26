//! End to end: a fine-tuned folder's classes are matched to the dataset's by name
//! (`config.json` `id2label`), not by index. The same weights with the head's rows swapped
//! and `id2label` swapped score the same accuracy, agree with the original on every
//! example and explain the same words; names that differ are renamed with the manifest's
//! `labels`; names that cannot be matched stop the run with an error naming both lists.

mod common;

use common::checkpoint::checkpoint;
use common::{repo, run, temp_dir, text};
use std::path::{Path, PathBuf};

fn manifest(dir: &Path, name: &str, models: &str) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "{name}"
seeds = [1]
results = "{results}"

[dataset]
loader = "sst"

[dataset.eval]
path = "{data}/sst2/dev.tsv"
max_rows = 120

{models}
[calibration]
metrics = ["accuracy", "ece"]
similarity = ["agreement"]
bootstrap = 20

[[explainers]]
explainer = "occlusion"

[alignment]
k = [3]
examples = 6
metrics = ["top-k-jaccard"]
"#,
        results = dir.join("results").display(),
        data = repo().join("data").display(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `(model, metric) → mean` of a table of `results/<experiment>/tables/`.
fn means(dir: &Path, experiment: &str, table: &str) -> Vec<(String, String, f64)> {
    let csv = std::fs::read_to_string(dir.join("results").join(experiment).join("tables").join(table)).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    let (model, metric, mean) = (col("model"), col("metric"), col("mean"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .map(|c| (c[model].to_string(), c[metric].to_string(), c[mean].parse().unwrap()))
        .collect()
}

fn value(rows: &[(String, String, f64)], model: &str, metric: &str) -> f64 {
    rows.iter().find(|(m, k, _)| m == model && k == metric).unwrap_or_else(|| panic!("{model} {metric} in {rows:?}")).2
}

#[test]
fn a_reversed_label_order_gives_the_same_model() {
    let dir = temp_dir("label-order");
    checkpoint(&dir.join("original"), ["negative", "positive"], false);
    checkpoint(&dir.join("reversed"), ["POSITIVE", "NEGATIVE"], true);
    checkpoint(&dir.join("renamed"), ["LABEL_0", "LABEL_1"], true);
    let models = format!(
        r#"[models.original]
checkpoint = "{d}/original"
finetuned = true
reference = true

[models.reversed]
checkpoint = "{d}/reversed"
finetuned = true

[models.renamed]
checkpoint = "{d}/renamed"
finetuned = true
labels = {{ LABEL_0 = "positive", LABEL_1 = "negative" }}
"#,
        d = dir.display()
    );
    let m = manifest(&dir, "labels", &models);
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));

    let calibration = means(&dir, "labels", "calibration.csv");
    let accuracy = value(&calibration, "original", "accuracy");
    assert_eq!(value(&calibration, "reversed", "accuracy"), accuracy);
    assert_eq!(value(&calibration, "renamed", "accuracy"), accuracy);
    assert_eq!(value(&calibration, "reversed", "ece"), value(&calibration, "original", "ece"));
    let similarity = means(&dir, "labels", "similarity.csv");
    assert_eq!(value(&similarity, "reversed", "agreement"), 1.0);
    assert_eq!(value(&similarity, "renamed", "agreement"), 1.0);
    // The explained class (gold) follows the names: the same words, in the same order.
    let alignment = means(&dir, "labels", "alignment.csv");
    assert_eq!(value(&alignment, "reversed", "top-k-jaccard@3"), 1.0, "{alignment:?}");
}

#[test]
fn label_names_that_cannot_be_matched_stop_with_both_lists() {
    let dir = temp_dir("label-mismatch");
    checkpoint(&dir.join("good"), ["negative", "positive"], false);
    checkpoint(&dir.join("unnamed"), ["LABEL_0", "LABEL_1"], false);
    let models = format!(
        "[models.good]\ncheckpoint = \"{d}/good\"\nfinetuned = true\nreference = true\n\n[models.unnamed]\ncheckpoint = \"{d}/unnamed\"\nfinetuned = true\n",
        d = dir.display()
    );
    let m = manifest(&dir, "mismatch", &models);
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED") && t.contains("predict/unnamed"), "{t}");
    assert!(t.contains("[LABEL_0, LABEL_1]") && t.contains("[negative, positive]"), "{t}");
    assert!(t.contains("labels = { LABEL_0 = \"negative\", LABEL_1 = \"positive\" }"), "{t}");

    // `labels` on a model whose head trustx trains is a manifest error (exit 2) naming the key.
    let bad = format!(
        "[models.good]\ncheckpoint = \"{d}/good\"\nfinetuned = true\nreference = true\n\n[models.unnamed]\ncheckpoint = \"{d}/unnamed\"\nlabels = {{ LABEL_0 = \"negative\" }}\n",
        d = dir.display()
    );
    let m = manifest(&dir, "bad", &bad);
    let out = run(&["validate", m.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("models.unnamed.labels") && t.contains("finetuned = true"), "{t}");
}
