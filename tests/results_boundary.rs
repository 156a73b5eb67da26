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
