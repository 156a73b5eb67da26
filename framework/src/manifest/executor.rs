//! `[experiment] executor` and `[executor.slurm]`: which executor runs the nodes, and the
//! Slurm jobs' resources (defaults, then per-stage overrides).
//!
//! ```toml
//! [experiment]
//! executor = "slurm"            # or "local" (the default); `trustx run --executor` overrides
//!
//! [executor.slurm]              # every job
//! partition = "cpu"
//! time = "02:00:00"
//! cpus = 8
//! mem = "16G"
//!
//! [executor.slurm.stages.train] # the train jobs: on GPU nodes
//! partition = "gpu"
//! gpus = "1"
//! ```
//!
//! None of these settings enter a node's key: where a node ran does not change what it is.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

/// Which executor runs the nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Every node in this process, independent ones in parallel.
    #[default]
    Local,
    /// One Slurm job per node, chained by `afterok` dependencies, over a shared store.
    Slurm,
}

impl ExecutorKind {
    /// Parses `local` or `slurm`.
    pub fn parse(s: &str) -> Option<ExecutorKind> {
        match s {
            "local" => Some(ExecutorKind::Local),
            "slurm" => Some(ExecutorKind::Slurm),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm => "slurm",
        }
    }
}

/// `[executor]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    /// `[executor.slurm]`: the Slurm executor's settings.
    #[serde(default)]
    pub slurm: SlurmSpec,
}

/// `[executor.slurm]`: resources of every job, per-stage overrides, and how the run watches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSpec {
    /// Resources of every job (each unset one is left to the cluster's defaults).
    #[serde(flatten)]
    pub defaults: SlurmResources,
    /// `[executor.slurm.stages.<stage>]`: overrides for one stage's jobs (`train`, `explain`, …).
    #[serde(default)]
    pub stages: BTreeMap<String, SlurmResources>,
    /// Seconds between two looks at the queue while waiting (default 10).
    #[serde(default)]
    pub poll_seconds: Option<f64>,
}

/// What one job asks Slurm for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmResources {
    /// `--partition`.
    #[serde(default)]
    pub partition: Option<String>,
    /// `--account`.
    #[serde(default)]
    pub account: Option<String>,
    /// `--time` (e.g. `"01:30:00"`, `"2-00:00:00"`).
    #[serde(default)]
    pub time: Option<String>,
    /// `--cpus-per-task`.
    #[serde(default)]
    pub cpus: Option<NonZeroUsize>,
    /// `--mem` (e.g. `"16G"`).
    #[serde(default)]
    pub mem: Option<String>,
    /// `--gpus` (e.g. `1`, `"1"` or `"a100:1"`), for a stage on `backend = "cuda"`.
    #[serde(default, deserialize_with = "count_or_text")]
    pub gpus: Option<String>,
    /// Further `sbatch` arguments, each one word (e.g. `["--qos=long", "--constraint=avx512"]`).
    #[serde(default)]
    pub extra: Vec<String>,
}

/// A GPU request as written: a count (`gpus = 1`, or `1` from an environment override) or a
/// Slurm GPU specification (`"a100:1"`).
fn count_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum CountOrText {
        Count(u64),
        Text(String),
    }
    Ok(Option::<CountOrText>::deserialize(d)?.map(|v| match v {
        CountOrText::Count(n) => n.to_string(),
        CountOrText::Text(t) => t,
    }))
}

impl SlurmResources {
    /// `self` with every setting `over` sets replaced; `extra` arguments add up.
    pub fn overridden_by(&self, over: &SlurmResources) -> SlurmResources {
        SlurmResources {
            partition: over.partition.clone().or_else(|| self.partition.clone()),
            account: over.account.clone().or_else(|| self.account.clone()),
            time: over.time.clone().or_else(|| self.time.clone()),
            cpus: over.cpus.or(self.cpus),
            mem: over.mem.clone().or_else(|| self.mem.clone()),
            gpus: over.gpus.clone().or_else(|| self.gpus.clone()),
            extra: self.extra.iter().chain(&over.extra).cloned().collect(),
        }
    }

    /// The `sbatch` arguments, in a fixed order.
    pub fn sbatch_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, v: &Option<String>| {
            if let Some(v) = v {
                args.push(format!("--{flag}={v}"));
            }
        };
        push("partition", &self.partition);
        push("account", &self.account);
        push("time", &self.time);
        push("cpus-per-task", &self.cpus.map(|c| c.to_string()));
        push("mem", &self.mem);
        push("gpus", &self.gpus);
        args.extend(self.extra.iter().cloned());
        args
    }
}

impl SlurmSpec {
    /// The resources of a job of `stage`: the defaults with the stage's overrides.
    pub fn resources(&self, stage: &str) -> SlurmResources {
        match self.stages.get(stage) {
            Some(over) => self.defaults.overridden_by(over),
            None => self.defaults.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_overrides_the_defaults_and_adds_extra_arguments() {
        let spec: SlurmSpec = toml::from_str(
            r#"
            partition = "cpu"
            time = "01:00:00"
            cpus = 4
            extra = ["--qos=normal"]
            [stages.train]
            partition = "gpu"
            gpus = "1"
            extra = ["--constraint=a100"]
            "#,
        )
        .unwrap();
        assert_eq!(
            spec.resources("train").sbatch_args(),
            [
                "--partition=gpu",
                "--time=01:00:00",
                "--cpus-per-task=4",
                "--gpus=1",
                "--qos=normal",
                "--constraint=a100"
            ]
        );
        assert_eq!(
            spec.resources("explain").sbatch_args(),
            ["--partition=cpu", "--time=01:00:00", "--cpus-per-task=4", "--qos=normal"]
        );
        assert!(toml::from_str::<SlurmSpec>("partitoin = \"x\"").is_err());
        // A count or a specification.
        let gpus = |text: &str| toml::from_str::<SlurmSpec>(text).map(|s| s.defaults.gpus);
        assert_eq!(gpus("gpus = 2").unwrap().as_deref(), Some("2"));
        assert_eq!(gpus("gpus = \"a100:1\"").unwrap().as_deref(), Some("a100:1"));
        assert_eq!(gpus("cpus = 1").unwrap(), None);
        assert!(gpus("gpus = 1.5").is_err());
    }
}
