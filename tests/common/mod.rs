//! Helpers shared by the end-to-end tests: temp folders, manifests and running the binary.

#![allow(dead_code)]

pub mod checkpoint;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trustx-e2e-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The trustx binary.
pub fn trustx() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trustx"));
    c.env_remove("TRUSTX_LOG");
    c
}

/// Runs trustx with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    trustx().args(args).output().unwrap()
}

/// Text of stdout and stderr together.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// One `predictions` model of an SST-2 manifest: `[models.NAME]` reading `path` (with
/// `{seed}`), then `more` lines (`reference = true`, `attributions = "…"`).
pub struct BowModel {
    /// The model's name.
    pub name: String,
    /// Its predictions file.
    pub path: String,
    /// Further lines of its table.
    pub more: String,
}

/// Model `name` of the bundled bag-of-words predictions (`data/predictions/sst2-bow/NAME-seed{seed}.csv`).
pub fn bow_model(name: &str, more: &str) -> BowModel {
    let path = repo().join("data/predictions/sst2-bow").join(format!("{name}-seed{{seed}}.csv"));
    BowModel { name: name.into(), path: path.display().to_string(), more: more.into() }
}

/// A manifest of `predictions` models on the SST-2 dev set, written to `dir/manifest.toml`:
/// experiment `name` with `seeds`, results in `results`, `experiment_extra` lines in
/// `[experiment]`, the `models`, then `extra` tables.
pub fn sst2_bow_manifest(
    dir: &Path,
    results: &Path,
    (name, seeds): (&str, &[u64]),
    experiment_extra: &str,
    models: &[BowModel],
    extra: &str,
) -> PathBuf {
    let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
    let mut text = format!(
        "[experiment]\nname = \"{name}\"\nseeds = [{}]\nresults = \"{}\"\n{experiment_extra}\n\n[dataset]\nloader = \"glue\"\ntask = \"sst2\"\n\n[dataset.eval]\npath = \"{}\"\n",
        seeds.join(", "),
        results.display(),
        repo().join("data/sst2/dev.tsv").display(),
    );
    for m in models {
        text += &format!("\n[models.{}]\nsource = \"predictions\"\npath = \"{}\"\n{}", m.name, m.path, m.more);
        if !m.more.is_empty() && !m.more.ends_with('\n') {
            text.push('\n');
        }
    }
    text += extra;
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The SST-2 example manifest (three bag-of-words models, seeds 42–44) with absolute paths
/// and its results under `dir`.
pub fn sst2_manifest(dir: &Path, extra: &str) -> PathBuf {
    let models = [
        bow_model("bow-reference", "reference = true"),
        bow_model("bow-strong-l2", ""),
        bow_model("bow-small-vocab", ""),
    ];
    sst2_bow_manifest(dir, &dir.join("results"), ("sst2-e2e", &[42, 43, 44]), "", &models, extra)
}

/// `experiments/sst2-tiny.toml` (two small BERTs trained from scratch) with its data paths
/// made absolute, so it can be written anywhere.
pub fn tiny_manifest_text() -> String {
    let data = repo().join("data");
    std::fs::read_to_string(repo().join("experiments/sst2-tiny.toml"))
        .unwrap()
        .replace("\"../data/", &format!("\"{}/", data.display()))
}

/// Runs `trustx validate` on the SST-2 example manifest with `extra` appended (written in
/// `dir`), asserts it is refused as a bad manifest (exit 2) and returns what it printed.
pub fn invalid(dir: &Path, extra: &str) -> String {
    let manifest = sst2_manifest(dir, extra);
    let out = run(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    t
}

/// `run.json` of an experiment as JSON.
pub fn run_json(dir: &Path, experiment: &str) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("results").join(experiment).join("run.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every file under `tables/`, name → bytes.
pub fn tables(dir: &Path, experiment: &str) -> Vec<(String, Vec<u8>)> {
    let t = dir.join("results").join(experiment).join("tables");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&t)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Why a test is ignored when it needs the shared fixtures.
pub const NEEDS_FIXTURES: &str =
    "needs ../shared/fixtures (or TRUSTX_FIXTURES): run with --include-ignored where they exist";

/// The shared fixtures (Hugging Face reference outputs and tiny checkpoints): `$TRUSTX_FIXTURES`,
/// else `../shared/fixtures` beside the repository. Panics saying what is missing: the tests
/// that call it are `#[ignore]`d and run by `.ci/run` only where the fixtures exist.
pub fn fixtures() -> PathBuf {
    let dir =
        std::env::var_os("TRUSTX_FIXTURES").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/fixtures"));
    assert!(dir.is_dir(), "this test needs the shared fixtures at {} (set TRUSTX_FIXTURES)", dir.display());
    dir
}

/// The real all-MiniLM-L6-v2 folder; panics saying how to fetch it when absent.
pub fn minilm() -> PathBuf {
    let dir = repo().join("models/all-MiniLM-L6-v2");
    assert!(dir.join("config.json").is_file(), "this test needs {} (bash scripts/fetch-minilm.sh)", dir.display());
    dir
}

/// The binary of example `name`, as `cargo test` builds it next to the tests; built here
/// with `$CARGO build --example NAME` when it is missing or older than its source (e.g.
/// under `cargo test --test X`, which does not build examples).
pub fn example_binary(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // current_exe: <target>/<profile>/deps/<test>-<hash>; examples: <target>/<profile>/examples.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile folder");
    let built = profile_dir.join("examples").join(&file);
    let source = repo().join("examples").join(format!("{name}.rs"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(binary), Some(source)) = (modified(&built), modified(&source))
        && binary >= source
    {
        return built;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--example", name]).current_dir(repo());
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running cargo build --example {name}: {e}"));
    assert!(status.success(), "cargo build --example {name} failed");
    assert!(built.is_file(), "{} was not built", built.display());
    built
}
