//! What is known of each node of a plan: done, stale or missing in the store, and under the
//! Slurm executor its job: queued, waiting for its inputs, running, failed (exit status and
//! the end of its log) or cancelled because an input failed. `trustx status` prints it; the
//! Slurm executor's watcher follows it.

use super::cluster::QueueEntry;
use super::jobs::JobBook;
use super::script::JobSpec;
use crate::exec::executor::Previous;
use crate::plan::Plan;
use crate::store::{NodeState, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Lines of a failed job's log shown by `trustx status`.
pub const LOG_TAIL: usize = 8;

/// One node's state.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeView {
    /// In the store; `job` is the job that computed it, when the book knows it.
    Done {
        /// Seconds the computation took.
        seconds: f64,
        /// Its job.
        job: Option<String>,
    },
    /// Not in the store under its key; the previous run had it under another key.
    Stale(String),
    /// In the store but damaged (the reason).
    Corrupt(String),
    /// Not in the store, no job.
    Missing,
    /// Its job waits in the queue.
    Queued {
        /// Job id.
        job: String,
        /// Waiting for its inputs' jobs (`Dependency`), not for resources.
        for_inputs: bool,
    },
    /// Its job runs.
    Running {
        /// Job id.
        job: String,
    },
    /// Its job ended without the node in the store.
    Failed {
        /// Job id.
        job: String,
        /// The exit status (`1`, `cancelled`, or why it is unknown).
        exit: String,
        /// The job's log.
        log: PathBuf,
        /// Its last lines.
        tail: Vec<String>,
    },
    /// Slurm cancelled its job because an input's job failed.
    Skipped {
        /// Job id.
        job: String,
    },
}

impl NodeView {
    /// A short word: done, stale, corrupt, missing, queued, waiting, running, failed, skipped.
    pub fn word(&self) -> &'static str {
        match self {
            NodeView::Done { .. } => "done",
            NodeView::Stale(_) => "stale",
            NodeView::Corrupt(_) => "corrupt",
            NodeView::Missing => "missing",
            NodeView::Queued { for_inputs: true, .. } => "waiting",
            NodeView::Queued { .. } => "queued",
            NodeView::Running { .. } => "running",
            NodeView::Failed { .. } => "failed",
            NodeView::Skipped { .. } => "skipped",
        }
    }

    /// The job still has to run or is running.
    pub fn live(&self) -> bool {
        matches!(self, NodeView::Queued { .. } | NodeView::Running { .. })
    }

    /// The job id, if any.
    pub fn job(&self) -> Option<&str> {
        match self {
            NodeView::Done { job, .. } => job.as_deref(),
            NodeView::Queued { job, .. }
            | NodeView::Running { job }
            | NodeView::Failed { job, .. }
            | NodeView::Skipped { job } => Some(job),
            _ => None,
        }
    }

    /// The details after the word (job id, exit status, log).
    pub fn detail(&self) -> String {
        match self {
            NodeView::Done { seconds, job } => match job {
                Some(j) => format!("{seconds:.2} s (job {j})"),
                None => format!("{seconds:.2} s"),
            },
            NodeView::Stale(why) => why.clone(),
            NodeView::Corrupt(why) => why.clone(),
            NodeView::Missing => String::new(),
            NodeView::Queued { job, for_inputs: true } => format!("job {job}, for its inputs"),
            NodeView::Queued { job, .. } | NodeView::Running { job } => format!("job {job}"),
            NodeView::Failed { job, exit, log, .. } => format!("job {job}, exit {exit}, log {}", log.display()),
            NodeView::Skipped { job } => format!("job {job} cancelled by Slurm: an input's job failed"),
        }
    }
}

/// Every node's view. `book` and `queue` are `None` for a local run.
pub fn views(
    plan: &Plan,
    store: &Store,
    previous: &Previous,
    book: Option<&JobBook>,
    queue: Option<&BTreeMap<String, QueueEntry>>,
) -> Vec<NodeView> {
    plan.nodes
        .iter()
        .map(|node| {
            let entry = book.and_then(|b| b.jobs.get(&node.key));
            match store.state(&node.key) {
                NodeState::Done(record) => {
                    NodeView::Done { seconds: record.seconds, job: entry.map(|e| e.job.clone()) }
                }
                state => match (entry, queue) {
                    (Some(entry), Some(queue)) => job_view(store, &node.key, &entry.job, queue.get(&entry.job)),
                    _ => match state {
                        NodeState::Corrupt(why) => NodeView::Corrupt(why),
                        _ => match previous.get(&node.name) {
                            Some((key, config)) if *key != node.key => NodeView::Stale(if *config != node.config {
                                "config changed since the last run".into()
                            } else {
                                "an input changed since the last run".into()
                            }),
                            _ => NodeView::Missing,
                        },
                    },
                },
            }
        })
        .collect()
}

