//! End-to-end tests of `trustx model inspect` (against the reference values computed by
//! Hugging Face transformers in `../shared/fixtures`) and its errors.

mod common;

use common::{fixtures, run, text};
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    let dir = fixtures().join(name);
    assert!(dir.join("reference.json").is_file(), "{} has no reference.json", dir.display());
    dir
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn assert_close(field: &str, got: &Value, want: &Value) {
    let (g, w) = (floats(got), floats(want));
    assert_eq!(g.len(), w.len(), "{field}: length");
    let worst = g.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-4, "{field}: max |diff| {worst}");
}

#[test]
#[ignore = "needs ../shared/fixtures or TRUSTX_FIXTURES (.ci/run includes it where they exist)"]
fn inspect_json_matches_transformers_on_every_fixture_case() {
    for name in ["bert-tiny-random-bin", "distilbert-tiny-random"] {
        let dir = fixture(name);
        let reference: Value = serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
        for case in reference["cases"].as_array().unwrap() {
            let mut args = vec!["model", "inspect", dir.to_str().unwrap(), "--json", "--allow-vocab-mismatch"];
            let text_arg = case["text"].as_str().unwrap();
            args.extend(["--text", text_arg]);
            if let Some(p) = case.get("pair").and_then(Value::as_str) {
                args.extend(["--pair", p]);
            }
            let out = run(&args);
            assert!(out.status.success(), "{name}: {}", text(&out));
            let got: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(got["tokens"], case["tokens"], "{name} {text_arg}: tokens");
            assert_eq!(got["ids"], case["input_ids"], "{name} {text_arg}: ids");
            assert_close("cls_last_hidden", &got["cls_last_hidden"], &case["cls_last_hidden"]);
            assert_close("mean_pooled_last_hidden", &got["mean_pooled_last_hidden"], &case["mean_pooled_last_hidden"]);
            if let Some(p) = case.get("pooler_output") {
                assert_close("pooler_output", &got["pooler_output"], p);
            }
            assert_close("logits", &got["logits"], &case["logits"]);
            assert_close("probabilities", &got["probabilities"], &case["probs"]);
            assert!(got["parameters"].as_u64().unwrap() > 0 && got["size_bytes"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
#[ignore = "needs ../shared/fixtures or TRUSTX_FIXTURES (.ci/run includes it where they exist)"]
fn inspect_text_output_names_the_parts() {
    let dir = fixture("bert-tiny-random-bin");
    let out = run(&["model", "inspect", dir.to_str().unwrap(), "--text", "a dog runs", "--vocab-txt"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = text(&out);
    for part in ["parameters", "size on disk", "tokens", "[CLS] last hidden", "mean-pooled", "pooler output", "class "]
    {
        assert!(s.contains(part), "missing {part}: {s}");
    }
    assert!(s.contains("\"dog\""), "vocab.txt gives real word pieces: {s}");
}

#[test]
fn inspect_errors_name_the_folder() {
    let out = run(&["model", "inspect", "/nonexistent/model", "--text", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("/nonexistent/model is not a folder"), "{}", text(&out));
}

#[test]
#[ignore = "needs ../shared/fixtures or TRUSTX_FIXTURES (.ci/run includes it where they exist)"]
fn inspect_refuses_a_mismatched_tokenizer_by_default() {
    let dir = fixture("bert-tiny-random-bin");
    let out = run(&["model", "inspect", dir.to_str().unwrap(), "--text", "x"]);
    assert_eq!(out.status.code(), Some(1), "the 5-entry tokenizer.json is refused by default");
    assert!(text(&out).contains("tokenizer.json"), "{}", text(&out));
}
