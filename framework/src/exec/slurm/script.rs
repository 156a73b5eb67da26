//! The batch script of one node's job: resources as `#SBATCH` lines, then `trustx node run`
//! under the very binary (path and build) that submitted it.
//!
//! The script writes the command's exit status to `logs/slurm-<job>.exit` beside its log
//! (`cancelled` when Slurm stops it), which is how `trustx status` tells a failed job from a
//! cancelled one without Slurm's accounting database.

use crate::manifest::SlurmResources;
use std::path::{Path, PathBuf};

/// What a node's job runs and where it writes.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Node name (the job's name is `trustx:<name>`).
    pub name: String,
    /// Full node key.
    pub key: String,
    /// The trustx executable (absolute).
    pub binary: PathBuf,
    /// Its build ([`crate::exec::build_id::build_id`]).
    pub build: String,
    /// The manifest (absolute).
    pub manifest: PathBuf,
    /// `results/<experiment>` (absolute).
    pub results_dir: PathBuf,
    /// The node's `logs/` folder (absolute): the job's log and exit status go there.
    pub logs_dir: PathBuf,
    /// The folder the job starts in (where `trustx run` was started).
    pub workdir: PathBuf,
    /// What to ask Slurm for.
    pub resources: SlurmResources,
}

/// Single-quotes a word for bash.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn q(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

impl JobSpec {
    /// The log file of job `id` (`%j` in the script).
    pub fn log_file(logs_dir: &Path, id: &str) -> PathBuf {
        logs_dir.join(format!("slurm-{id}.out"))
    }

    /// The exit-status file of job `id`.
    pub fn exit_file(logs_dir: &Path, id: &str) -> PathBuf {
        logs_dir.join(format!("slurm-{id}.exit"))
    }

    /// The batch script.
    pub fn script(&self) -> String {
        let mut s = String::from("#!/bin/bash\n");
        let job_name = format!("trustx:{}", self.name).replace(char::is_whitespace, "_");
        s += &format!("#SBATCH --job-name={job_name}\n");
        s += &format!("#SBATCH --output={}\n", self.logs_dir.join("slurm-%j.out").display());
        s += &format!("#SBATCH --chdir={}\n", self.workdir.display());
        s += "#SBATCH --kill-on-invalid-dep=yes\n";
        for arg in self.resources.sbatch_args() {
            s += &format!("#SBATCH {arg}\n");
        }
        s += &format!(
            "# trustx node {name}\n# key {key}\n# binary {bin} (build {build})\n\
             set -u\n\
             bin={qbin}\n\
             build={qbuild}\n\
             status={qlogs}/slurm-\"$SLURM_JOB_ID\".exit\n\
             trap 'echo cancelled > \"$status\"; exit 143' TERM\n\
             if [ ! -x \"$bin\" ]; then\n  \
               echo \"trustx job: the binary $bin that submitted this job is gone; run trustx run again\" >&2\n  \
               echo 127 > \"$status\"; exit 127\n\
             fi\n\
             echo \"trustx job $SLURM_JOB_ID on $(hostname): node {name}\"\n\
             \"$bin\" node run --results-dir {qresults} --expect-build \"$build\" {qmanifest} {key} &\n\
             wait $!\n\
             rc=$?\n\
             echo \"$rc\" > \"$status\"\n\
             exit \"$rc\"\n",
            name = self.name,
            key = self.key,
            bin = self.binary.display(),
            build = self.build,
            qbin = q(&self.binary),
            qbuild = quote(&self.build),
            qlogs = q(&self.logs_dir),
            qresults = q(&self.results_dir),
            qmanifest = q(&self.manifest),
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_pins_the_binary_and_asks_for_the_resources() {
        let spec = JobSpec {
            name: "train/bert@seed1".into(),
            key: "ab".repeat(32),
            binary: "/shared/bin/trustx".into(),
            build: "0.1.0+0123456789abcdef".into(),
            manifest: "/shared/exp/m.toml".into(),
            results_dir: "/shared/results/m".into(),
            logs_dir: "/shared/results/m/nodes/abababababababab/logs".into(),
            workdir: "/shared/exp".into(),
            resources: SlurmResources { partition: Some("gpu".into()), gpus: Some("1".into()), ..Default::default() },
        };
        let s = spec.script();
        assert!(s.starts_with("#!/bin/bash\n#SBATCH --job-name=trustx:train/bert@seed1\n"), "{s}");
        assert!(s.contains("#SBATCH --partition=gpu\n#SBATCH --gpus=1\n"), "{s}");
        assert!(s.contains("#SBATCH --output=/shared/results/m/nodes/abababababababab/logs/slurm-%j.out\n"));
        assert!(s.contains("--expect-build \"$build\" '/shared/exp/m.toml' abab"), "{s}");
        assert!(s.contains("build='0.1.0+0123456789abcdef'"));
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
