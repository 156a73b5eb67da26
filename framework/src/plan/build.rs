//! Expanding a validated manifest into the DAG: data → train → predict (per model × seed) →
//! calibration (per prediction) → similarity (per model × paired reference seed) →
//! explain (per neural model instance × explainer) → alignment and noise floor (per model
//! × explainer) → aggregate → report.

use super::explain::{ModelInstance, add_explanations};
use super::fingerprint::{checkpoint_fingerprint, file_hash, vocab_fingerprint};
use super::node::{Node, NodeSpec, Plan, Stage, Task};
use super::node_config::{
    AggregateConfig, AlignmentSettings, DataConfig, EvalConfig, FORWARD_NUMERICS, InitConfig, MetricConfig,
    MetricVariant, ModelRole, NeuralPredictConfig, NeuralRun, SourcePredictConfig, SplitConfig, TrainConfig, to_config,
};
use super::place::Place;
use super::report_config::report_config;
use crate::manifest::{ModelKind, NeuralInit, NeuralModel, Resolved, ResolvedMetric};
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::PathBuf;

/// Builds the plan of a validated manifest. Reads the data and prediction files to hash
/// them (a changed file changes the keys downstream of it).
pub fn build(r: &Resolved) -> Result<Plan> {
    let mut nodes: Vec<Node> = Vec::new();
    let add =
        |nodes: &mut Vec<Node>,
         name: String,
         stage: Stage,
         task: Task,
         plugin: Option<(String, String)>,
         config: Value,
         inputs: Vec<usize>,
         seed: Option<u64>| { NodeSpec { name, stage, task, plugin, config, inputs, seed }.push(nodes) };

    // data
    let d = &r.manifest.dataset;
    let split_config = |spec: &crate::manifest::schema::SplitSpec| -> Result<SplitConfig> {
        let paths: Vec<PathBuf> = spec.path.paths();
        let blake3 = paths.iter().map(|p| file_hash(&r.path(p))).collect::<Result<Vec<_>>>()?;
        Ok(SplitConfig { paths, blake3, max_rows: spec.max_rows })
    };
    let data_config = to_config(&DataConfig {
        name: dataset_name(r),
        settings: r.loader_settings.clone(),
        on_bad_rows: d.on_bad_rows,
        seed: d.seed,
        eval: split_config(&d.eval)?,
        train: d.train.as_ref().map(split_config).transpose()?,
    })?;
    let loader = Some((r.loader.info.name.to_string(), r.loader.info.version.to_string()));
    let data = add(&mut nodes, "data".into(), Stage::Data, Task::Data, loader, data_config, vec![], None);

    // train and predict
    let seeds = &r.manifest.experiment.seeds;
    let backend = r.manifest.experiment.backend;
    let mut predict: Vec<Vec<(Option<u64>, usize)>> = Vec::new();
    let mut instances: Vec<Vec<ModelInstance>> = Vec::new();
    for (mi, m) in r.models.iter().enumerate() {
        let mut per_seed = Vec::new();
        let mut own = Vec::new();
        match &m.kind {
            ModelKind::Source { source, settings, seeded } => {
                let model_seeds: Vec<Option<u64>> =
                    if *seeded { seeds.iter().map(|&s| Some(s)).collect() } else { vec![None] };
                for seed in model_seeds {
                    let fingerprint = (source.fingerprint)(settings, &r.base_dir, seed)
                        .with_context(|| format!("reading model `{}`", m.name))?;
                    let config = to_config(&SourcePredictConfig {
                        model: m.name.clone(),
                        settings: settings.clone(),
                        fingerprint,
                    })?;
                    let plugin = Some((source.info.name.to_string(), source.info.version.to_string()));
                    let name = format!("predict/{}{}", m.name, seed_suffix(seed));
                    let task = Task::Predict { model: mi };
                    let p = add(&mut nodes, name, Stage::Predict, task, plugin, config, vec![data], seed);
                    per_seed.push((seed, p));
                    // A source that can be explained: an instance without weights.
                    if m.explainable() {
                        own.push(ModelInstance { seed, predict: p, holder: None });
                    }
                }
            }
            ModelKind::Neural(n @ NeuralModel { init: NeuralInit::Variant { .. }, .. }) => {
                let root = |pi: usize| root_init(r, pi);
                per_seed = super::variants::variant_nodes(r, mi, n, &mut nodes, data, &root)?;
                // A variant's predict node reads [data, the node holding its weights].
                for &(seed, p) in &per_seed {
                    own.push(ModelInstance { seed, predict: p, holder: nodes[p].inputs.get(1).copied() });
                }
            }
            ModelKind::Neural(n) => {
                let (init, place) = init_config(n).with_context(|| format!("reading model `{}`", m.name))?;
                let predict_config = |trained: bool| {
                    to_config(&NeuralPredictConfig {
                        model: m.name.clone(),
                        init: if trained { None } else { Some(init.clone()) },
                        batch_size: n.batch_size,
                        forward: FORWARD_NUMERICS,
                        run: NeuralRun::of(n, backend),
                    })
                };
                if n.finetuned {
                    let name = format!("predict/{}", m.name);
                    let task = Task::Predict { model: mi };
                    let config = predict_config(false)?;
                    let p = add(&mut nodes, name, Stage::Predict, task, None, config, vec![data], None);
                    nodes[p].place = place.clone();
                    per_seed.push((None, p));
                    own.push(ModelInstance { seed: None, predict: p, holder: None });
                    predict.push(per_seed);
                    instances.push(own);
                    continue;
                }
                let Some((trainer, trainer_settings)) = &r.trainer else {
                    anyhow::bail!("model `{}` needs training but no trainer was resolved (internal error)", m.name);
                };
                for &s in &n.train_seeds {
                    let config = to_config(&TrainConfig {
                        model: m.name.clone(),
                        init: Some(init.clone()),
                        settings: trainer_settings.clone(),
                        run: NeuralRun::of(n, backend),
                    })?;
                    let plugin = Some((trainer.info.name.to_string(), trainer.info.version.to_string()));
                    let name = format!("train/{}@seed{s}", m.name);
                    let task = Task::Train { model: mi };
                    let t = add(&mut nodes, name, Stage::Train, task, plugin, config, vec![data], Some(s));
                    nodes[t].place = place.clone();
                    let seed = if n.seeded { Some(s) } else { None };
                    let name = format!("predict/{}{}", m.name, seed_suffix(seed));
                    let task = Task::Predict { model: mi };
                    let config = predict_config(true)?;
                    let p = add(&mut nodes, name, Stage::Predict, task, None, config, vec![data, t], seed);
                    per_seed.push((seed, p));
                    own.push(ModelInstance { seed, predict: p, holder: Some(t) });
                }
            }
        }
        predict.push(per_seed);
        instances.push(own);
    }

    // calibration
    let calibration = calibration_config(r)?;
    let cal_config = to_config(&calibration)?;
    let mut metric_nodes = Vec::new();
    for (mi, m) in r.models.iter().enumerate() {
        for &(seed, p) in &predict[mi] {
            let name = format!("calibration/{}{}", m.name, seed_suffix(seed));
            let task = Task::Calibration { model: mi };
            metric_nodes.push(add(&mut nodes, name, Stage::Calibration, task, None, cal_config.clone(), vec![p], seed));
        }
    }

    // similarity: pair the reference's and the model's predictions seed by seed
    let mut similarity_nodes = Vec::new();
    for (mi, m) in r.models.iter().enumerate().skip(1) {
        for (seed, ref_node, model_node) in pair_seeds(&predict[0], &predict[mi]) {
            let name = format!("similarity/{}{}", m.name, seed_suffix(seed));
            let task = Task::Similarity { model: mi };
            let inputs = vec![ref_node, model_node];
            let k = add(&mut nodes, name, Stage::Similarity, task, None, cal_config.clone(), inputs, seed);
            similarity_nodes.push(k);
            metric_nodes.push(k);
        }
    }

    // explain, alignment and noise floors; with `[alignment] include_flips` every explain node
    // reads the similarity nodes' prediction pairs to find the compression-identified examples.
    let flips_from = if r.manifest.alignment.include_flips { similarity_nodes } else { Vec::new() };
    let explanation_nodes = add_explanations(r, &mut nodes, data, &instances, &flips_from)?;

    // aggregate and report
    let mut agg_inputs = vec![data];
    agg_inputs.extend(predict.iter().flatten().map(|&(_, i)| i));
    agg_inputs.extend(metric_nodes);
    agg_inputs.extend(explanation_nodes);
    let agg_config = to_config(&aggregate_config(r, calibration)?)?;
    let aggregate =
        add(&mut nodes, "aggregate".into(), Stage::Aggregate, Task::Aggregate, None, agg_config, agg_inputs, None);
    let templates_dir = r.manifest.report.templates.as_ref().map(|p| r.path(p));
    let templates = crate::templates::fingerprint(templates_dir.as_deref())?;
    let report_config = serde_json::to_value(report_config(r, templates)?)?;
    let report =
        add(&mut nodes, "report".into(), Stage::Report, Task::Report, None, report_config, vec![data, aggregate], None);
    nodes[report].place = Place { templates: templates_dir, ..Place::default() };
    Ok(Plan { nodes })
}

