//! The alignment part of the aggregate stage: per-example values of the alignment and floor
//! nodes turned into the tables `alignment_by_seed`, `alignment`, `floor` and
//! `attributions`, and into `Summary.alignment`.
//!
//! Per seed (paired run): the mean over examples with a percentile bootstrap interval
//! (examples resampled). Across seeds: the mean of the seed means, their sample standard
//! deviation, and the bootstrap interval of that mean, resampling examples (the same
//! resample for every seed, since every run explains the same examples), exactly as the
//! calibration tables do. Across seeds (`cross_seed` columns): the mean over the pairs of
//! runs of different seeds of the mean over examples, with the same interval. A floor is the mean over its pairs of runs of the mean over
//! examples, with the same kind of interval.

use super::RunContext;
use super::alignment::FloorRecord;
use super::alignment_summary::{
    AlignmentAggregate, CrossSeedValue, FAITHFULNESS_GAP, FaithfulnessAggregate, FloorValue,
};
use super::evaluate::EvalConfig;
use crate::plan::Task;
use crate::plan::node_config::AggregateConfig;
use crate::tables::bootstrap::{mean_std, percentile_interval, resamples, rng_for};
use crate::tables::io::{column_f64, column_strings, read_parquet};
use anyhow::Result;
use polars::prelude::{Column, DataFrame};

/// Per-example values of one metric, by seed (or pair) tag, in example order.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValues {
    /// Display label (`top-k-jaccard@10`).
    pub metric: String,
    /// Plugin name.
    pub plugin: String,
    /// K, when the metric takes one.
    pub k: Option<usize>,
    /// (tag, values per example).
    pub runs: Vec<(String, Vec<f64>)>,
}

/// Reads `alignment.parquet` / `floor.parquet` (`tag` is `seed` / `pair`), metrics in
/// stored order.
pub fn read_values(path: &std::path::Path, tag: &str) -> Result<Vec<MetricValues>> {
    let df = read_parquet(path)?;
    let text = |c: &str| -> Result<Vec<String>> {
        Ok(column_strings(&df, c)?.into_iter().map(Option::unwrap_or_default).collect())
    };
    let (tags, metrics, plugins) = (text(tag)?, text("metric")?, text("plugin")?);
    let ks = column_f64(&df, "k")?;
    let values = column_f64(&df, "value")?;
    let mut out: Vec<MetricValues> = Vec::new();
    for j in 0..tags.len() {
        let mi = match out.iter().position(|m| m.metric == metrics[j]) {
            Some(p) => p,
            None => {
                out.push(MetricValues {
                    metric: metrics[j].clone(),
                    plugin: plugins[j].clone(),
                    k: ks[j].map(|k| k as usize),
                    runs: Vec::new(),
                });
                out.len() - 1
            }
        };
        let runs = &mut out[mi].runs;
        let ri = match runs.iter().position(|(t, _)| *t == tags[j]) {
            Some(p) => p,
            None => {
                runs.push((tags[j].clone(), Vec::new()));
                runs.len() - 1
            }
        };
        runs[ri].1.push(values[j].unwrap_or(f64::NAN));
    }
    Ok(out)
}

/// Mean over runs of the per-example values (example by example).
pub fn example_means(runs: &[(String, Vec<f64>)]) -> Vec<f64> {
    let n = runs.first().map_or(0, |(_, v)| v.len());
    (0..n).map(|e| runs.iter().map(|(_, v)| v[e]).sum::<f64>() / runs.len() as f64).collect()
}

/// Mean of `values` and its bootstrap interval over `boot`.
pub fn mean_with_interval(values: &[f64], boot: &[Vec<usize>], level: f64) -> (f64, Option<(f64, f64)>) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let samples: Vec<f64> =
        boot.iter().map(|rows| rows.iter().map(|&r| values[r]).sum::<f64>() / rows.len() as f64).collect();
    (mean, percentile_interval(&samples, level))
}

