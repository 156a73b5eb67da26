//! The paper's manifests (`experiments/paper-snli.toml`, `experiments/paper-qqp.toml`) validate
//! and plan with stand-in model folders (the tiny fixtures' `config.json`, weights and
//! `vocab.txt` under the five Hugging Face folder names) and stand-in data files given through
//! `TRUSTX_DATASET__*__PATH` overrides: five models trained once (seed 42), the paper's
//! fine-tuning settings, and the verdict's rules in the report node's config.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// (folder under `models/`, fixture it stands in with).
const MODELS: [(&str, &str); 5] = [
    ("bert-base-uncased", "bert-tiny-random-bin"),
    ("distilbert-base-uncased", "distilbert-tiny-random"),
    ("bert_uncased_L-8_H-512_A-8", "bert-tiny-random-bin"),
    ("bert_uncased_L-4_H-256_A-4", "bert-tiny-random-bin"),
    ("bert_uncased_L-2_H-128_A-2", "bert-tiny-random-bin"),
];

const SNLI_ROWS: [(&str, &str, &str, &str); 4] = [
    ("p1", "A man plays a guitar on a street corner.", "A man makes music.", "entailment"),
    ("p2", "Two dogs run across a snowy field.", "The dogs are sleeping indoors.", "contradiction"),
    ("p3", "A woman reads a book in a park.", "The woman is a teacher.", "neutral"),
    ("p4", "Children build a sandcastle on the beach.", "Kids are outside.", "entailment"),
];

/// The stand-in folders (copied from the shared fixtures, which must exist).
fn standin(name: &str) -> PathBuf {
    let fixtures = fixtures();
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("experiments")).unwrap();
    for (folder, fixture) in MODELS {
        let to = dir.join("models").join(folder);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.json", "vocab.txt", "pytorch_model.bin", "model.safetensors"] {
            let from = fixtures.join(fixture).join(f);
            if from.is_file() {
                std::fs::copy(&from, to.join(f)).unwrap();
            }
        }
    }
    let snli: String = SNLI_ROWS
        .iter()
        .map(|(id, a, b, l)| {
            format!("{}\n", serde_json::json!({"pairID": id, "sentence1": a, "sentence2": b, "gold_label": l}))
        })
        .collect();
    std::fs::write(dir.join("snli.jsonl"), &snli).unwrap();
    let mut qqp = String::from("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n");
    for (i, (_, a, b, l)) in SNLI_ROWS.iter().enumerate() {
        qqp.push_str(&format!("{i}\t{}\t{}\t{a}\t{b}\t{}\n", 2 * i, 2 * i + 1, u8::from(*l == "entailment")));
    }
    std::fs::write(dir.join("qqp.tsv"), &qqp).unwrap();
    dir
}

fn trustx_in(dir: &Path, data: &str, args: &[&str]) -> std::process::Output {
    trustx()
        .args(args)
        .env("TRUSTX_DATASET__EVAL__PATH", dir.join(data))
        .env("TRUSTX_DATASET__TRAIN__PATH", dir.join(data))
        .env("TRUSTX_EXPERIMENT__RESULTS", dir.join("results"))
        .output()
        .unwrap()
}

