//! The parts of the Slurm executor that need no cluster: `trustx node run` (one node, two
//! racing processes, inputs missing, a job under another build), the refusal of a node-local
//! results folder, and the executor choice in the manifest and on the command line.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A predictions-only manifest (fast nodes) with its results in `results`.
fn manifest(dir: &Path, results: &Path, extra: &str) -> PathBuf {
    let models = [bow_model("bow-reference", "reference = true"), bow_model("bow-strong-l2", "")];
    sst2_bow_manifest(dir, results, ("node-run", &[42]), extra, &models, "")
}

#[test]
fn node_run_computes_one_node_and_racing_processes_leave_one_complete_copy() {
    let dir = temp_dir("node-run");
    let results = dir.join("results");
    let m = manifest(&dir, &results, "");
    let m = m.to_str().unwrap();

    // Inputs missing: a clear error, nothing written.
    let out = run(&["node", "run", m, "predict/bow-reference@seed42"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("inputs not in the store") && text(&out).contains("data"), "{}", text(&out));

    let out = run(&["node", "run", m, "data"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).starts_with("ran     data"), "{}", text(&out));
    let out = run(&["node", "run", m, "data"]);
    assert!(text(&out).starts_with("cached  data"), "{}", text(&out));

    // Two processes race for the same node (forced, so both compute it).
    let racers: Vec<_> = (0..2)
        .map(|_| {
            trustx()
                .args(["node", "run", "--force", m, "predict/bow-reference@seed42"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for racer in racers {
        let out = racer.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let out = run(&["status", m]);
    let status = text(&out);
    assert!(status.contains("done     predict/bow-reference@seed42"), "{status}");
    assert!(status.contains("missing  predict/bow-strong-l2@seed42"), "{status}");
    // No temporary folder is left behind, and the node's artifacts match its record.
    let nodes = results.join("node-run/nodes");
    let names: Vec<String> =
        std::fs::read_dir(&nodes).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    // A later local run finds both nodes cached.
    let out = run(&["run", m, "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let record = run_json(&dir, "node-run");
    assert_eq!(record["counts"]["cached"], 2, "{record}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_job_under_another_build_refuses_to_run() {
    let dir = temp_dir("node-build");
    let m = manifest(&dir, &dir.join("results"), "");
    let out = run(&["node", "run", "--expect-build", "0.0.1+0000000000000000", m.to_str().unwrap(), "data"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("refusing to run") && text(&out).contains("0.0.1+0000000000000000"), "{}", text(&out));
    assert!(!dir.join("results/node-run/nodes").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn slurm_refuses_a_results_folder_under_tmp_before_submitting() {
    // temp_dir() is under /tmp: every Slurm host has its own.
    let dir = temp_dir("slurm-tmp");
    let m = manifest(&dir, &dir.join("results"), "executor = \"slurm\"");
    let out = run(&["run", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("each cluster host has its own"), "{}", text(&out));
    // The command line overrides the manifest: locally it runs.
    let out = run(&["run", m.to_str().unwrap(), "--executor", "local", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn executor_settings_are_checked() {
    let dir = temp_dir("slurm-keys");
    let m = manifest(&dir, &dir.join("results"), "executor = \"kubernetes\"");
    let out = run(&["validate", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("experiment.executor"), "{}", text(&out));

    let m = manifest(&dir, &dir.join("results"), "\n[executor.slurm.stages.trian]\ngpus = \"1\"\n");
    let out = run(&["validate", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("executor.slurm.stages.trian") && text(&out).contains("not a stage"), "{}", text(&out));

    let m = manifest(&dir, &dir.join("results"), "");
    let out = run(&["run", m.to_str().unwrap(), "--executor", "pbs"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("executors: local, slurm"), "{}", text(&out));
    let out = run(&["run", m.to_str().unwrap(), "--detach"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--detach needs the Slurm executor"), "{}", text(&out));

    // Explanations on another backend than training: checked like `backend`.
    #[cfg(not(feature = "cuda"))]
    {
        let m = manifest(&dir, &dir.join("results"), "explain_backend = \"cuda\"");
        let out = run(&["validate", m.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("experiment.explain_backend") && text(&out).contains("without CUDA"),
            "{}",
            text(&out)
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