/// A node not in the store whose latest job is `job`.
fn job_view(store: &Store, key: &str, job: &str, entry: Option<&QueueEntry>) -> NodeView {
    let job = job.to_string();
    if let Some(q) = entry.filter(|q| q.live()) {
        return match q.state.as_str() {
            "PENDING" => NodeView::Queued { for_inputs: q.reason.starts_with("Dependency"), job },
            _ => NodeView::Running { job },
        };
    }
    let logs = store.logs_dir(key);
    let log = JobSpec::log_file(&logs, &job);
    let exit = std::fs::read_to_string(JobSpec::exit_file(&logs, &job)).ok().map(|s| s.trim().to_string());
    let exit = match (exit, entry) {
        (Some(code), _) if code == "0" => "0, but the node is not in the store".to_string(),
        (Some(code), _) => code,
        (None, Some(q)) if q.reason == "DependencyNeverSatisfied" => return NodeView::Skipped { job },
        (None, Some(q)) => format!("unknown (Slurm says {})", q.state),
        (None, None) => "unknown (the job ended without writing its status: killed, or its host failed)".to_string(),
    };
    NodeView::Failed { job, exit, tail: log_tail(&log), log }
}

/// The last [`LOG_TAIL`] lines of a log.
pub fn log_tail(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[lines.len().saturating_sub(LOG_TAIL)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::slurm::jobs::JobEntry;
    use crate::plan::{Node, Stage, Task};
    use crate::store::NodeRecord;

    fn node(i: usize, inputs: Vec<usize>) -> Node {
        Node {
            name: format!("aggregate{i}"),
            stage: Stage::Aggregate,
            task: Task::Aggregate,
            plugin: None,
            config: serde_json::json!({ "i": i }),
            inputs,
            seed: None,
            key: format!("{:016x}{}", i + 1, "0".repeat(48)),
            place: Default::default(),
        }
    }

    #[test]
    fn every_state_of_a_node_and_its_job() {
        let dir = std::env::temp_dir().join(format!("trustx-view-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        let plan = Plan { nodes: (0..7).map(|i| node(i, vec![])).collect() };
        let store = Store::new(&dir);
        let k = |i: usize| plan.nodes[i].key.clone();
        store.writer(&k(0)).unwrap().finish(NodeRecord::new(&k(0), "aggregate0", "aggregate")).unwrap();
        let mut book = JobBook::default();
        for (i, job) in [(0, "10"), (1, "11"), (2, "12"), (3, "13"), (4, "14"), (5, "15")] {
            let entry = JobEntry {
                job: job.into(),
                name: plan.nodes[i].name.clone(),
                stage: "aggregate".into(),
                submitted_unix: 0,
                build: "b".into(),
                earlier: vec![],
                collected: false,
                reason: None,
            };
            book.record(&k(i), entry);
        }
        let logs = store.logs_dir(&k(3));
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(JobSpec::exit_file(&logs, "13"), "1\n").unwrap();
        std::fs::write(JobSpec::log_file(&logs, "13"), "a\nerror: boom\n").unwrap();
        let queue = super::super::cluster::parse_queue(
            "11|PENDING|Dependency\n12|RUNNING|None\n13|FAILED|NonZeroExitCode\n14|PENDING|DependencyNeverSatisfied\n",
        );
        let previous =
            Previous::from([("aggregate6".to_string(), ("other".to_string(), serde_json::json!({ "i": 6 })))]);
        let v = views(&plan, &store, &previous, Some(&book), Some(&queue));
        let words: Vec<&str> = v.iter().map(NodeView::word).collect();
        assert_eq!(words, ["done", "waiting", "running", "failed", "skipped", "failed", "stale"]);
        assert_eq!(v[0].job(), Some("10"));
        let NodeView::Failed { exit, tail, .. } = &v[3] else { unreachable!() };
        assert_eq!((exit.as_str(), tail.last().map(String::as_str)), ("1", Some("error: boom")));
        assert!(v[5].detail().contains("killed"), "{}", v[5].detail());
        assert!(v[6].detail().contains("input changed"));
        std::fs::remove_dir_all(dir).ok();
    }
}
