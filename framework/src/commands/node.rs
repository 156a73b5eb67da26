//! `trustx node run MANIFEST KEY`: computes exactly one node whose inputs are in the store,
//! through the executor's own one-node path ([`crate::exec::run_one`]): artifacts written
//! atomically into a folder of its own, `node.json` last, the folder moved into place. A
//! cluster job runs this; two processes racing for one node leave one complete copy.

use crate::exec::build_id::build_id;
use crate::exec::executor::Previous;
use crate::exec::progress::Progress;
use crate::exec::{NodeReport, run_one};
use crate::manifest;
use crate::plan::{Plan, build};
use crate::stages::{RunContext, run_node};
use crate::store::{NodeState, Store};
use anyhow::{Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What `trustx node run` was asked.
#[derive(Debug, Clone)]
pub struct NodeRunArgs {
    /// The manifest.
    pub manifest: PathBuf,
    /// The node's full key, a unique key prefix, or its name.
    pub node: String,
    /// The experiment's results folder (`results/<experiment>`), overriding the manifest's.
    pub results_dir: Option<PathBuf>,
    /// Refuse to run unless this binary's build is this one (a job's submitting build).
    pub expect_build: Option<String>,
    /// Compute it even when it is in the store.
    pub force: bool,
}

/// Finds a node by full key, unique key prefix (at least 8 digits) or name.
pub fn find(plan: &Plan, selector: &str) -> Result<usize> {
    if let Some(i) = plan.nodes.iter().position(|n| n.key == selector || n.name == selector) {
        return Ok(i);
    }
    let hits: Vec<usize> =
        (0..plan.nodes.len()).filter(|&i| selector.len() >= 8 && plan.nodes[i].key.starts_with(selector)).collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => bail!(
            "no node of this manifest has the key or name `{selector}` (`trustx plan` lists them); was the manifest edited since the job was submitted?"
        ),
        _ => bail!("`{selector}` is the start of {} keys; give more digits", hits.len()),
    }
}

/// Runs one node; the report says whether it ran, was already in the store, or failed.
pub fn run(args: &NodeRunArgs) -> Result<NodeReport> {
    if let Some(expected) = &args.expect_build
        && expected != build_id()
    {
        bail!(
            "refusing to run: this job was submitted by trustx build {expected}, but {} is build {} \
             (the binary changed while the job waited); run `trustx run` again to resubmit under this build",
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "trustx".into()),
            build_id()
        );
    }
    let mut r = manifest::load(&args.manifest)?;
    if let Some(dir) = &args.results_dir {
        r.results_dir = dir.clone();
    }
    let plan = build(&r)?;
    let i = find(&plan, &args.node)?;
    let store = Store::new(&r.results_dir);
    check_inputs(&plan, &store, i, &r.results_dir)?;
    let progress = Progress::new(&plan, false);
    let ctx = RunContext { base_dir: &r.base_dir, manifest: &r.file, plan: &plan, store: &store, progress: &progress };
    let force: BTreeSet<usize> = if args.force { BTreeSet::from([i]) } else { BTreeSet::new() };
    Ok(run_one(&plan, &store, i, force.contains(&i), &Previous::new(), &|i, w| run_node(&ctx, i, w)))
}

/// Fails unless every input of node `i` is done in the store.
fn check_inputs(plan: &Plan, store: &Store, i: usize, results_dir: &Path) -> Result<()> {
    let missing: Vec<&str> = plan.nodes[i]
        .inputs
        .iter()
        .filter(|&&k| !matches!(store.state(&plan.nodes[k].key), NodeState::Done(_)))
        .map(|&k| plan.nodes[k].name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: inputs not in the store at {}: {} (run them first, or use `trustx run`)",
            plan.nodes[i].name,
            results_dir.display(),
            missing.join(", ")
        );
    }
    Ok(())
}
