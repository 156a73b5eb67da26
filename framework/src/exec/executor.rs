//! Scheduling nodes over worker threads, with caching, failure propagation and reasons.
//!
//! Each worker runs its nodes inside a rayon pool of its own, as wide as the global one. A
//! node's parallel work (gemm, the packed forward, explanations) then competes with the other
//! running node's for the cores through the OS scheduler. In the one global pool, a training
//! node's small parallel steps queued behind an explain node's long parallel loop: in
//! `experiments/minilm-sst2.toml` the student's first distillation epoch took 549 s beside the
//! explain nodes against 70 s for each later one.

use super::progress::Progress;
use crate::plan::Plan;
use crate::store::{NodeRecord, NodeState, NodeWriter, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// How a node ended in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Computed now.
    Ran,
    /// Found done in the store.
    Cached,
    /// Its computation failed.
    Failed,
    /// Not run because an input failed.
    Skipped,
}

/// One node's line in `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeReport {
    /// Node name.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// Full key.
    pub key: String,
    /// Outcome.
    pub status: Status,
    /// Why it ran: `new`, `config changed`, `input changed`, `forced`, `artifact corrupted: …`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Seconds of computation (for cached nodes, the seconds recorded when computed).
    pub seconds: f64,
    /// The error, for failed and skipped nodes.
    #[serde(default)]
    pub error: Option<String>,
    /// The cluster job that computed (or failed) it, under the Slurm executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// What the previous run knew: node name → (key, config), to explain why a node runs.
pub type Previous = BTreeMap<String, (String, serde_json::Value)>;

struct Sched {
    ready: VecDeque<usize>,
    waiting: Vec<usize>,
    failed: Vec<Option<String>>,
    finished: usize,
    reports: Vec<Option<NodeReport>>,
}

/// Runs the plan. `run_node(i, writer)` computes node `i` into `writer`; its record is then
/// finished by the executor. Nodes in `force` run even when cached.
pub fn execute(
    plan: &Plan,
    store: &Store,
    jobs: usize,
    force: &BTreeSet<usize>,
    previous: &Previous,
    progress: &Progress,
    run_node: &(dyn Fn(usize, &mut NodeWriter) -> anyhow::Result<()> + Sync),
) -> Vec<NodeReport> {
    let n = plan.nodes.len();
    let waiting: Vec<usize> = plan.nodes.iter().map(|node| node.inputs.len()).collect();
    let ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let sched = Mutex::new(Sched { ready, waiting, failed: vec![None; n], finished: 0, reports: vec![None; n] });
    let wake = Condvar::new();
    let dependents: Vec<Vec<usize>> = (0..n).map(|i| plan.dependents(i)).collect();

    let threads = rayon::current_num_threads();
    std::thread::scope(|scope| {
        for worker in 0..jobs.max(1).min(n.max(1)) {
            let sched = &sched;
            let wake = &wake;
            let dependents = &dependents;
            scope.spawn(move || {
                let pool = worker_pool(worker, threads);
                loop {
                    let (i, failed_input) = {
                        let mut s = sched.lock().unwrap_or_else(|p| p.into_inner());
                        loop {
                            if let Some(i) = s.ready.pop_front() {
                                let failed_input = plan.nodes[i].inputs.iter().find_map(|&k| s.failed[k].clone());
                                break (i, failed_input);
                            }
                            if s.finished == n {
                                return;
                            }
                            s = wake.wait(s).unwrap_or_else(|p| p.into_inner());
                        }
                    };
                    let node = &plan.nodes[i];
                    progress.start(node.stage, &node.name);
                    let report = match failed_input {
                        Some(upstream) => NodeReport {
                            name: node.name.clone(),
                            stage: node.stage.as_str().into(),
                            key: node.key.clone(),
                            status: Status::Skipped,
                            reason: None,
                            seconds: 0.0,
                            error: Some(format!("input {upstream} failed")),
                            job: None,
                        },
                        None => {
                            let run = || run_one(plan, store, i, force.contains(&i), previous, run_node);
                            match &pool {
                                Some(pool) => pool.install(run),
                                None => run(),
                            }
                        }
                    };
                    progress.finish(node.stage, &report);
                    let mut s = sched.lock().unwrap_or_else(|p| p.into_inner());
                    if matches!(report.status, Status::Failed | Status::Skipped) {
                        let origin = match report.status {
                            Status::Failed => node.name.clone(),
                            _ => report
                                .error
                                .clone()
                                .unwrap_or_default()
                                .trim_start_matches("input ")
                                .trim_end_matches(" failed")
                                .to_string(),
                        };
                        s.failed[i] = Some(origin);
                    }
                    s.reports[i] = Some(report);
                    s.finished += 1;
                    for &d in &dependents[i] {
                        s.waiting[d] -= 1;
                        if s.waiting[d] == 0 {
                            s.ready.push_back(d);
                        }
                    }
                    wake.notify_all();
                }
            });
        }
    });
    let s = sched.into_inner().unwrap_or_else(|p| p.into_inner());
    s.reports.into_iter().flatten().collect()
}

