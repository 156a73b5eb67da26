//! `trustx gc MANIFEST [--dry-run]`: removes the node folders of an experiment's store that
//! no node of the manifest's current plan uses (results of settings since changed), under
//! the run lock so that no run writes meanwhile. `--dry-run` lists them and their size.

use crate::manifest::Resolved;
use crate::plan::build;
use crate::store::Store;
use crate::store::lock::RunLock;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What `gc` found (and removed, unless a dry run).
#[derive(Debug, Clone, PartialEq)]
pub struct Garbage {
    /// Node folders no current node uses.
    pub unused: Vec<PathBuf>,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Node folders kept (in the plan).
    pub kept: usize,
}

/// Finds the unused node folders of `r`'s store and removes them unless `dry_run`.
pub fn gc(r: &Resolved, dry_run: bool) -> Result<Garbage> {
    let plan = build(r)?;
    let store = Store::new(&r.results_dir);
    let nodes_dir = r.results_dir.join("nodes");
    let used: BTreeSet<PathBuf> = plan.nodes.iter().map(|n| store.dir(&n.key)).collect();
    if !nodes_dir.is_dir() {
        return Ok(Garbage { unused: vec![], bytes: 0, kept: 0 });
    }
    let _lock = if dry_run { None } else { Some(RunLock::acquire(&r.results_dir)?) };
    let mut unused = Vec::new();
    let mut kept = 0;
    for entry in std::fs::read_dir(&nodes_dir).with_context(|| format!("reading {}", nodes_dir.display()))? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if used.contains(&path) {
            kept += 1;
        } else {
            unused.push(path);
        }
    }
    unused.sort();
    let bytes = unused.iter().map(|p| size(p)).sum();
    if !dry_run {
        for p in &unused {
            std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(Garbage { unused, bytes, kept })
}

/// Bytes of the files under `path`.
fn size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { size(&p) } else { e.metadata().map(|m| m.len()).unwrap_or(0) }
        })
        .sum()
}