fn check(manifest: &str, data: &str) {
    let dir = standin(manifest);
    let path = dir.join("experiments").join(format!("{manifest}.toml"));
    std::fs::copy(repo().join("experiments").join(format!("{manifest}.toml")), &path).unwrap();
    let p = path.to_str().unwrap();

    let out = trustx_in(&dir, data, &["validate", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("valid (5 models, 3 seeds"), "{}", text(&out));

    let out = trustx_in(&dir, data, &["plan", p, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = plan["nodes"].as_array().unwrap();
    let names = |stage: &str| -> Vec<String> {
        nodes.iter().filter(|n| n["stage"] == stage).map(|n| n["name"].as_str().unwrap().to_string()).collect()
    };
    let models = ["bert-base", "bert-medium", "bert-mini", "bert-tiny", "distilbert"];
    // Trained once, with seed 42; one prediction per trained model.
    assert_eq!(names("train"), models.iter().map(|m| format!("train/{m}@seed42")).collect::<Vec<_>>());
    assert_eq!(names("predict"), models.iter().map(|m| format!("predict/{m}")).collect::<Vec<_>>());
    assert_eq!(names("similarity").len(), 4, "every model but the reference is compared");
    assert_eq!((names("aggregate").len(), names("report").len()), (1, 1));
    // Explanations: one node per model × explainer, holding every explanation seed of the
    // model trained once (LIME is seeded; partition SHAP is deterministic: no seed, run once).
    for m in models {
        for (explainer, seeds) in [("lime", vec![42, 43, 44]), ("partition-shap", vec![])] {
            let name = format!("explain/{m}/{explainer}");
            let node = nodes.iter().find(|n| n["name"] == name.as_str()).unwrap_or_else(|| panic!("no node {name}"));
            let planned: Vec<u64> =
                node["config"]["seeds"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
            assert_eq!(planned, seeds, "{name}");
        }
    }
    let alignment = names("alignment");
    let count = |prefix: &str| alignment.iter().filter(|n| n.starts_with(prefix)).count();
    assert_eq!(count("alignment/"), 4 * 2, "every compared model × explainer: {alignment:?}");
    assert_eq!(count("floor/"), 5 * 2, "every model's noise floor × explainer: {alignment:?}");
    // The paper's fine-tuning recipe.
    let train = nodes.iter().find(|n| n["stage"] == "train").unwrap();
    let s = &train["config"]["settings"];
    assert_eq!(
        (s["lr"].as_f64(), s["batch_size"].as_u64(), s["weight_decay"].as_f64()),
        (Some(1e-5), Some(32), Some(0.0))
    );
    let checkpoints: Vec<&Value> =
        nodes.iter().filter(|n| n["stage"] == "train").map(|n| &n["config"]["init"]["checkpoint"]).collect();
    assert!(checkpoints.iter().any(|c| c.get("model.safetensors").is_some()), "DistilBERT's folder is hashed");
    // The verdict's rules reach the report node's key.
    let report = nodes.iter().find(|n| n["stage"] == "report").unwrap();
    let rules = &report["config"]["meta"]["rules"];
    assert_eq!(rules["k"], 10);
    assert_eq!(rules["threshold"], 0.7);
    assert_eq!(rules["explainers"], serde_json::json!(["lime", "partition-shap"]));
    assert_eq!(rules["alignment_metric"], "top-k-jaccard");
    let ece = rules["margins"].as_array().unwrap().iter().find(|m| m["metric"] == "delta-ece").unwrap();
    assert_eq!((&ece["threshold"], &ece["comparison"]), (&serde_json::json!(0.02), &serde_json::json!("abs-at-most")));
    assert_eq!(report["config"]["meta"]["train_seeds"], serde_json::json!([42]));
    let agg = nodes.iter().find(|n| n["stage"] == "aggregate").unwrap();
    assert_eq!(agg["config"]["bins"], 10);

    // A changed threshold changes the report's key and nothing upstream.
    let out = trustx()
        .args(["plan", p, "--json"])
        .env("TRUSTX_DATASET__EVAL__PATH", dir.join(data))
        .env("TRUSTX_DATASET__TRAIN__PATH", dir.join(data))
        .env("TRUSTX_ALIGNMENT__THRESHOLD", "0.8")
        .output()
        .unwrap();
    let changed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = |plan: &Value, stage: &str| {
        plan["nodes"].as_array().unwrap().iter().find(|n| n["stage"] == stage).unwrap()["key"].clone()
    };
    assert_ne!(key(&plan, "report"), key(&changed, "report"));
    assert_eq!(key(&plan, "aggregate"), key(&changed, "aggregate"));

    check_slurm_plan(&dir, data, p, nodes.len());
}

/// `trustx plan --executor slurm` without a cluster: a job per node with the manifest's
/// resources (explain jobs bigger), `after:` its inputs, and GPUs for training once asked for,
/// with a warning while the backend is the CPU.
fn check_slurm_plan(dir: &Path, data: &str, manifest: &str, nodes: usize) {
    let out = trustx_in(dir, data, &["plan", manifest, "--executor", "slurm"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("{nodes} jobs, 0 nodes already in the store")), "{t}");
    let job = |name: &str| job_line(&t, name);
    assert!(job("data").ends_with("--time=04:00:00 --cpus-per-task=8 --mem=32G"), "{t}");
    assert!(job("train/bert-tiny@seed42").ends_with("--time=1-00:00:00 --cpus-per-task=8 --mem=32G"), "{t}");
    assert!(job("explain/bert-tiny/lime").ends_with("--time=2-00:00:00 --cpus-per-task=32 --mem=64G"), "{t}");
    let lines: Vec<&str> = t.split("Slurm jobs").nth(1).unwrap().lines().collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with("alignment/bert-tiny/lime ")).expect(&t);
    assert!(lines[at + 1].contains("after: explain/bert-base/lime, explain/bert-tiny/lime"), "{t}");
    assert!(!t.contains("warning"), "{t}");

    let out = trustx()
        .args(["plan", manifest, "--executor", "slurm"])
        .env("TRUSTX_DATASET__EVAL__PATH", dir.join(data))
        .env("TRUSTX_DATASET__TRAIN__PATH", dir.join(data))
        .env("TRUSTX_EXPERIMENT__RESULTS", dir.join("results"))
        .env("TRUSTX_EXECUTOR__SLURM__STAGES__TRAIN__GPUS", "1")
        .env("TRUSTX_EXECUTOR__SLURM__STAGES__TRAIN__PARTITION", "gpu")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        job_line(&t, "train/bert-base@seed42")
            .ends_with("--partition=gpu --time=1-00:00:00 --cpus-per-task=8 --mem=32G --gpus=1"),
        "{t}"
    );
    assert!(t.contains("warning: the train jobs ask for GPUs (gpus = \"1\") but compute on the CPU"), "{t}");
}

/// The line of job `name` in the Slurm part of `trustx plan`'s output.
fn job_line(t: &str, name: &str) -> String {
    let jobs = t.split("Slurm jobs").nth(1).expect(t);
    jobs.lines().find(|l| l.trim_start().starts_with(&format!("{name} "))).expect(name).to_string()
}

#[test]
#[ignore = "needs ../shared/fixtures or TRUSTX_FIXTURES (.ci/run includes it where they exist)"]
fn paper_snli_validates_and_plans() {
    check("paper-snli", "snli.jsonl");
}

#[test]
#[ignore = "needs ../shared/fixtures or TRUSTX_FIXTURES (.ci/run includes it where they exist)"]
fn paper_qqp_validates_and_plans() {
    check("paper-qqp", "qqp.tsv");
}

#[test]
fn paper_manifests_name_the_hugging_face_models() {
    for m in ["paper-snli", "paper-qqp"] {
        let text = std::fs::read_to_string(repo().join("experiments").join(format!("{m}.toml"))).unwrap();
        for hf in [
            "bert-base-uncased",
            "distilbert-base-uncased",
            "google/bert_uncased_L-8_H-512_A-8",
            "google/bert_uncased_L-4_H-256_A-4",
            "google/bert_uncased_L-2_H-128_A-2",
        ] {
            let folder = hf.rsplit('/').next().unwrap();
            assert!(
                text.contains(&format!("huggingface-cli download {hf} --local-dir models/{folder}")),
                "{m}: no download command for {hf}"
            );
            assert!(text.contains(&format!("checkpoint = \"../models/{folder}\"")), "{m}: no model at {folder}");
        }
    }
}