/// What a neural model starts from, for the keys: the checkpoint's file hashes (and its
/// `labels` renaming), or the architecture with its vocabulary's hashes; with the host
/// folders those hashes stand for.
fn init_config(n: &NeuralModel) -> Result<(InitConfig, Place)> {
    let none = InitConfig { checkpoint: None, labels: Default::default(), architecture: None };
    Ok(match &n.init {
        NeuralInit::Checkpoint(dir) => (
            InitConfig { checkpoint: Some(checkpoint_fingerprint(dir)?), labels: n.labels.clone(), ..none },
            Place { checkpoint: Some(dir.clone()), ..Place::default() },
        ),
        NeuralInit::Architecture(arch) => {
            let vocab = arch.get("vocab").and_then(Value::as_str).unwrap_or_default();
            let mut fingerprinted = arch.clone();
            fingerprinted["vocab"] = vocab_fingerprint(std::path::Path::new(vocab))?;
            (
                InitConfig { architecture: Some(fingerprinted), ..none },
                Place { vocab: Some(PathBuf::from(vocab)), ..Place::default() },
            )
        }
        NeuralInit::Variant { .. } => anyhow::bail!("a variant has no initial weights of its own (internal error)"),
    })
}

/// The init config (and place) of the model a variant chain starting at model `pi` ends in.
fn root_init(r: &Resolved, mut pi: usize) -> Result<(InitConfig, Place)> {
    loop {
        let Some(n) = r.models[pi].neural() else {
            anyhow::bail!("model `{}` is not neural (internal error)", r.models[pi].name);
        };
        let NeuralInit::Variant { from, .. } = &n.init else { return init_config(n) };
        match r.models.iter().position(|m| &m.name == from) {
            Some(p) => pi = p,
            None => anyhow::bail!("variant source `{from}` is not resolved (internal error)"),
        }
    }
}