/// The rayon pool of worker `worker`, `threads` wide; `None` (its nodes then use the global
/// pool) when the OS refuses the threads.
fn worker_pool(worker: usize, threads: usize) -> Option<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |t| format!("trustx-job{worker}-{t}"))
        .build()
        .map_err(|e| tracing::warn!("worker {worker}: no thread pool of its own ({e}); using the global one"))
        .ok()
}

/// Runs (or finds) one node whose inputs are all done: the one path by which a node is
/// computed, by the local executor's workers and by `trustx node run` (a cluster job).
/// Panics in `run_node` become a failed node.
pub fn run_one(
    plan: &Plan,
    store: &Store,
    i: usize,
    forced: bool,
    previous: &Previous,
    run_node: &(dyn Fn(usize, &mut NodeWriter) -> anyhow::Result<()> + Sync),
) -> NodeReport {
    let node = &plan.nodes[i];
    let mut report = NodeReport {
        name: node.name.clone(),
        stage: node.stage.as_str().into(),
        key: node.key.clone(),
        status: Status::Ran,
        reason: None,
        seconds: 0.0,
        error: None,
        job: None,
    };
    let reason = match store.state(&node.key) {
        NodeState::Done(record) if !forced => {
            report.status = Status::Cached;
            report.seconds = record.seconds;
            return report;
        }
        NodeState::Done(_) => "forced".to_string(),
        NodeState::Corrupt(why) => format!("artifact corrupted: {why}"),
        NodeState::Missing => match previous.get(&node.name) {
            None => "new".to_string(),
            Some((key, _)) if *key == node.key => "new".to_string(),
            Some((_, config)) if *config != node.config => "config changed".to_string(),
            Some(_) => "input changed".to_string(),
        },
    };
    report.reason = Some(reason);
    let started = Instant::now();
    let result = store.writer(&node.key).and_then(|mut writer| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_node(i, &mut writer)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                Err(anyhow::anyhow!("internal error (please report): {msg}"))
            });
        outcome?;
        let mut record = NodeRecord::new(&node.key, &node.name, node.stage.as_str());
        record.plugin = node.plugin.clone();
        record.config = node.config.clone();
        record.inputs = node.inputs.iter().map(|&k| plan.nodes[k].key.clone()).collect();
        record.seed = node.seed;
        record.seconds = started.elapsed().as_secs_f64();
        writer.finish(record)
    });
    report.seconds = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        report.status = Status::Failed;
        report.error = Some(format!("{e:#}"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Node, Stage, Task};

    fn node(i: usize, inputs: Vec<usize>) -> Node {
        Node {
            name: format!("aggregate{i}"),
            stage: Stage::Aggregate,
            task: Task::Aggregate,
            plugin: None,
            config: serde_json::json!({ "i": i }),
            inputs,
            seed: None,
            // Distinct in the first 16 digits: the store's folder name.
            key: format!("{:016x}{}", i + 1, "0".repeat(48)),
            place: Default::default(),
        }
    }

    #[test]
    fn every_node_runs_inside_its_workers_own_pool() {
        let dir = std::env::temp_dir().join(format!("trustx-executor-pools-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        let plan = Plan { nodes: vec![node(0, vec![]), node(1, vec![]), node(2, vec![0, 1])] };
        let store = Store::new(&dir);
        let seen = Mutex::new(Vec::new());
        let run = |i: usize, _: &mut NodeWriter| -> anyhow::Result<()> {
            // The node's own thread is a worker of a pool named after its executor worker,
            // and a parallel loop in it runs on that pool's threads only.
            let own = std::thread::current().name().unwrap_or_default().to_string();
            let pool_of = |name: &str| name.rsplit_once('-').map(|(p, _)| p.to_string()).unwrap_or_default();
            let inner: Vec<String> = {
                use rayon::prelude::*;
                (0..64).into_par_iter().map(|_| pool_of(std::thread::current().name().unwrap_or_default())).collect()
            };
            seen.lock().unwrap().push((i, rayon::current_thread_index().is_some(), own, inner));
            Ok(())
        };
        let reports = execute(&plan, &store, 2, &BTreeSet::new(), &Previous::new(), &Progress::new(&plan, false), &run);
        assert!(reports.iter().all(|r| r.status == Status::Ran), "{reports:?}");
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 3);
        for (i, in_pool, own, inner) in &seen {
            assert!(*in_pool, "node {i} ran outside a rayon pool");
            assert!(own.starts_with("trustx-job"), "node {i} ran on thread {own:?}");
            let own_pool = own.rsplit_once('-').unwrap().0;
            assert!(inner.iter().all(|p| p == own_pool), "node {i} ({own}) used other pools: {inner:?}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
