//! The Slurm executor: every node that is not in the store goes out as one `sbatch` job
//! running `trustx node run` for that node, chained to its inputs' jobs by
//! `--dependency=afterok`, so the DAG runs on the cluster without trustx staying alive. The
//! store must be on a filesystem every host sees; `slurm-jobs.json` remembers the jobs, so a
//! later `trustx run` submits only what is neither done nor queued, `trustx status` shows
//! each node's job and `trustx cancel` stops them.
//!
//! The plan, keys and store are those of the local executor: a node computed by a job is a
//! cache hit for a local run and the reverse.

pub mod cluster;
pub mod idle_gpus;
pub mod jobs;
pub mod plan_view;
pub mod script;
pub mod shared;
pub mod submit;
pub mod view;
pub mod watch;

use super::executor::{NodeReport, Previous, Status};
use crate::plan::Plan;
use anyhow::Result;
use jobs::JobBook;
use std::collections::VecDeque;
use std::time::Duration;
use submit::Submission;
use view::{NodeView, views};
use watch::{WaitEnd, Watcher};

/// Default seconds between two looks at the queue.
pub const POLL_SECONDS: f64 = 10.0;

/// How a Slurm run ended for this process.
#[derive(Debug)]
pub enum SlurmOutcome {
    /// Jobs were left running (`--detach`, or detached at Ctrl-C).
    Detached {
        /// Jobs submitted now.
        submitted: usize,
        /// Jobs of the run queued or running.
        live: usize,
    },
    /// No job of the run is queued or running any more.
    Ended {
        /// Every node, as `run.json` records them.
        reports: Vec<NodeReport>,
        /// The user cancelled the jobs at Ctrl-C.
        cancelled: bool,
    },
}

/// Submits the missing nodes, then (unless `detach`) waits for the jobs and reports every node.
pub fn run(s: &Submission, previous: &Previous, detach: bool, lines: bool) -> Result<SlurmOutcome> {
    shared::check_results(s.results_dir)?;
    cluster::check()?;
    let mut book = JobBook::load(s.results_dir)?;
    let queue = cluster::queue()?;
    let before = views(s.plan, s.store, previous, Some(&book), Some(&queue));
    for (i, v) in before.iter().enumerate() {
        let entry = book.jobs.get(&s.plan.nodes[i].key);
        if let (true, Some(e)) = (v.live(), entry)
            && e.build != crate::exec::build_id::build_id()
        {
            eprintln!(
                "warning: job {} ({}) was submitted by trustx build {}; it will refuse to run under this one. \
                 `trustx cancel` then `trustx run` resubmits it",
                e.job, e.name, e.build
            );
        }
    }
    let reasons: Vec<String> = before.iter().map(reason).collect();
    // Jobs that can never run (an input's job failed) go before their nodes are resubmitted.
    let doomed: Vec<String> = before
        .iter()
        .filter_map(|v| v.job())
        .filter(|job| queue.get(*job).is_some_and(|q| q.doomed()))
        .map(str::to_string)
        .collect();
    cluster::cancel(&doomed)?;
    // What went wrong since the last look is reported before it goes out again.
    for (node, view) in s.plan.nodes.iter().zip(&before) {
        if let NodeView::Failed { .. } | NodeView::Skipped { .. } = view
            && book.jobs.get(&node.key).is_some_and(|e| !e.collected)
        {
            println!("{}", watch::line(&node.name, view));
        }
    }
    let submitted = s.submit(&before, &mut book, &reasons)?;
    let live = before.iter().filter(|v| v.live()).count();
    let done = before.iter().filter(|v| matches!(v, NodeView::Done { .. })).count();
    println!(
        "submitted {} jobs to Slurm ({} already queued or running, {} nodes in the store)",
        submitted.len(),
        live,
        done
    );
    if detach {
        for &i in &submitted {
            let node = &s.plan.nodes[i];
            println!("queued  {:<40} job {}", node.name, book.jobs[&node.key].job);
        }
        return Ok(SlurmOutcome::Detached { submitted: submitted.len(), live: live + submitted.len() });
    }
    let poll = Duration::from_secs_f64(s.spec.poll_seconds.unwrap_or(POLL_SECONDS));
    let end = Watcher { plan: s.plan, store: s.store, book: &book, poll, lines }.wait()?;
    if end == WaitEnd::Detached {
        return Ok(SlurmOutcome::Detached { submitted: submitted.len(), live: live + submitted.len() });
    }
    let queue = cluster::queue()?;
    let after = views(s.plan, s.store, previous, Some(&book), Some(&queue));
    let reports = collect(s.plan, &after, &mut book);
    book.save(s.results_dir)?;
    Ok(SlurmOutcome::Ended { reports, cancelled: end == WaitEnd::Cancelled })
}

/// Why a node is submitted.
fn reason(view: &NodeView) -> String {
    match view {
        NodeView::Stale(why) => why.trim_end_matches(" since the last run").to_string(),
        NodeView::Corrupt(why) => format!("artifact corrupted: {why}"),
        NodeView::Failed { job, exit, .. } => format!("job {job} failed (exit {exit})"),
        NodeView::Skipped { job } => format!("job {job} was cancelled: an input failed"),
        _ => "new".to_string(),
    }
}

/// The nodes' reports once no job runs; marks the reported jobs collected.
pub fn collect(plan: &Plan, views: &[NodeView], book: &mut JobBook) -> Vec<NodeReport> {
    let failed: Vec<bool> = views.iter().map(|v| matches!(v, NodeView::Failed { .. })).collect();
    plan.nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let entry = book.jobs.get_mut(&node.key);
            let mut report = NodeReport {
                name: node.name.clone(),
                stage: node.stage.as_str().into(),
                key: node.key.clone(),
                status: Status::Cached,
                reason: None,
                seconds: 0.0,
                error: None,
                job: views[i].job().map(str::to_string),
            };
            match &views[i] {
                NodeView::Done { seconds, .. } => {
                    report.seconds = *seconds;
                    match entry {
                        Some(e) if !e.collected => {
                            report.status = Status::Ran;
                            report.reason = e.reason.clone();
                            e.collected = true;
                        }
                        _ => report.job = None,
                    }
                }
                NodeView::Failed { job, exit, log, tail } => {
                    report.status = Status::Failed;
                    let last = tail.iter().rev().find(|l| !l.trim().is_empty()).cloned().unwrap_or_default();
                    report.error = Some(format!("job {job} exit {exit}; log {}: {last}", log.display()));
                    if let Some(e) = entry {
                        e.collected = true;
                    }
                }
                _ => {
                    report.status = Status::Skipped;
                    report.error = Some(match failed_ancestor(plan, &failed, i) {
                        Some(k) => format!("input {} failed", plan.nodes[k].name),
                        None => "not run (its job was cancelled or never submitted)".to_string(),
                    });
                    if let Some(e) = entry {
                        e.collected = true;
                    }
                }
            }
            report
        })
        .collect()
}

/// The nearest failed node among the ancestors of `i`.
fn failed_ancestor(plan: &Plan, failed: &[bool], i: usize) -> Option<usize> {
    let mut seen = vec![false; plan.nodes.len()];
    let mut queue: VecDeque<usize> = plan.nodes[i].inputs.iter().copied().collect();
    while let Some(k) = queue.pop_front() {
        if std::mem::replace(&mut seen[k], true) {
            continue;
        }
        if failed[k] {
            return Some(k);
        }
        queue.extend(plan.nodes[k].inputs.iter().copied());
    }
    None
}
