//! `trustx run`: lock the results folder, plan, execute (locally, or as Slurm jobs), publish
//! tables and report, and write `run.json`.

use crate::exec::executor::Previous;
use crate::exec::progress::Progress;
use crate::exec::slurm::{self, SlurmOutcome, submit::Submission};
use crate::exec::{RunCounts, RunRecord, Status, execute};
use crate::manifest::{ExecutorKind, Resolved};
use crate::plan::{Plan, Stage, build};
use crate::stages::aggregate::TABLES;
use crate::stages::{RunContext, run_node};
use crate::store::{NodeState, RunLock, Store, write_within};
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Override of the manifest's `jobs`.
    pub jobs: Option<usize>,
    /// Node names, stages or key prefixes to run again even when cached.
    pub force: Vec<String>,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
    /// Override of the manifest's `[experiment] executor`.
    pub executor: Option<ExecutorKind>,
    /// Slurm: return once the jobs are submitted.
    pub detach: bool,
}

/// How `trustx run` ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// Every node finished (or failed); the record is also in `run.json`.
    Finished(RunRecord),
    /// Slurm jobs were left running; a later `trustx run` collects them.
    Detached {
        /// Jobs submitted now.
        submitted: usize,
        /// Jobs of the run queued or running.
        live: usize,
    },
}

/// Runs a validated manifest with the executor the options or the manifest choose.
pub fn run(r: &Resolved, opts: &RunOptions) -> Result<RunOutcome> {
    match opts.executor.unwrap_or(r.manifest.experiment.executor) {
        ExecutorKind::Local => {
            if opts.detach {
                bail!("--detach needs the Slurm executor (`--executor slurm` or `[experiment] executor = \"slurm\"`)");
            }
            run_local(r, opts).map(RunOutcome::Finished)
        }
        ExecutorKind::Slurm => run_slurm(r, opts),
    }
}

/// Submits the missing nodes as Slurm jobs and (unless detached) waits, then publishes.
fn run_slurm(r: &Resolved, opts: &RunOptions) -> Result<RunOutcome> {
    let started = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if !opts.force.is_empty() {
        bail!(
            "--force is not supported with the Slurm executor; delete the nodes' folders (`trustx plan` shows their keys) and run again"
        );
    }
    slurm::shared::check_results(&r.results_dir)?;
    for warning in slurm::idle_gpus::idle_gpu_warnings(r) {
        eprintln!("{warning}");
    }
    let _lock = RunLock::acquire(&r.results_dir)?;
    let plan = build(r)?;
    let store = Store::new(&r.results_dir);
    let previous = previous_run(&r.results_dir, &store);
    let submission = Submission {
        plan: &plan,
        store: &store,
        results_dir: &r.results_dir,
        manifest: &r.file,
        spec: &r.manifest.executor.slurm,
    };
    let reports = match slurm::run(&submission, &previous, opts.detach, opts.progress)? {
        SlurmOutcome::Detached { submitted, live } => return Ok(RunOutcome::Detached { submitted, live }),
        SlurmOutcome::Ended { reports, .. } => reports,
    };
    let published = publish(&plan, &store, &r.results_dir);
    let record = write_record(r, reports, started, started_unix)?;
    published.map(|()| RunOutcome::Finished(record))
}

fn write_record(
    r: &Resolved,
    reports: Vec<crate::exec::NodeReport>,
    started: Instant,
    started_unix: u64,
) -> Result<RunRecord> {
    let record = RunRecord {
        experiment: r.manifest.experiment.name.clone(),
        manifest: r.file.display().to_string(),
        trustx_version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix,
        seconds: started.elapsed().as_secs_f64(),
        counts: RunCounts::of(&reports),
        nodes: reports,
    };
    let bytes = serde_json::to_vec_pretty(&record)?;
    // Every run's record is kept in runs/ (run.json is the last one).
    let history = r.results_dir.join("runs").join(format!("{started_unix}-{}.json", std::process::id()));
    let kept = write_within(&r.results_dir, &history, &bytes)
        .and_then(|()| write_within(&r.results_dir, &r.results_dir.join("run.json"), &bytes));
    if let Err(e) = kept {
        // The record could not be kept (a full disk, a read-only folder): its failures are
        // printed here rather than lost with it.
        let failed: Vec<String> = record
            .nodes
            .iter()
            .filter(|n| n.status == Status::Failed)
            .map(|n| format!("\n  {} failed: {}", n.name, n.error.as_deref().unwrap_or("?")))
            .collect();
        return Err(e.context(format!(
            "the run's record (run.json) could not be written; {} node(s) ran, {} failed{}",
            record.counts.run,
            failed.len(),
            failed.concat()
        )));
    }
    Ok(record)
}

