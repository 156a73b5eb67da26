//! The Slurm executor against a real cluster (`scripts/slurm-local.sh start` gives a one-host
//! one; `.ci/run` starts it and runs these with `--include-ignored`): tables byte-identical
//! to a local run, a failed node failing only its descendants and a fixed rerun resubmitting
//! only what is missing, `--detach` then `trustx status` then `trustx run` collecting, and a
//! job cancelled mid-run reported and resubmitted.
//!
//! Results live under the target folder, not /tmp: the executor refuses node-local folders.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// A fresh folder for one test under the target folder (shared with the cluster's jobs).
fn shared_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_trustx")).parent().unwrap().join("slurm-tests").join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// trustx with the Slurm executor polling every second.
fn slurm(dir: &Path, args: &[&str]) -> Output {
    trustx()
        .args(args)
        .current_dir(dir)
        .env("TRUSTX_EXECUTOR__SLURM__POLL_SECONDS", "1")
        .env("TRUSTX_EXPERIMENT__EXECUTOR", "slurm")
        .output()
        .unwrap()
}

/// Polls `trustx status` until `done(status)`, or fails after `secs`.
fn status_until(dir: &Path, m: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let status = text(&slurm(dir, &["status", m]));
        if done(&status) {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "waited {secs} s; last status:\n{status}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The columns of `models.csv` that time the models: two runs never agree on them.
const TIMINGS: [&str; 2] = ["ms_per_example", "cpu_ms_per_example"];

/// The tables of a run with [`TIMINGS`] blanked in `models.csv` (and `models.parquet`, the
/// same table, left out); every other table byte for byte.
fn untimed_tables(dir: &Path, experiment: &str) -> Vec<(String, Vec<u8>)> {
    tables(dir, experiment)
        .into_iter()
        .filter(|(name, _)| name != "models.parquet")
        .map(|(name, bytes)| {
            if name != "models.csv" {
                return (name, bytes);
            }
            let text = String::from_utf8(bytes).unwrap();
            let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let timed: Vec<usize> = TIMINGS.iter().map(|t| head.iter().position(|h| h == t).expect(t)).collect();
            let blanked: Vec<String> = text
                .lines()
                .map(|l| {
                    let cells = l.split(',').enumerate().map(|(i, c)| if timed.contains(&i) { "" } else { c });
                    cells.collect::<Vec<_>>().join(",")
                })
                .collect();
            (name, blanked.join("\n").into_bytes())
        })
        .collect()
}

#[test]
#[ignore = "needs a Slurm cluster (scripts/slurm-local.sh start)"]
fn sst2_tiny_through_slurm_gives_the_local_tables_byte_for_byte() {
    let dir = shared_dir("tiny");
    let m = repo().join("experiments/sst2-tiny.toml");
    let m = m.to_str().unwrap();
    let local =
        trustx().args(["run", m, "-q"]).env("TRUSTX_EXPERIMENT__RESULTS", dir.join("local/results")).output().unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    let out = trustx()
        .args(["run", m, "--executor", "slurm"])
        .env("TRUSTX_EXPERIMENT__RESULTS", dir.join("slurm/results"))
        .env("TRUSTX_EXECUTOR__SLURM__POLL_SECONDS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("submitted 17 jobs to Slurm"), "{}", text(&out));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("slurm/results/sst2-tiny/run.json")).unwrap()).unwrap();
    assert_eq!(record["counts"]["run"], 17, "{record}");
    assert!(record["nodes"].as_array().unwrap().iter().all(|n| n["job"].is_string()), "{record}");
    let (a, b) = (untimed_tables(&dir.join("local"), "sst2-tiny"), untimed_tables(&dir.join("slurm"), "sst2-tiny"));
    assert!(a.len() >= 4, "{:?}", a.iter().map(|t| &t.0).collect::<Vec<_>>());
    assert_eq!(a.iter().map(|t| &t.0).collect::<Vec<_>>(), b.iter().map(|t| &t.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "tables/{name} differs between the local and the Slurm run");
    }
    // A node's job log sits in its folder.
    let data_key = record["nodes"][0]["key"].as_str().unwrap();
    let logs = dir.join("slurm/results/sst2-tiny/nodes").join(&data_key[..16]).join("logs");
    let job = record["nodes"][0]["job"].as_str().unwrap();
    assert!(std::fs::read_to_string(logs.join(format!("slurm-{job}.out"))).unwrap().contains("ran     data"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Three prediction models, one seed; `strong` is the second model's predictions file.
fn predictions_manifest(dir: &Path, strong: &Path) -> PathBuf {
    let models = [
        bow_model("bow-reference", "reference = true"),
        BowModel { name: "bow-strong-l2".into(), path: strong.display().to_string(), more: String::new() },
        bow_model("bow-small-vocab", ""),
    ];
    sst2_bow_manifest(dir, &dir.join("results"), ("slurm-fail", &[42]), "", &models, "")
}

#[test]
#[ignore = "needs a Slurm cluster (scripts/slurm-local.sh start)"]
fn a_failed_job_fails_only_its_descendants_and_a_fixed_rerun_resubmits_only_them() {
    let dir = shared_dir("fail");
    let full = std::fs::read_to_string(repo().join("data/predictions/sst2-bow/bow-strong-l2-seed42.csv")).unwrap();
    let strong = dir.join("strong.csv");
    // Predictions for the first 49 examples only: the predict node fails.
    std::fs::write(&strong, full.lines().take(50).collect::<Vec<_>>().join("\n")).unwrap();
    let m = predictions_manifest(&dir, &strong);
    let m = m.to_str().unwrap();

    let out = slurm(&dir, &["run", m]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    // The strong model's predictions file has no {seed}: its predict node is seed-free.
    let failed = t.lines().find(|l| l.starts_with("FAILED  predict/bow-strong-l2 ")).expect(&t);
    assert!(failed.contains("exit 1, log ") && failed.contains("/logs/slurm-"), "{t}");
    // The job's error, from its log, is printed under the FAILED line.
    assert!(t.contains("        | FAILED  predict/bow-strong-l2") && t.contains("eval ids are not in column"), "{t}");
    for skipped in ["calibration/bow-strong-l2", "similarity/bow-strong-l2@seed42", "aggregate", "report"] {
        let line = t.lines().find(|l| l.starts_with(&format!("skipped {skipped} "))).expect(&t);
        assert!(line.contains("cancelled by Slurm: an input's job failed"), "{t}");
    }
    for done in ["data", "predict/bow-reference@seed42", "calibration/bow-small-vocab@seed42"] {
        assert!(t.lines().any(|l| l.starts_with(&format!("done    {done} "))), "{done}: {t}");
    }
    let record = run_json(&dir, "slurm-fail");
    assert_eq!((record["counts"]["run"].as_u64(), record["counts"]["failed"].as_u64()), (Some(6), Some(1)), "{record}");

    // Status names the failed node, its job, its log and the log's last lines.
    let status = text(&slurm(&dir, &["status", m]));
    let line = status.lines().find(|l| l.starts_with("failed   predict/bow-strong-l2 ")).expect(&status);
    assert!(line.contains("exit 1, log ") && line.contains("/logs/slurm-"), "{status}");
    assert!(status.contains("         | ") && status.contains("eval ids are not in column"), "{status}");
    assert!(status.lines().any(|l| l.starts_with("skipped  aggregate ")), "{status}");
    assert!(status.ends_with("11 nodes: 6 done, 1 failed, 4 skipped\n"), "{status}");

    // Fixed: the node and its four descendants go out again, nothing else.
    std::fs::write(&strong, &full).unwrap();
    let out = slurm(&dir, &["run", m]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("submitted 5 jobs to Slurm (0 already queued or running, 6 nodes in the store)"),
        "{}",
        text(&out)
    );
    let record = run_json(&dir, "slurm-fail");
    assert_eq!((record["counts"]["run"].as_u64(), record["counts"]["cached"].as_u64()), (Some(5), Some(6)), "{record}");
    assert!(dir.join("results/slurm-fail/tables").is_dir());
    std::fs::remove_dir_all(&dir).ok();
}

/// Two small BERTs trained from scratch (a few seconds each on two cores).
fn train_manifest(dir: &Path) -> PathBuf {
    let data = repo().join("data");
    let arch = |layers: usize, hidden: usize| {
        format!(
            r#"{{ type = "bert", layers = {layers}, hidden = {hidden}, heads = 2, ffn = {}, vocab = "{}" }}"#,
            hidden * 2,
            data.join("vocab/sst2-words.txt").display()
        )
    };
    let text = format!(
        r#"[experiment]
name = "slurm-detach"
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

[models.small]
architecture = {a}
reference = true
max_len = 48

[models.smaller]
architecture = {b}
max_len = 48

[train]
lr = 1e-3
epochs = 5
batch_size = 32

[calibration]
bootstrap = 50
"#,
        results = dir.join("results").display(),
        data = data.display(),
        a = arch(2, 32),
        b = arch(1, 16),
    );
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
#[ignore = "needs a Slurm cluster (scripts/slurm-local.sh start)"]
fn detach_status_a_cancelled_job_then_collect_and_resubmit() {
    let dir = shared_dir("detach");
    let m = train_manifest(&dir);
    let m = m.to_str().unwrap();

    let out = slurm(&dir, &["run", m, "--detach"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("detached: 10 jobs submitted"), "{}", text(&out));
    // `queued  NAME  job ID` for each job submitted.
    let first_jobs: std::collections::BTreeMap<String, String> = text(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("queued  "))
        .filter_map(|l| l.split_once(" job ").map(|(n, j)| (n.trim().to_string(), j.trim().to_string())))
        .collect();
    assert_eq!(first_jobs.len(), 10, "{first_jobs:?}");
    // A second run while they are queued submits nothing new.
    let out = slurm(&dir, &["run", m, "--detach"]);
    assert!(text(&out).contains("submitted 0 jobs to Slurm (10 already queued or running"), "{}", text(&out));

    // Cancel the reference's training while it runs.
    let status = status_until(&dir, m, 300, |s| s.lines().any(|l| l.starts_with("running  train/small@seed1")));
    let line = status.lines().find(|l| l.starts_with("running  train/small@seed1")).unwrap();
    let job = line.rsplit("job ").next().unwrap().trim().to_string();
    let out = std::process::Command::new("scancel").arg(&job).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let status = status_until(&dir, m, 120, |s| {
        s.lines().any(|l| l.starts_with("failed   train/small@seed1"))
            && !s.contains("running ")
            && !s.contains("queued ")
            && !s.contains("waiting ")
    });
    assert!(status.contains(&format!("job {job}, exit cancelled")), "{status}");

    // Its descendants' jobs can never run: they show as skipped, not waiting.
    let status = status_until(&dir, m, 60, |s| s.lines().any(|l| l.starts_with("skipped  predict/small@seed1")));
    assert!(!status.lines().any(|l| l.starts_with("waiting  predict/small@seed1")), "{status}");

    // Collecting reports the cancelled job, then resubmits it and the nodes that needed it only.
    let out = slurm(&dir, &["run", m]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let before_submit = t.split("submitted ").next().unwrap();
    assert!(
        before_submit.contains("FAILED  train/small@seed1")
            && before_submit.contains(&format!("job {job}, exit cancelled")),
        "{t}"
    );
    // The cancelled node and its five descendants went out again; the rest keep the jobs of
    // the detached submission (collected now, so they count as run by this run).
    assert!(t.contains("submitted 6 jobs to Slurm (0 already queued or running, 4 nodes in the store)"), "{t}");
    let record = run_json(&dir, "slurm-detach");
    let job_of = |name: &str| -> String {
        let n = record["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).expect(name);
        n["job"].as_str().unwrap().to_string()
    };
    assert_ne!(job_of("train/small@seed1"), job);
    assert_eq!(job_of("train/smaller@seed1"), first_jobs["train/smaller@seed1"], "{record}");
    assert_eq!(job_of("data"), first_jobs["data"], "{record}");
    let train = record["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "train/small@seed1").unwrap();
    assert_eq!(train["reason"], format!("job {job} failed (exit cancelled)"), "{record}");
    assert_eq!(record["counts"]["failed"], 0, "{record}");
    assert!(dir.join("results/slurm-detach/tables").is_dir());
    std::fs::remove_dir_all(&dir).ok();
}
