//! Models served by another process (`source = "server"`), through the binary: the bundled
//! manifest `experiments/served-bow.toml` end to end (a pure-Python bag-of-words server
//! against a BERT trustx trains, explained, with a verdict); the same tables whether the
//! model is served or given as a file of its predictions; and one test per failure of a
//! server (`examples/protocol_server.rs --fail WHAT`), each checking trustx's message.
//! Needs `python3` on PATH (standard library only).

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A manifest on the first `rows` SST-2 dev sentences: a correct example server as the
/// reference, and `compared` (a `[models.NAME]` section's body) as the model `faulty`.
fn failure_manifest(dir: &Path, compared: &str, rows: usize) -> PathBuf {
    let server = example_binary("protocol_server");
    let text = format!(
        r#"[experiment]
name = "served-failure"
seeds = [1]
results = "{results}"

[dataset]
loader = "glue"
task = "sst2"

[dataset.eval]
path = "{data}/sst2/dev.tsv"
max_rows = {rows}

[models.good]
source = "server"
command = ["{server}"]
reference = true

[models.faulty]
{compared}

[calibration]
bootstrap = 20
"#,
        results = dir.join("results").display(),
        data = repo().join("data").display(),
        server = server.display(),
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs a manifest whose model `faulty` is the example server failing with `fail` after
/// answering `after` requests, and returns trustx's output, which must be a failure.
fn failing_run(name: &str, fail: &str, after: usize, extra: &str) -> String {
    let dir = temp_dir(&format!("served-{name}"));
    let server = example_binary("protocol_server");
    let compared = format!(
        "source = \"server\"\ncommand = [\"{}\", \"--fail\", \"{fail}\", \"--after\", \"{after}\"]\n{extra}",
        server.display()
    );
    let manifest = failure_manifest(&dir, &compared, 40);
    let out = run(&["run", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "trustx run succeeded with a server failing with `{fail}`:\n{t}");
    assert!(t.contains("model `faulty`"), "the message does not name the model:\n{t}");
    std::fs::remove_dir_all(&dir).ok();
    t
}

/// Checks that `t` holds every piece of `wanted`.
fn holds(t: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(t.contains(w), "missing `{w}` in:\n{t}");
    }
}

#[test]
fn served_bow_manifest_audits_against_a_trained_bert_with_a_verdict() {
    let dir = temp_dir("served-bow");
    let manifest = repo().join("experiments/served-bow.toml");
    let results = dir.join("results");
    let run_it = || {
        trustx()
            .args(["run", manifest.to_str().unwrap()])
            .env("TRUSTX_EXPERIMENT__RESULTS", results.to_str().unwrap())
            .output()
            .unwrap()
    };
    let out = run_it();
    assert!(out.status.success(), "trustx run experiments/served-bow.toml:\n{}", text(&out));
    let t = text(&out);
    holds(&t, &["predict/bow-served", "explain/bow-served/lime", "alignment/bow-served/lime", "floor/bow-served/lime"]);

    let exp = results.join("served-bow");
    let report = std::fs::read_to_string(exp.join("report.md")).unwrap();
    let verdict = report.lines().find(|l| l.starts_with("### bow-served: ")).unwrap_or_else(|| panic!("{report}"));
    assert!(
        ["trust-equivalent", "not trust-equivalent", "not established"].iter().any(|v| verdict.ends_with(v)),
        "{verdict}"
    );
    assert!(!report.contains("bow-served` gives predictions only"), "the served model was not explained:\n{report}");
    let alignment = std::fs::read_to_string(exp.join("tables/alignment.csv")).unwrap();
    assert!(alignment.lines().any(|l| l.starts_with("bow-served,")), "{alignment}");
    let attributions = std::fs::read_to_string(exp.join("tables/attributions.csv")).unwrap();
    let served_rows = attributions.lines().filter(|l| l.starts_with("bow-served,")).count();
    assert!(served_rows > 12 * 2, "{served_rows} attribution rows for the served model");
    let models = std::fs::read_to_string(exp.join("tables/models.csv")).unwrap();
    assert!(models.lines().any(|l| l.starts_with("bow-served,false,server,")), "{models}");

    // A second run computes nothing: the server is not even started.
    let again = run_it();
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("0 run, 14 cached"), "{}", text(&again));
    std::fs::remove_dir_all(&dir).ok();
}

/// Speaks the protocol to `scripts/serve_bow.py` directly and returns its probabilities
/// for every SST-2 dev sentence, as the JSON numbers it wrote.
fn bow_probabilities_over_the_protocol() -> Vec<Vec<Value>> {
    let dev = std::fs::read_to_string(repo().join("data/sst2/dev.tsv")).unwrap();
    let sentences: Vec<Vec<String>> =
        dev.lines().skip(1).map(|l| vec![l.split('\t').next().unwrap().to_string()]).collect();
    let mut child = Command::new("python3")
        .args(["scripts/serve_bow.py", "--train", "data/sst2/stsa.binary.train.head3000"])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 on PATH");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", json!({"trustx": 1})).unwrap();
    writeln!(stdin, "{}", json!({"id": 0, "inputs": sentences})).unwrap();
    drop(stdin);
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap()).lines().map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    let hello: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(hello["labels"], json!(["negative", "positive"]));
    let answer: Value = serde_json::from_str(&lines[1]).unwrap();
    let rows: Vec<Vec<Value>> = serde_json::from_value(answer["probabilities"].clone()).unwrap();
    assert_eq!(rows.len(), sentences.len());
    rows
}

