//! The user-plugin example (`examples/custom_alignment.rs`): its `weighted-jaccard` metric,
//! compiled into this test from the example's own file, registers itself, validates its
//! settings like every plugin and computes the documented values; the example binary lists
//! it next to the built-in metrics, and the plain `trustx` binary does not.

#[path = "../examples/custom_alignment/weighted_jaccard.rs"]
mod weighted_jaccard;

use serde_json::json;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::Command;
use trustx_framework::explain::{Attribution, FeatureKey, FeatureRef};
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};
use trustx_framework::plugin::{self, PluginKind};
use weighted_jaccard::{WeightedJaccard, WeightedJaccardSettings};

/// An attribution of example `e` over `words` (positions 0..n in segment 0) with `weights`.
fn attr(words: &[&str], weights: &[f64]) -> Attribution {
    Attribution {
        example_id: "e".into(),
        class: 0,
        features: words
            .iter()
            .enumerate()
            .map(|(i, w)| FeatureRef { segment: 0, position: i, text: w.to_string() })
            .collect(),
        weights: weights.to_vec(),
    }
}

/// The metric at top-K `k`, keyed by `on`, with or without normalisation.
fn wj(a: &Attribution, b: &Attribution, k: usize, on: FeatureKey, normalize: bool) -> f64 {
    let s = WeightedJaccardSettings { k: NonZeroUsize::new(k).unwrap(), on, normalize };
    WeightedJaccard::compute(&s, a, b)
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}

#[test]
fn the_registry_finds_it_next_to_the_built_in_metrics() {
    trustx_plugins::link();
    let names = plugin::names(PluginKind::Alignment);
    assert!(names.contains(&"weighted-jaccard"), "{names:?}");
    assert!(names.contains(&"top-k-jaccard"), "{names:?}");
    let entry = AlignmentMetricEntry::find("weighted-jaccard").expect("registered");
    assert_eq!(entry.info.kind, PluginKind::Alignment);
    assert_eq!(entry.info.version, "1");
    assert!(entry.definition.starts_with("WJ = "), "{}", entry.definition);
    // A typo gets the new metric as its suggestion, as for any registered name.
    assert_eq!(plugin::nearest(PluginKind::Alignment, "weighted-jacard"), Some("weighted-jaccard"));
    // Every setting is documented and has a default; `k` and `on` carry the names the
    // engine fills from the manifest's alignment section.
    let docs = entry.info.settings();
    let keys: Vec<&str> = docs.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["k", "normalize", "on"]);
    for d in &docs {
        assert!(d.default.is_some(), "{} has no default", d.key);
        assert!(!d.description.is_empty(), "{} is undocumented", d.key);
    }
    assert_eq!(docs[1].ty, "boolean");
    assert_eq!(docs[1].default, Some(json!(true)));
}

#[test]
fn settings_are_validated_like_every_plugin() {
    let entry = AlignmentMetricEntry::find("weighted-jaccard").expect("registered");
    // The resolved config fills every default.
    assert_eq!((entry.info.resolve)(&json!({})).unwrap(), json!({"k": 10, "on": "word", "normalize": true}));
    assert_eq!(
        (entry.info.resolve)(&json!({"normalize": false, "on": "position"})).unwrap(),
        json!({"k": 10, "on": "position", "normalize": false})
    );
    // An unknown key is an error naming it (the manifest loader adds the section and line).
    let e = (entry.info.resolve)(&json!({"normalise": false})).unwrap_err();
    assert_eq!(e.path, vec!["normalise"]);
    assert!(e.message.contains("unknown field `normalise`"), "{}", e.message);
    assert!(e.message.contains("normalize"), "the message lists the known keys: {}", e.message);
    // Wrong types and K = 0 are errors too, also through the engine's compute entry point.
    let e = (entry.info.resolve)(&json!({"normalize": "yes"})).unwrap_err();
    assert_eq!(e.path, vec!["normalize"]);
    let a = attr(&["x"], &[1.0]);
    let err = (entry.compute)(&json!({"k": 0}), &a, &a).unwrap_err().to_string();
    assert!(err.contains("weighted-jaccard") && err.contains("setting `k`"), "{err}");
    // Two different examples are never compared.
    let mut b = a.clone();
    b.example_id = "other".into();
    assert!((entry.compute)(&json!({}), &a, &b).is_err());
    assert_eq!((entry.compute)(&json!({}), &a, &a).unwrap(), 1.0);
}

#[test]
fn identical_disjoint_and_empty() {
    let a = attr(&["a", "b", "c"], &[0.5, -0.3, 0.2]);
    for normalize in [true, false] {
        close(wj(&a, &a, 2, FeatureKey::Word, normalize), 1.0);
        close(wj(&a, &a, 10, FeatureKey::Position, normalize), 1.0);
    }
    // Disjoint: no feature has a non-zero weight on both sides.
    let b = attr(&["d", "e", "a"], &[0.4, 0.1, 0.0]);
    for normalize in [true, false] {
        close(wj(&a, &b, 3, FeatureKey::Word, normalize), 0.0);
    }
    // Neither has a non-zero weight: nothing to disagree on (as `top-k-jaccard`).
    let z = attr(&["a", "b"], &[0.0, 0.0]);
    close(wj(&z, &z, 10, FeatureKey::Word, true), 1.0);
    // One empty side: all of the other side's mass is unmatched.
    close(wj(&z, &a, 10, FeatureKey::Word, true), 0.0);
    close(wj(&a, &z, 10, FeatureKey::Word, false), 0.0);
}

