//! The report of a real run: the verdict's content, byte-identical re-rendering (forced, and
//! by `trustx report` from the store alone), and the
//! thresholds reaching only the report node's key.

mod common;

use common::*;

const FAST: &str = "[calibration]\nbootstrap = 200\n";

fn run_ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = trustx();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    text(&out)
}

#[test]
fn verdict_rerender_and_threshold_keys() {
    let dir = temp_dir("report-e2e");
    let m = sst2_manifest(&dir, FAST);
    let p = m.to_str().unwrap();
    let early = run(&["report", p]);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(text(&early).contains("run `trustx run` on this manifest first"), "{}", text(&early));
    run_ok(&["run", p, "--quiet"], &[]);
    let results = dir.join("results/sst2-e2e");
    let html = std::fs::read(results.join("report.html")).unwrap();
    let md = std::fs::read_to_string(results.join("report.md")).unwrap();
    // No explainers: no model can be trust-equivalent, and the report says why.
    assert!(md.contains("No compared model is shown to be trust-equivalent to bow-reference"), "{md}");
    assert!(md.contains("alignment not measured: no explainers configured"));
    assert!(md.contains("Alignment not measured: no explainers are configured"));
    assert!(md.contains("| (0.9, 1.0] |"), "the confidence histogram's numbers");
    assert!(md.contains("| predict |"), "timings per stage");
    assert!(!md.contains("**trust-equivalent**"));

    // Forcing the report renders the same bytes (timings come from the node records).
    run_ok(&["run", p, "--quiet", "--force", "report"], &[]);
    assert_eq!(std::fs::read(results.join("report.html")).unwrap(), html, "report.html changed on re-render");

    // `trustx report` renders the same bytes from the store alone, without running a node.
    let out_dir = dir.join("rerendered");
    run_ok(&["report", p, "--out", out_dir.to_str().unwrap()], &[]);
    assert_eq!(std::fs::read(out_dir.join("report.html")).unwrap(), html, "trustx report: report.html differs");
    assert_eq!(std::fs::read_to_string(out_dir.join("report.md")).unwrap(), md, "trustx report: report.md differs");

    // A looser tolerance reruns only the report, and changes the verdict's numbers.
    let out = run_ok(&["run", p, "--quiet"], &[("TRUSTX_CALIBRATION__TOLERANCES__AGREEMENT", "0.5")]);
    let record = run_json(&dir, "sst2-e2e");
    let ran: Vec<&str> = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"] == "ran")
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(ran, vec!["report"], "{out}");
    let md2 = std::fs::read_to_string(results.join("report.md")).unwrap();
    assert!(md2.contains("agreement ≥ 0.5"), "{md2}");
    assert_ne!(md, md2);
}
