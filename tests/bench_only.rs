//! End-to-end test of `trustx bench --only`: just the rows whose name contains the text run
//! (the BERT-base shape's, which need no downloaded weights). No speed is asserted.

mod common;

use common::{run, temp_dir, text};
use serde_json::Value;

fn rows(only: &str) -> Vec<String> {
    let missing = temp_dir("bench-only").join("no-minilm");
    let args = ["bench", "--json", "--batch", "2", "--length", "8", "--reps", "1", "--only", only];
    let out = run(&[&args[..], &["--minilm", missing.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    json.as_array().expect("a list of rows").iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn only_the_rows_whose_name_contains_the_text_run() {
    assert_eq!(rows("packed dynamic-int8"), ["bert-base shape (random weights), packed dynamic-int8"]);
    assert_eq!(
        rows("bert-base shape (random weights), packed"),
        ["bert-base shape (random weights), packed", "bert-base shape (random weights), packed dynamic-int8"]
    );
    assert!(rows("no row is called this").is_empty());
}