/// A floor row of the `floor` table.
#[derive(Debug, Clone)]
pub struct FloorRow {
    /// Model.
    pub model: String,
    /// Explainer label.
    pub explainer: String,
    /// Metric label.
    pub metric: String,
    /// Plugin.
    pub plugin: String,
    /// K.
    pub k: Option<usize>,
    /// Value and interval.
    pub value: FloorValue,
    /// What is compared.
    pub kind: String,
    /// Examples.
    pub examples: usize,
}

/// The alignment tables and summary rows.
pub struct AlignmentTables {
    /// `alignment_by_seed`, `alignment`, `floor`, `attributions`.
    pub frames: Vec<(&'static str, DataFrame)>,
    /// `Summary.alignment`.
    pub alignment: Vec<AlignmentAggregate>,
    /// Every floor.
    pub floors: Vec<FloorRow>,
    /// `Summary.faithfulness`.
    pub faithfulness: Vec<FaithfulnessAggregate>,
}

#[derive(Default)]
struct BySeed {
    model: Vec<String>,
    explainer: Vec<String>,
    metric: Vec<String>,
    plugin: Vec<String>,
    k: Vec<Option<u32>>,
    seed: Vec<String>,
    value: Vec<f64>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
    examples: Vec<u32>,
}

/// Builds the tables from the aggregate node `i`'s alignment, floor and explain inputs.
pub fn build(ctx: &RunContext, i: usize, cfg: &EvalConfig, agg: &AggregateConfig) -> Result<AlignmentTables> {
    let node = &ctx.plan.nodes[i];
    // Seeded by the data node's key (the aggregate node's first input), as in `aggregate`.
    let data_key = ctx.input_key(i, 0);
    let boot_for = |model: &str, explainer: &str, n: usize, purpose: &[u8]| {
        let mut rng = rng_for(&[data_key.as_bytes(), model.as_bytes(), explainer.as_bytes(), purpose]);
        resamples(n, cfg.bootstrap, &mut rng)
    };

    // Floors first: the alignment rows show them beside.
    let mut floors: Vec<FloorRow> = Vec::new();
    for &k in &node.inputs {
        let n = &ctx.plan.nodes[k];
        let Task::Floor { model, explainer } = n.task else { continue };
        let (mname, ename) = (&agg.models[model].name, &agg.explainers[explainer]);
        let record: FloorRecord = serde_json::from_slice(&ctx.store.read(&n.key, "floor.json")?)?;
        for mv in read_values(&ctx.store.artifact_path(&n.key, "floor.parquet"), "pair")? {
            let per_example = example_means(&mv.runs);
            let boot = boot_for(mname, ename, per_example.len(), b"floor");
            let (mean, ci) = mean_with_interval(&per_example, &boot, cfg.confidence);
            floors.push(FloorRow {
                model: mname.clone(),
                explainer: ename.clone(),
                metric: mv.metric,
                plugin: mv.plugin,
                k: mv.k,
                value: FloorValue {
                    mean,
                    ci_low: ci.map(|c| c.0),
                    ci_high: ci.map(|c| c.1),
                    pairs: record.pairs,
                    kind: record.kind.clone(),
                },
                kind: record.kind.clone(),
                examples: per_example.len(),
            });
        }
    }
    let floor_of = |model: &str, explainer: &str, metric: &str| {
        floors
            .iter()
            .find(|f| f.model == model && f.explainer == explainer && f.metric == metric)
            .map(|f| f.value.clone())
    };

    let mut by_seed = BySeed::default();
    let mut alignment: Vec<AlignmentAggregate> = Vec::new();
    let reference = &agg.models[0].name;
    for &k in &node.inputs {
        let n = &ctx.plan.nodes[k];
        let Task::Alignment { model, explainer } = n.task else { continue };
        let (mname, ename) = (&agg.models[model].name, &agg.explainers[explainer]);
        let left_out: std::collections::BTreeMap<String, usize> =
            match ctx.store.read(&n.key, super::alignment::LEFT_OUT_FILE) {
                Ok(bytes) => serde_json::from_slice(&bytes)?,
                Err(_) => Default::default(),
            };
        let cross_path = ctx.store.artifact_path(&n.key, super::alignment::CROSS_SEED_FILE);
        let cross = if cross_path.exists() { read_values(&cross_path, "pair")? } else { Vec::new() };
        for mv in read_values(&ctx.store.artifact_path(&n.key, "alignment.parquet"), "seed")? {
            let examples = mv.runs.first().map_or(0, |(_, v)| v.len());
            let boot = boot_for(mname, ename, examples, b"alignment");
            let mut seed_means = Vec::new();
            for (tag, values) in &mv.runs {
                let (mean, ci) = mean_with_interval(values, &boot, cfg.confidence);
                seed_means.push(mean);
                by_seed.model.push(mname.clone());
                by_seed.explainer.push(ename.clone());
                by_seed.metric.push(mv.metric.clone());
                by_seed.plugin.push(mv.plugin.clone());
                by_seed.k.push(mv.k.map(|k| k as u32));
                by_seed.seed.push(tag.clone());
                by_seed.value.push(mean);
                by_seed.ci_low.push(ci.map(|c| c.0));
                by_seed.ci_high.push(ci.map(|c| c.1));
                by_seed.examples.push(examples as u32);
            }
            let (mean, std) = mean_std(&seed_means);
            let (_, ci) = mean_with_interval(&example_means(&mv.runs), &boot, cfg.confidence);
            // Across seeds: the same examples (their feature counts do not depend on the
            // seed), resampled as the same-seed value is.
            let cross_seed = cross
                .iter()
                .find(|c| c.metric == mv.metric)
                .filter(|c| c.runs.iter().all(|(_, v)| v.len() == examples) && examples > 0)
                .map(|c| {
                    let (mean, ci) = mean_with_interval(&example_means(&c.runs), &boot, cfg.confidence);
                    CrossSeedValue { mean, ci_low: ci.map(|c| c.0), ci_high: ci.map(|c| c.1), pairs: c.runs.len() }
                });
            alignment.push(AlignmentAggregate {
                cross_seed,
                left_out: left_out.get(&mv.metric).copied().unwrap_or(0),
                floor: floor_of(mname, ename, &mv.metric),
                reference_floor: floor_of(reference, ename, &mv.metric),
                model: mname.clone(),
                explainer: ename.clone(),
                metric: mv.metric,
                plugin: mv.plugin,
                k: mv.k,
                mean,
                std,
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
                seeds: seed_means.len(),
                examples,
            });
        }
    }

    let faithfulness = faithfulness(ctx, i, agg, &boot_for, cfg.confidence)?;
    let frames = vec![
        ("alignment_by_seed", by_seed_frame(by_seed)?),
        ("alignment", alignment_frame(&alignment)?),
        ("floor", floor_frame(&floors)?),
        ("attributions", attributions_frame(ctx, i, agg)?),
        ("faithfulness", faithfulness_frame(&faithfulness)?),
    ];
    Ok(AlignmentTables { frames, alignment, floors, faithfulness })
}

/// Bootstrap resamples of `n` examples for (model, explainer, purpose).
type BootFor<'a> = &'a dyn Fn(&str, &str, usize, &[u8]) -> Vec<Vec<usize>>;

/// Per-example values by run tag, for comprehensiveness and sufficiency.
type FaithfulRuns = [Vec<(String, Vec<f64>)>; 2];

/// Faithfulness per model and explainer from the explain nodes' `faithfulness.parquet`: per
/// run (training seed × explanation seed) the values in example order, then the mean over
/// runs with its bootstrap interval (examples resampled), as for alignment.
fn faithfulness(
    ctx: &RunContext,
    i: usize,
    agg: &AggregateConfig,
    boot_for: BootFor,
    level: f64,
) -> Result<Vec<FaithfulnessAggregate>> {
    // (model, explainer) → metric → runs
    let mut groups: Vec<((usize, usize), FaithfulRuns)> = Vec::new();
    for &k in &ctx.plan.nodes[i].inputs {
        let n = &ctx.plan.nodes[k];
        let Task::Explain { model, explainer } = n.task else { continue };
        let path = ctx.store.artifact_path(&n.key, super::explain::FAITHFULNESS);
        if !path.exists() {
            continue;
        }
        let df = read_parquet(&path)?;
        let seeds = column_f64(&df, "seed")?;
        let values = [column_f64(&df, "comprehensiveness")?, column_f64(&df, "sufficiency")?];
        let gi = match groups.iter().position(|(g, _)| *g == (model, explainer)) {
            Some(p) => p,
            None => {
                groups.push(((model, explainer), Default::default()));
                groups.len() - 1
            }
        };
        for (m, metric_values) in values.iter().enumerate() {
            for (j, v) in metric_values.iter().enumerate() {
                let tag = format!("{:?}/{:?}", n.seed, seeds[j]);
                let runs = &mut groups[gi].1[m];
                let ri = match runs.iter().position(|(t, _)| *t == tag) {
                    Some(p) => p,
                    None => {
                        runs.push((tag, Vec::new()));
                        runs.len() - 1
                    }
                };
                runs[ri].1.push(v.unwrap_or(f64::NAN));
            }
        }
    }
    let mut out = Vec::new();
    // Per (model, explainer): the comprehensiveness of each example, mean over runs.
    let mut comprehensive: Vec<((usize, usize), Vec<f64>, usize)> = Vec::new();
    for ((model, explainer), metrics) in groups {
        let (mname, ename) = (&agg.models[model].name, &agg.explainers[explainer]);
        for (metric, runs) in ["comprehensiveness", "sufficiency"].iter().zip(metrics) {
            let examples = runs.first().map_or(0, |(_, v)| v.len());
            if examples == 0 || runs.iter().any(|(_, v)| v.len() != examples) {
                continue;
            }
            if *metric == "comprehensiveness" {
                comprehensive.push(((model, explainer), example_means(&runs), runs.len()));
            }
            let boot = boot_for(mname, ename, examples, b"faithfulness");
            let run_means: Vec<f64> = runs.iter().map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64).collect();
            let (mean, std) = mean_std(&run_means);
            let (_, ci) = mean_with_interval(&example_means(&runs), &boot, level);
            out.push(FaithfulnessAggregate {
                model: mname.clone(),
                explainer: ename.clone(),
                metric: metric.to_string(),
                mean,
                std,
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
                runs: runs.len(),
                examples,
            });
        }
    }
    // The gap: the reference's comprehensiveness minus the model's, example by example (the
    // same examples), with a paired bootstrap interval. Positive: the model's explanations are
    // less faithful to it than the reference's are to the reference.
    let reference = agg.models.iter().position(|m| m.reference);
    for ((model, explainer), values, runs) in &comprehensive {
        let Some(reference) = reference.filter(|&i| i != *model) else { continue };
        let Some((_, ref_values, _)) = comprehensive.iter().find(|((m, e), _, _)| *m == reference && e == explainer)
        else {
            continue;
        };
        if ref_values.len() != values.len() {
            continue;
        }
        let gap: Vec<f64> = ref_values.iter().zip(values).map(|(a, b)| a - b).collect();
        let (mname, ename) = (&agg.models[*model].name, &agg.explainers[*explainer]);
        let boot = boot_for(mname, ename, gap.len(), b"faithfulness");
        let (mean, ci) = mean_with_interval(&gap, &boot, level);
        out.push(FaithfulnessAggregate {
            model: mname.clone(),
            explainer: ename.clone(),
            metric: FAITHFULNESS_GAP.into(),
            mean,
            std: None,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            runs: *runs,
            examples: gap.len(),
        });
    }
    Ok(out)
}

