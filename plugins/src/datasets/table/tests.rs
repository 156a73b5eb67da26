//! Tests of the `table` loader: formats, ids, labels, malformed rows.

use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
use super::labels::class_index;
use super::*;
use polars::prelude::{Column, DataFrame};
use serde_json::json;
use std::path::PathBuf;
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
        e.contains(&path.display().to_string()) && e.contains("line 2") && e.contains("line 4") && e.contains("`a`"),
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
    let mut df =
        DataFrame::new_infer_height(vec![Column::new("sentence".into(), texts), Column::new("label".into(), labels)])
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
    assert_eq!((s.text.as_str(), s.label.as_str(), s.id.is_none(), s.labels.is_none()), ("text", "label", true, true));
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
