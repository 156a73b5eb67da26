//! The nodes of a compressed variant: `compress/V@seedS` (inputs: data and the node holding
//! the source model: its train or compress node for that seed; none for a fine-tuned
//! checkpoint used as is), then `train/V@seedS` with the manifest's trainer when
//! `finetune = true`, then `predict/V…` like any neural model.

use super::node::{Node, NodeSpec, Stage, Task};
use super::node_config::{
    CompressConfig, FORWARD_NUMERICS, InitConfig, NeuralPredictConfig, NeuralRun, TrainConfig, to_config,
};
use super::place::Place;
use crate::manifest::{NeuralInit, NeuralModel, Resolved};
use anyhow::{Result, bail};
use serde_json::Value;

/// Adds the nodes of variant `mi` (whose parents' nodes are already in `nodes`) and returns
/// its predict nodes with their seeds. `source_init` is the fingerprint of the root
/// checkpoint, used when the source has no node of its own.
pub fn variant_nodes(
    r: &Resolved,
    mi: usize,
    n: &NeuralModel,
    nodes: &mut Vec<Node>,
    data: usize,
    source_init: &dyn Fn(usize) -> Result<(InitConfig, Place)>,
) -> Result<Vec<(Option<u64>, usize)>> {
    let m = &r.models[mi];
    let NeuralInit::Variant { from, compressor, settings } = &n.init else {
        bail!("model `{}` is not a variant (internal error)", m.name);
    };
    let Some(pi) = r.models.iter().position(|p| &p.name == from) else {
        bail!("variant `{}`: source `{from}` is not resolved (internal error)", m.name);
    };
    let Some(entry) = crate::plugin::compressor::CompressorEntry::find(compressor) else {
        bail!("variant `{}`: compressor `{compressor}` is not registered (internal error)", m.name);
    };
    let parent = r.models[pi].neural().map(|p| p.train_seeds.clone()).unwrap_or_default();
    let backend = r.manifest.experiment.backend;
    let mut out = Vec::new();
    let compress_seeds: Vec<Option<u64>> =
        if parent.is_empty() { vec![None] } else { parent.iter().map(|&s| Some(s)).collect() };
    for seed in compress_seeds {
        // The node holding the source model for this seed: its last train or compress node.
        let producer = nodes.iter().rposition(|node| {
            node.seed == seed && matches!(node.task, Task::Train { model } | Task::Compress { model } if model == pi)
        });
        let mut inputs = vec![data];
        let mut config = CompressConfig {
            variant: m.name.clone(),
            from: from.clone(),
            settings: settings.clone(),
            batch_size: n.batch_size,
            source: None,
            run: NeuralRun::of(n, backend),
        };
        let mut place = Place::default();
        match producer {
            Some(p) => inputs.push(p),
            None => (config.source, place) = source_init(pi).map(|(init, place)| (Some(init), place))?,
        }
        let config = to_config(&config)?;
        let plugin = Some((entry.info.name.to_string(), entry.info.version.to_string()));
        let name = format!("compress/{}{}", m.name, suffix(seed));
        let c = push(nodes, name, Stage::Compress, Task::Compress { model: mi }, plugin, config, inputs, seed);
        nodes[c].place = place;
        let trains: Vec<(Option<u64>, usize)> = if n.finetuned {
            vec![(seed, c)]
        } else {
            let Some((trainer, trainer_settings)) = &r.trainer else {
                bail!("variant `{}` is fine-tuned but no trainer was resolved (internal error)", m.name);
            };
            let train_seeds: Vec<u64> = match seed {
                Some(s) => vec![s],
                None => n.train_seeds.clone(),
            };
            let mut t = Vec::new();
            for s in train_seeds {
                let config = to_config(&TrainConfig {
                    model: m.name.clone(),
                    init: None,
                    settings: trainer_settings.clone(),
                    run: NeuralRun::of(n, backend),
                })?;
                let plugin = Some((trainer.info.name.to_string(), trainer.info.version.to_string()));
                let name = format!("train/{}@seed{s}", m.name);
                t.push((
                    Some(s),
                    push(nodes, name, Stage::Train, Task::Train { model: mi }, plugin, config, vec![data, c], Some(s)),
                ));
            }
            t
        };
        for (s, producer) in trains {
            let seed = if n.seeded { s } else { None };
            let config = to_config(&NeuralPredictConfig {
                model: m.name.clone(),
                init: None,
                batch_size: n.batch_size,
                forward: FORWARD_NUMERICS,
                run: NeuralRun::of(n, backend),
            })?;
            let name = format!("predict/{}{}", m.name, suffix(seed));
            let task = Task::Predict { model: mi };
            out.push((seed, push(nodes, name, Stage::Predict, task, None, config, vec![data, producer], seed)));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn push(
    nodes: &mut Vec<Node>,
    name: String,
    stage: Stage,
    task: Task,
    plugin: Option<(String, String)>,
    config: Value,
    inputs: Vec<usize>,
    seed: Option<u64>,
) -> usize {
    NodeSpec { name, stage, task, plugin, config, inputs, seed }.push(nodes)
}

fn suffix(seed: Option<u64>) -> String {
    seed.map(|s| format!("@seed{s}")).unwrap_or_default()
}
