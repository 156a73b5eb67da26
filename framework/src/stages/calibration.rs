//! The `calibration` stage: one model's (one seed's) calibration metrics with bootstrap
//! intervals (`metrics.json`) and its reliability curve (`reliability.json`).

use super::RunContext;
use super::evaluate::{EvalConfig, bootstrap_rows, calibration_values};
use crate::calibration::binning::reliability_curve;
use crate::plugin::metric::MetricInput;
use crate::store::NodeWriter;
use anyhow::Result;

/// Computes the metrics of node `i`'s input predictions.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: EvalConfig = node.config_as()?;
    let preds = super::predict::read(ctx.store, ctx.input_key(i, 0))?;
    let boot = bootstrap_rows(preds.len(), &cfg, &[node.key.as_bytes(), b"bootstrap"]);
    let values = calibration_values(&[&preds], &cfg, &boot)?;
    let rows: Vec<usize> = (0..preds.len()).collect();
    let curve = reliability_curve(&MetricInput { preds: &preds, rows: &rows, bins: cfg.bins }, cfg.bins);
    w.write_json("metrics.json", &values)?;
    w.write_json("reliability.json", &curve)
}
