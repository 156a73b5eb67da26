//! The arguments every manifest command shares: the manifest, `key=value` overrides and
//! `--results DIR`, and loading them into a [`Resolved`] manifest.

use crate::manifest::results::{ResultsOrigin, from_command_line};
use crate::manifest::{Resolved, load_with};
use std::path::PathBuf;

/// `MANIFEST [KEY=VALUE]... [--results DIR]`.
#[derive(Debug, Clone, clap::Args)]
pub struct ManifestArgs {
    /// The manifest (TOML).
    pub manifest: PathBuf,
    /// Overrides of manifest keys, `key=value` (`alignment.k=5`, `calibration.bins=15`),
    /// applied after the `TRUSTX_` environment variables; values are read as TOML-like
    /// numbers, lists or strings.
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The results folder (holding `<experiment>/`), instead of the manifest's
    /// `[experiment] results` or the default (`results/` of the manifest's project folder).
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
}

impl ManifestArgs {
    /// Loads and validates the manifest with the overrides, then applies `--results`.
    pub fn load(&self) -> anyhow::Result<Resolved> {
        let mut r = load_with(&self.manifest, &self.overrides)?;
        if let Some(dir) = &self.results {
            r.results_dir = from_command_line(dir).join(&r.manifest.experiment.name);
            r.results_origin = ResultsOrigin::CommandLine;
        }
        Ok(r)
    }
}

/// The first line of `plan` and `run`: which results folder they use, and why.
pub fn results_line(r: &Resolved) -> String {
    format!("results: {} ({})", r.results_dir.display(), r.results_origin.describe())
}
