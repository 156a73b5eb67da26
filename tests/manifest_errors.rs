//! Every bad-manifest case exits with code 2 and names the file, the line and the key.

mod common;

use common::*;

const GOOD: &str = r#"[experiment]
name = "bad"
seeds = [42]

[dataset]
loader = "glue"
task = "sst2"

[dataset.eval]
path = "DATA/sst2/dev.tsv"

[models.ref]
source = "predictions"
path = "DATA/predictions/sst2-bow/bow-reference-seed42.csv"
reference = true

[models.small]
source = "predictions"
path = "DATA/predictions/sst2-bow/bow-small-vocab-seed42.csv"
"#;

/// Writes `text` (with DATA replaced) and validates it; returns (exit code, output, path).
fn validate(name: &str, manifest: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = temp_dir(&format!("manifest-{name}"));
    let path = dir.join("m.toml");
    std::fs::write(&path, manifest.replace("DATA", &repo().join("data").display().to_string())).unwrap();
    let mut cmd = trustx();
    cmd.arg("validate").arg(&path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.code(), text(&out), path.display().to_string())
}

/// Asserts exit code 2 and a message naming `file:line` and the key.
fn assert_error(name: &str, manifest: &str, line: usize, key: &str, words: &[&str]) {
    let (code, out, path) = validate(name, manifest, &[]);
    assert_eq!(code, Some(2), "{name}: {out}");
    assert!(out.contains(&format!("{path}:{line}:")), "{name}: expected {path}:{line}: in\n{out}");
    assert!(out.contains(&format!("`{key}`")), "{name}: expected key `{key}` in\n{out}");
    for w in words {
        assert!(out.contains(w), "{name}: expected `{w}` in\n{out}");
    }
}

#[test]
fn the_good_manifest_validates() {
    let (code, out, _) = validate("good", GOOD, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("valid"), "{out}");
}

#[test]
fn unknown_key() {
    assert_error(
        "unknown-key",
        &GOOD.replace("seeds = [42]", "seeds = [42]\nnmae = \"x\""),
        4,
        "experiment.nmae",
        &["unknown field"],
    );
}

#[test]
fn unknown_key_in_plugin_settings() {
    assert_error(
        "unknown-plugin-key",
        &GOOD.replace("task = \"sst2\"", "task = \"sst2\"\ntsak = 1"),
        8,
        "dataset.tsak",
        &["unknown field"],
    );
}

#[test]
fn wrong_type() {
    assert_error(
        "wrong-type",
        &GOOD.replace("seeds = [42]", "seeds = \"42\""),
        3,
        "experiment.seeds",
        &["invalid type"],
    );
}

#[test]
fn missing_required_key() {
    assert_error("missing", &GOOD.replace("name = \"bad\"\n", ""), 1, "experiment.name", &["missing field"]);
}

#[test]
fn unknown_plugin_suggests_the_nearest() {
    assert_error(
        "unknown-plugin",
        &GOOD.replace("loader = \"glue\"", "loader = \"glu\""),
        6,
        "dataset.loader",
        &["did you mean `glue`"],
    );
    assert_error(
        "unknown-source",
        &GOOD.replace(
            "source = \"predictions\"\npath = \"DATA/predictions/sst2-bow/bow-small",
            "source = \"prediction\"\npath = \"DATA/predictions/sst2-bow/bow-small",
        ),
        18,
        "models.small.source",
        &["did you mean `predictions`"],
    );
}

#[test]
fn path_that_does_not_exist() {
    assert_error(
        "no-path",
        &GOOD.replace("DATA/sst2/dev.tsv", "DATA/sst2/nope.tsv"),
        10,
        "dataset.eval.path",
        &["does not exist"],
    );
    assert_error(
        "no-preds",
        &GOOD.replace("bow-small-vocab-seed42.csv", "missing.csv"),
        19,
        "models.small.path",
        &["does not exist"],
    );
}

#[test]
fn empty_seed_list() {
    assert_error("empty-seeds", &GOOD.replace("seeds = [42]", "seeds = []"), 3, "experiment.seeds", &["empty"]);
}

#[test]
fn reference_count_must_be_one() {
    assert_error(
        "two-refs",
        &GOOD.replace("bow-small-vocab-seed42.csv\"", "bow-small-vocab-seed42.csv\"\nreference = true"),
        20,
        "models.small.reference",
        &["mark exactly one"],
    );
    assert_error("no-ref", &GOOD.replace("reference = true\n", ""), 12, "models", &["no model is marked"]);
}

