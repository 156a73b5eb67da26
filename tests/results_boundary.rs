//! End to end: the results folder is a boundary (issue 20.3). A `.lock` or `tables/` that is
//! a symbolic link inside it is refused with a message naming the link, and what the link
//! points at is left untouched; outputs an earlier run published and this one did not (a
//! report format no longer asked for) are removed, not left stale beside new results.

mod common;

use common::{run, sst2_manifest, temp_dir, text};
use std::os::unix::fs::symlink;

#[test]
fn a_lock_link_is_refused_and_its_target_kept() {
    let dir = temp_dir("boundary-lock");
    let manifest = sst2_manifest(&dir, "");
    let results = dir.join("results/sst2-e2e");
    std::fs::create_dir_all(&results).unwrap();
    let victim = dir.join("user-file.txt");
    std::fs::write(&victim, "the user's own file\n").unwrap();
    symlink(&victim, results.join(".lock")).unwrap();
    let out = run(&["run", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains(".lock is a symbolic link") && t.contains("user-file.txt"), "{t}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the user's own file\n");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_tables_link_is_refused_and_the_folder_it_names_stays_empty() {
    let dir = temp_dir("boundary-tables");
    let manifest = sst2_manifest(&dir, "");
    let results = dir.join("results/sst2-e2e");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, results.join("tables")).unwrap();
    let out = run(&["run", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("tables is a symbolic link"), "{t}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "a write went through the link");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_format_no_longer_asked_for_is_removed() {
    let dir = temp_dir("boundary-stale");
    let manifest = sst2_manifest(&dir, "");
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let results = dir.join("results/sst2-e2e");
    assert!(results.join("report.md").exists() && results.join("report.html").exists());
    let manifest = sst2_manifest(&dir, "\n[report]\nformats = [\"html\"]\n");
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(results.join("report.html").exists());
    assert!(!results.join("report.md").exists(), "the md report of the first run is stale");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn when_run_json_cannot_be_written_the_failures_are_printed_not_lost() {
    let dir = temp_dir("boundary-record");
    let manifest = sst2_manifest(&dir, "");
    // One model's predictions hold a probability row that does not sum to 1: its predict
    // node fails at run time.
    let text_of = std::fs::read_to_string(&manifest).unwrap();
    let src = common::repo().join("data/predictions/sst2-bow");
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for seed in [42, 43, 44] {
        let name = format!("bow-small-vocab-seed{seed}.csv");
        let csv = std::fs::read_to_string(src.join(&name)).unwrap().replacen("\n0,", "\n0,7.5,", 1);
        let csv = csv.replacen("0,7.5,0.6481101453703111,0.3518898546296889", "0,7.5,0.5", 1);
        std::fs::write(bad.join(&name), csv).unwrap();
    }
    let old = format!("{}/bow-small-vocab-seed{{seed}}.csv", src.display());
    let new = format!("{}/bow-small-vocab-seed{{seed}}.csv", bad.display());
    assert!(text_of.contains(&old));
    std::fs::write(&manifest, text_of.replace(&old, &new)).unwrap();
    // run.json is a folder: the record cannot be written there.
    std::fs::create_dir_all(dir.join("results/sst2-e2e/run.json")).unwrap();
    let out = run(&["run", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("run.json") && t.contains("could not be written"), "{t}");
    assert!(t.contains("predict/bow-small-vocab") && t.contains("failed:"), "the failures were lost:\n{t}");
    std::fs::remove_dir_all(dir).ok();
}