/// The dataset's display name: `[dataset] name`, else the loader's `task`, else the loader.
pub fn dataset_name(r: &Resolved) -> String {
    r.manifest
        .dataset
        .name
        .clone()
        .or_else(|| r.loader_settings.get("task").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| r.loader.info.name.to_string())
}

/// Version of what the aggregate stage computes, in its nodes' keys: bump it when the code
/// changes its tables, so that tables stored by older code are not reused. 2: the
/// across-seed bootstraps are seeded by the data node's key, not the aggregate node's. 3: the
/// calibration and similarity tables record each metric's binning, norm, mode and estimator;
/// `flipped` (compression-identified examples) and alignment's `left_out` are new.
/// 5: the config names the models, explainers and alignment settings the node reads (it read
/// them from the manifest), so its key covers them.
const AGGREGATE_VERSION: &str = "5";

/// The aggregate node's config: the calibration config, the models' and explainers' names
/// and roles, and the alignment settings it reads.
fn aggregate_config(r: &Resolved, calibration: EvalConfig) -> Result<AggregateConfig> {
    let a = &r.manifest.alignment;
    let verdict_metric = match (r.explainers.is_empty(), a.k.first()) {
        (false, Some(&k)) => {
            let (entry, settings) = super::explain::verdict_metric(r, k)?;
            Some(MetricVariant {
                name: entry.info.name.to_string(),
                label: format!("{}@{k}", entry.info.name),
                version: entry.info.version.to_string(),
                k: Some(k),
                settings,
            })
        }
        _ => None,
    };
    Ok(AggregateConfig {
        calibration,
        aggregate_version: AGGREGATE_VERSION.to_string(),
        models: r
            .models
            .iter()
            .map(|m| ModelRole {
                name: m.name.clone(),
                reference: m.reference,
                origin: m.origin(),
                derived_from: m.variant().map(|(from, _)| from.to_string()),
                compressor: m.variant().map(|(_, c)| c.to_string()),
                explainable: m.explainable(),
            })
            .collect(),
        explainers: r.explainers.iter().map(|e| e.label.clone()).collect(),
        alignment: AlignmentSettings {
            k: a.k.clone(),
            examples: a.examples,
            features: a.features,
            min_features: a.min_features,
            include_flips: a.include_flips,
            metrics: r.alignment_metrics.iter().map(|m| m.name.clone()).collect(),
            verdict_metric,
        },
    })
}

