//! The `alignment` stage: per-example alignment metric values.
//!
//! * **Alignment** (`alignment/MODEL/EXPLAINER`): run i of the reference against run i of
//!   the model, runs paired by seed as predictions are (`plan::build::pair_seeds`: equal
//!   seeds, or an unseeded run — a deterministic explainer on a model shared by every seed
//!   — with each seed of the other). A run's seed is its explanation seed, or the seed of
//!   the model instance for a deterministic explainer.
//! * **Across seeds** (same node, `alignment_cross.parquet`): every reference run against
//!   every model run of another seed, (s₁, s₂) with s₁ ≠ s₂ (both seeded). Same-seed runs of
//!   LIME draw the same masks when the feature counts match, so they share explainer noise
//!   and agree more than two independent runs would; cross-seed pairs share none, as the
//!   floor's pairs, so they are the value to compare with the floor.
//! * **Noise floor** (`floor/MODEL/EXPLAINER`): the model against itself under every pair
//!   of its runs (s₁, s₂), (s₁, s₃), (s₂, s₃), … (all pairs i < j in seed order). On a model
//!   trained once that is pure explainer noise (`explanation-seed`); on a model trained
//!   per seed the runs are different trained models too (`training-and-explanation-seed`,
//!   or `training-seed` for a deterministic explainer). A deterministic explainer on one
//!   fixed model has a single run: no pair (`pairs = 0`, kind `exact`), and the value is
//!   computed by comparing the run with itself, not assumed.
//!
//! Every metric of the node's config (each alignment metric at each K) is computed on
//! every example; `alignment.parquet` / `floor.parquet` hold (seed or pair, metric, plugin,
//! k, example_id, value) and `floor.json` the pair count and kind. Means and intervals are
//! the aggregate stage's job.

use super::RunContext;
use crate::explain::{Attribution, AttributionRow};
use crate::plan::Task;
use crate::plugin::alignment::AlignmentMetricEntry;
use crate::store::NodeWriter;
use crate::tables::io::parquet_bytes;
use anyhow::{Context, Result, anyhow, bail};
use polars::prelude::{Column, DataFrame};
use serde::{Deserialize, Serialize};

pub use crate::plan::node_config::{AlignmentConfig, MetricVariant};

/// The fewest features an example's explanations need to enter a metric at `k`: the
/// manifest's `min_features`, else K + 1 for a metric of top-K sets (see
/// [`crate::plugin::alignment::AlignmentMetric::TOP_K_SET`]), else every example.
pub fn least_features(min_features: Option<usize>, k: Option<usize>, top_k_set: bool) -> usize {
    min_features.unwrap_or_else(|| if top_k_set { k.map_or(0, |k| k + 1) } else { 0 })
}

/// The artifact of alignment and floor nodes counting, per metric label, the examples left
/// out for having too few features.
pub const LEFT_OUT_FILE: &str = "left_out.json";

/// One run of an explainer on a model: its seed and one attribution per example, in
/// example order.
#[derive(Debug, Clone)]
pub struct Run {
    /// Explanation seed, or the instance's seed for a deterministic explainer.
    pub seed: Option<u64>,
    /// The explain node it comes from.
    pub node: usize,
    /// Attributions in example order.
    pub attributions: Vec<Attribution>,
}

/// The runs stored by explain node `k`, by seed.
pub fn runs_of(ctx: &RunContext, k: usize) -> Result<Vec<Run>> {
    let node = &ctx.plan.nodes[k];
    let rows = super::explain::read_rows(ctx.store, &node.key)?;
    Ok(split_runs(&rows, node.seed, k))
}

/// Groups rows by their seed (rows of one seed are contiguous or not: order kept), each
/// run's seed being the row seed or, for unseeded rows, `instance_seed`.
pub fn split_runs(rows: &[AttributionRow], instance_seed: Option<u64>, node: usize) -> Vec<Run> {
    let mut seeds: Vec<Option<u64>> = rows.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
        .into_iter()
        .map(|s| {
            let own: Vec<AttributionRow> = rows.iter().filter(|r| r.seed == s).cloned().collect();
            Run { seed: s.or(instance_seed), node, attributions: Attribution::from_rows(&own) }
        })
        .collect()
}

/// Every pair (i, j), i < j, of `n` runs, in order.
pub fn floor_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
}

/// What a floor compares, from its runs.
pub fn floor_kind(runs: &[Run], deterministic: bool) -> &'static str {
    let one_instance = runs.windows(2).all(|w| w[0].node == w[1].node);
    match (runs.len() <= 1, one_instance, deterministic) {
        (true, _, _) => "exact",
        (false, true, _) => "explanation-seed",
        (false, false, true) => "training-seed",
        (false, false, false) => "training-and-explanation-seed",
    }
}

