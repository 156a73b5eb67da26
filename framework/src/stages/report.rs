//! The `report` stage: renders `report.html` and `report.md` from the aggregate summary, the
//! verdict rules in the node's config and the upstream nodes' timings.

use super::RunContext;
use crate::report::context::{ReportContext, ReportMeta};
use crate::report::{provenance, render_formats, templates, templates_dir};
use crate::stages::aggregate::Summary;
use crate::store::NodeWriter;
use anyhow::{Context, Result};

/// Renders the formats the manifest asks for.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let r = ctx.resolved;
    let summary: Summary = serde_json::from_slice(&ctx.store.read(ctx.input_key(i, 1), "summary.json")?)?;
    let mut meta: ReportMeta = serde_json::from_value(ctx.plan.nodes[i].config["meta"].clone())
        .context("the report node's config has no valid `meta` (internal error)")?;
    meta.provenance = provenance::from_store(ctx.plan, ctx.store, i);
    let context = ReportContext::new(meta, summary);
    let templates = templates(templates_dir(r).as_deref())?;
    for (out, text) in render_formats(&templates, &r.manifest.report.formats, &context)? {
        w.write(out, text.as_bytes())?;
    }
    Ok(())
}
