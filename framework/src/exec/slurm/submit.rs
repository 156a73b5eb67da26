//! Submitting a plan: one job per node that is neither in the store nor queued or running,
//! each depending (`afterok`) on the jobs of its inputs that are not in the store yet.

use super::cluster;
use super::jobs::{JobBook, JobEntry};
use super::script::JobSpec;
use super::shared::absolute;
use super::view::NodeView;
use crate::exec::build_id::build_id;
use crate::manifest::SlurmSpec;
use crate::plan::Plan;
use crate::store::{Store, write_atomic};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the jobs run and what they run.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The store.
    pub store: &'a Store,
    /// `results/<experiment>`.
    pub results_dir: &'a Path,
    /// The manifest file.
    pub manifest: &'a Path,
    /// `[executor.slurm]`.
    pub spec: &'a SlurmSpec,
}

/// One job to submit.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// Node index.
    pub node: usize,
    /// The sbatch arguments of its resources.
    pub resources: Vec<String>,
    /// Inputs whose jobs it waits for (node indices).
    pub after: Vec<usize>,
}

/// The jobs a submission makes, in dependency order: every node whose view is missing, stale,
/// corrupt, failed or skipped. Its `after` lists the inputs that are not done.
pub fn planned_jobs(plan: &Plan, views: &[NodeView], spec: &SlurmSpec) -> Vec<PlannedJob> {
    order(plan)
        .into_iter()
        .filter(|&i| !matches!(views[i], NodeView::Done { .. }) && !views[i].live())
        .map(|i| {
            let node = &plan.nodes[i];
            PlannedJob {
                node: i,
                resources: spec.resources(node.stage.as_str()).sbatch_args(),
                after: node.inputs.iter().copied().filter(|&k| !matches!(views[k], NodeView::Done { .. })).collect(),
            }
        })
        .collect()
}

/// The nodes in an order where every node comes after its inputs.
pub fn order(plan: &Plan) -> Vec<usize> {
    let n = plan.nodes.len();
    let mut placed = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let before = out.len();
        for i in 0..n {
            if !placed[i] && plan.nodes[i].inputs.iter().all(|&k| placed[k]) {
                placed[i] = true;
                out.push(i);
            }
        }
        if out.len() == before {
            break; // a cycle: the plan never makes one
        }
    }
    out
}

impl Submission<'_> {
    /// Submits the planned jobs; live jobs of inputs (from an earlier submission) are waited
    /// for too. Records every job in the book as it goes. Returns the submitted node indices.
    pub fn submit(&self, views: &[NodeView], book: &mut JobBook, reasons: &[String]) -> Result<Vec<usize>> {
        let binary = std::env::current_exe().context("finding the trustx executable")?;
        let workdir = std::env::current_dir().context("reading the current folder")?;
        let manifest = absolute(self.manifest);
        let results_dir = absolute(self.results_dir);
        let mut job_of: Vec<Option<String>> =
            views.iter().map(|v| v.live().then(|| v.job().map(str::to_string)).flatten()).collect();
        let mut submitted = Vec::new();
        for planned in planned_jobs(self.plan, views, self.spec) {
            let node = &self.plan.nodes[planned.node];
            let logs_dir = absolute(&self.store.logs_dir(&node.key));
            std::fs::create_dir_all(&logs_dir).with_context(|| format!("creating {}", logs_dir.display()))?;
            let spec = JobSpec {
                name: node.name.clone(),
                key: node.key.clone(),
                binary: binary.clone(),
                build: build_id().to_string(),
                manifest: manifest.clone(),
                results_dir: results_dir.clone(),
                logs_dir: logs_dir.clone(),
                workdir: workdir.clone(),
                resources: self.spec.resources(node.stage.as_str()),
            };
            let script = logs_dir.join("job.sh");
            write_atomic(&script, spec.script().as_bytes())?;
            let after: Vec<String> = planned.after.iter().filter_map(|&k| job_of[k].clone()).collect();
            let mut args = Vec::new();
            if !after.is_empty() {
                args.push(format!("--dependency=afterok:{}", after.join(":")));
            }
            let job = cluster::submit(&script, &args).with_context(|| format!("submitting {}", node.name))?;
            job_of[planned.node] = Some(job.clone());
            book.record(
                &node.key,
                JobEntry {
                    job,
                    name: node.name.clone(),
                    stage: node.stage.as_str().to_string(),
                    submitted_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                    build: build_id().to_string(),
                    earlier: Vec::new(),
                    collected: false,
                    reason: reasons.get(planned.node).cloned(),
                },
            );
            book.save(self.results_dir)?;
            submitted.push(planned.node);
        }
        Ok(submitted)
    }
}

/// The path of a node's job script.
pub fn script_path(store: &Store, key: &str) -> PathBuf {
    store.logs_dir(key).join("job.sh")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Node, Stage, Task};

    #[test]
    fn only_what_is_missing_goes_out_after_the_inputs_not_done() {
        let node = |i: usize, stage: Stage, inputs: Vec<usize>| Node {
            name: format!("n{i}"),
            stage,
            task: Task::Aggregate,
            plugin: None,
            config: serde_json::json!(i),
            inputs,
            seed: None,
            key: format!("{i:064x}"),
            place: Default::default(),
        };
        let plan = Plan {
            nodes: vec![
                node(3, Stage::Report, vec![1, 2, 3]),
                node(0, Stage::Data, vec![]),
                node(1, Stage::Train, vec![1]),
                node(2, Stage::Train, vec![1]),
            ],
        };
        let views = vec![
            NodeView::Missing,
            NodeView::Done { seconds: 1.0, job: None },
            NodeView::Running { job: "7".into() },
            NodeView::Failed { job: "8".into(), exit: "1".into(), log: PathBuf::new(), tail: vec![] },
        ];
        let spec: SlurmSpec = toml::from_str("cpus = 2\n[stages.train]\ngpus = \"1\"").unwrap();
        let jobs = planned_jobs(&plan, &views, &spec);
        let summary: Vec<(usize, Vec<usize>)> = jobs.iter().map(|j| (j.node, j.after.clone())).collect();
        assert_eq!(summary, vec![(3, vec![]), (0, vec![2, 3])]);
        assert_eq!(jobs[0].resources, ["--cpus-per-task=2", "--gpus=1"]);
        assert_eq!(order(&plan), vec![1, 2, 3, 0]);
    }
}
