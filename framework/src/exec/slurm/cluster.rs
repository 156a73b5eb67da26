//! The Slurm commands the executor uses: `sbatch`, `squeue`, `scancel`.
//!
//! Only the client commands are needed, on the host that runs `trustx run`; accounting
//! (`sacct`, slurmdbd) is not: a job's exit code comes from the file its script writes
//! beside its log, and `squeue --states=all` reports jobs for `MinJobAge` after they end.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One job as `squeue` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …
    pub state: String,
    /// Why it is pending, or `None` (e.g. `Dependency`, `Resources`, `DependencyNeverSatisfied`).
    pub reason: String,
}

impl QueueEntry {
    /// Still to run or running: Slurm has not finished with it. A job pending on an input's
    /// job that failed (`DependencyNeverSatisfied`) is not: it never runs, and
    /// `--kill-on-invalid-dep` has Slurm cancel it.
    pub fn live(&self) -> bool {
        !self.doomed()
            && matches!(
                self.state.as_str(),
                "PENDING"
                    | "RUNNING"
                    | "CONFIGURING"
                    | "COMPLETING"
                    | "REQUEUED"
                    | "RESIZING"
                    | "SUSPENDED"
                    | "STAGE_OUT"
            )
    }

    /// Pending on an input's job that failed: it will never run.
    pub fn doomed(&self) -> bool {
        self.state == "PENDING" && self.reason == "DependencyNeverSatisfied"
    }
}

fn run(cmd: &mut Command) -> Result<String> {
    let what = format!("{cmd:?}");
    let out = cmd.output().with_context(|| {
        format!("running {what}: is Slurm installed here? (`sbatch`, `squeue` and `scancel` must be on PATH)")
    })?;
    if !out.status.success() {
        bail!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks that the Slurm commands exist and the controller answers.
pub fn check() -> Result<()> {
    run(Command::new("squeue").args(["-h", "--me", "-o", "%i"]))
        .context("the Slurm controller does not answer (to try locally: sudo scripts/slurm-local.sh start)")?;
    Ok(())
}

/// Submits `script` with `args` in front of it; returns the job id.
pub fn submit(script: &Path, args: &[String]) -> Result<String> {
    let out = run(Command::new("sbatch").arg("--parsable").args(args).arg(script))?;
    // `--parsable` prints `id` or `id;cluster`.
    let id = out.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
        bail!("sbatch printed `{}`, not a job id", out.trim());
    }
    Ok(id)
}

/// The user's jobs Slurm still knows (running, waiting, or recently ended), by job id.
pub fn queue() -> Result<BTreeMap<String, QueueEntry>> {
    let out = run(Command::new("squeue").args(["-h", "--me", "--states=all", "-o", "%i|%T|%r"]))?;
    Ok(parse_queue(&out))
}

/// Parses `squeue -o "%i|%T|%r"` lines.
pub fn parse_queue(out: &str) -> BTreeMap<String, QueueEntry> {
    out.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.trim().to_string();
            let state = parts.next()?.trim().to_string();
            let reason = parts.next().unwrap_or("").trim().to_string();
            (!id.is_empty()).then_some((id, QueueEntry { state, reason }))
        })
        .collect()
}

/// Cancels jobs.
pub fn cancel(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    run(Command::new("scancel").args(ids))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_squeue_lines() {
        let q = parse_queue(
            "12|PENDING|Dependency\n13|RUNNING|None\n14|CANCELLED|DependencyNeverSatisfied\n15|PENDING|DependencyNeverSatisfied\n\n",
        );
        assert_eq!(q.len(), 4);
        assert!(q["12"].live() && q["13"].live() && !q["14"].live());
        assert!(!q["15"].live() && q["15"].doomed() && !q["12"].doomed());
        assert_eq!(q["14"].reason, "DependencyNeverSatisfied");
    }
}
