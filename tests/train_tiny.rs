//! End to end with neural models: small BERTs built from scratch and trained by the `train`
//! stage on bundled SST-2 sentences, predicted with model cards, cached on a second run,
//! exported as a Hugging Face folder and loaded back as a fine-tuned checkpoint with the
//! same predictions.

mod common;

use common::{repo, run, run_json, temp_dir, text};
use std::path::{Path, PathBuf};

fn tiny_manifest(dir: &Path, name: &str, models: &str) -> PathBuf {
    let data = repo().join("data");
    let manifest = format!(
        r#"[experiment]
name = "{name}"
seeds = [1]
results = "{results}"

[dataset]
loader = "sst"

[dataset.train]
path = "{data}/sst2/stsa.binary.train.head3000"
max_rows = 600

[dataset.eval]
path = "{data}/sst2/dev.tsv"
max_rows = 200

{models}

[train]
lr = 1e-3
epochs = 2
batch_size = 32

[calibration]
bootstrap = 50
"#,
        results = dir.join("results").display(),
        data = data.display(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, manifest).unwrap();
    path
}

fn architecture(layers: usize, hidden: usize) -> String {
    format!(
        r#"{{ type = "bert", layers = {layers}, hidden = {hidden}, heads = 2, ffn = {}, vocab = "{}" }}"#,
        hidden * 2,
        repo().join("data/vocab/sst2-words.txt").display()
    )
}

/// `metric → mean` of one model in `tables/calibration.csv`.
fn calibration(dir: &Path, experiment: &str, model: &str) -> Vec<(String, String)> {
    let csv = std::fs::read_to_string(dir.join("results").join(experiment).join("tables/calibration.csv")).unwrap();
    let mut rows: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .filter(|c| c[0] == model)
        .map(|c| (c[1].clone(), c[2].clone()))
        .collect();
    rows.sort();
    rows
}

#[test]
fn tiny_models_train_predict_cache_and_export() {
    let dir = temp_dir("tiny");
    let models = format!(
        "[models.tiny-a]\narchitecture = {}\nreference = true\nmax_len = 48\n\n[models.tiny-b]\narchitecture = {}\nmax_len = 48\n",
        architecture(2, 32),
        architecture(1, 16)
    );
    let manifest = tiny_manifest(&dir, "tiny", &models);
    let m = manifest.to_str().unwrap();
    let out = run(&["run", m, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let record = run_json(&dir, "tiny");
    assert_eq!(record["counts"]["failed"], 0, "{record}");
    let names: Vec<&str> = record["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"train/tiny-a@seed1") && names.contains(&"predict/tiny-b@seed1"), "{names:?}");

    // The model card reaches the models table and the report.
    let models_csv = std::fs::read_to_string(dir.join("results/tiny/tables/models.csv")).unwrap();
    let row = models_csv.lines().find(|l| l.starts_with("tiny-a,")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[2], "architecture+train");
    let params: f64 = cells[3].parse().unwrap();
    assert!(params > 100_000.0 && params < 300_000.0, "{row}");
    let accuracy: f64 = cells[6].parse().unwrap();
    // Learning itself is tested in framework/tests/model_training.rs; this short run only
    // has to produce a valid accuracy.
    assert!((0.0..=1.0).contains(&accuracy), "{row}");
    let report = std::fs::read_to_string(dir.join("results/tiny/report.md")).unwrap();
    assert!(report.contains("ms / example") && report.contains("architecture+train"), "{report}");

    // Everything is cached on a second run.
    let out = run(&["run", m, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(run_json(&dir, "tiny")["counts"]["run"], 0);

    // Export, then load the folder as a fine-tuned checkpoint: same predictions.
    let exported = dir.join("exported/tiny-a");
    let out = run(&["model", "export", "tiny-a", "--manifest", m, "--out", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
        assert!(exported.join(f).is_file(), "{f} missing from the export");
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(exported.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["id2label"], serde_json::json!({"0": "negative", "1": "positive"}), "the dataset's names");
    assert_eq!(config["label2id"], serde_json::json!({"negative": 0, "positive": 1}));
    let out = run(&["model", "export", "tiny-a", "--manifest", m, "--out", exported.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("not empty"), "{}", text(&out));
    let out = run(&["model", "export", "nothing", "--manifest", m, "--out", dir.join("x").to_str().unwrap()]);
    assert!(text(&out).contains("train/tiny-a@seed1"), "the error lists the train nodes: {}", text(&out));

    let again = format!(
        "[models.reloaded]\ncheckpoint = \"{}\"\nfinetuned = true\nreference = true\nmax_len = 48\n",
        exported.display()
    );
    let manifest2 = tiny_manifest(&dir, "reloaded", &again);
    let out = run(&["run", manifest2.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let reloaded = calibration(&dir, "reloaded", "reloaded");
    assert!(!reloaded.is_empty());
    assert_eq!(reloaded, calibration(&dir, "tiny", "tiny-a"), "the exported model predicts exactly as trained");
}

#[test]
fn neural_manifest_errors_name_the_key() {
    let dir = temp_dir("neural-errors");
    let cases = [
        (
            format!(
                "[models.a]\narchitecture = {}\nreference = true\n",
                architecture(2, 30).replace("heads = 2", "heads = 4")
            ),
            "models.a.architecture",
            "divisible",
        ),
        (
            "[models.a]\ncheckpoint = \"/nonexistent/folder\"\nreference = true\n".to_string(),
            "models.a.checkpoint",
            "config.json",
        ),
        (
            format!("[models.a]\narchitecture = {}\nreference = true\nlayer = 3\n", architecture(1, 16)),
            "models.a.layer",
            "unknown key",
        ),
        (
            format!("[models.a]\narchitecture = {}\nfinetuned = true\nreference = true\n", architecture(1, 16)),
            "models.a.finetuned",
            "untrained",
        ),
    ];
    for (models, key, words) in cases {
        let manifest = tiny_manifest(&dir, "bad", &models);
        let out = run(&["validate", manifest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains(key) && t.contains(words), "expected `{key}` … `{words}` in: {t}");
    }
    // A CUDA backend in a build without CUDA is refused at validate, saying what to do.
    let models = format!("[models.a]\narchitecture = {}\nreference = true\n", architecture(1, 16));
    let manifest = tiny_manifest(&dir, "cuda", &models);
    let text_manifest =
        std::fs::read_to_string(&manifest).unwrap().replace("seeds = [1]", "seeds = [1]\nbackend = \"cuda\"");
    std::fs::write(&manifest, text_manifest).unwrap();
    if !cfg!(feature = "cuda") {
        let out = run(&["run", manifest.to_str().unwrap(), "--quiet"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("experiment.backend") && text(&out).contains("--features cuda"), "{}", text(&out));
    }
}
