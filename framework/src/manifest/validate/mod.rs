//! Checking a typed manifest against the plugin registries and the file system, and
//! resolving every plugin's settings (defaults filled) for the node keys. [`validate`]
//! runs one checker per section (the files beside this one) and collects every error.

use super::error::{ManifestError, ManifestErrors};
use super::locate::SourceMap;
use super::models::ResolvedModel;
use super::schema::Manifest;
use crate::plugin::dataset::DatasetLoaderEntry;
use crate::plugin::explainer::ExplainerEntry;
use crate::plugin::training::TrainerEntry;
use crate::plugin::{self, PluginKind, SettingsError};
use serde_json::Value;
use std::path::{Path, PathBuf};

mod experiment;
mod explainers;
mod metrics;
mod models;
mod tolerances;

/// A metric after validation.
#[derive(Clone)]
pub struct ResolvedMetric {
    /// Plugin name.
    pub name: String,
    /// Settings, defaults filled.
    pub settings: Value,
}

/// An `[[explainers]]` entry after validation.
#[derive(Clone)]
pub struct ResolvedExplainer {
    /// Its label in node names and tables: the plugin name, `NAME#2`, `NAME#3` for repeats.
    pub label: String,
    /// The plugin.
    pub entry: &'static ExplainerEntry,
    /// Settings, defaults filled.
    pub settings: Value,
}

/// A validated manifest, ready to plan.
pub struct Resolved {
    /// The manifest file.
    pub file: PathBuf,
    /// Its folder: relative paths in the manifest resolve against it.
    pub base_dir: PathBuf,
    /// The typed manifest as written.
    pub manifest: Manifest,
    /// `results/<experiment name>` ([`super::results`] says which `results/`).
    pub results_dir: PathBuf,
    /// Why `results_dir` is where it is.
    pub results_origin: super::results::ResultsOrigin,
    /// The dataset loader.
    pub loader: &'static DatasetLoaderEntry,
    /// The loader's settings, defaults filled.
    pub loader_settings: Value,
    /// Models, the reference first, then by name.
    pub models: Vec<ResolvedModel>,
    /// The trainer of models that need training, with its settings (defaults filled).
    pub trainer: Option<(&'static TrainerEntry, Value)>,
    /// Calibration metrics, in manifest order.
    pub metrics: Vec<ResolvedMetric>,
    /// Similarity metrics, in manifest order.
    pub similarity: Vec<ResolvedMetric>,
    /// Explainers, in manifest order.
    pub explainers: Vec<ResolvedExplainer>,
    /// Alignment metrics, in manifest order (settings as written, defaults filled; `k` and
    /// `on` come from `[alignment]`).
    pub alignment_metrics: Vec<ResolvedMetric>,
    /// Nodes run at once.
    pub jobs: usize,
}

impl Resolved {
    /// The reference model.
    pub fn reference(&self) -> &ResolvedModel {
        &self.models[0]
    }

    /// A path from the manifest, resolved against its folder.
    pub fn path(&self, p: &Path) -> PathBuf {
        self.base_dir.join(p)
    }
}

/// Collects errors with their lines.
pub(super) struct Checker<'a> {
    file: &'a Path,
    source: &'a SourceMap,
    errors: Vec<ManifestError>,
}

impl Checker<'_> {
    pub(super) fn error(&mut self, key: &[&str], message: impl Into<String>) {
        let key: Vec<String> = key.iter().flat_map(|k| k.split('.')).map(String::from).collect();
        let line = self.source.line_of(&key);
        // An overridden key's error names its variable or argument: `overrides::attribute`.
        let message = message.into();
        self.errors.push(ManifestError { file: self.file.to_path_buf(), line, key: key.join("."), message });
    }

    pub(super) fn settings_error(&mut self, section: &[&str], e: SettingsError) {
        let mut key: Vec<&str> = section.to_vec();
        key.extend(e.path.iter().map(String::as_str));
        let message = if e.message.starts_with("unknown field") {
            format!("{}; remove it or fix its spelling (`trustx plugins` lists every setting)", e.message)
        } else {
            e.message
        };
        self.error(&key, message);
    }

    pub(super) fn unknown_plugin(&mut self, key: &[&str], kind: PluginKind, name: &str) {
        let hint = match plugin::nearest(kind, name) {
            Some(n) => format!("did you mean `{n}`?"),
            None if plugin::names(kind).is_empty() => {
                format!("no {} plugins are registered in this build", kind.as_str())
            }
            None => format!("registered: {}", plugin::names(kind).join(", ")),
        };
        self.error(key, format!("unknown {} plugin `{name}`; {hint}", kind.as_str()));
    }
}

/// The most calibration bins a manifest may ask for.
pub const MAX_BINS: usize = 100_000;

/// Validates `manifest` (read from `file`) and resolves its plugins; every error at once.
pub fn validate(file: &Path, manifest: Manifest, source: &SourceMap) -> Result<Resolved, ManifestErrors> {
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
    let mut c = Checker { file, source, errors: Vec::new() };
    let mut manifest = manifest;
    experiment::alpha(&mut c, &mut manifest);
    let m = &manifest;
    experiment::experiment(&mut c, m);
    let (loader, loader_settings) = experiment::dataset(&mut c, m, &base_dir);
    let models = models::models(&mut c, m, &base_dir);
    let trainer = models::trainer(&mut c, m, &models);
    let explainers = explainers::explainers(&mut c, m, &models);
    let alignment_metrics = metrics::alignment(&mut c, m);
    let (metrics, similarity) = metrics::calibration(&mut c, m);
    experiment::report_and_executor(&mut c, m, &base_dir);

    if !c.errors.is_empty() {
        return Err(ManifestErrors(c.errors));
    }
    let (results_root, results_origin) = match &m.experiment.results {
        Some(p) => (base_dir.join(p), super::results::ResultsOrigin::Manifest),
        None => (super::results::default_root(&base_dir), super::results::ResultsOrigin::Project),
    };
    let jobs = m
        .experiment
        .jobs
        .map(|j| j.get())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let Some(loader) = loader else {
        return Err(ManifestErrors(vec![]));
    };
    Ok(Resolved {
        file: file.to_path_buf(),
        results_dir: results_root.join(&m.experiment.name),
        results_origin,
        base_dir,
        loader,
        loader_settings,
        models,
        trainer,
        metrics,
        similarity,
        explainers,
        alignment_metrics,
        jobs,
        manifest,
    })
}
