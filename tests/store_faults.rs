//! The store under write faults (issue 20.7): with the fault switch
//! (`TRUSTX_FAULT_WRITES=N:enospc|eio`) the Nth atomic write of a run fails as a full disk or
//! a failing device would. Whichever write it is — a node's artifact, its `node.json`, a
//! table, the report, `run.json` — the run ends with an error naming the failure (never a
//! panic or an abort), leaves no temporary file and no corrupt node in the store, and a rerun
//! without the fault completes with tables identical to those of a run that never failed.

mod common;

use common::*;
use std::path::Path;

/// Files under `dir` whose names mark an interrupted atomic write or node folder.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-") {
                out.push(entry.path().display().to_string());
            }
            if entry.path().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn a_failed_write_leaves_the_store_consistent_and_a_rerun_completes_identically() {
    let clean = temp_dir("faults-clean");
    let manifest = sst2_manifest(&clean, "");
    let out = run(&["run", manifest.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let expected = tables(&clean, "sst2-e2e");
    let mut failed = 0;
    for (i, n) in [1u32, 2, 3, 5, 8, 13, 21, 34, 55, 89].into_iter().enumerate() {
        let kind = if i % 2 == 0 { "enospc" } else { "eio" };
        let dir = temp_dir(&format!("faults-{n}"));
        let manifest = sst2_manifest(&dir, "");
        let m = manifest.to_str().unwrap();
        let out =
            trustx().args(["run", m, "--quiet"]).env("TRUSTX_FAULT_WRITES", format!("{n}:{kind}")).output().unwrap();
        let t = text(&out);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "write {n} ({kind}): exit {:?}\n{t}",
            out.status.code()
        );
        assert!(!t.contains("panicked"), "write {n}: a panic\n{t}");
        if out.status.code() == Some(1) {
            failed += 1;
            let said = if kind == "enospc" { "No space left on device" } else { "Input/output error" };
            assert!(t.contains(said), "write {n}: the error does not say what failed\n{t}");
        }
        assert_eq!(leftovers(&dir), Vec::<String>::new(), "write {n}: temporary files left");
        let status = run(&["status", m]);
        assert!(!text(&status).contains("corrupt"), "write {n}: {}", text(&status));
        let out = run(&["run", m, "--quiet"]);
        assert!(out.status.success(), "write {n}: the rerun failed\n{}", text(&out));
        assert!(tables(&dir, "sst2-e2e") == expected, "write {n}: the rerun's tables differ from a clean run's");
        std::fs::remove_dir_all(dir).ok();
    }
    assert!(failed >= 5, "only {failed} of the faults hit a write: the switch is not reaching the store");
    std::fs::remove_dir_all(clean).ok();
}
