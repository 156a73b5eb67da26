//! Checking a typed manifest against the plugin registries and the file system, and
//! resolving every plugin's settings (defaults filled) for the node keys.

use super::error::{ManifestError, ManifestErrors};
use super::locate::SourceMap;
use super::models::{ResolvedModel, resolve_model, train_spec};
use super::schema::{Manifest, MetricRef};
use crate::plugin::alignment::AlignmentMetricEntry;
use crate::plugin::dataset::DatasetLoaderEntry;
use crate::plugin::explainer::ExplainerEntry;
use crate::plugin::metric::CalibrationMetricEntry;
use crate::plugin::similarity::SimilarityMetricEntry;
use crate::plugin::training::TrainerEntry;
use crate::plugin::{self, PluginKind, SettingsError};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    // [verdict] alpha: the equivalence test reads (1 − 2α) intervals.
    if let Some(alpha) = manifest.verdict.alpha {
        let level = 1.0 - 2.0 * alpha;
        if !(alpha > 0.0 && alpha < 0.5) {
            c.error(&["verdict", "alpha"], format!("α lies strictly between 0 and 0.5 (e.g. 0.05), got {alpha}"));
        } else if manifest.calibration.confidence != super::schema::DEFAULT_CONFIDENCE
            && (manifest.calibration.confidence - level).abs() > 1e-12
        {
            c.error(
                &["verdict", "alpha"],
                format!(
                    "α = {alpha} asks for {:.0}% intervals but [calibration] confidence is {}; set one of them \
                     (the equivalence test uses the (1 − 2α) interval)",
                    level * 100.0,
                    manifest.calibration.confidence
                ),
            );
        } else {
            manifest.calibration.confidence = level;
        }
    }
    let m = &manifest;

    // [experiment]
    let name_ok = !m.experiment.name.is_empty()
        && m.experiment.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        && !m.experiment.name.starts_with('.');
    if !name_ok {
        c.error(&["experiment", "name"], "use letters, digits, `-`, `_` and `.` only (it names the results folder)");
    }
    for (key, backend) in [("backend", Some(m.experiment.backend)), ("explain_backend", m.experiment.explain_backend)] {
        if backend == Some(super::schema::Backend::Cuda) && !cfg!(feature = "cuda") {
            c.error(
                &["experiment", key],
                format!(
                    "this trustx was built without CUDA; build it with `cargo build --release --features cuda`, or set {key} = \"cpu\""
                ),
            );
        }
    }
    if m.experiment.seeds.is_empty() {
        c.error(&["experiment", "seeds"], "the seed list is empty; give at least one seed, e.g. seeds = [42]");
    }
    let mut seen = BTreeSet::new();
    for (i, s) in m.experiment.seeds.iter().enumerate() {
        if !seen.insert(s) {
            c.error(&["experiment", "seeds", &i.to_string()], format!("seed {s} is listed twice"));
        }
    }

    // [dataset]
    let loader = DatasetLoaderEntry::find(&m.dataset.loader);
    let mut loader_settings = Value::Null;
    match loader {
        None => c.unknown_plugin(&["dataset", "loader"], PluginKind::Dataset, &m.dataset.loader),
        Some(l) => {
            let raw = Value::Object(m.dataset.settings.clone());
            match (l.info.resolve)(&raw) {
                Ok(v) => {
                    if let Err(e) = (l.validate)(&raw, &base_dir) {
                        c.settings_error(&["dataset"], e);
                    }
                    loader_settings = v;
                }
                Err(e) => c.settings_error(&["dataset"], e),
            }
        }
    }
    let splits = [("eval", Some(&m.dataset.eval)), ("train", m.dataset.train.as_ref())];
    for (split, spec) in splits {
        let Some(spec) = spec else { continue };
        let paths = spec.path.paths();
        if paths.is_empty() {
            c.error(&["dataset", split, "path"], "no file given");
        }
        for (i, p) in paths.iter().enumerate() {
            let full = base_dir.join(p);
            if let Some(problem) = super::data_path::problem(&full) {
                let key = match &spec.path {
                    super::schema::OneOrMany::One(_) => format!("dataset.{split}.path"),
                    super::schema::OneOrMany::Many(_) => format!("dataset.{split}.path.{i}"),
                };
                c.error(&[&key], problem);
            }
        }
    }

    // [models.*] and [variants.*]
    let mut models = Vec::new();
    if m.models.is_empty() {
        c.error(&["models"], "no model; add a [models.NAME] section");
    }
    let references: Vec<&String> = m.models.iter().filter(|(_, s)| s.reference).map(|(n, _)| n).collect();
    match references.len() {
        0 if !m.models.is_empty() => c.error(
            &["models"],
            "no model is marked `reference = true`; mark exactly one (the large model the others are compared with)",
        ),
        n if n > 1 => c.error(
            &["models", references[1], "reference"],
            format!(
                "{n} models are marked `reference = true` ({}); mark exactly one",
                references.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ),
        _ => {}
    }
    for (name, spec) in &m.models {
        if !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            c.error(&["models", name], "model names use letters, digits, `-`, `_` and `.` only");
        }
        if let Some(model) = resolve_model(&mut c, m, name, spec, &base_dir) {
            models.push(model);
        }
    }
    models.sort_by(|a, b| (!a.reference, &a.name).cmp(&(!b.reference, &b.name)));
    let variants = super::variants::resolve_variants(&mut c, m, &models);
    models.extend(variants);

    // [train]: the manifest's section, or the default trainer when a model needs training
    let needs_training = models.iter().any(|m| m.neural().is_some_and(|n| !n.finetuned));
    let mut trainer = None;
    if m.train.is_some() || needs_training {
        let train = train_spec(m);
        match TrainerEntry::find(&train.trainer) {
            None if m.train.is_some() => {
                c.unknown_plugin(&["train", "trainer"], PluginKind::Trainer, &train.trainer)
            }
            None => c.error(
                &["models"],
                format!(
                    "a model needs training but the default trainer `{}` is not registered in this build; add a [train] section naming one",
                    train.trainer
                ),
            ),
            Some(t) => match (t.info.resolve)(&Value::Object(train.settings.clone())) {
                Ok(v) => {
                    for e in (t.info.check)(&v) {
                        c.settings_error(&["train"], e);
                    }
                    trainer = Some((t, v))
                }
                Err(e) => c.settings_error(&["train"], e),
            },
        }
        if train.seeds.as_ref().is_some_and(Vec::is_empty) {
            c.error(
                &["train", "seeds"],
                "the training seed list is empty; remove it to train with every experiment seed",
            );
        }
    }

    // [[explainers]]
    let mut explainers: Vec<ResolvedExplainer> = Vec::new();
    for (i, ex) in m.explainers.iter().enumerate() {
        let idx = i.to_string();
        match ExplainerEntry::find(&ex.explainer) {
            None => c.unknown_plugin(&["explainers", &idx, "explainer"], PluginKind::Explainer, &ex.explainer),
            Some(entry) => match (entry.info.resolve)(&Value::Object(ex.settings.clone())) {
                Ok(settings) => {
                    let limit = m.experiment.memory_limit.map(u64::from);
                    for e in crate::explain::budget::with_memory_limit(limit, || (entry.info.check)(&settings)) {
                        c.settings_error(&["explainers", &idx], e);
                    }
                    let repeat = explainers.iter().filter(|e| e.entry.info.name == entry.info.name).count();
                    let label = if repeat == 0 {
                        entry.info.name.to_string()
                    } else {
                        format!("{}#{}", entry.info.name, repeat + 1)
                    };
                    explainers.push(ResolvedExplainer { label, entry, settings });
                }
                Err(e) => c.settings_error(&["explainers", &idx], e),
            },
        }
    }
    if !m.explainers.is_empty()
        && let Some(reference) = models.iter().find(|x| x.reference)
        && !reference.explainable()
    {
        c.error(
            &["models", &reference.name, "source"],
            "the reference is a `source` model (predictions only), which cannot be explained, but [[explainers]] are configured and alignment needs the reference's explanations; make the reference a neural model (`checkpoint` or `architecture`), a served model (`source = \"server\"`), or remove [[explainers]]",
        );
    }
    let mut black_box_explainers: Vec<&str> =
        inventory::iter::<ExplainerEntry>().filter(|e| !e.needs_gradients).map(|e| e.info.name).collect();
    black_box_explainers.sort_unstable();
    for (i, ex) in explainers.iter().enumerate().filter(|(_, e)| e.entry.needs_gradients) {
        for model in models.iter().filter(|m| m.black_box()) {
            c.error(
                &["explainers", &i.to_string(), "explainer"],
                format!(
                    "`{}` needs gradients, but model `{}` (source `{}`) is a black box that answers texts only; use a black-box explainer ({}) or explain that model elsewhere",
                    ex.entry.info.name,
                    model.name,
                    model.origin(),
                    black_box_explainers.join(", ")
                ),
            );
        }
    }

    // [alignment]
    if m.alignment.k.is_empty() || m.alignment.k.contains(&0) {
        c.error(&["alignment", "k"], "give one or more positive top-K sizes, e.g. k = [10]");
    }
    if !(0.0..=1.0).contains(&m.alignment.threshold) {
        c.error(&["alignment", "threshold"], "a Jaccard threshold lies in [0, 1]");
    }
    if m.alignment.examples == 0 {
        c.error(&["alignment", "examples"], "explain at least one example, e.g. examples = 100");
    }
    let alignment_metrics =
        resolve_metrics(&mut c, &["alignment", "metrics"], &m.alignment.metrics, PluginKind::Alignment, |n| {
            AlignmentMetricEntry::find(n).map(|e| &e.info)
        });
    for (i, r) in m.alignment.metrics.iter().enumerate() {
        for key in ["k", "on"] {
            if r.settings().get(key).is_some() {
                c.error(
                    &["alignment", "metrics", &i.to_string(), key],
                    format!(
                        "`{key}` is set for every metric by [alignment] {}; remove it here",
                        if key == "k" { "k" } else { "features" }
                    ),
                );
            }
        }
    }

    // [calibration]
    let metrics =
        resolve_metrics(&mut c, &["calibration", "metrics"], &m.calibration.metrics, PluginKind::Metric, |n| {
            CalibrationMetricEntry::find(n).map(|e| &e.info)
        });
    let similarity = resolve_metrics(
        &mut c,
        &["calibration", "similarity"],
        &m.calibration.similarity,
        PluginKind::Similarity,
        |n| SimilarityMetricEntry::find(n).map(|e| &e.info),
    );
    // [calibration] bins and every metric's own `bins`: a count past MAX_BINS would only ask
    // for memory (one slot per bin and class) without a usable reliability diagram.
    if m.calibration.bins.get() > MAX_BINS {
        c.error(
            &["calibration", "bins"],
            format!("{} bins: at most {MAX_BINS} (10 or 15 is usual)", m.calibration.bins),
        );
    }
    for (list, refs) in [("metrics", &m.calibration.metrics), ("similarity", &m.calibration.similarity)] {
        for (i, r) in refs.iter().enumerate() {
            if let Some(bins) = r.settings().get("bins").and_then(Value::as_u64).filter(|&b| b > MAX_BINS as u64) {
                c.error(
                    &["calibration", list, &i.to_string(), "bins"],
                    format!("{bins} bins: at most {MAX_BINS} (10 or 15 is usual)"),
                );
            }
        }
    }
    let t = &m.calibration.tolerances;
    for (key, value, range) in [
        ("ece", t.ece, (0.0, 1.0)),
        ("confidence_tv", t.confidence_tv, (0.0, 1.0)),
        ("agreement", t.agreement, (0.0, 1.0)),
        ("faithfulness_gap", t.faithfulness_gap.unwrap_or(0.0), (0.0, 1.0)),
        ("flips_correct_to_wrong", t.flips_correct_to_wrong.unwrap_or(0.0), (0.0, 1.0)),
        ("js_divergence", t.js_divergence.unwrap_or(0.0), (0.0, 1.0)),
    ] {
        if !(value >= range.0 && value <= range.1) {
            c.error(
                &["calibration", "tolerances", key],
                format!("a tolerance lies in [0, 1], got {value} (a negative one would make every variant fail)"),
            );
        }
    }
    if !(m.calibration.confidence > 0.0 && m.calibration.confidence < 1.0) {
        c.error(&["calibration", "confidence"], "a confidence level lies strictly between 0 and 1, e.g. 0.95");
    }

    // [report]
    if let Some(dir) = &m.report.templates
        && !base_dir.join(dir).is_dir()
    {
        c.error(&["report", "templates"], format!("{} is not a folder", base_dir.join(dir).display()));
    }

    // [executor.slurm.stages.<stage>]
    for stage in m.executor.slurm.stages.keys() {
        if !crate::plan::Stage::ALL.iter().any(|s| s.as_str() == stage) {
            let stages: Vec<&str> = crate::plan::Stage::ALL.iter().map(|s| s.as_str()).collect();
            c.error(
                &["executor", "slurm", "stages", stage],
                format!("`{stage}` is not a stage; stages: {}", stages.join(", ")),
            );
        }
    }
    if m.executor.slurm.poll_seconds.is_some_and(|p| !(p > 0.0 && p.is_finite())) {
        c.error(&["executor", "slurm", "poll_seconds"], "must be a positive number of seconds");
    }

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

fn resolve_metrics(
    c: &mut Checker,
    list: &[&str],
    refs: &[MetricRef],
    kind: PluginKind,
    find: impl Fn(&str) -> Option<&'static plugin::PluginInfo>,
) -> Vec<ResolvedMetric> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, r) in refs.iter().enumerate() {
        let idx = i.to_string();
        let Some(info) = find(r.name()) else {
            c.unknown_plugin(&[list[0], list[1], &idx], kind, r.name());
            continue;
        };
        if !seen.insert(r.name().to_string()) {
            c.error(&[list[0], list[1], &idx], format!("`{}` is listed twice", r.name()));
            continue;
        }
        match (info.resolve)(&r.settings()) {
            Ok(settings) => {
                for e in (info.check)(&settings) {
                    c.settings_error(&[list[0], list[1], &idx], e);
                }
                out.push(ResolvedMetric { name: r.name().to_string(), settings })
            }
            Err(e) => c.settings_error(&[list[0], list[1], &idx], e),
        }
    }
    out
}