/// Per-example values of every metric between runs `a` and `b`.
#[derive(Default)]
struct Values {
    tag: Vec<String>,
    metric: Vec<String>,
    plugin: Vec<String>,
    k: Vec<Option<u32>>,
    example_id: Vec<String>,
    value: Vec<f64>,
    /// Per metric label, the examples left out for having too few features.
    left_out: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Values {
    fn compare(&mut self, tag: &str, a: &Run, b: &Run, cfg: &AlignmentConfig) -> Result<()> {
        let metrics = &cfg.metrics;
        if a.attributions.len() != b.attributions.len() {
            bail!(
                "runs explain {} and {} examples; they must explain the same ones",
                a.attributions.len(),
                b.attributions.len()
            );
        }
        for m in metrics {
            let entry = AlignmentMetricEntry::find(&m.name)
                .ok_or_else(|| anyhow!("alignment metric `{}` is not registered", m.name))?;
            let least = least_features(cfg.min_features, m.k, entry.top_k_set);
            let metric = (entry.prepare)(&m.settings).with_context(|| format!("metric `{}`", m.label))?;
            let left_out = self.left_out.entry(m.label.clone()).or_default();
            for (x, y) in a.attributions.iter().zip(&b.attributions) {
                if x.features.len() < least || y.features.len() < least {
                    left_out.insert(x.example_id.clone());
                    continue;
                }
                let v = metric(x, y).with_context(|| format!("metric `{}`", m.label))?;
                self.tag.push(tag.to_string());
                self.metric.push(m.label.clone());
                self.plugin.push(m.name.clone());
                self.k.push(m.k.map(|k| k as u32));
                self.example_id.push(x.example_id.clone());
                self.value.push(v);
            }
        }
        Ok(())
    }

    /// Per metric label, how many examples were left out.
    fn left_out_counts(&self) -> std::collections::BTreeMap<String, usize> {
        self.left_out.iter().map(|(k, v)| (k.clone(), v.len())).collect()
    }

    fn frame(self, tag: &str) -> Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            Column::new(tag.into(), self.tag),
            Column::new("metric".into(), self.metric),
            Column::new("plugin".into(), self.plugin),
            Column::new("k".into(), self.k),
            Column::new("example_id".into(), self.example_id),
            Column::new("value".into(), self.value),
        ])?)
    }
}

fn seed_tag(seed: Option<u64>) -> String {
    seed.map_or_else(|| "-".into(), |s| s.to_string())
}

/// `floor.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorRecord {
    /// Pairs of runs compared (0 when the floor is exact).
    pub pairs: usize,
    /// `exact`, `explanation-seed`, `training-seed` or `training-and-explanation-seed`.
    pub kind: String,
    /// Seeds of the runs.
    pub seeds: Vec<Option<u64>>,
}

/// Computes alignment node `i`: [reference explain nodes…, model explain nodes…].
pub fn run_alignment(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: AlignmentConfig = node.config_as()?;
    let mut reference = Vec::new();
    let mut model = Vec::new();
    for &k in &node.inputs {
        match ctx.plan.nodes[k].task {
            Task::Explain { model: 0, .. } => reference.extend(runs_of(ctx, k)?),
            Task::Explain { .. } => model.extend(runs_of(ctx, k)?),
            _ => bail!("alignment node {} reads a non-explain node (internal error)", node.name),
        }
    }
    let r: Vec<(Option<u64>, usize)> = reference.iter().enumerate().map(|(j, x)| (x.seed, j)).collect();
    let m: Vec<(Option<u64>, usize)> = model.iter().enumerate().map(|(j, x)| (x.seed, j)).collect();
    let pairs = crate::plan::build::pair_seeds(&r, &m);
    if pairs.is_empty() {
        bail!("{}: no run of the model pairs with a run of the reference (seeds differ)", node.name);
    }
    let mut values = Values::default();
    for (seed, a, b) in pairs {
        values.compare(&seed_tag(seed), &reference[a], &model[b], &cfg)?;
    }
    w.write_json(LEFT_OUT_FILE, &values.left_out_counts())?;
    w.write("alignment.parquet", &parquet_bytes(&mut values.frame("seed")?)?)?;
    let cross = cross_seed_pairs(&reference, &model);
    if !cross.is_empty() {
        let mut values = Values::default();
        for (a, b) in cross {
            let tag = format!("{}~{}", seed_tag(reference[a].seed), seed_tag(model[b].seed));
            values.compare(&tag, &reference[a], &model[b], &cfg)?;
        }
        w.write(CROSS_SEED_FILE, &parquet_bytes(&mut values.frame("pair")?)?)?;
    }
    Ok(())
}