fn faithfulness_frame(rows: &[FaithfulnessAggregate]) -> Result<DataFrame> {
    let f = |g: &dyn Fn(&FaithfulnessAggregate) -> Option<f64>| rows.iter().map(g).collect::<Vec<_>>();
    let s = |g: &dyn Fn(&FaithfulnessAggregate) -> String| rows.iter().map(g).collect::<Vec<_>>();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), s(&|r| r.model.clone())),
        Column::new("explainer".into(), s(&|r| r.explainer.clone())),
        Column::new("metric".into(), s(&|r| r.metric.clone())),
        Column::new("mean".into(), f(&|r| Some(r.mean))),
        Column::new("std".into(), f(&|r| r.std)),
        Column::new("ci_low".into(), f(&|r| r.ci_low)),
        Column::new("ci_high".into(), f(&|r| r.ci_high)),
        Column::new("runs".into(), rows.iter().map(|r| r.runs as u32).collect::<Vec<_>>()),
        Column::new("examples".into(), rows.iter().map(|r| r.examples as u32).collect::<Vec<_>>()),
    ])?)
}

fn by_seed_frame(b: BySeed) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), b.model),
        Column::new("explainer".into(), b.explainer),
        Column::new("metric".into(), b.metric),
        Column::new("plugin".into(), b.plugin),
        Column::new("k".into(), b.k),
        Column::new("seed".into(), b.seed),
        Column::new("value".into(), b.value),
        Column::new("ci_low".into(), b.ci_low),
        Column::new("ci_high".into(), b.ci_high),
        Column::new("examples".into(), b.examples),
    ])?)
}

