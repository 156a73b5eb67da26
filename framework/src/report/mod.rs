//! The report: `report.html` (self-contained) and `report.md`, rendered with minijinja from
//! `templates/` (built in; `[report] templates` overrides them) and the aggregate summary.

pub mod charts;
pub mod context;
pub mod equivalence;
pub mod escape;
pub mod figures;
pub mod overview;
pub mod provenance;
#[cfg(test)]
mod render_tests;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
pub mod stored;
pub mod verdict;

pub use crate::templates::{BUILTIN_TEMPLATES, templates};

use anyhow::{Context, Result};
use minijinja::Environment;
use serde::Serialize;

/// The most template instructions one rendering may run (minijinja's fuel): the built-in
/// report of the paper's largest manifest uses a few hundred thousand; a user template with a
/// runaway loop stops with an error instead of running for ever.
pub const TEMPLATE_FUEL: u64 = 50_000_000;

/// Renders template `name` with `context`.
pub fn render<C: Serialize>(templates: &[(String, String)], name: &str, context: &C) -> Result<String> {
    let mut env = Environment::new();
    escape::install(&mut env);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_syntax(minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    for (n, text) in templates {
        env.add_template_owned(n.clone(), text.clone()).with_context(|| format!("template {n}"))?;
    }
    let t = env.get_template(name)?;
    t.render(minijinja::value::Serde(context)).map_err(|e| {
        let hint = if e.kind() == minijinja::ErrorKind::OutOfFuel {
            format!(" (the template ran more than {TEMPLATE_FUEL} instructions: a runaway loop?)")
        } else {
            String::new()
        };
        anyhow::Error::new(e).context(format!("rendering {name}{hint}"))
    })
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