/// Runs every node in this process; returns the run record (also written to `run.json`).
fn run_local(r: &Resolved, opts: &RunOptions) -> Result<RunRecord> {
    let started = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let _lock = RunLock::acquire(&r.results_dir)?;
    let plan = build(r)?;
    let store = Store::new(&r.results_dir);
    let mut force = BTreeSet::new();
    for selector in &opts.force {
        let hits = plan.select(selector);
        if hits.is_empty() {
            bail!(
                "--force {selector}: no node or stage of that name (stages: {}; `trustx plan` lists the nodes)",
                Stage::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        force.extend(hits);
    }
    let previous = previous_run(&r.results_dir, &store);
    let progress = Progress::new(&plan, opts.progress);
    let ctx = RunContext { base_dir: &r.base_dir, manifest: &r.file, plan: &plan, store: &store, progress: &progress };
    let jobs = opts.jobs.unwrap_or(r.jobs);
    let reports = execute(&plan, &store, jobs, &force, &previous, &progress, &|i, w| run_node(&ctx, i, w));
    // The record is written even when publishing fails, so no node's outcome is lost.
    let published = publish(&plan, &store, &r.results_dir);
    let record = write_record(r, reports, started, started_unix)?;
    published.map(|()| record)
}

/// Node name → (key, config) of the previous run, to say why a node runs again.
pub fn previous_run(results_dir: &Path, store: &Store) -> Previous {
    let Ok(bytes) = std::fs::read(results_dir.join("run.json")) else { return Previous::new() };
    let Ok(record) = serde_json::from_slice::<RunRecord>(&bytes) else { return Previous::new() };
    record
        .nodes
        .into_iter()
        .filter(|n| matches!(n.status, Status::Ran | Status::Cached))
        .map(|n| {
            let config = match store.state(&n.key) {
                NodeState::Done(rec) => rec.config,
                _ => serde_json::Value::Null,
            };
            (n.name, (n.key, config))
        })
        .collect()
}

/// Copies the aggregate tables to `tables/` and the report files next to `run.json`, then
/// removes what an earlier run published and this one did not (a format no longer asked for, a
/// report or table whose stage failed), so nothing stale sits beside new results.
fn publish(plan: &Plan, store: &Store, results_dir: &Path) -> Result<()> {
    let tables_dir = results_dir.join("tables");
    let mut published = BTreeSet::new();
    for node in &plan.nodes {
        let target = match node.stage {
            Stage::Aggregate => &tables_dir,
            Stage::Report => results_dir,
            _ => continue,
        };
        let NodeState::Done(record) = store.state(&node.key) else { continue };
        for name in record.artifacts.keys() {
            if node.stage == Stage::Aggregate && !is_table(name) {
                continue;
            }
            let bytes = store.read(&node.key, name)?;
            let path = target.join(name);
            write_within(results_dir, &path, &bytes).with_context(|| format!("publishing {name}"))?;
            published.insert(path);
        }
    }
    let stale = |dir: &Path, ours: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(ours) && !published.contains(p))
            .collect()
    };
    let report_file = |n: &str| matches!(n, "report.html" | "report.md" | "verdict.json");
    for path in stale(results_dir, &report_file).into_iter().chain(stale(&tables_dir, &is_table)) {
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!("removed {} (not produced by this run)", path.display()),
            Err(e) => tracing::warn!("could not remove the stale {}: {e}", path.display()),
        }
    }
    Ok(())
}

/// Whether an aggregate artifact is one of the published tables (`<table>.<format>`).
fn is_table(name: &str) -> bool {
    name.rsplit_once('.').map(|(stem, _)| TABLES.contains(&stem)).unwrap_or(false)
}
