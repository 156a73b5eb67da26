//! The `report` stage: renders `report.html` and `report.md` from the aggregate summary.

use super::RunContext;
use crate::manifest::schema::ReportFormat;
use crate::report::context::ReportContext;
use crate::report::{render, templates, templates_dir};
use crate::stages::aggregate::Summary;
use crate::store::NodeWriter;
use anyhow::Result;

/// Renders the formats the manifest asks for.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let r = ctx.resolved;
    let summary: Summary = serde_json::from_slice(&ctx.store.read(ctx.input_key(i, 1), "summary.json")?)?;
    let e = &r.manifest.experiment;
    let title = r.manifest.report.title.clone().unwrap_or_else(|| e.name.clone());
    let context = ReportContext::new(title, e.name.clone(), e.description.clone(), e.seeds.clone(), summary);
    let templates = templates(templates_dir(r).as_deref())?;
    for format in &r.manifest.report.formats {
        let (template, out) = match format {
            ReportFormat::Html => ("report.html.j2", "report.html"),
            ReportFormat::Md => ("report.md.j2", "report.md"),
        };
        w.write(out, render(&templates, template, &context)?.as_bytes())?;
    }
    Ok(())
}
