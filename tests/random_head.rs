//! End to end: `trustx explain` and `trustx model inspect` refuse a folder without a
//! classification head (its outputs would come from a head drawn at random) and say how to
//! get one; `--random-head --labels N` does it on purpose and says so; `inspect
//! --encoder-only` shows the encoder without logits.

mod common;

use common::checkpoint::{checkpoint, headless};
use common::{run, temp_dir, text};

#[test]
fn explain_and_inspect_refuse_a_folder_without_a_head() {
    let dir = temp_dir("random-head");
    let encoder = headless(&dir.join("encoder"));
    let e = encoder.to_str().unwrap();

    for args in [
        vec!["explain", e, "--text", "a fine film", "--explainer", "occlusion"],
        vec!["model", "inspect", e, "--text", "a fine film"],
    ] {
        let out = run(&args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {t}");
        assert!(t.contains("has no classification head"), "{t}");
        assert!(t.contains("trustx model export") && t.contains("--random-head --labels N"), "{t}");
        assert!(!t.contains("prediction"), "nothing is predicted: {t}");
    }

    // On purpose: a random head of 3 classes, named as random in the output.
    let out =
        run(&["explain", e, "--text", "a fine film", "--explainer", "occlusion", "--random-head", "--labels", "3"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("(3 classes)") && t.contains("random (seed 0"), "{t}");
    let out = run(&["model", "inspect", e, "--text", "a fine film", "--random-head", "--labels", "2", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["logits"].as_array().map(Vec::len), Some(2));
    assert!(v["head"].as_str().unwrap().starts_with("random"), "{v}");

    // The encoder alone: vectors, no logits.
    let out = run(&["model", "inspect", e, "--text", "a fine film", "--encoder-only", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["logits"].is_null() && v["cls_last_hidden"].as_array().is_some_and(|a| !a.is_empty()), "{v}");

    // `--labels` alone is a command-line error.
    let out = run(&["explain", e, "--text", "x", "--explainer", "occlusion", "--labels", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_folder_with_a_head_is_explained_with_its_own() {
    let dir = temp_dir("own-head");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    let out = run(&["explain", model.to_str().unwrap(), "--text", "a fine film", "--explainer", "occlusion"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("prediction") && !t.contains("random"), "{t}");
    assert!(t.contains("negative") || t.contains("positive"), "the checkpoint's label names: {t}");
}
