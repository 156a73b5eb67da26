//! The `report` stage: renders `report.html` and `report.md` from the aggregate summary, the
//! report config the plan wrote (title, seeds, verdict rules) and the upstream nodes' timings
//! (see [`crate::report::stored`]).

use super::RunContext;
use crate::report::stored::render_node;
use crate::store::NodeWriter;
use anyhow::Result;

/// Renders the formats the manifest asks for.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let templates = ctx.plan.nodes[i].place.templates.as_deref();
    for (out, text) in render_node(ctx.plan, ctx.store, i, templates)? {
        w.write(out, text.as_bytes())?;
    }
    Ok(())
}
