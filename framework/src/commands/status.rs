//! `trustx status MANIFEST`: each node of the plan with its state (done, stale, missing; under
//! Slurm also queued, waiting, running, failed with its exit status and the end of its log)
//! and `trustx cancel MANIFEST`: cancels the run's queued and running Slurm jobs.

use crate::exec::slurm::cluster;
use crate::exec::slurm::jobs::JobBook;
use crate::exec::slurm::view::{NodeView, views};
use crate::manifest::Resolved;
use crate::plan::build;
use crate::runner::previous_run;
use crate::store::Store;
use anyhow::Result;
use std::collections::BTreeMap;

/// The status of every node, as printed, and whether any node failed.
pub fn status(r: &Resolved) -> Result<(String, bool)> {
    let plan = build(r)?;
    let store = Store::new(&r.results_dir);
    let previous = previous_run(&r.results_dir, &store);
    let book = JobBook::load(&r.results_dir)?;
    let mut out = format!("results: {}\n", r.results_dir.display());
    let queue = if book.jobs.is_empty() {
        None
    } else {
        match cluster::queue() {
            Ok(q) => Some(q),
            Err(e) => {
                out += &format!("(Slurm does not answer, job states unknown: {e:#})\n");
                None
            }
        }
    };
    let all = views(&plan, &store, &previous, queue.as_ref().map(|_| &book), queue.as_ref());
    let width = plan.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (node, view) in plan.nodes.iter().zip(&all) {
        *counts.entry(view.word()).or_default() += 1;
        out += &format!("{:<8} {:<width$}  {}  {}\n", view.word(), node.name, node.short_key(), view.detail());
        if let NodeView::Failed { tail, .. } = view {
            for line in tail {
                out += &format!("         | {line}\n");
            }
        }
    }
    let order = ["done", "running", "queued", "waiting", "failed", "skipped", "stale", "corrupt", "missing"];
    let summary: Vec<String> = order.iter().filter_map(|w| counts.get(w).map(|n| format!("{n} {w}"))).collect();
    out += &format!("{} nodes: {}\n", plan.nodes.len(), summary.join(", "));
    Ok((out, counts.contains_key("failed")))
}

/// Cancels the run's queued and running jobs; returns their ids.
pub fn cancel(r: &Resolved) -> Result<Vec<String>> {
    let book = JobBook::load(&r.results_dir)?;
    if book.jobs.is_empty() {
        return Ok(Vec::new());
    }
    let queue = cluster::queue()?;
    let live: Vec<String> =
        book.jobs.values().filter(|e| queue.get(&e.job).is_some_and(|q| q.live())).map(|e| e.job.clone()).collect();
    cluster::cancel(&live)?;
    Ok(live)
}
