//! Every bundled manifest in `experiments/` (the paper's two have their own test with
//! stand-in folders) passes `trustx validate` and `trustx plan`, so an edit to one or a change
//! to a plugin's settings that breaks it fails here rather than on a user's first run. The
//! manifests that need the real MiniLM weights have their own test, ignored unless included
//! (`.ci/run` fetches the weights with `bash scripts/fetch-minilm.sh` and includes it).

mod common;

use common::*;

#[test]
fn every_bundled_manifest_without_minilm_validates_and_plans() {
    check_bundled(false);
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2 (bash scripts/fetch-minilm.sh; .ci/run includes it)"]
fn every_bundled_minilm_manifest_validates_and_plans() {
    minilm();
    check_bundled(true);
}

/// Validates and plans the bundled manifests that name MiniLM (`with_minilm`) or those that
/// do not.
fn check_bundled(with_minilm: bool) {
    let mut manifests: Vec<_> = std::fs::read_dir(repo().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("paper-"))
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 5, "bundled manifests: {manifests:?}");
    let results = temp_dir("bundled-manifests");
    let mut checked = 0;
    for path in &manifests {
        let source = std::fs::read_to_string(path).unwrap();
        if source.contains("all-MiniLM-L6-v2") != with_minilm {
            continue;
        }
        let file = path.to_str().unwrap();
        let validate = run(&["validate", file]);
        assert!(validate.status.success(), "trustx validate {file}:\n{}", text(&validate));
        let plan = trustx()
            .args(["plan", file, "--json"])
            .env("TRUSTX_EXPERIMENT__RESULTS", results.to_str().unwrap())
            .output()
            .unwrap();
        assert!(plan.status.success(), "trustx plan {file}:\n{}", text(&plan));
        let dag: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        let stages: Vec<&str> = dag["nodes"].as_array().unwrap().iter().filter_map(|n| n["stage"].as_str()).collect();
        assert!(stages.contains(&"report"), "the plan of {file} has no report node: {stages:?}");
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} of the bundled manifests {manifests:?} were checked");
    std::fs::remove_dir_all(&results).ok();
}
