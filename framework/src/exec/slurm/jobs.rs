//! `results/<experiment>/slurm-jobs.json`: the job submitted for each node key, so that a
//! later `trustx run`, `trustx status` or `trustx cancel` finds the run's jobs.

use crate::store::write_within;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name, in the experiment's results folder.
pub const FILE: &str = "slurm-jobs.json";

/// The latest job of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntry {
    /// Slurm job id.
    pub job: String,
    /// Node name.
    pub name: String,
    /// Stage.
    pub stage: String,
    /// Seconds since the Unix epoch at submission.
    pub submitted_unix: u64,
    /// The trustx build the job runs ([`crate::exec::build_id::build_id`]).
    pub build: String,
    /// Earlier jobs of the same node (failed, cancelled), oldest first.
    #[serde(default)]
    pub earlier: Vec<String>,
    /// Whether a `run.json` has reported the job's outcome already.
    #[serde(default)]
    pub collected: bool,
    /// Why the node was submitted: `new`, `config changed`, `input changed`, `failed before`, ….
    #[serde(default)]
    pub reason: Option<String>,
}

/// Every node's latest job, by full node key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobBook {
    /// By node key.
    pub jobs: BTreeMap<String, JobEntry>,
}

impl JobBook {
    /// The book's path for `results_dir`.
    pub fn path(results_dir: &Path) -> PathBuf {
        results_dir.join(FILE)
    }

    /// Reads the book (empty when there is none).
    pub fn load(results_dir: &Path) -> Result<JobBook> {
        let path = Self::path(results_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!("{} does not parse; remove it if no jobs of this run are queued", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobBook::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the book atomically.
    pub fn save(&self, results_dir: &Path) -> Result<()> {
        write_within(results_dir, &Self::path(results_dir), &serde_json::to_vec_pretty(self)?)
    }

    /// Records a new job for a node, keeping the earlier one's id.
    pub fn record(&mut self, key: &str, mut entry: JobEntry) {
        if let Some(old) = self.jobs.remove(key) {
            entry.earlier = old.earlier;
            entry.earlier.push(old.job);
        }
        self.jobs.insert(key.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resubmission_keeps_the_earlier_job_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("trustx-jobbook-{}", std::process::id()));
        let entry = |job: &str| JobEntry {
            job: job.into(),
            name: "train/a@seed1".into(),
            stage: "train".into(),
            submitted_unix: 1,
            build: "0.1.0+x".into(),
            earlier: vec![],
            collected: false,
            reason: None,
        };
        let mut book = JobBook::load(&dir).unwrap();
        book.record("k", entry("10"));
        book.record("k", entry("12"));
        book.save(&dir).unwrap();
        let back = JobBook::load(&dir).unwrap();
        assert_eq!(back.jobs["k"].job, "12");
        assert_eq!(back.jobs["k"].earlier, vec!["10".to_string()]);
        std::fs::remove_dir_all(dir).ok();
    }
}
