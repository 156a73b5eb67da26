//! `trustx plan`: the DAG by stage, each node's key, state and inputs; with `--executor
//! slurm` also the jobs a Slurm run would submit.

use super::bad_executor;
use crate::commands::target::{ManifestArgs, results_line};
use crate::manifest::ExecutorKind;
use crate::plan::build;
use crate::store::{NodeState, Store};
use std::process::ExitCode;

/// Prints the plan of `target` (as JSON with `json`).
pub(super) fn plan(target: ManifestArgs, json: bool, executor: Option<String>) -> anyhow::Result<ExitCode> {
    let executor = match executor.as_deref().map(|e| (e, ExecutorKind::parse(e))) {
        Some((e, None)) => return Ok(bad_executor(e)),
        Some((_, kind)) => kind,
        None => None,
    };
    let r = target.load()?;
    let plan = build(&r)?;
    let store = Store::new(&r.results_dir);
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", results_line(&r));
    let mut cached = 0;
    for stage in crate::plan::Stage::ALL {
        let nodes: Vec<_> = plan.nodes.iter().filter(|n| n.stage == stage).collect();
        if nodes.is_empty() {
            continue;
        }
        println!("{} ({} nodes)", stage.as_str(), nodes.len());
        for n in nodes {
            let state = match store.state(&n.key) {
                NodeState::Done(_) => {
                    cached += 1;
                    "cached".to_string()
                }
                NodeState::Missing => "to run".to_string(),
                NodeState::Corrupt(why) => format!("to run (corrupt: {why})"),
            };
            let inputs: Vec<&str> = n.inputs.iter().map(|&i| plan.nodes[i].name.as_str()).collect();
            println!(
                "  {}  {:<40} {:<10} <- {}",
                n.short_key(),
                n.name,
                state,
                if inputs.is_empty() { "-".into() } else { inputs.join(", ") }
            );
            if let Some(detail) = crate::plan::explain::describe(n) {
                println!("  {:16}  {detail}", "");
            }
        }
    }
    if !r.explainers.is_empty() {
        for m in r.models.iter().filter(|m| !m.explainable()) {
            println!("not explained: `{}` (predictions only, no weights)", m.name);
        }
    }
    println!(
        "{} nodes: {} cached, {} to run (results in {})",
        plan.nodes.len(),
        cached,
        plan.nodes.len() - cached,
        r.results_dir.display()
    );
    if executor.unwrap_or(r.manifest.experiment.executor) == ExecutorKind::Slurm {
        print!("{}", crate::exec::slurm::plan_view::describe(&plan, &store, &r.manifest.executor.slurm));
        for warning in crate::exec::slurm::idle_gpus::idle_gpu_warnings(&r) {
            eprintln!("{warning}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
