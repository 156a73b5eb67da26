//! End to end: settings that cannot run are refused at `validate`, every one at once with its
//! key, instead of failing mid-run or aborting the process (issue 20.1, 20.4, 20.6). Each case
//! is one a hostile-input review reproduced.

mod common;

use common::{run, sst2_manifest, temp_dir, text};

#[test]
fn training_settings_out_of_range_are_all_named_at_validate() {
    let dir = temp_dir("hostile-train");
    let manifest = sst2_manifest(
        &dir,
        "\n[train]\nlr = -1\nepochs = 0\nwarmup_ratio = 2\nbetas = [0.9, 1.5]\nmax_grad_norm = -1\nweight_decay = -0.1\nmax_steps = 0\neps = 0\n",
    );
    let out = run(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    for key in [
        "train.lr",
        "train.epochs",
        "train.warmup_ratio",
        "train.betas",
        "train.max_grad_norm",
        "train.weight_decay",
        "train.max_steps",
        "train.eps",
    ] {
        assert!(t.contains(key), "{key} is not named:\n{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_rbo_persistence_outside_the_unit_interval_is_refused() {
    let dir = temp_dir("hostile-rbo");
    let manifest = sst2_manifest(&dir, "\n[alignment]\nmetrics = [{ metric = \"rbo\", p = 1.5 }]\n");
    let out = run(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("alignment.metrics.0.p") && t.contains("strictly between 0 and 1"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_explainer_budget_beyond_memory_is_refused_not_aborted() {
    let dir = temp_dir("hostile-budget");
    let manifest = sst2_manifest(&dir, "\n[[explainers]]\nexplainer = \"lime\"\nnum_samples = 100000000000\n");
    let out = run(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("explainers.0.num_samples") && t.contains("model evaluations"), "{t}");
    let out = run(&[
        "explain",
        dir.to_str().unwrap(),
        "--text",
        "a film",
        "--explainer",
        "lime",
        "--set",
        "num_samples=100000000000",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("num_samples") && t.contains("above the limit"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_system_file_as_data_is_refused_without_quoting_it() {
    let dir = temp_dir("hostile-data");
    let manifest = sst2_manifest(&dir, "");
    let text_of = std::fs::read_to_string(&manifest).unwrap();
    let data_line = text_of.lines().find(|l| l.contains("dev.tsv")).unwrap().to_string();
    std::fs::write(&manifest, text_of.replace(&data_line, "path = \"/proc/self/environ\"")).unwrap();
    let out = trustx_with_secret(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("dataset.eval.path") && t.contains("system file"), "{t}");
    assert!(!t.contains("TRUSTX_TEST_SECRET"), "the environment leaked:\n{t}");
    std::fs::remove_dir_all(dir).ok();
}

fn trustx_with_secret(args: &[&str]) -> std::process::Output {
    common::trustx().args(args).env("TRUSTX_TEST_SECRET", "hunter2").output().unwrap()
}