fn alignment_frame(rows: &[AlignmentAggregate]) -> Result<DataFrame> {
    let f = |g: &dyn Fn(&AlignmentAggregate) -> Option<f64>| rows.iter().map(g).collect::<Vec<_>>();
    let s = |g: &dyn Fn(&AlignmentAggregate) -> String| rows.iter().map(g).collect::<Vec<_>>();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), s(&|r| r.model.clone())),
        Column::new("explainer".into(), s(&|r| r.explainer.clone())),
        Column::new("metric".into(), s(&|r| r.metric.clone())),
        Column::new("plugin".into(), s(&|r| r.plugin.clone())),
        Column::new("k".into(), rows.iter().map(|r| r.k.map(|k| k as u32)).collect::<Vec<_>>()),
        Column::new("mean".into(), f(&|r| Some(r.mean))),
        Column::new("std".into(), f(&|r| r.std)),
        Column::new("ci_low".into(), f(&|r| r.ci_low)),
        Column::new("ci_high".into(), f(&|r| r.ci_high)),
        Column::new("seeds".into(), rows.iter().map(|r| r.seeds as u32).collect::<Vec<_>>()),
        Column::new("examples".into(), rows.iter().map(|r| r.examples as u32).collect::<Vec<_>>()),
        Column::new("left_out".into(), rows.iter().map(|r| r.left_out as u32).collect::<Vec<_>>()),
        Column::new("cross_seed".into(), f(&|r| r.cross_seed.as_ref().map(|v| v.mean))),
        Column::new("cross_seed_ci_low".into(), f(&|r| r.cross_seed.as_ref().and_then(|v| v.ci_low))),
        Column::new("cross_seed_ci_high".into(), f(&|r| r.cross_seed.as_ref().and_then(|v| v.ci_high))),
        Column::new(
            "cross_seed_pairs".into(),
            rows.iter().map(|r| r.cross_seed.as_ref().map(|v| v.pairs as u32)).collect::<Vec<_>>(),
        ),
        Column::new("floor".into(), f(&|r| r.floor.as_ref().map(|v| v.mean))),
        Column::new("floor_ci_low".into(), f(&|r| r.floor.as_ref().and_then(|v| v.ci_low))),
        Column::new("floor_ci_high".into(), f(&|r| r.floor.as_ref().and_then(|v| v.ci_high))),
        Column::new(
            "floor_pairs".into(),
            rows.iter().map(|r| r.floor.as_ref().map(|v| v.pairs as u32)).collect::<Vec<_>>(),
        ),
        Column::new("reference_floor".into(), f(&|r| r.reference_floor.as_ref().map(|v| v.mean))),
        Column::new("reference_floor_ci_low".into(), f(&|r| r.reference_floor.as_ref().and_then(|v| v.ci_low))),
        Column::new("reference_floor_ci_high".into(), f(&|r| r.reference_floor.as_ref().and_then(|v| v.ci_high))),
    ])?)
}

