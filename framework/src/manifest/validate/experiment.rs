//! Validation of the sections that set up a run: `[verdict] alpha`, `[experiment]`,
//! `[dataset]` (the loader and the split files), `[report]` and `[executor.slurm]`.

use super::Checker;
use crate::manifest::schema::Manifest;
use crate::plugin::PluginKind;
use crate::plugin::dataset::DatasetLoaderEntry;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// `[verdict] alpha`: the equivalence test reads (1 − 2α) intervals, so α sets
/// `[calibration] confidence` unless that is set to something else.
pub(super) fn alpha(c: &mut Checker, manifest: &mut Manifest) {
    if let Some(alpha) = manifest.verdict.alpha {
        let level = 1.0 - 2.0 * alpha;
        if !(alpha > 0.0 && alpha < 0.5) {
            c.error(&["verdict", "alpha"], format!("α lies strictly between 0 and 0.5 (e.g. 0.05), got {alpha}"));
        } else if manifest.calibration.confidence != crate::manifest::schema::DEFAULT_CONFIDENCE
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
}

/// `[experiment]`: the name (it names the results folder), the backends, the seeds.
pub(super) fn experiment(c: &mut Checker, m: &Manifest) {
    let name_ok = !m.experiment.name.is_empty()
        && m.experiment.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        && !m.experiment.name.starts_with('.');
    if !name_ok {
        c.error(&["experiment", "name"], "use letters, digits, `-`, `_` and `.` only (it names the results folder)");
    }
    for (key, backend) in [("backend", Some(m.experiment.backend)), ("explain_backend", m.experiment.explain_backend)] {
        if backend == Some(crate::manifest::schema::Backend::Cuda) && !cfg!(feature = "cuda") {
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
}

/// `[dataset]`: the loader and its settings (resolved), the split files.
pub(super) fn dataset(c: &mut Checker, m: &Manifest, base_dir: &Path) -> (Option<&'static DatasetLoaderEntry>, Value) {
    let loader = DatasetLoaderEntry::find(&m.dataset.loader);
    let mut loader_settings = Value::Null;
    match loader {
        None => c.unknown_plugin(&["dataset", "loader"], PluginKind::Dataset, &m.dataset.loader),
        Some(l) => {
            let raw = Value::Object(m.dataset.settings.clone());
            match (l.info.resolve)(&raw) {
                Ok(v) => {
                    if let Err(e) = (l.validate)(&raw, base_dir) {
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
            if let Some(problem) = crate::manifest::data_path::problem(&full) {
                let key = match &spec.path {
                    crate::manifest::schema::OneOrMany::One(_) => format!("dataset.{split}.path"),
                    crate::manifest::schema::OneOrMany::Many(_) => format!("dataset.{split}.path.{i}"),
                };
                c.error(&[&key], problem);
            }
        }
    }

    (loader, loader_settings)
}

/// `[report] templates` and `[executor.slurm]`.
pub(super) fn report_and_executor(c: &mut Checker, m: &Manifest, base_dir: &Path) {
    if let Some(dir) = &m.report.templates
        && !base_dir.join(dir).is_dir()
    {
        c.error(&["report", "templates"], format!("{} is not a folder", base_dir.join(dir).display()));
    }

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
}
