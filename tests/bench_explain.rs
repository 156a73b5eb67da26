//! End-to-end tests of `trustx bench --explain`: a small workload on real SNLI pairs with the
//! real all-MiniLM-L6-v2 weights (ignored unless included: .ci/run fetches them), and its input errors.
//! No speed is asserted: only that the workload ran and was counted.

mod common;

use common::{minilm, repo, run, temp_dir, text};
use serde_json::Value;

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2 (bash scripts/fetch-minilm.sh; .ci/run includes it)"]
fn small_workload_runs_and_shares_the_cache_across_seeds() {
    let model = minilm().to_string_lossy().into_owned();
    let pairs = repo().join("data/snli/snli_1.0_dev.head1000.jsonl");
    let args = [
        "bench",
        "--explain",
        "--json",
        "--minilm",
        &model,
        "--pairs",
        pairs.to_str().unwrap(),
        "--count",
        "1",
        "--seeds",
        "2",
        "--lime-samples",
        "30",
        "--shap-evals",
        "12",
    ];
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["pairs"], 1);
    assert_eq!(r["explanations"], 4);
    let counts = &r["counts"];
    let get = |k: &str| counts[k].as_u64().unwrap();
    let (requested, distinct, run) = (get("requested"), get("distinct"), get("run"));
    // Two seeds × 30 LIME samples, at most 12 SHAP evaluations each, the original text.
    assert!((2 * 30 + 2 * 2..=2 * (30 + 12) + 1).contains(&requested), "{counts}");
    // The second seed's partition SHAP (deterministic, F(∅) and F(N) at least) comes from the cache.
    assert!(run + 2 <= distinct && distinct <= requested, "{counts}");
    assert!(r["dedup_ratio"].as_f64().unwrap() > 1.0);
    assert!(r["lime_s"].as_f64().unwrap() > 0.0 && r["shap_s"].as_f64().unwrap() > 0.0);
    // Only this run's figures: a ratio to the Python stack is benches/compare.sh's.
    assert!(r.get("python_workload_s").is_none() && r.get("speedup").is_none(), "{r}");
    assert_eq!((r["lime_samples"].as_u64(), r["shap_evals"].as_u64()), (Some(30), Some(12)));
}

#[test]
fn a_bad_pairs_file_is_an_error_naming_it() {
    let dir = temp_dir("bench-explain");
    let missing = dir.join("absent.jsonl");
    let out = run(&["bench", "--explain", "--pairs", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("absent.jsonl") && text(&out).contains("--pairs"), "{}", text(&out));
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"pairID\": \"x\", \"gold_label\": \"neutral\"}\n").unwrap();
    let out = run(&["bench", "--explain", "--pairs", bad.to_str().unwrap(), "--count", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("bad.jsonl:1") && text(&out).contains("sentence1"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}
