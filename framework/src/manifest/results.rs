//! Where an experiment's results live, decided in one place.
//!
//! In order: `--results DIR` on the command line (relative to the current directory);
//! `[experiment] results` in the manifest (relative to the manifest's folder); else the
//! `results/` folder of the manifest's **project**: the nearest folder, from the manifest's
//! own upwards, that already holds a `results/` folder, a `.git` or a `Cargo.toml`, and the
//! manifest's folder when none does. The experiment's folder is `<root>/<experiment name>`.
//! So the same manifest finds the same store from whatever directory it is run: running it
//! from elsewhere does not silently recompute everything in a new `results/`.

use std::path::{Path, PathBuf};

/// Why the results root is where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultsOrigin {
    /// `--results DIR`.
    CommandLine,
    /// `[experiment] results`.
    Manifest,
    /// The project's `results/` (the default rule).
    Project,
}

impl ResultsOrigin {
    /// A few words for the output: `--results`, `[experiment] results`, `default: the
    /// project's results/`.
    pub fn describe(&self) -> &'static str {
        match self {
            ResultsOrigin::CommandLine => "from --results",
            ResultsOrigin::Manifest => "from [experiment] results",
            ResultsOrigin::Project => "default: results/ of the manifest's project folder",
        }
    }
}

/// The default results root for a manifest in `base_dir`: `<project>/results`.
pub fn default_root(base_dir: &Path) -> PathBuf {
    let start = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
    let project = start
        .ancestors()
        .find(|d| d.join("results").is_dir() || d.join(".git").exists() || d.join("Cargo.toml").is_file())
        .unwrap_or(&start);
    project.join("results")
}

/// The results root `dir` given on the command line, made absolute.
pub fn from_command_line(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_the_nearest_folder_with_a_marker() {
        let root = std::env::temp_dir().join(format!("trustx-results-rule-{}", std::process::id()));
        let manifests = root.join("proj/experiments/sub");
        std::fs::create_dir_all(&manifests).unwrap();
        // No marker up to the temp folder's own ancestors: the manifest's folder (or an
        // ancestor with a marker outside the test's control).
        std::fs::write(root.join("proj/Cargo.toml"), "").unwrap();
        assert_eq!(default_root(&manifests), root.join("proj/results"));
        std::fs::create_dir_all(root.join("proj/experiments/results")).unwrap();
        assert_eq!(default_root(&manifests), root.join("proj/experiments/results"));
        std::fs::remove_dir_all(&root).ok();
    }
}
