//! End to end: the commands a new user reaches for. `trustx init` writes a commented
//! starter manifest that validates; `key=value` overrides on the command line change the
//! manifest like environment overrides (and their errors name them); `trustx gc` removes
//! the store nodes no current node uses (`--dry-run` lists them first); `trustx
//! completions` prints a shell script.

mod common;

use common::checkpoint::checkpoint;
use common::{repo, run, sst2_manifest, temp_dir, text};

#[test]
fn init_writes_a_manifest_that_validates() {
    let dir = temp_dir("init");
    let model = checkpoint(&dir.join("models/mine"), ["negative", "positive"], false);
    let out_file = dir.join("experiments/audit.toml");
    let dev = repo().join("data/sst2/dev.tsv");
    let args = ["init", "--model", model.to_str().unwrap(), "--dataset", dev.to_str().unwrap()];
    let out = run(&[&args[..], &["--out", out_file.to_str().unwrap()]].concat());
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("it validates"), "{t}");
    let manifest = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        manifest.contains("checkpoint = \"../models/mine\"") && manifest.contains("finetuned = true"),
        "{manifest}"
    );
    assert!(manifest.lines().filter(|l| l.trim_start().starts_with('#')).count() >= 10, "commented: {manifest}");
    let out = run(&["validate", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    // It never overwrites.
    let out = run(&[&args[..], &["--out", out_file.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
}

#[test]
fn overrides_gc_and_completions() {
    let dir = temp_dir("user-commands");
    let m = sst2_manifest(&dir, "");
    let m = m.to_str().unwrap();
    let out = run(&["run", m, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));

    // A command-line override changes the keys it touches: calibration reruns, predictions do not.
    let out = run(&["plan", m, "calibration.bins=15"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let state = |name: &str| t.lines().find(|l| l.contains(&format!(" {name} "))).unwrap_or_default().to_string();
    assert!(state("predict/bow-reference@seed42").contains("cached"), "{t}");
    assert!(state("calibration/bow-reference@seed42").contains("to run"), "{t}");
    let out = run(&["validate", m, "calibration.bins=abc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("command-line override calibration.bins=abc"), "{}", text(&out));
    let out = run(&["validate", m, "calibration.bins"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Run with the override, then gc the default plan: the bins=15 nodes go.
    let out = run(&["run", m, "calibration.bins=15", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let nodes = dir.join("results/sst2-e2e/nodes");
    let count = || std::fs::read_dir(&nodes).unwrap().count();
    let before = count();
    let out = run(&["gc", m, "--dry-run"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let unused = t.lines().filter(|l| l.starts_with("unused ")).count();
    assert!(unused > 0 && t.contains(&format!("would remove {unused} unused node folders")), "{t}");
    assert_eq!(count(), before, "a dry run removes nothing");
    let out = run(&["gc", m]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(), before - unused);
    let out = run(&["run", m, "--quiet"]);
    assert!(text(&out).contains(" 0 run,"), "the current plan is still cached: {}", text(&out));

    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("trustx") && script.contains("completions"), "{shell}: {script}");
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_output_without_a_panic() {
    let mut child = common::trustx()
        .arg("plugins")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before trustx prints (as `| head -0` would): every print meets a
    // closed pipe. Without the hook, the first `println!` panics.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Either it finished before the pipe closed, or it stopped like a Unix tool on SIGPIPE.
    assert!(out.status.success() || out.status.code() == Some(141), "{:?} {stderr}", out.status);
}