/// The config shared by calibration, similarity and aggregate nodes. The verdict's
/// tolerances are not in it: they reach only the report node (through its `meta`), so
/// changing one re-renders the report without recomputing any metric.
fn calibration_config(r: &Resolved) -> Result<EvalConfig> {
    let c = &r.manifest.calibration;
    let metric_list =
        |list: &[ResolvedMetric], version: &dyn Fn(&str) -> Option<&'static str>| -> Result<Vec<MetricConfig>> {
            list.iter()
                .map(|m| {
                    let v = version(&m.name).with_context(|| {
                        format!("metric `{}` is not registered (internal error: it was validated)", m.name)
                    })?;
                    Ok(MetricConfig { name: m.name.clone(), version: v.to_string(), settings: m.settings.clone() })
                })
                .collect()
        };
    let metric_version = |n: &str| crate::plugin::metric::CalibrationMetricEntry::find(n).map(|e| e.info.version);
    let similarity_version =
        |n: &str| crate::plugin::similarity::SimilarityMetricEntry::find(n).map(|e| e.info.version);
    Ok(EvalConfig {
        bins: c.bins.get(),
        metrics: metric_list(&r.metrics, &metric_version)?,
        similarity: metric_list(&r.similarity, &similarity_version)?,
        bootstrap: c.bootstrap,
        confidence: c.confidence,
    })
}

/// Pairs reference and model runs (predict nodes, explanation runs): same seed when both
/// are seeded, otherwise the unseeded one with each seed of the other.
pub fn pair_seeds<T: Copy>(reference: &[(Option<u64>, T)], model: &[(Option<u64>, T)]) -> Vec<(Option<u64>, T, T)> {
    let mut out = Vec::new();
    for &(rs, ri) in reference {
        for &(ms, mi) in model {
            match (rs, ms) {
                (Some(a), Some(b)) if a == b => out.push((Some(a), ri, mi)),
                (Some(_), Some(_)) => {}
                (seed, None) | (None, seed) => out.push((seed, ri, mi)),
            }
        }
    }
    out
}

/// `@seedS`, or nothing for an unseeded node.
pub fn seed_suffix(seed: Option<u64>) -> String {
    seed.map(|s| format!("@seed{s}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_pair_by_value_or_broadcast() {
        let r = [(Some(1), 10), (Some(2), 11)];
        let m = [(Some(1), 20), (Some(2), 21)];
        assert_eq!(pair_seeds(&r, &m), vec![(Some(1), 10, 20), (Some(2), 11, 21)]);
        let single = [(None, 30)];
        assert_eq!(pair_seeds(&r, &single), vec![(Some(1), 10, 30), (Some(2), 11, 30)]);
        assert_eq!(pair_seeds(&single, &m), vec![(Some(1), 30, 20), (Some(2), 30, 21)]);
    }
}
