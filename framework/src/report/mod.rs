//! The report: `report.html` (self-contained) and `report.md`, rendered with minijinja from
//! `templates/` (built in; `[report] templates` overrides them) and the aggregate summary.

pub mod charts;
pub mod context;
pub mod figures;
pub mod overview;
pub mod provenance;
#[cfg(test)]
mod render_tests;
#[doc(hidden)]
pub mod sample;
pub mod verdict;

use crate::manifest::Resolved;
use anyhow::{Context, Result};
use minijinja::Environment;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The built-in templates, by file name.
pub const BUILTIN_TEMPLATES: [(&str, &str); 2] = [
    ("report.html.j2", include_str!("../../../templates/report.html.j2")),
    ("report.md.j2", include_str!("../../../templates/report.md.j2")),
];

/// The templates in use: the built-in ones, each replaced by a file of the same name in
/// `dir` when given.
pub fn templates(dir: Option<&Path>) -> Result<Vec<(String, String)>> {
    BUILTIN_TEMPLATES
        .iter()
        .map(|(name, builtin)| {
            let custom = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            match custom {
                Some(p) => Ok((
                    name.to_string(),
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?,
                )),
                None => Ok((name.to_string(), builtin.to_string())),
            }
        })
        .collect()
}

/// The custom templates folder of a manifest, resolved.
pub fn templates_dir(r: &Resolved) -> Option<PathBuf> {
    r.manifest.report.templates.as_ref().map(|p| r.path(p))
}

/// blake3 of the templates in use, so a template change re-renders the report.
pub fn template_fingerprint(r: &Resolved) -> Result<String> {
    let mut h = blake3::Hasher::new();
    for (name, text) in templates(templates_dir(r).as_deref())? {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}

/// Renders template `name` with `context`.
pub fn render<C: Serialize>(templates: &[(String, String)], name: &str, context: &C) -> Result<String> {
    let mut env = Environment::new();
    env.set_syntax(minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    for (n, text) in templates {
        env.add_template_owned(n.clone(), text.clone()).with_context(|| format!("template {n}"))?;
    }
    let t = env.get_template(name)?;
    t.render(minijinja::value::Serde(context)).with_context(|| format!("rendering {name}"))
}

/// The report node's metadata from a manifest (goes into its config, hence its key).
pub fn meta(r: &Resolved) -> context::ReportMeta {
    let m = &r.manifest;
    let train_seeds = m.train.as_ref().and_then(|t| t.seeds.clone()).filter(|s| *s != m.experiment.seeds);
    let label = |v: &dyn erased::Label| v.label();
    context::ReportMeta {
        title: m.report.title.clone().unwrap_or_else(|| m.experiment.name.clone()),
        experiment: m.experiment.name.clone(),
        description: m.experiment.description.clone(),
        seeds: m.experiment.seeds.clone(),
        train_seeds,
        rules: verdict::VerdictRules::from_manifest(m),
        features: label(&m.alignment.features),
        class: label(&m.alignment.class),
        provenance: Default::default(),
    }
}

mod erased {
    //! The serde name of a unit enum value (`words`, `gold`).

    /// A value serialising to a plain string.
    pub trait Label {
        /// Its serde name.
        fn label(&self) -> String;
    }

    impl<T: serde::Serialize> Label for T {
        fn label(&self) -> String {
            serde_json::to_value(self).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
        }
    }
}

/// Renders every format of `formats` with `context`: (file name, text) pairs.
pub fn render_formats(
    templates: &[(String, String)],
    formats: &[crate::manifest::schema::ReportFormat],
    context: &context::ReportContext,
) -> Result<Vec<(&'static str, String)>> {
    formats
        .iter()
        .map(|f| {
            let (template, out) = match f {
                crate::manifest::schema::ReportFormat::Html => ("report.html.j2", "report.html"),
                crate::manifest::schema::ReportFormat::Md => ("report.md.j2", "report.md"),
            };
            Ok((out, render(templates, template, context)?))
        })
        .collect()
}