fn floor_frame(rows: &[FloorRow]) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
        Column::new("explainer".into(), rows.iter().map(|r| r.explainer.clone()).collect::<Vec<_>>()),
        Column::new("metric".into(), rows.iter().map(|r| r.metric.clone()).collect::<Vec<_>>()),
        Column::new("plugin".into(), rows.iter().map(|r| r.plugin.clone()).collect::<Vec<_>>()),
        Column::new("k".into(), rows.iter().map(|r| r.k.map(|k| k as u32)).collect::<Vec<_>>()),
        Column::new("mean".into(), rows.iter().map(|r| r.value.mean).collect::<Vec<_>>()),
        Column::new("ci_low".into(), rows.iter().map(|r| r.value.ci_low).collect::<Vec<_>>()),
        Column::new("ci_high".into(), rows.iter().map(|r| r.value.ci_high).collect::<Vec<_>>()),
        Column::new("pairs".into(), rows.iter().map(|r| r.value.pairs as u32).collect::<Vec<_>>()),
        Column::new("kind".into(), rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>()),
        Column::new("examples".into(), rows.iter().map(|r| r.examples as u32).collect::<Vec<_>>()),
    ])?)
}

/// Every explain node's attributions in one table, with the model and the model
/// instance's seed (`model_seed`, null for a model shared by every seed) in front.
fn attributions_frame(ctx: &RunContext, i: usize, agg: &AggregateConfig) -> Result<DataFrame> {
    let mut frames = Vec::new();
    for &k in &ctx.plan.nodes[i].inputs {
        let n = &ctx.plan.nodes[k];
        let Task::Explain { model, .. } = n.task else { continue };
        let mut df = read_parquet(&ctx.store.artifact_path(&n.key, super::explain::ATTRIBUTIONS))?;
        let rows = df.height();
        df.insert_column(0, Column::new("model".into(), vec![agg.models[model].name.clone(); rows]))?;
        df.insert_column(1, Column::new("model_seed".into(), vec![n.seed.map(|s| s as i64); rows]))?;
        frames.push(df);
    }
    let mut all = frames.into_iter().reduce(|mut a, b| {
        a.vstack_mut(&b).ok();
        a
    });
    Ok(match all.as_mut() {
        Some(df) => {
            df.rechunk_mut();
            df.clone()
        }
        None => DataFrame::new_infer_height(vec![
            Column::new("model".into(), Vec::<String>::new()),
            Column::new("example_id".into(), Vec::<String>::new()),
        ])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_over_runs_and_intervals() {
        let runs = vec![("1".to_string(), vec![1.0, 0.0, 0.5]), ("2".to_string(), vec![0.0, 0.0, 0.5])];
        assert_eq!(example_means(&runs), vec![0.5, 0.0, 0.5]);
        let boot = vec![vec![0, 0, 0], vec![1, 1, 1], vec![0, 1, 2]];
        let (mean, ci) = mean_with_interval(&[0.5, 0.0, 0.5], &boot, 0.5);
        assert!((mean - 1.0 / 3.0).abs() < 1e-12);
        let (lo, hi) = ci.unwrap();
        assert!(lo >= 0.0 && hi <= 0.5 && lo < hi);
        assert_eq!(mean_with_interval(&[0.25], &[], 0.95), (0.25, None));
    }
}