/// The artifact of an alignment node with its cross-seed pairs (absent when there are none).
pub const CROSS_SEED_FILE: &str = "alignment_cross.parquet";

/// Every (reference run, model run) whose seeds are both set and differ, in run order.
pub fn cross_seed_pairs(reference: &[Run], model: &[Run]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (a, x) in reference.iter().enumerate() {
        for (b, y) in model.iter().enumerate() {
            if x.seed.is_some() && y.seed.is_some() && x.seed != y.seed {
                out.push((a, b));
            }
        }
    }
    out
}

/// Computes floor node `i`: the model's explain nodes.
pub fn run_floor(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    if !matches!(node.task, Task::Floor { .. }) {
        bail!("{} is not a floor node (internal error)", node.name);
    }
    let cfg: AlignmentConfig = node.config_as()?;
    let mut runs = Vec::new();
    for &k in &node.inputs {
        runs.extend(runs_of(ctx, k)?);
    }
    runs.sort_by_key(|r| r.seed);
    // A deterministic explainer's explain nodes run no explanation seed (their configs say so).
    let deterministic = node
        .inputs
        .iter()
        .map(|&k| ctx.plan.nodes[k].config_as::<crate::plan::node_config::ExplainConfig>())
        .collect::<Result<Vec<_>>>()?
        .iter()
        .all(|c| c.seeds.is_empty());
    let kind = floor_kind(&runs, deterministic);
    let pairs = floor_pairs(runs.len());
    let mut values = Values::default();
    if pairs.is_empty() {
        let only = runs.first().ok_or_else(|| anyhow!("{}: no run to compute a floor from", node.name))?;
        values.compare("self", only, only, &cfg)?;
    }
    for &(a, b) in &pairs {
        let tag = format!("{}~{}", seed_tag(runs[a].seed), seed_tag(runs[b].seed));
        values.compare(&tag, &runs[a], &runs[b], &cfg)?;
    }
    let record =
        FloorRecord { pairs: pairs.len(), kind: kind.to_string(), seeds: runs.iter().map(|r| r.seed).collect() };
    w.write_json(LEFT_OUT_FILE, &values.left_out_counts())?;
    w.write("floor.parquet", &parquet_bytes(&mut values.frame("pair")?)?)?;
    w.write_json("floor.json", &record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, seed: Option<u64>, w: f64) -> AttributionRow {
        AttributionRow {
            example_id: id.into(),
            class: 0,
            feature: "x".into(),
            segment: 0,
            position: 0,
            weight: w,
            seed,
        }
    }

    #[test]
    fn pairs_are_all_i_before_j() {
        assert_eq!(floor_pairs(3), vec![(0, 1), (0, 2), (1, 2)]);
        assert!(floor_pairs(1).is_empty());
        assert_eq!(floor_pairs(2), vec![(0, 1)]);
    }

    #[test]
    fn runs_split_by_seed_and_take_the_instance_seed() {
        let rows = [row("a", Some(2), 1.0), row("b", Some(2), 2.0), row("a", Some(1), 3.0), row("b", Some(1), 4.0)];
        let runs = split_runs(&rows, None, 5);
        assert_eq!(runs.iter().map(|r| r.seed).collect::<Vec<_>>(), [Some(1), Some(2)]);
        assert_eq!(runs[0].attributions[1].weights, [4.0]);
        assert_eq!(runs[1].attributions[0].example_id, "a");
        let det = split_runs(&[row("a", None, 1.0)], Some(9), 5);
        assert_eq!(det[0].seed, Some(9));
    }

    #[test]
    fn cross_seed_pairs_differ_in_seed_and_need_both() {
        let run = |seed| Run { seed, node: 0, attributions: vec![] };
        let reference = [run(Some(1)), run(Some(2))];
        let model = [run(Some(1)), run(Some(2)), run(Some(3))];
        assert_eq!(cross_seed_pairs(&reference, &model), vec![(0, 1), (0, 2), (1, 0), (1, 2)]);
        assert!(cross_seed_pairs(&[run(Some(1))], &[run(Some(1))]).is_empty());
        assert!(cross_seed_pairs(&[run(None)], &[run(Some(1)), run(Some(2))]).is_empty());
    }

    #[test]
    fn floor_kinds() {
        let run = |seed, node| Run { seed, node, attributions: vec![] };
        assert_eq!(floor_kind(&[run(None, 1)], true), "exact");
        assert_eq!(floor_kind(&[run(Some(1), 1), run(Some(2), 1)], false), "explanation-seed");
        assert_eq!(floor_kind(&[run(Some(1), 1), run(Some(2), 2)], true), "training-seed");
        assert_eq!(floor_kind(&[run(Some(1), 1), run(Some(2), 2)], false), "training-and-explanation-seed");
    }
}
