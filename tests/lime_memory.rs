//! LIME's peak memory does not grow with `num_samples` (issue 20.1): the samples are
//! streamed in batches and fitted from running sums, and the example's text cache stops
//! growing at its cap. Measured through the binary: the peak resident memory of `trustx
//! explain` (its `VmHWM`) with 2,000 and 30,000 samples. Before
//! streaming the larger run held every mask, text and row (18 MB more at 30,000 on this test's tiny model).

mod common;

use common::checkpoint::checkpoint;
use common::*;
use std::process::Stdio;
use std::time::Duration;

/// Runs `trustx args…` and returns whether it succeeded and its peak resident memory in KiB:
/// the high-water mark `VmHWM` of `/proc/<pid>/status`, read every 10 ms until it exits (it
/// only grows, so the last reading is the peak up to 10 ms before the end).
fn run_measured(args: &[&str]) -> (bool, u64) {
    let mut child = trustx().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), peak);
        }
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
        peak = peak.max(hwm.unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn lime_peak_memory_does_not_grow_with_num_samples() {
    let dir = temp_dir("lime-memory");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    let text: String = (0..20).map(|i| format!("word{i} ")).collect();
    let peak = |n: usize| {
        let samples = format!("num_samples={n}");
        let args = ["explain", model.to_str().unwrap(), "--text", &text, "--explainer", "lime", "--set", &samples];
        let (ok, kib) = run_measured(&args);
        assert!(ok && kib > 0, "explain with {samples} failed");
        kib
    };
    let (small, large) = (peak(2_000), peak(30_000));
    // One batch of masks and texts plus the capped cache (4 MiB) and allocator slack.
    assert!(large - small <= 12 * 1024, "peak memory grew by {} KiB from 2,000 to 30,000 samples", large - small);
    std::fs::remove_dir_all(dir).ok();
}