#[test]
fn a_case_worked_by_hand() {
    let a = attr(&["a", "b", "c", "d"], &[0.9, -0.8, 0.1, 0.05]);
    let b = attr(&["a", "b", "c", "d"], &[0.1, 0.7, -0.6, 0.0]);
    // K = 2: top-2 {a, b} and {b, c}, U = {a, b, c}.
    // Raw |weights|: a (0.9, 0.1), b (0.8, 0.7), c (0.1, 0.6): (0.1 + 0.7 + 0.1) / (0.9 + 0.8 + 0.6) = 9/23.
    close(wj(&a, &b, 2, FeatureKey::Word, false), 9.0 / 23.0);
    // Normalised over U: a side sums 1.8 → (1/2, 4/9, 1/18); b side sums 1.4 → (1/14, 1/2, 3/7).
    // mins 1/14 + 4/9 + 1/18 = 4/7, maxes 1/2 + 1/2 + 3/7 = 10/7: WJ = 2/5.
    close(wj(&a, &b, 2, FeatureKey::Word, true), 0.4);
    // K = 1: U = {a, b}; raw (0.1 + 0.7) / (0.9 + 0.8) = 8/17.
    close(wj(&a, &b, 1, FeatureKey::Word, false), 8.0 / 17.0);
    // The order of the two attributions does not matter.
    close(wj(&b, &a, 2, FeatureKey::Word, true), 0.4);
}

#[test]
fn normalisation_removes_scale_and_signs_are_ignored() {
    let a = attr(&["a", "b", "c"], &[0.6, -0.3, 0.1]);
    let tripled = attr(&["a", "b", "c"], &[1.8, -0.9, 0.3]);
    close(wj(&a, &tripled, 3, FeatureKey::Word, true), 1.0);
    // Raw: every min is a's, every max the tripled one: 1/3.
    close(wj(&a, &tripled, 3, FeatureKey::Word, false), 1.0 / 3.0);
    let flipped = attr(&["a", "b", "c"], &[-0.6, 0.3, -0.1]);
    close(wj(&a, &flipped, 3, FeatureKey::Word, false), 1.0);
}

#[test]
fn words_and_positions() {
    // The same word at another position: equal as words, different as positions.
    let c = attr(&["x", "a"], &[0.1, 0.9]);
    let d = attr(&["a", "x"], &[0.9, 0.1]);
    close(wj(&c, &d, 2, FeatureKey::Word, false), 1.0);
    // Positions 0: (0.1, 0.9), 1: (0.9, 0.1): (0.1 + 0.1) / (0.9 + 0.9) = 1/9.
    close(wj(&c, &d, 2, FeatureKey::Position, false), 1.0 / 9.0);
    // A word seen twice counts once, with its largest |weight|.
    let e = attr(&["a", "a", "b"], &[0.2, 0.5, 0.3]);
    let f = attr(&["a", "b"], &[0.5, 0.3]);
    close(wj(&e, &f, 3, FeatureKey::Word, false), 1.0);
    // A feature outside one side's top-K still counts with its weight there: K = 1 gives
    // U = {b, a}, raw (0.3 + 0.3) / (0.5 + 0.5) = 0.6 (top-K weights alone would give 0).
    let g = attr(&["a", "b"], &[0.3, 0.5]);
    let h = attr(&["a", "b"], &[0.5, 0.3]);
    close(wj(&g, &h, 1, FeatureKey::Word, false), 0.6);
}

/// The example binary, built here with `$CARGO build --example custom_alignment` when it
/// is missing or older than one of its two source files (e.g. under `cargo test --test
/// custom_alignment`, which does not build examples).
fn example_binary() -> PathBuf {
    let name = format!("custom_alignment{}", std::env::consts::EXE_SUFFIX);
    // current_exe: <target>/<profile>/deps/custom_alignment-<hash>; examples: <target>/<profile>/examples.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile folder");
    let built = profile_dir.join("examples").join(&name);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let sources = ["examples/custom_alignment.rs", "examples/custom_alignment/weighted_jaccard.rs"];
    let fresh = modified(&built)
        .is_some_and(|binary| sources.iter().all(|s| modified(&root.join(s)).is_none_or(|source| binary >= source)));
    if fresh {
        return built;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--example", "custom_alignment"]).current_dir(root);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build --example custom_alignment");
    assert!(status.success(), "cargo build --example custom_alignment failed");
    assert!(built.is_file(), "{} was not built", built.display());
    built
}

#[test]
fn the_example_binary_lists_it_and_plain_trustx_does_not() {
    let out = Command::new(example_binary()).args(["plugins", "--kind", "alignment"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("alignment weighted-jaccard (v1): Weighted Jaccard index"), "{listing}");
    assert!(listing.contains("normalize: boolean = true  Divide each side's |weights|"), "{listing}");
    assert!(listing.contains("alignment top-k-jaccard (v1)"), "the built-in metrics stay linked: {listing}");
    // The README's "Writing a plugin" quotes this block of the listing: keep them the same.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block: Vec<&str> = listing
        .lines()
        .skip_while(|l| !l.starts_with("alignment weighted-jaccard "))
        .take_while(|l| l.starts_with("alignment weighted-jaccard ") || l.starts_with("    "))
        .collect();
    assert_eq!(block.len(), 4, "{listing}");
    assert!(readme.contains(&block.join("\n")), "README.md should quote the listing:\n{}", block.join("\n"));

    let out = Command::new(env!("CARGO_BIN_EXE_trustx")).args(["plugins", "--kind", "alignment"]).output().unwrap();
    assert!(out.status.success());
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(plain.contains("top-k-jaccard") && !plain.contains("weighted-jaccard"), "{plain}");
}
