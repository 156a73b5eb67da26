//! End to end: the verdict's decision rule (issue 15.1). By default each test is an
//! equivalence test on its (1 − 2α) interval and the report says so; `[verdict] alpha` sets
//! the interval level; `rule = "point"` reproduces the paper's point rule; bad values are
//! refused at `validate`. `trustx show` prints the last verdict, `--compare` beside another.

mod common;

use common::{invalid, run, sst2_manifest, temp_dir, text};

fn report(extra: &str, name: &str) -> String {
    let dir = temp_dir(name);
    let manifest = sst2_manifest(&dir, extra);
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let md = std::fs::read_to_string(dir.join("results/sst2-e2e/report.md")).unwrap();
    std::fs::remove_dir_all(dir).ok();
    md
}

#[test]
fn the_default_is_the_interval_rule_and_alpha_sets_the_level() {
    let md = report("", "verdict-default");
    assert!(md.contains("equivalence test on its 95% bootstrap interval (α = 0.025"), "{md}");
    let outcomes = ["equivalent", "different", "inconclusive", "not run"];
    assert!(outcomes.iter().any(|o| md.contains(&format!("| {o} |"))), "{md}");
    assert!(!md.contains("| pass |") && !md.contains("| fail |"), "{md}");
    // The first table shows the prediction shift by default: flips both ways and JS divergence.
    assert!(md.contains("| flips: correct→wrong / wrong→correct | JS divergence |"), "{md}");
    let row = md.lines().find(|l| l.starts_with("| **bow-small-vocab** |")).unwrap();
    let cells: Vec<&str> = row.split(" | ").collect();
    let (flips, js) = (cells[cells.len() - 3], cells[cells.len() - 2]);
    assert!(flips.contains("<br>") && flips.starts_with("0.") && js.starts_with("0."), "{row}");
    let md = report("\n[verdict]\nalpha = 0.05\n", "verdict-alpha");
    assert!(md.contains("equivalence test on its 90% bootstrap interval (α = 0.05"), "{md}");
}

#[test]
fn the_point_rule_reproduces_the_paper() {
    let md = report("\n[verdict]\nrule = \"point\"\n", "verdict-point");
    assert!(md.contains("Decided by the point rule"), "{md}");
    assert!(md.contains("| pass |") || md.contains("| fail |"), "{md}");
}

