//! End-to-end runs of the SST-2 example: caching, resuming after `kill -9`, corruption,
//! config changes, failure isolation, plan and plugins listings.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Fewer bootstrap resamples: these tests check the engine, not the intervals.
const FAST: &str = "[calibration]\nbootstrap = 200\n";

fn counts(dir: &std::path::Path) -> (u64, u64, u64) {
    let j = run_json(dir, "sst2-e2e");
    let c = &j["counts"];
    (c["run"].as_u64().unwrap(), c["cached"].as_u64().unwrap(), c["failed"].as_u64().unwrap())
}

fn run_ok(manifest: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["run", manifest.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    t
}

#[test]
fn second_run_runs_nothing_and_tables_are_written() {
    let dir = temp_dir("twice");
    let m = sst2_manifest(&dir, FAST);
    let first = run_ok(&m, &[]);
    let (ran, cached, failed) = counts(&dir);
    // data + 9 predict + 9 calibration + 6 similarity + aggregate + report
    assert_eq!((ran, cached, failed), (27, 0, 0), "{first}");
    assert!(
        first.trim_end().lines().last().unwrap().starts_with("trustx: 27 nodes: 27 run, 0 cached, 0 failed"),
        "{first}"
    );
    let second = run_ok(&m, &[]);
    assert_eq!(counts(&dir), (0, 27, 0), "{second}");
    assert!(second.trim_end().lines().last().unwrap().starts_with("trustx: 27 nodes: 0 run, 27 cached, 0 failed"));
    let results = dir.join("results/sst2-e2e");
    for t in ["calibration", "calibration_by_seed", "similarity", "similarity_by_seed", "reliability", "rows"] {
        assert!(results.join(format!("tables/{t}.parquet")).is_file(), "{t}.parquet");
        assert!(results.join(format!("tables/{t}.csv")).is_file(), "{t}.csv");
    }
    assert!(results.join("tables/predictions.parquet").is_file());
    let html = std::fs::read_to_string(results.join("report.html")).unwrap();
    let md = std::fs::read_to_string(results.join("report.md")).unwrap();
    for name in ["bow-reference", "bow-strong-l2", "bow-small-vocab", "ece", "agreement", "delta-ece"] {
        assert!(html.contains(name) && md.contains(name), "report lacks {name}");
    }
    let csv = std::fs::read_to_string(results.join("tables/calibration.csv")).unwrap();
    assert!(csv.starts_with("model,metric,mean,std,ci_low,ci_high,seeds"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("bow-reference,accuracy,")).count(), 1);
}

#[test]
fn killed_run_resumes_to_identical_tables() {
    let reference = temp_dir("kill-ref");
    let m = sst2_manifest(&reference, "[calibration]\nbootstrap = 2000\n");
    run_ok(&m, &["--jobs", "1"]);
    let expected = tables(&reference, "sst2-e2e");

    let dir = temp_dir("kill");
    let m = sst2_manifest(&dir, "[calibration]\nbootstrap = 2000\n");
    let mut child = trustx()
        .args(["run", m.to_str().unwrap(), "--quiet", "--jobs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let nodes = dir.join("results/sst2-e2e/nodes");
    let started = Instant::now();
    // Wait until some nodes are done, then kill the run mid-way.
    loop {
        let done = std::fs::read_dir(&nodes)
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().join("node.json").exists()).count())
            .unwrap_or(0);
        if done >= 12 || started.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!dir.join("results/sst2-e2e/run.json").exists(), "the run finished before it was killed");
    run_ok(&m, &["--jobs", "2"]);
    let (ran, cached, _) = counts(&dir);
    assert!(cached >= 12 && ran + cached == 27, "ran {ran}, cached {cached}");
    assert_eq!(tables(&dir, "sst2-e2e"), expected);
}

#[test]
fn corrupted_artifact_is_detected_and_recomputed() {
    let dir = temp_dir("corrupt");
    let m = sst2_manifest(&dir, FAST);
    run_ok(&m, &[]);
    let j = run_json(&dir, "sst2-e2e");
    let node = j["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "predict/bow-strong-l2@seed43").unwrap();
    let key = node["key"].as_str().unwrap();
    let file = dir.join("results/sst2-e2e/nodes").join(&key[..16]).join("predictions.parquet");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = run_ok(&m, &[]);
    assert!(out.contains("predict/bow-strong-l2@seed43") && out.contains("artifact corrupted"), "{out}");
    assert_eq!(counts(&dir), (1, 26, 0));
}

#[test]
fn a_config_change_reruns_only_what_depends_on_it() {
    let dir = temp_dir("config");
    run_ok(&sst2_manifest(&dir, FAST), &[]);
    let out = run_ok(&sst2_manifest(&dir, "[calibration]\nbins = 15\nbootstrap = 200\n"), &[]);
    // calibration (9) + similarity (6) + aggregate + report rerun; data and predict are cached.
    assert_eq!(counts(&dir), (17, 10, 0), "{out}");
    assert!(out.contains("config changed"), "{out}");
    let out = run_ok(&sst2_manifest(&dir, "[calibration]\nbins = 15\nbootstrap = 200\n"), &["--force", "report"]);
    assert_eq!(counts(&dir), (1, 26, 0), "{out}");
    assert!(out.contains("forced"), "{out}");
}

#[test]
fn a_failing_model_fails_only_its_descendants() {
    let dir = temp_dir("fail");
    let bad = dir.join("bad-seed{seed}.csv");
    let src = repo().join("data/predictions/sst2-bow/bow-small-vocab-seed42.csv");
    for seed in [42, 43, 44] {
        let mut text = std::fs::read_to_string(&src).unwrap();
        if seed == 43 {
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let cols: Vec<&str> = lines[5].split(',').collect();
            lines[5] = format!("{},NaN,{}", cols[0], cols[2]);
            text = lines.join("\n") + "\n";
        }
        std::fs::write(dir.join(format!("bad-seed{seed}.csv")), text).unwrap();
    }
    let extra = format!("{FAST}\n[models.broken]\nsource = \"predictions\"\npath = \"{}\"\n", bad.display());
    let m = sst2_manifest(&dir, &extra);
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("predict/broken@seed43") && t.contains("NaN"), "{t}");
    let j = run_json(&dir, "sst2-e2e");
    let status = |name: &str| {
        j["nodes"].as_array().unwrap().iter().find(|n| n["name"] == name).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("predict/broken@seed43"), "failed");
    assert_eq!(status("calibration/broken@seed43"), "skipped");
    assert_eq!(status("calibration/broken@seed42"), "ran");
    assert_eq!(status("similarity/bow-strong-l2@seed43"), "ran");
    assert_eq!(status("aggregate"), "skipped");
}

#[test]
fn plan_lists_nodes_keys_and_cache_state() {
    let dir = temp_dir("plan");
    let m = sst2_manifest(&dir, FAST);
    let out = run(&["plan", m.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("predict (9 nodes)") && t.contains("predict/bow-reference@seed42") && t.contains("to run"),
        "{t}"
    );
    assert!(t.contains("27 nodes: 0 cached, 27 to run"), "{t}");
    run_ok(&m, &[]);
    let t = text(&run(&["plan", m.to_str().unwrap()]));
    assert!(t.contains("27 nodes: 27 cached, 0 to run"), "{t}");
}

#[test]
fn plugins_lists_settings_with_defaults() {
    let out = run(&["plugins"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for name in [
        "dataset glue",
        "dataset snli",
        "dataset table",
        "model-source predictions",
        "metric ece",
        "similarity agreement",
    ] {
        assert!(t.contains(name), "missing {name} in\n{t}");
    }
    assert!(t.contains("id_column: string = \"id\""), "{t}");
    let t = text(&run(&["plugins", "--kind", "metric"]));
    assert!(t.contains("metric ece") && !t.contains("dataset glue"), "{t}");
    assert_eq!(run(&["plugins", "--kind", "nope"]).status.code(), Some(2));
}

#[test]
fn intervals_depend_on_the_examples_not_on_the_other_models() {
    // The same two models audited beside a third one, and without it: every interval of
    // theirs is the same (the bootstraps are seeded by the data, not by the set of inputs).
    let with = temp_dir("intervals-with");
    let m = sst2_manifest(&with, FAST);
    run_ok(&m, &[]);
    let without = temp_dir("intervals-without");
    let text = std::fs::read_to_string(sst2_manifest(&without, FAST)).unwrap();
    let start = text.find("[models.bow-small-vocab]").unwrap();
    let end = start + text[start..].find("[calibration]").unwrap();
    let fewer = without.join("fewer.toml");
    std::fs::write(&fewer, format!("{}{}", &text[..start], &text[end..])).unwrap();
    run_ok(&fewer, &[]);
    for table in ["calibration", "similarity"] {
        let rows = |dir: &std::path::Path| -> Vec<String> {
            std::fs::read_to_string(dir.join(format!("results/sst2-e2e/tables/{table}.csv")))
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("bow-reference,") || l.starts_with("bow-strong-l2,"))
                .map(String::from)
                .collect()
        };
        let (a, b) = (rows(&with), rows(&without));
        assert!(!a.is_empty(), "{table}: no rows");
        assert_eq!(a, b, "{table} rows differ once bow-small-vocab is left out");
    }
}
