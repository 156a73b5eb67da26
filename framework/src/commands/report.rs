//! `trustx report MANIFEST`: renders the report of a finished run again from the store alone
//! (no stage runs), with the manifest's templates as they are now. Useful after a cluster
//! run, or after editing a template.

use crate::manifest::Resolved;
use crate::plan::{Stage, build};
use crate::report::stored::render_node;
use crate::store::{NodeState, RunLock, Store, write_atomic};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Renders the report of `r`'s run into `out` (default: the results folder, beside
/// `run.json`) and returns the paths written.
pub fn run(r: &Resolved, out: Option<&Path>) -> Result<Vec<PathBuf>> {
    let _lock = RunLock::acquire(&r.results_dir)?;
    let plan = build(r)?;
    let store = Store::new(&r.results_dir);
    let i = plan.nodes.iter().position(|n| n.stage == Stage::Report).context("the plan has no report node")?;
    for &input in &plan.nodes[i].inputs {
        let n = &plan.nodes[input];
        if !matches!(store.state(&n.key), NodeState::Done(_)) {
            bail!(
                "node `{}` ({}) is not in the store {}: run `trustx run` on this manifest first",
                n.name,
                &n.key[..16],
                r.results_dir.join("nodes").display()
            );
        }
    }
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| r.results_dir.clone());
    let mut written = Vec::new();
    for (name, text) in render_node(&plan, &store, i, plan.nodes[i].place.templates.as_deref())? {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
