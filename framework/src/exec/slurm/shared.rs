//! The results folder of a Slurm run must be on a filesystem every cluster node sees (NFS,
//! Lustre, GPFS): a job reads its inputs from the store and writes its node there. A folder
//! that is private to each host is refused before anything is submitted.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Folders that are each host's own on a cluster.
pub const NODE_LOCAL: [&str; 5] = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local"];

/// `path` made absolute (without requiring it to exist).
pub fn absolute(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    // Resolve symlinks of the part that exists (a link from the project into /tmp counts).
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return abs,
        }
    }
    let mut out = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// Refuses a results folder under a node-local folder (or `$TMPDIR`), saying why.
pub fn check_results(results_dir: &Path) -> Result<()> {
    let abs = absolute(results_dir);
    let tmpdir = std::env::var("TMPDIR").ok().filter(|t| !t.is_empty() && t != "/");
    for local in NODE_LOCAL.iter().map(|s| s.to_string()).chain(tmpdir) {
        if abs.starts_with(&local) {
            bail!(
                "the results folder {} is under {local}, which each cluster host has its own of: a Slurm job \
                 on another host would not find its inputs, and its node would not come back. Put the results \
                 on a filesystem every host mounts (NFS, Lustre): set `[experiment] results` in the manifest, \
                 or run from a shared folder",
                abs.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_local_folders_are_refused_with_the_reason() {
        let err = check_results(Path::new("/tmp/x/results/exp")).unwrap_err().to_string();
        assert!(
            err.contains("/tmp") && err.contains("each cluster host") && err.contains("[experiment] results"),
            "{err}"
        );
        assert!(check_results(Path::new("/dev/shm/r")).is_err());
        assert!(check_results(Path::new("/home/someone/project/results/exp")).is_ok());
        assert!(check_results(Path::new("/tmpfiles/results")).is_ok());
    }
}
