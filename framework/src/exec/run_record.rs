//! `run.json`: counts, every node with its key, stage, status, reason and seconds.

use super::executor::{NodeReport, Status};
use serde::{Deserialize, Serialize};

/// Node counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Nodes computed in this run.
    pub run: usize,
    /// Nodes found in the store.
    pub cached: usize,
    /// Nodes that failed.
    pub failed: usize,
    /// Nodes not run because an input failed.
    pub skipped: usize,
}

/// The whole `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// Experiment name.
    pub experiment: String,
    /// The manifest file.
    pub manifest: String,
    /// trustx version.
    pub trustx_version: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Counts.
    pub counts: RunCounts,
    /// Every node.
    pub nodes: Vec<NodeReport>,
}

impl RunCounts {
    /// Counts the statuses of `nodes`.
    pub fn of(nodes: &[NodeReport]) -> Self {
        let mut c = RunCounts::default();
        for n in nodes {
            match n.status {
                Status::Ran => c.run += 1,
                Status::Cached => c.cached += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped => c.skipped += 1,
            }
        }
        c
    }

    /// The one-line summary printed last: `trustx: 12 nodes: 5 run, 7 cached, 0 failed`.
    pub fn summary(&self, seconds: f64) -> String {
        let total = self.run + self.cached + self.failed + self.skipped;
        let mut s = format!("trustx: {total} nodes: {} run, {} cached, {} failed", self.run, self.cached, self.failed);
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped (an input failed)", self.skipped));
        }
        s.push_str(&format!(" ({seconds:.1} s)"));
        s
    }
}
