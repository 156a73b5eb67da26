//! The explanation part of the plan: explain nodes (one per neural model instance ×
//! explainer), alignment nodes (one per compared model × explainer) and noise-floor nodes
//! (one per model × explainer, the reference too).
//!
//! A model *instance* is one set of weights: a `train` node's output (one per training
//! seed) or a fine-tuned checkpoint. An instance trained with experiment seed s is explained
//! with seed s only (run s of the model is the model trained and explained with s); an
//! instance shared by every seed (a fine-tuned checkpoint, or `[train] seeds = [one]`) is
//! explained with every experiment seed. A deterministic explainer gets no explanation seed
//! at all, so its key (and its single run) does not change with the seed list.
//!
//! A source model that answers texts (a served model) has one instance per predict node,
//! with no weights: its explain nodes ask the source for a black box. Other source models
//! (predictions only) are not explained; the summary says so. Validation refuses such a
//! reference when explainers are configured.

use super::node::{Node, NodeSpec, Stage, Task};
use super::node_config::{AlignmentConfig, EXPLAIN_ENGINE, ExplainConfig, MetricVariant, to_config};
use crate::manifest::Resolved;
use crate::manifest::schema::FeatureIdentity;
use crate::plugin::alignment::AlignmentMetricEntry;
use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};

/// One set of weights of a model, as the plan knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInstance {
    /// The experiment seed it belongs to (`None`: shared by every seed).
    pub seed: Option<u64>,
    /// Its predict node.
    pub predict: usize,
    /// The node whose folder holds its weights (a `train` node), or `None` when the weights
    /// are the manifest's checkpoint folder itself.
    pub holder: Option<usize>,
}

/// The explanation seeds of an instance: none for a deterministic explainer, the instance's
/// own seed when it has one, otherwise every experiment seed.
pub fn explanation_seeds(instance_seed: Option<u64>, experiment_seeds: &[u64], deterministic: bool) -> Vec<u64> {
    match (deterministic, instance_seed) {
        (true, _) => Vec::new(),
        (false, Some(s)) => vec![s],
        (false, None) => experiment_seeds.to_vec(),
    }
}

/// The alignment metrics at every K of `[alignment] k` (for metrics with a `k` setting)
/// and on the `[alignment] features`.
pub fn metric_variants(r: &Resolved) -> Result<Vec<MetricVariant>> {
    let mut out = Vec::new();
    for m in &r.alignment_metrics {
        let entry = AlignmentMetricEntry::find(&m.name)
            .ok_or_else(|| anyhow!("alignment metric `{}` is not registered (internal error)", m.name))?;
        let ks: Vec<Option<usize>> =
            if takes(entry, "k") { r.manifest.alignment.k.iter().map(|&k| Some(k)).collect() } else { vec![None] };
        for k in ks {
            let settings = variant_settings(r, entry, &m.settings, k)?;
            let label = k.map_or_else(|| m.name.clone(), |k| format!("{}@{k}", m.name));
            let version = entry.info.version.to_string();
            out.push(MetricVariant { name: m.name.clone(), label, version, k, settings });
        }
    }
    Ok(out)
}

/// The verdict's alignment metric (the plugin declaring the verdict role) and its resolved
/// settings at `k`: the manifest's settings for it when `[alignment] metrics` lists it,
/// else its defaults.
pub fn verdict_metric(r: &Resolved, k: usize) -> Result<(&'static AlignmentMetricEntry, Value)> {
    let entry = AlignmentMetricEntry::verdict()?;
    let listed = r.alignment_metrics.iter().find(|m| m.name == entry.info.name).map(|m| m.settings.clone());
    let settings = variant_settings(r, entry, &listed.unwrap_or_else(|| json!({})), Some(k))?;
    Ok((entry, settings))
}

/// Whether the metric has setting `key`.
fn takes(entry: &AlignmentMetricEntry, key: &str) -> bool {
    entry.info.settings().iter().any(|d| d.key == key)
}

/// `settings` with `k` (when the metric takes one) and `on` (the `[alignment] features`)
/// filled in, resolved.
fn variant_settings(r: &Resolved, entry: &AlignmentMetricEntry, settings: &Value, k: Option<usize>) -> Result<Value> {
    let mut settings = settings.clone();
    if let Some(k) = k.filter(|_| takes(entry, "k")) {
        settings["k"] = json!(k);
    }
    if takes(entry, "on") {
        settings["on"] = json!(match r.manifest.alignment.features {
            FeatureIdentity::Words => "word",
            FeatureIdentity::Positions => "position",
        });
    }
    (entry.info.resolve)(&settings)
        .map_err(|e| anyhow!("alignment metric `{}`: setting `{}`: {}", entry.info.name, e.path.join("."), e.message))
}

