//! `benches/peers/summarize.py`, the part of `benches/compare.sh` that turns a session's
//! rounds into ratios: run on a synthetic two-round session (trustx's and the peers' JSON as
//! the binaries and peer programs write them), it must pair values within a round, invert
//! the ratio for times, give the spread over rounds and carry the loads; a missing file is an
//! error naming it. Needs `python3` on PATH (standard library only: no torch, lime or shap).

mod common;

use common::{repo, temp_dir};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

fn summarize(dir: &Path) -> Output {
    Command::new("python3").arg(repo().join("benches/peers/summarize.py")).arg(dir).output().expect("python3 on PATH")
}

/// One round: trustx at `t_fwd` seq/s and `t_lime` s, the peers at `p_fwd` and `p_lime`.
fn round(dir: &Path, n: usize, t_fwd: f64, p_fwd: f64, t_lime: f64, p_lime: f64) {
    let r = dir.join(format!("round-{n}"));
    std::fs::create_dir_all(&r).unwrap();
    let bench = |name: &str, v: f64| json!({"name": name, "batch": 32, "length": 64, "reps": 5, "sequences_per_s": v, "gflops": 1.0, "load_average": 1.0});
    write(
        &r.join("trustx-bench.json"),
        &json!([
            bench("bert-base shape (random weights), packed", t_fwd),
            bench("bert-base shape (random weights), burn", t_fwd / 2.0)
        ]),
    );
    write(
        &r.join("trustx-explain.json"),
        &json!({"pairs": 2, "seeds": 3, "lime_samples": 1000, "shap_evals": 500, "lime_s": t_lime, "shap_s": 1.0, "workload_s": 10.0}),
    );
    let row = |measure: &str, implementation: &str, value: f64, unit: &str| json!({"measure": measure, "implementation": implementation, "value": value, "unit": unit});
    write(
        &r.join("peers-forward.json"),
        &json!({"program": "forward", "results": [row("forward/bert-base", "pytorch", p_fwd, "seq/s")]}),
    );
    write(
        &r.join("peers-explain.json"),
        &json!({"program": "explain", "results": [row("explain/lime", "python", p_lime, "s/explanation")]}),
    );
    write(
        &r.join("load.json"),
        &json!({"order": "trustx first", "started": format!("10:0{n}:00"), "before": format!("0.{n}0 0.50 0.60 1/100 1"), "after": "1.25 0.70 0.80 1/100 2"}),
    );
}

#[test]
fn ratios_pair_each_round_and_give_their_spread() {
    let dir = temp_dir("bench-compare");
    write(
        &dir.join("session.json"),
        &json!({"date": "2026-12-04T10:00:00Z", "cpu": "Test CPU", "cores": 2, "rounds": 2, "threads": 2}),
    );
    // Round 1: trustx 30 vs 15 seq/s (2×), LIME 1 s vs 5 s (5×); round 2: 40 vs 10 (4×), 2 s vs 6 s (3×).
    round(&dir, 1, 30.0, 15.0, 1.0, 5.0);
    round(&dir, 2, 40.0, 10.0, 2.0, 6.0);
    let out = summarize(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let measure =
        |name: &str| summary["measures"].as_array().unwrap().iter().find(|m| m["measure"] == name).unwrap().clone();
    let fwd = measure("forward/bert-base");
    let r = &fwd["ratios"]["trustx / pytorch"];
    assert_eq!(
        (r["median"].as_f64(), r["min"].as_f64(), r["max"].as_f64()),
        (Some(3.0), Some(2.0), Some(4.0)),
        "{fwd}"
    );
    // The burn graph's ratio too: 15 / 15 and 20 / 10.
    assert_eq!(fwd["ratios"]["trustx (burn graph) / pytorch"]["median"].as_f64(), Some(1.5), "{fwd}");
    // Times: the peer's seconds over trustx's, so above 1 still means trustx is faster.
    let lime = measure("explain/lime");
    let r = &lime["ratios"]["trustx / python"];
    assert_eq!(
        (r["median"].as_f64(), r["min"].as_f64(), r["max"].as_f64()),
        (Some(4.0), Some(3.0), Some(5.0)),
        "{lime}"
    );
    // A trustx measure without a peer has no ratio.
    assert_eq!(measure("explain/shap")["ratios"], json!({}));
    // The Markdown: the header, the ratio cells, the loads of both rounds.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(md, stdout);
    for want in [
        "Session 2026-12-04T10:00:00Z · Test CPU · 2 cores · 2 rounds",
        "| forward, BERT-base shape (random weights), 32 × 64 | seq/s | trustx | 35.00 (30.00–40.00) |  |",
        "|  |  | pytorch | 12.50 (10.00–15.00) | 3.00 (2.00–4.00); trustx (burn graph): 1.50 (1.00–2.00) |",
        "|  |  | python | 5.50 (5.00–6.00) | 4.00 (3.00–5.00) |",
        "| 1 | trustx first | 10:01:00 | 0.10 0.50 0.60 | 1.25 0.70 0.80 |",
        "| 2 | trustx first | 10:02:00 | 0.20 0.50 0.60 | 1.25 0.70 0.80 |",
    ] {
        assert!(md.contains(want), "{want:?} missing from\n{md}");
    }

    std::fs::remove_file(dir.join("round-2/load.json")).unwrap();
    let out = summarize(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("round-2/load.json") && err.contains("cannot read"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