#[test]
fn served_model_gives_the_same_tables_as_its_predictions_file() {
    let dir = temp_dir("served-same-tables");
    let rows = bow_probabilities_over_the_protocol();
    let mut csv = String::from("id,negative,positive\n");
    for (i, r) in rows.iter().enumerate() {
        csv.push_str(&format!("{i},{},{}\n", r[0], r[1]));
    }
    std::fs::write(dir.join("bow.csv"), csv).unwrap();
    let script = repo().join("scripts/serve_bow.py");
    let train = repo().join("data/sst2/stsa.binary.train.head3000");
    let served = format!(
        "[models.bow]\nsource = \"server\"\ncommand = [\"python3\", \"{}\", \"--train\", \"{}\"]\n",
        script.display(),
        train.display()
    );
    let file = format!("[models.bow]\nsource = \"predictions\"\npath = \"{}\"\n", dir.join("bow.csv").display());
    let mut tables_of = Vec::new();
    for (name, model) in [("served", served), ("file", file)] {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let manifest = sst2_manifest(&sub, &model);
        // One seed keeps it short; the reference's file for seed 42 is bundled.
        let manifest_text = std::fs::read_to_string(&manifest).unwrap().replace("seeds = [42, 43, 44]", "seeds = [42]");
        std::fs::write(&manifest, manifest_text).unwrap();
        let out = run(&["run", manifest.to_str().unwrap()]);
        assert!(out.status.success(), "{name}:\n{}", text(&out));
        tables_of.push(tables(&sub, "sst2-e2e"));
    }
    let csv_tables = |t: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        // models.csv names the source (server / predictions); everything else must match.
        t.iter().filter(|(n, _)| n.ends_with(".csv") && n != "models.csv").cloned().collect()
    };
    let (served, file) = (csv_tables(&tables_of[0]), csv_tables(&tables_of[1]));
    assert!(
        served.iter().any(|(n, _)| n == "calibration.csv"),
        "{:?}",
        served.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    assert_eq!(served.len(), file.len());
    for ((name, a), (_, b)) in served.iter().zip(&file) {
        let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
        assert_eq!(a.lines().count(), b.lines().count(), "{name}:\nserved:\n{a}\nfile:\n{b}");
        // A per-seed interval is seeded by its calibration node's key, which holds the
        // source's settings: it differs by design. Across seeds, intervals are seeded by
        // the data node's key, so those must match.
        let header: Vec<&str> = a.lines().next().unwrap_or_default().split(',').collect();
        let per_seed_interval = |c: usize| name.ends_with("_by_seed.csv") && header[c].starts_with("ci_");
        for (la, lb) in a.lines().zip(b.lines()) {
            for (c, (x, y)) in la.split(',').zip(lb.split(',')).enumerate() {
                if per_seed_interval(c) {
                    continue;
                }
                // serde_json (the protocol) and polars (the CSV file) may read the same
                // decimal text one ulp apart; everything downstream is the same code.
                let same = match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(p), Ok(q)) => (p - q).abs() <= 1e-12 * p.abs().max(1.0),
                    _ => x == y,
                };
                assert!(same, "{name}: `{x}` (served) and `{y}` (file) differ in\n{la}\n{lb}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn served_model_can_be_the_reference_and_is_explained() {
    let dir = temp_dir("served-reference");
    let server = example_binary("protocol_server");
    let compared = format!("source = \"server\"\ncommand = [\"{}\"]\nmax_batch = 4", server.display());
    let manifest = failure_manifest(&dir, &compared, 10);
    let text_with_explainer = std::fs::read_to_string(&manifest).unwrap()
        + "\n[[explainers]]\nexplainer = \"occlusion\"\n\n[alignment]\nexamples = 4\n";
    std::fs::write(&manifest, text_with_explainer).unwrap();
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let alignment = std::fs::read_to_string(dir.join("results/served-failure/tables/alignment.csv")).unwrap();
    // The same deterministic function served twice: the explanations agree exactly.
    let jaccard = alignment
        .lines()
        .find(|l| l.starts_with("faulty,occlusion,top-k-jaccard@"))
        .unwrap_or_else(|| panic!("{alignment}"));
    assert_eq!(jaccard.split(',').nth(5), Some("1.0"), "{jaccard}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn served_model_cannot_take_integrated_gradients() {
    let dir = temp_dir("served-ig");
    let server = example_binary("protocol_server");
    let manifest = failure_manifest(&dir, &format!("source = \"server\"\ncommand = [\"{}\"]", server.display()), 10);
    let with_ig =
        std::fs::read_to_string(&manifest).unwrap() + "\n[[explainers]]\nexplainer = \"integrated-gradients\"\n";
    std::fs::write(&manifest, with_ig).unwrap();
    let out = run(&["validate", manifest.to_str().unwrap()]);
    assert!(!out.status.success());
    holds(
        &text(&out),
        &["`integrated-gradients` needs gradients, but model `good` (source `server`) is a black box", "lime"],
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn served_model_that_cannot_be_started() {
    let dir = temp_dir("served-missing");
    let manifest = failure_manifest(&dir, "source = \"server\"\ncommand = [\"trustx-no-such-server\", \"--x\"]", 10);
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(!out.status.success());
    holds(&text(&out), &["model `faulty`", "could not start the server `trustx-no-such-server --x`", "no shell"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn served_model_that_exits_before_the_handshake() {
    let t = failing_run("no-start", "no-start", 0, "");
    holds(&t, &["exited with status 3", "cannot load the model (failure mode no-start)"]);
}

#[test]
fn served_model_that_exits_mid_run() {
    let t = failing_run("exit", "exit", 1, "");
    holds(&t, &["closed its output", "exited with status 4", "last lines of the server's stderr", "out of memory"]);
}

#[test]
fn served_model_that_answers_malformed_json() {
    holds(&failing_run("malformed", "malformed", 1, ""), &["answered malformed JSON", "failure mode `malformed`"]);
}

#[test]
fn served_model_with_a_wrong_row_count() {
    holds(&failing_run("rows", "rows", 1, ""), &["15 probability rows for 16 inputs"]);
}

#[test]
fn served_model_with_a_wrong_class_count() {
    holds(
        &failing_run("classes", "classes", 0, ""),
        &["3 probabilities, but the model has 2 labels (negative, positive)"],
    );
}

#[test]
fn served_model_answering_nan() {
    holds(&failing_run("nan", "nan", 0, ""), &["non-finite probability (NaN"]);
}

#[test]
fn served_model_answering_negative_probabilities() {
    holds(&failing_run("negative", "negative", 0, ""), &["row 0 of request 0", "is negative (-0.25)"]);
}

#[test]
fn served_model_answering_unnormalised_rows() {
    holds(&failing_run("unnormalised", "unnormalised", 0, ""), &["sum to 2", "not logits"]);
}

#[test]
fn served_model_answering_an_error() {
    holds(&failing_run("error", "error", 0, ""), &["answered request 0 with an error: model exploded"]);
}

#[test]
fn served_model_with_other_labels() {
    holds(
        &failing_run("labels", "labels", 0, ""),
        &["serves the labels [positive, negative], but the dataset `sst2` has the labels [negative, positive]"],
    );
}

#[test]
fn served_model_that_times_out() {
    let t = failing_run("timeout", "timeout", 1, "timeout_s = 1.5");
    holds(&t, &["gave no answer to request 1 within 1.5 s (`timeout_s`)", "stuck (failure mode timeout)"]);
}

#[test]
fn bench_served_measures_explanations_through_the_protocol() {
    let server = repo().join("scripts/serve_bow.py");
    let train = repo().join("data/sst2/stsa.binary.train.head3000");
    let sentences = repo().join("data/sst2/dev.tsv");
    let out = run(&[
        "bench",
        "--served",
        "--json",
        "--count",
        "6",
        "--lime-samples",
        "100",
        "--requests",
        "20",
        "--sentences",
        sentences.to_str().unwrap(),
        "--",
        "python3",
        server.to_str().unwrap(),
        "--train",
        train.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["explanations"].as_u64(), r["lime_samples"].as_u64()), (Some(6), Some(100)), "{r}");
    assert_eq!(r["server"], "bow-logreg 1", "{r}");
    for field in ["single_request_ms", "batched_input_ms", "explanations_per_s", "explanations_per_s_one_in_flight"] {
        assert!(r[field].as_f64().is_some_and(|v| v > 0.0), "{field}: {r}");
    }
    // LIME asked for 6 × 100 texts; the engine deduplicates before the server sees them.
    let (requested, ran) = (r["counts"]["requested"].as_u64().unwrap(), r["counts"]["run"].as_u64().unwrap());
    assert!(requested == 600 && ran > 0 && ran <= requested, "{r}");

    // Without a server command: an error saying how to give one.
    let out = run(&["bench", "--served"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("give the server's command after `--`"), "{}", text(&out));
}
