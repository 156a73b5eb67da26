//! `trustx plan --executor slurm`: the jobs a run would submit, with their resources and the
//! jobs each waits for, computed from the plan and the store alone (no cluster needed).

use super::submit::planned_jobs;
use super::view::NodeView;
use crate::manifest::SlurmSpec;
use crate::plan::Plan;
use crate::store::{NodeState, Store};

/// The jobs of a Slurm run of `plan`, one line each, then a count.
pub fn describe(plan: &Plan, store: &Store, spec: &SlurmSpec) -> String {
    let views: Vec<NodeView> = plan
        .nodes
        .iter()
        .map(|n| match store.state(&n.key) {
            NodeState::Done(r) => NodeView::Done { seconds: r.seconds, job: None },
            _ => NodeView::Missing,
        })
        .collect();
    let jobs = planned_jobs(plan, &views, spec);
    let mut out = String::from("Slurm jobs (one per node not in the store; `afterok` on the inputs' jobs):\n");
    let width = jobs.iter().map(|j| plan.nodes[j.node].name.len()).max().unwrap_or(0);
    for job in &jobs {
        let node = &plan.nodes[job.node];
        let resources =
            if job.resources.is_empty() { "(cluster defaults)".to_string() } else { job.resources.join(" ") };
        out += &format!("  {:<width$}  {}  {resources}\n", node.name, node.short_key());
        if !job.after.is_empty() {
            let after: Vec<&str> = job.after.iter().map(|&k| plan.nodes[k].name.as_str()).collect();
            out += &format!("  {:<width$}  {:16}  after: {}\n", "", "", after.join(", "));
        }
    }
    out += &format!("{} jobs, {} nodes already in the store\n", jobs.len(), plan.nodes.len() - jobs.len());
    out
}
