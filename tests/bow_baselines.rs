//! The committed baseline predictions (`data/predictions/sst2-bow/`) come from
//! `examples/bow_baselines.rs`: rerun the example into a temporary folder and compare the
//! files byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The bundled files the example reads and writes, relative to the package root.
const TRAIN: &str = "data/sst2/stsa.binary.train.head3000";
const DEV: &str = "data/sst2/dev.tsv";
const COMMITTED: &str = "data/predictions/sst2-bow";

/// The example binary that `cargo test` built next to this test; built here with
/// `$CARGO build --example bow_baselines` when it is missing or older than its source
/// (e.g. under `cargo test --test bow_baselines`, which does not build examples).
fn example_binary() -> PathBuf {
    let name = format!("bow_baselines{}", std::env::consts::EXE_SUFFIX);
    // current_exe: <target>/<profile>/deps/bow_baselines-<hash>; examples: <target>/<profile>/examples.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target profile folder");
    let built = profile_dir.join("examples").join(&name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bow_baselines.rs");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&built), modified(&source)) {
        (Some(binary), Some(source)) => binary >= source,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if fresh {
        return built;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--example", "bow_baselines"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build --example bow_baselines");
    assert!(status.success(), "cargo build --example bow_baselines failed");
    assert!(built.is_file(), "{} was not built", built.display());
    built
}

/// The `.csv` files of a folder, sorted by name.
fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

#[test]
fn committed_bow_predictions_are_reproduced_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("trustx-bow-baselines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);

    let output = Command::new(example_binary())
        .current_dir(root)
        .args(["--train", TRAIN, "--dev", DEV, "--out"])
        .arg(&out)
        .output()
        .expect("running the bow_baselines example");
    assert!(
        output.status.success(),
        "bow_baselines failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let committed = csv_files(&root.join(COMMITTED));
    let fresh = csv_files(&out);
    let names = |files: &[PathBuf]| -> Vec<String> {
        files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    };
    assert_eq!(names(&committed).len(), 9, "expected 3 models x 3 seeds in {COMMITTED}");
    assert_eq!(names(&committed), names(&fresh));
    for (a, b) in committed.iter().zip(&fresh) {
        let (a_bytes, b_bytes) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        assert!(
            a_bytes == b_bytes,
            "{} differs from a fresh run of the example ({}); rerun \
             `cargo run --release --example bow_baselines -- --out {COMMITTED}`",
            a.display(),
            b.display()
        );
        // Every row sums to 1 within 1e-12, as the example promises.
        let text = String::from_utf8(a_bytes).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("id,negative,positive"));
        let mut rows = 0;
        for (i, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 3, "{}: {line}", a.display());
            assert_eq!(fields[0], i.to_string());
            let (p0, p1): (f64, f64) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
            assert!((p0 + p1 - 1.0).abs() <= 1e-12 && p0 >= 0.0 && p1 >= 0.0, "{line}");
            rows += 1;
        }
        assert_eq!(rows, 872);
    }
    let _ = std::fs::remove_dir_all(&out);
}