#[test]
fn bad_alphas_are_refused() {
    let dir = temp_dir("verdict-bad");
    for (extra, said) in [
        ("\n[verdict]\nalpha = 0.7\n", "strictly between 0 and 0.5"),
        ("\n[verdict]\nalpha = 0.05\n[calibration]\nconfidence = 0.99\n", "set one of them"),
        ("\n[verdict]\nrule = \"vibes\"\n", "verdict.rule"),
    ] {
        let t = invalid(&dir, extra);
        assert!(t.contains(said), "{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn show_prints_the_last_verdict_and_fail_on_gates_the_run() {
    let dir = temp_dir("verdict-show");
    let manifest = sst2_manifest(&dir, "");
    let m = manifest.to_str().unwrap();
    let out = run(&["show", m]);
    assert!(!out.status.success() && text(&out).contains("run the manifest first"), "{}", text(&out));
    // The bundled BoW variants are shown not trust-equivalent (agreement far below 0.95).
    let out = run(&["run", m, "--fail-on", "not-equivalent"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("--fail-on not-equivalent: bow-s"), "{t}");
    let verdict = dir.join("results/sst2-e2e/verdict.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&verdict).unwrap()).unwrap();
    let first = &v["models"][0]["tests"][1];
    for key in ["name", "value", "ci", "threshold", "comparison", "outcome", "label"] {
        assert!(first.get(key).is_some(), "verdict.json test has no `{key}`: {first}");
    }
    let out = run(&["show", m]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("bow-small-vocab: not trust-equivalent") && t.contains("agreement"), "{t}");
    let out = run(&["show", m, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown, v);
    // Side by side with itself nothing changed; with a saved verdict whose first test's
    // outcome was different, that test is marked.
    let out = run(&["show", m, "--compare", m]);
    assert!(text(&out).contains("0 test(s) changed outcome"), "{}", text(&out));
    let mut saved = v.clone();
    saved["models"][0]["tests"][1]["label"] = serde_json::json!("inconclusive");
    let saved_path = dir.join("saved-verdict.json");
    std::fs::write(&saved_path, serde_json::to_vec(&saved).unwrap()).unwrap();
    let out = run(&["show", m, "--compare", saved_path.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success() && t.contains("1 test(s) changed outcome"), "{t}");
    let changed = format!("* {}", v["models"][0]["tests"][1]["name"].as_str().unwrap());
    assert!(t.contains(&changed), "{t}");
    let out = run(&["show", m, "--compare", saved_path.to_str().unwrap(), "--json"]);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["models"][0]["tests"][1]["changed"], true);
    let out = run(&["show", m, "--compare", dir.join("nowhere").to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("no such file or folder"), "{}", text(&out));
    // Cached the second time: the gate reads the same verdict; every run's record is kept.
    assert_eq!(run(&["run", m, "--fail-on", "not-established"]).status.code(), Some(3));
    let runs = std::fs::read_dir(dir.join("results/sst2-e2e/runs")).unwrap().count();
    assert_eq!(runs, 2, "runs/ keeps one record per run");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn prediction_shift_metrics_reach_the_tables_and_the_report() {
    let dir = temp_dir("verdict-shift");
    let manifest = sst2_manifest(
        &dir,
        "\n[calibration]\nsimilarity = [\"agreement\", \"confidence-tv\", \"flips-correct-to-wrong\", \"flips-wrong-to-correct\", \"kl-divergence\", \"kl-divergence-p95\", \"js-divergence\", \"js-divergence-p95\"]\n[calibration.tolerances]\nflips_correct_to_wrong = 0.5\n",
    );
    let out = run(&["run", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = std::fs::read_to_string(dir.join("results/sst2-e2e/tables/similarity.csv")).unwrap();
    for metric in ["flips-correct-to-wrong", "flips-wrong-to-correct", "kl-divergence", "js-divergence-p95"] {
        let row = csv.lines().find(|l| l.contains("bow-small-vocab") && l.contains(&format!(",{metric},")));
        let row = row.unwrap_or_else(|| panic!("no {metric} row in\n{csv}"));
        let mean: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(mean > 0.0 && mean < 1.0, "{metric} = {mean}");
    }
    // Every value carries its convention (issue 15.3): binning, norm, mode, estimator.
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",binning,norm,mode,estimator"), "{header}");
    let kl = csv.lines().find(|l| l.contains(",kl-divergence,")).unwrap();
    assert!(kl.contains("KL(reference ‖ model)") && kl.contains("mean over examples"), "{kl}");
    let cal = std::fs::read_to_string(dir.join("results/sst2-e2e/tables/calibration.csv")).unwrap();
    let ece = cal.lines().find(|l| l.contains(",ece,")).unwrap();
    assert!(ece.contains("equal-width, 10 bins") && ece.contains(",L1,top-label,plug-in"), "{ece}");
    let md = std::fs::read_to_string(dir.join("results/sst2-e2e/report.md")).unwrap();
    assert!(md.contains("Jensen–Shannon divergence (not its square root"), "definitions are written out");
    assert!(md.contains("Convention: binning equal-width, 10 bins"), "the report states each metric's convention");
    // Compression-identified examples: labels the variant changes in most seeds (issue 15.2).
    let flipped = std::fs::read_to_string(dir.join("results/sst2-e2e/tables/flipped.csv")).unwrap();
    assert!(flipped.starts_with("model,example,gold,reference_label,reference_p,model_label,model_p,flips,pairs,text"));
    let rows: Vec<&str> = flipped.lines().skip(1).filter(|l| l.starts_with("bow-small-vocab,")).collect();
    assert!(rows.len() > 10, "{flipped}");
    assert!(rows.iter().all(|l| l.contains(",3,3,") || l.contains(",2,3,")), "{rows:?}");
    assert!(md.contains("### Compression-identified examples") && md.contains("flipped in most seeds"), "{md}");
    // With a tolerance, the shift is a verdict test (here an easy one: at most half flipped).
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results/sst2-e2e/verdict.json")).unwrap()).unwrap();
    let flips = v["models"][0]["tests"].as_array().unwrap().iter().find(|t| t["name"] == "flips-correct-to-wrong");
    assert_eq!(flips.map(|t| t["label"].as_str().unwrap()), Some("equivalent"), "{v}");
    std::fs::remove_dir_all(dir).ok();
}
