//! The `similarity` stage: a model against the reference on one seed: similarity metrics
//! and metric differences with bootstrap intervals (`similarity.json`).

use super::RunContext;
use super::evaluate::{EvalConfig, bootstrap_rows, similarity_values};
use crate::store::NodeWriter;
use anyhow::Result;

/// Compares node `i`'s inputs: [reference predictions, model predictions].
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: EvalConfig = node.config_as()?;
    let reference = super::predict::read(ctx.store, ctx.input_key(i, 0))?;
    let model = super::predict::read(ctx.store, ctx.input_key(i, 1))?;
    let boot = bootstrap_rows(reference.len(), &cfg, &[node.key.as_bytes(), b"bootstrap"]);
    let values = similarity_values(&[(&reference, &model)], &cfg, &boot)?;
    w.write_json("similarity.json", &values)
}
