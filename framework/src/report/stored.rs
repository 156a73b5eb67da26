//! Rendering a report node from what the store holds: the aggregate node's `summary.json`,
//! the report config the plan wrote into the node, and the upstream nodes' records. The
//! `report` stage and `trustx report` both render through here, so a report rendered again
//! from the store is byte-identical to the run's own.

use super::context::ReportContext;
use super::{provenance, render_formats, templates};
use crate::plan::Plan;
use crate::plan::report_config::ReportConfig;
use crate::store::Store;
use crate::tables::summary::Summary;
use anyhow::{Context, Result};
use std::path::Path;

/// The files (name, text) of report node `i` of `plan`, rendered with the templates in
/// `templates_dir` (the built-in ones where it has none). Its second input (the aggregate
/// node) must be in `store`.
pub fn render_node(
    plan: &Plan,
    store: &Store,
    i: usize,
    templates_dir: Option<&Path>,
) -> Result<Vec<(&'static str, String)>> {
    let node = &plan.nodes[i];
    let aggregate = node.inputs.get(1).map(|&a| &plan.nodes[a]).context("the report node has no aggregate input")?;
    let summary: Summary = serde_json::from_slice(&store.read(&aggregate.key, "summary.json")?)
        .with_context(|| format!("reading the summary of node `{}`", aggregate.name))?;
    let config: ReportConfig = serde_json::from_value(node.config.clone())
        .context("the report node's config is not a valid report config (internal error)")?;
    let provenance = provenance::from_store(plan, store, i);
    let context = ReportContext::new(config.meta, provenance, summary);
    let mut files = render_formats(&templates(templates_dir)?, &config.report.formats, &context)?;
    // The verdict for scripts (`trustx show`, `trustx run --fail-on`), whatever the formats.
    let mut verdict = serde_json::to_string_pretty(&context.verdict)?;
    verdict.push('\n');
    files.push((VERDICT_FILE, verdict));
    Ok(files)
}

/// The verdict of every compared model, every test with its value, interval, margin and
/// outcome, as JSON beside the report (`results/<experiment>/verdict.json`).
pub const VERDICT_FILE: &str = "verdict.json";