#[test]
fn duplicate_model_name() {
    let dup = format!("{GOOD}\n[models.ref]\nsource = \"predictions\"\npath = \"x.csv\"\n");
    assert_error("dup-model", &dup, 21, "models.ref", &["defined twice"]);
}

#[test]
fn environment_override_is_typed_and_named() {
    let (code, out, _) = validate("env-ok", GOOD, &[("TRUSTX_EXPERIMENT__JOBS", "2")]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, path) = validate("env-bad", GOOD, &[("TRUSTX_EXPERIMENT__SEEDS", "oops")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&path) && out.contains("experiment.seeds"), "{out}");
}

#[test]
fn not_toml() {
    let (code, out, path) = validate("syntax", &GOOD.replace("seeds = [42]", "seeds = [42"), &[]);
    assert_eq!(code, Some(2), "{out}");
    // The parser notices the unclosed array where the next table starts.
    assert!(out.contains(&format!("{path}:5:")) && out.contains("not valid TOML"), "{out}");
}

#[test]
fn bad_alignment_metric_and_zero_examples() {
    let first = GOOD.lines().count() + 2;
    let bad_name = format!("{GOOD}\n[alignment]\nmetrics = [\"top-k-jacard\"]\n");
    assert_error("alignment-metric", &bad_name, first + 1, "alignment.metrics.0", &["did you mean `top-k-jaccard`?"]);
    let zero = format!("{GOOD}\n[alignment]\nexamples = 0\n");
    assert_error("alignment-examples", &zero, first + 1, "alignment.examples", &["at least one example"]);
    let k_in_metric = format!("{GOOD}\n[alignment]\nmetrics = [{{ metric = \"rbo\", k = 5 }}]\n");
    assert_error("alignment-metric-k", &k_in_metric, first + 1, "alignment.metrics.0.k", &["[alignment] k"]);
}

#[test]
fn a_predictions_only_reference_cannot_be_explained() {
    let manifest = format!("{GOOD}\n[[explainers]]\nexplainer = \"occlusion\"\n");
    let line = GOOD.lines().position(|l| l.starts_with("source")).unwrap() + 1;
    assert_error("explain-source-reference", &manifest, line, "models.ref.source", &["cannot be explained"]);
}

#[test]
fn a_bad_environment_override_names_the_variable_not_a_line() {
    // The manifest sets `bins` on a line of its own; the bad value is the environment's.
    let manifest = format!("{GOOD}\n[calibration]\nbins = 10\n");
    let (code, out, path) = validate("env-bins", &manifest, &[("TRUSTX_CALIBRATION__BINS", "abc")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("TRUSTX_CALIBRATION__BINS=\"abc\"") && out.contains("`calibration.bins`"), "{out}");
    let line = manifest.lines().position(|l| l.starts_with("bins")).unwrap() + 1;
    assert!(!out.contains(&format!("{path}:{line}")), "no manifest line for a value the manifest did not set: {out}");
    // A value that parses but fails validation names it too.
    let (code, out, _) = validate("env-zero", &manifest, &[("TRUSTX_ALIGNMENT__EXAMPLES", "0")]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("TRUSTX_ALIGNMENT__EXAMPLES=\"0\"") && out.contains("at least one example"), "{out}");
}

#[test]
fn an_unknown_explainer_exits_2_from_the_manifest_and_the_command_line() {
    let vocab = repo().join("data/vocab/sst2-words.txt");
    let neural = GOOD.replace(
        "[models.ref]\nsource = \"predictions\"\npath = \"DATA/predictions/sst2-bow/bow-reference-seed42.csv\"\n",
        &format!(
            "[models.ref]\narchitecture = {{ type = \"bert\", layers = 1, hidden = 16, heads = 2, ffn = 32, vocab = \"{}\" }}\n",
            vocab.display()
        ),
    );
    let manifest =
        format!("{neural}\n[dataset.train]\npath = \"DATA/sst2/dev.tsv\"\n\n[[explainers]]\nexplainer = \"limee\"\n");
    let line = manifest.lines().position(|l| l.contains("limee")).unwrap() + 1;
    assert_error("unknown-explainer", &manifest, line, "explainers.0.explainer", &["did you mean `lime`?"]);
    let dir = temp_dir("unknown-explainer-run");
    let path = dir.join("m.toml");
    std::fs::write(&path, manifest.replace("DATA", &repo().join("data").display().to_string())).unwrap();
    let out = run(&["run", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = run(&["explain", "/nonexistent", "--text", "x", "--explainer", "limee"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("did you mean `lime`?"), "{}", text(&out));
}