/// Adds the explain, alignment and floor nodes; returns the alignment and floor nodes and
/// the explain nodes (what the aggregate node reads). `flips_from`: the similarity nodes
/// every explain node reads to add the compression-identified examples to the explained
/// ones (`[alignment] include_flips`), else empty. `instances[m]` are model m's
/// instances (empty for a predictions-only model); model 0 is the reference.
pub fn add_explanations(
    r: &Resolved,
    nodes: &mut Vec<Node>,
    data: usize,
    instances: &[Vec<ModelInstance>],
    flips_from: &[usize],
) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    if r.explainers.is_empty() {
        return Ok(out);
    }
    let a = &r.manifest.alignment;
    let alignment_config = to_config(&AlignmentConfig {
        metrics: metric_variants(r)?,
        features: a.features,
        class: a.class,
        // None: a metric at K leaves out examples with at most K features (issue 15.4).
        min_features: a.min_features,
        // The alignment node also compares runs of different seeds (issue 15.4).
        pairings: vec!["same-seed".into(), "cross-seed".into()],
    })?;
    for (ei, ex) in r.explainers.iter().enumerate() {
        let plugin = Some((ex.entry.info.name.to_string(), ex.entry.info.version.to_string()));
        let mut explained: Vec<Vec<usize>> = Vec::new();
        for (mi, m) in r.models.iter().enumerate() {
            let mut own = Vec::new();
            if m.explainable() {
                let n = m.neural();
                for inst in instances.get(mi).into_iter().flatten() {
                    let seeds = explanation_seeds(inst.seed, &r.manifest.experiment.seeds, ex.entry.deterministic);
                    let mut config = ExplainConfig {
                        model: m.name.clone(),
                        explainer: ex.label.clone(),
                        settings: ex.settings.clone(),
                        seeds,
                        examples: a.examples,
                        class: a.class,
                        max_len: n.map(|n| n.max_len),
                        batch_size: n.map(|n| n.batch_size),
                        backend: r.manifest.experiment.explain_backend(),
                        engine: EXPLAIN_ENGINE,
                        special_tokens: super::tokenization::special_tokens(n),
                        include_flips: !flips_from.is_empty(),
                        imported: None,
                    };
                    // Attributions read from a file: its content is part of the key.
                    if let (true, crate::manifest::ModelKind::Source { source, settings, .. }) = (m.imported(), &m.kind)
                    {
                        config.imported = Some(
                            (source.attributions_fingerprint)(settings, &r.base_dir, inst.seed)
                                .with_context(|| format!("model `{}`: fingerprinting its attributions file", m.name))?,
                        );
                    }
                    let config = to_config(&config)?;
                    let mut inputs = vec![data, inst.predict];
                    inputs.extend(inst.holder);
                    // After the weights' holder: the prediction pairs that find the flips.
                    inputs.extend(flips_from);
                    let spec = NodeSpec {
                        name: format!("explain/{}/{}{}", m.name, ex.label, super::build::seed_suffix(inst.seed)),
                        stage: Stage::Explain,
                        task: Task::Explain { model: mi, explainer: ei },
                        plugin: plugin.clone(),
                        config,
                        inputs,
                        seed: inst.seed,
                    };
                    let e = spec.push(nodes);
                    // A model used as it is: the explain node opens its predict node's folder.
                    if inst.holder.is_none() {
                        nodes[e].place = nodes[inst.predict].place.clone();
                    }
                    own.push(e);
                }
            }
            explained.push(own);
        }
        for (mi, m) in r.models.iter().enumerate() {
            if explained[mi].is_empty() {
                continue;
            }
            if mi > 0 {
                let mut inputs = explained[0].clone();
                inputs.extend(&explained[mi]);
                let spec = NodeSpec {
                    name: format!("alignment/{}/{}", m.name, ex.label),
                    stage: Stage::Alignment,
                    task: Task::Alignment { model: mi, explainer: ei },
                    plugin: None,
                    config: alignment_config.clone(),
                    inputs,
                    seed: None,
                };
                out.push(spec.push(nodes));
            }
            let spec = NodeSpec {
                name: format!("floor/{}/{}", m.name, ex.label),
                stage: Stage::Alignment,
                task: Task::Floor { model: mi, explainer: ei },
                plugin: None,
                config: alignment_config.clone(),
                inputs: explained[mi].clone(),
                seed: None,
            };
            out.push(spec.push(nodes));
        }
        out.extend(explained.into_iter().flatten());
    }
    out.sort_unstable();
    Ok(out)
}

/// A one-line description of an explain, alignment or floor node for `trustx plan`:
/// its explanation seeds and examples, or the metrics it computes.
pub fn describe(n: &Node) -> Option<String> {
    let c = &n.config;
    match n.stage {
        Stage::Explain => {
            let seeds: Vec<String> = c["seeds"].as_array()?.iter().map(|s| s.to_string()).collect();
            let seeds = if seeds.is_empty() {
                "deterministic (no seed)".to_string()
            } else {
                format!("seeds {}", seeds.join(", "))
            };
            Some(format!(
                "{seeds}; first {} eval examples{}; class {}",
                c["examples"],
                if c["include_flips"] == true { " and the compression-identified ones" } else { "" },
                c["class"].as_str().unwrap_or("?")
            ))
        }
        Stage::Alignment => {
            let metrics: Vec<&str> = c["metrics"].as_array()?.iter().filter_map(|m| m["label"].as_str()).collect();
            let what = if matches!(n.task, Task::Floor { .. }) { "noise floor" } else { "vs the reference" };
            Some(format!("{what}: {}", metrics.join(", ")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanation_seeds_follow_the_instance() {
        assert_eq!(explanation_seeds(Some(2), &[1, 2, 3], false), vec![2]);
        assert_eq!(explanation_seeds(None, &[1, 2, 3], false), vec![1, 2, 3]);
        assert!(explanation_seeds(None, &[1, 2, 3], true).is_empty());
        assert!(explanation_seeds(Some(2), &[1, 2, 3], true).is_empty());
    }
}
