//! Metric evaluation with seeded bootstrap intervals, shared by the calibration,
//! similarity and aggregate stages.
//!
//! A value over several seeds is the mean of the per-seed values; its interval comes from
//! resampling the examples (the same resample for every seed, since all seeds predict the
//! same examples) and taking percentiles of the resampled means.

use crate::plugin::metric::{CalibrationMetricEntry, MetricInput};
use crate::plugin::similarity::{PairInput, SimilarityMetricEntry};
use crate::predictions::Predictions;
use crate::tables::bootstrap::{percentile_interval, resamples, rng_for};
use anyhow::{Context, Result, anyhow};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::plan::node_config::{EvalConfig, MetricConfig};

/// A metric's value with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Metric name (`ece`, `agreement`, `delta-ece`, ...).
    pub metric: String,
    /// Value on all examples (mean over seeds when several).
    pub value: f64,
    /// Lower end of the interval.
    pub ci_low: Option<f64>,
    /// Upper end of the interval.
    pub ci_high: Option<f64>,
}

/// The resamples for a set of predictions on `n` examples, seeded by `seed_parts`.
pub fn bootstrap_rows(n: usize, cfg: &EvalConfig, seed_parts: &[&[u8]]) -> Vec<Vec<usize>> {
    let mut rng = rng_for(seed_parts);
    resamples(n, cfg.bootstrap, &mut rng)
}

fn with_interval(
    metric: String,
    f: impl Fn(&[usize]) -> Result<f64> + Sync,
    n: usize,
    boot: &[Vec<usize>],
    level: f64,
) -> Result<MetricValue> {
    let all: Vec<usize> = (0..n).collect();
    let value = f(&all)?;
    // Resamples are independent: spread them over the cores (order kept, so deterministic).
    let samples = boot.par_iter().map(|rows| f(rows)).collect::<Result<Vec<f64>>>()?;
    let interval = percentile_interval(&samples, level);
    Ok(MetricValue { metric, value, ci_low: interval.map(|i| i.0), ci_high: interval.map(|i| i.1) })
}

/// Calibration metrics of one model, averaged over its seeds' predictions.
pub fn calibration_values(seeds: &[&Predictions], cfg: &EvalConfig, boot: &[Vec<usize>]) -> Result<Vec<MetricValue>> {
    let first = seeds.first().ok_or_else(|| anyhow!("no predictions"))?;
    if first.is_empty() {
        return Err(anyhow!("no examples to compute metrics on"));
    }
    let mut out = Vec::new();
    for m in &cfg.metrics {
        let entry =
            CalibrationMetricEntry::find(&m.name).ok_or_else(|| anyhow!("metric `{}` is not registered", m.name))?;
        if !(entry.applies)(first.num_classes) {
            continue;
        }
        let metric = (entry.prepare)(&m.settings).with_context(|| format!("metric `{}`", m.name))?;
        let f = |rows: &[usize]| -> Result<f64> {
            let mut sum = 0.0;
            for p in seeds {
                sum += metric(&MetricInput { preds: p, rows, bins: cfg.bins });
            }
            Ok(sum / seeds.len() as f64)
        };
        out.push(with_interval(m.name.clone(), f, first.len(), boot, cfg.confidence)?);
    }
    Ok(out)
}

/// Similarity of a model to the reference (and the differences model − reference of each
/// calibration metric, as `delta-NAME`), averaged over seed pairs.
pub fn similarity_values(
    pairs: &[(&Predictions, &Predictions)],
    cfg: &EvalConfig,
    boot: &[Vec<usize>],
) -> Result<Vec<MetricValue>> {
    let (r0, m0) = pairs.first().ok_or_else(|| anyhow!("no prediction pairs"))?;
    if r0.ids != m0.ids {
        return Err(anyhow!("the model and the reference predict different examples"));
    }
    let n = r0.len();
    let mut out = Vec::new();
    for s in &cfg.similarity {
        let entry =
            SimilarityMetricEntry::find(&s.name).ok_or_else(|| anyhow!("similarity `{}` is not registered", s.name))?;
        let metric = (entry.prepare)(&s.settings).with_context(|| format!("similarity `{}`", s.name))?;
        let f = |rows: &[usize]| -> Result<f64> {
            let mut sum = 0.0;
            for (r, m) in pairs {
                sum += metric(&PairInput { reference: r, model: m, rows, bins: cfg.bins });
            }
            Ok(sum / pairs.len() as f64)
        };
        out.push(with_interval(s.name.clone(), f, n, boot, cfg.confidence)?);
    }
    for m in &cfg.metrics {
        let entry =
            CalibrationMetricEntry::find(&m.name).ok_or_else(|| anyhow!("metric `{}` is not registered", m.name))?;
        if !(entry.applies)(r0.num_classes) {
            continue;
        }
        let metric = (entry.prepare)(&m.settings).with_context(|| format!("metric `{}`", m.name))?;
        let f = |rows: &[usize]| -> Result<f64> {
            let mut sum = 0.0;
            for (r, mo) in pairs {
                let a = metric(&MetricInput { preds: mo, rows, bins: cfg.bins });
                let b = metric(&MetricInput { preds: r, rows, bins: cfg.bins });
                sum += a - b;
            }
            Ok(sum / pairs.len() as f64)
        };
        out.push(with_interval(format!("delta-{}", m.name), f, n, boot, cfg.confidence)?);
    }
    Ok(out)
}
