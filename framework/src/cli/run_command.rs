//! `trustx run`: the nodes not in the store, then the tables, report and `run.json`; the
//! summary line, the failed nodes, and `--fail-on`'s exit status.

use super::{Command, bad_executor};
use crate::commands::target::results_line;
use crate::exec::Status;
use crate::manifest::ExecutorKind;
use crate::runner::{RunOptions, RunOutcome, run};
use std::process::ExitCode;

/// Runs the `run` subcommand `command`.
pub(super) fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Run { target, jobs, force, quiet, executor, detach, fail_on } = command else {
        anyhow::bail!("not a run command (internal error)");
    };
    if jobs == Some(0) {
        eprintln!("error: --jobs must be at least 1");
        return Ok(ExitCode::from(2));
    }
    let executor = match executor.as_deref().map(|e| (e, ExecutorKind::parse(e))) {
        Some((e, None)) => return Ok(bad_executor(e)),
        Some((_, kind)) => kind,
        None => None,
    };
    let r = target.load()?;
    println!("{}", results_line(&r));
    let record = match run(&r, &RunOptions { jobs, force, progress: !quiet, executor, detach })? {
        RunOutcome::Finished(record) => record,
        RunOutcome::Detached { submitted, live } => {
            println!(
                "detached: {submitted} jobs submitted, {live} queued or running; `trustx status {m}` follows them, \
                 `trustx run {m}` collects them (and the tables and report)",
                m = target.manifest.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    // Each node's line was printed when it finished (exec::progress).
    for n in record.nodes.iter().filter(|n| n.status == Status::Failed) {
        let job = n.job.as_ref().map(|j| format!(" (job {j})")).unwrap_or_default();
        println!("failed: {}{job} (its error is above)", n.name);
    }
    println!("results: {}", r.results_dir.display());
    println!("{}", record.counts.summary(record.seconds));
    // A skipped node (an input failed, or its Slurm job was cancelled) leaves the run
    // without its tables: never a success.
    if record.counts.failed > 0 || record.counts.skipped > 0 {
        return Ok(ExitCode::from(1));
    }
    if let Some(fail_on) = fail_on {
        use crate::commands::show::{FAIL_ON_EXIT, read, tripped};
        let models = tripped(&read(&r.results_dir)?, fail_on);
        if !models.is_empty() {
            eprintln!(
                "--fail-on {}: {} (exit {FAIL_ON_EXIT})",
                clap::ValueEnum::to_possible_value(&fail_on).map(|v| v.get_name().to_string()).unwrap_or_default(),
                models.join(", ")
            );
            return Ok(ExitCode::from(FAIL_ON_EXIT));
        }
    }
    Ok(ExitCode::SUCCESS)
}
