//! The predictions source on real files: layouts, formats, and every bad-row error.

use super::file::csv_record_lines;
use super::*;
use trustx_framework::data::{Dataset, Example, Split};
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
