//! End to end: where results live. `plan` and `run` name the results folder on their first
//! line; without `[experiment] results` it is `results/` of the manifest's project folder
//! (the nearest folder upwards with `results/`, `.git` or `Cargo.toml`), so running the
//! same manifest from another directory finds the same store; `--results DIR` moves it;
//! `model export` says where it looked for a node that is not there.

mod common;

use common::{repo, temp_dir, text, trustx};
use std::path::{Path, PathBuf};

/// A project folder with a `.git` marker and a predictions-only manifest in
/// `experiments/` that does not set `results`.
fn project(dir: &Path) -> PathBuf {
    let experiments = dir.join("proj/experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    std::fs::create_dir_all(dir.join("proj/.git")).unwrap();
    let data = repo().join("data");
    let manifest = format!(
        r#"[experiment]
name = "where"
seeds = [42]

[dataset]
loader = "glue"
task = "sst2"

[dataset.eval]
path = "{data}/sst2/dev.tsv"

[models.ref]
source = "predictions"
path = "{data}/predictions/sst2-bow/bow-reference-seed42.csv"
reference = true

[models.small]
source = "predictions"
path = "{data}/predictions/sst2-bow/bow-small-vocab-seed42.csv"

[calibration]
bootstrap = 20
"#,
        data = data.display()
    );
    let path = experiments.join("where.toml");
    std::fs::write(&path, &manifest).unwrap();
    // The same with a model trained by trustx (never run here: only its export is asked).
    let tiny = format!(
        "{}\n[models.tiny]\narchitecture = {{ type = \"bert\", layers = 1, hidden = 16, heads = 2, ffn = 32, vocab = \"{data}/vocab/sst2-words.txt\" }}\n\n[dataset.train]\npath = \"{data}/sst2/dev.tsv\"\n",
        manifest.replace("name = \"where\"", "name = \"tiny\""),
        data = data.display()
    );
    std::fs::write(experiments.join("tiny.toml"), tiny).unwrap();
    path
}

fn run_in(cwd: &Path, args: &[&str]) -> std::process::Output {
    trustx().current_dir(cwd).args(args).output().unwrap()
}

#[test]
fn the_results_folder_is_the_projects_from_any_directory() {
    let dir = temp_dir("results-folder");
    let m = project(&dir);
    let m = m.to_str().unwrap();
    let expected = dir.join("proj/results/where");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let out = run_in(&elsewhere, &["plan", m]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let first = t.lines().next().unwrap();
    assert_eq!(first, format!("results: {} (default: results/ of the manifest's project folder)", expected.display()));

    // A model not trained yet: export says where it looked.
    let tiny = dir.join("proj/experiments/tiny.toml");
    let out = run_in(&elsewhere, &["model", "export", "tiny", "--manifest", tiny.to_str().unwrap(), "--out", "x"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let looked = dir.join("proj/results/tiny/nodes/");
    assert!(t.contains("is not in the store") && t.contains(&looked.display().to_string()), "{t}");
    assert!(t.contains("--results DIR"), "{t}");

    // Run the calibration part from the manifest's folder, then plan from elsewhere: cached.
    let out = run_in(&dir.join("proj/experiments"), &["run", m, "--quiet"]);
    let t = text(&out);
    assert!(t.starts_with(&format!("results: {}", expected.display())), "{t}");
    let out = run_in(&elsewhere, &["plan", m]);
    let t = text(&out);
    assert!(t.contains("predict/ref") && t.lines().any(|l| l.contains("predict/ref") && l.contains("cached")), "{t}");
    assert!(!elsewhere.join("results").exists(), "nothing is written where the command ran");

    // --results moves the store: nothing cached there.
    let other = dir.join("other");
    let out = run_in(&elsewhere, &["plan", m, "--results", other.to_str().unwrap()]);
    let t = text(&out);
    assert!(t.starts_with(&format!("results: {} (from --results)", other.join("where").display())), "{t}");
    assert!(t.lines().any(|l| l.contains("predict/ref") && l.contains("to run")), "{t}");
}
