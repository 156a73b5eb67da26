//! Nodes, stages and the plan that holds them.

use super::key::node_key;
use super::place::Place;
use serde::Serialize;
use serde_json::Value;

/// The stage a node belongs to, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Load and subsample the dataset.
    Data,
    /// Train (fine-tune) a neural model with one seed.
    Train,
    /// Derive a compressed variant from its source model (one seed of it).
    Compress,
    /// Produce a model's predictions on the eval split.
    Predict,
    /// Calibration metrics of one model (one seed).
    Calibration,
    /// Calibration similarity of a model to the reference (one seed).
    Similarity,
    /// Explanations of one model instance by one explainer (every explanation seed).
    Explain,
    /// Alignment of a model's explanations with the reference's, and noise floors.
    Alignment,
    /// Tables across seeds.
    Aggregate,
    /// The report.
    Report,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 10] = [
        Stage::Data,
        Stage::Train,
        Stage::Compress,
        Stage::Predict,
        Stage::Calibration,
        Stage::Similarity,
        Stage::Explain,
        Stage::Alignment,
        Stage::Aggregate,
        Stage::Report,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Data => "data",
            Stage::Train => "train",
            Stage::Compress => "compress",
            Stage::Predict => "predict",
            Stage::Calibration => "calibration",
            Stage::Similarity => "similarity",
            Stage::Explain => "explain",
            Stage::Alignment => "alignment",
            Stage::Aggregate => "aggregate",
            Stage::Report => "report",
        }
    }
}

/// What a node computes (the stage implementations in `stages/` dispatch on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Task {
    /// Load the dataset.
    Data,
    /// Train a neural model (index into `Resolved::models`); input: the data node, then,
    /// for a variant with `finetune = true`, its compress node.
    Train {
        /// Model index.
        model: usize,
    },
    /// Compress a variant (index into `Resolved::models`); inputs: the data node, then the
    /// node holding the source model (its train or compress node) unless the source is a
    /// fine-tuned checkpoint used as is.
    Compress {
        /// Model index (the variant).
        model: usize,
    },
    /// Predictions of a model (index into `Resolved::models`); inputs: the data node, then
    /// the train node when the model was trained.
    Predict {
        /// Model index.
        model: usize,
    },
    /// Calibration metrics of one predict node's output.
    Calibration {
        /// Model index.
        model: usize,
    },
    /// Similarity of a model to the reference; inputs are [reference predict, model predict].
    Similarity {
        /// Model index.
        model: usize,
    },
    /// Explanations of one instance of model `model` (one trained seed, or the fine-tuned
    /// checkpoint) by explainer `explainer` (index into `Resolved::explainers`) for every
    /// explanation seed of the instance; inputs are [data, predict, model holder (a train
    /// node) if any].
    Explain {
        /// Model index.
        model: usize,
        /// Explainer index.
        explainer: usize,
    },
    /// Alignment of model `model` with the reference for explainer `explainer`; inputs are
    /// the reference's explain nodes of that explainer, then the model's.
    Alignment {
        /// Model index.
        model: usize,
        /// Explainer index.
        explainer: usize,
    },
    /// The noise floor of model `model` (the reference too) for explainer `explainer`: its
    /// own explanations under different seeds; inputs are its explain nodes.
    Floor {
        /// Model index.
        model: usize,
        /// Explainer index.
        explainer: usize,
    },
    /// Tables across seeds.
    Aggregate,
    /// The report.
    Report,
}

/// One node of the DAG.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Readable unique name: `predict/bert@seed42`.
    pub name: String,
    /// Its stage.
    pub stage: Stage,
    /// What it computes.
    #[serde(flatten)]
    pub task: Task,
    /// Plugin name and version, when a plugin computes it.
    pub plugin: Option<(String, String)>,
    /// The resolved config that enters the key.
    pub config: Value,
    /// Indices of the nodes it reads.
    pub inputs: Vec<usize>,
    /// The seed it depends on, if any.
    pub seed: Option<u64>,
    /// Content key (64 hex digits).
    pub key: String,
    /// Where the files it opens are on this host (not in the key: the config holds their
    /// hashes).
    #[serde(skip_serializing_if = "Place::is_empty")]
    pub place: Place,
}

impl Node {
    /// The first 16 hex digits of the key: the node's folder name and display id.
    pub fn short_key(&self) -> &str {
        &self.key[..16]
    }
}

/// The DAG: nodes in a topological order (inputs always come first).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Plan {
    /// Indices of the nodes that read node `i`.
    pub fn dependents(&self, i: usize) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&j| self.nodes[j].inputs.contains(&i)).collect()
    }

    /// Node `i` and every node downstream of it.
    pub fn downstream(&self, i: usize) -> Vec<usize> {
        let mut mark = vec![false; self.nodes.len()];
        mark[i] = true;
        for j in i + 1..self.nodes.len() {
            if self.nodes[j].inputs.iter().any(|&k| mark[k]) {
                mark[j] = true;
            }
        }
        (0..self.nodes.len()).filter(|&j| mark[j]).collect()
    }

    /// Nodes matching a `--force` selector: a stage name, a node name (or its prefix up
    /// to `@`/`/`), or a key prefix of at least 4 hex digits.
    pub fn select(&self, selector: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                let n = &self.nodes[i];
                n.stage.as_str() == selector
                    || n.name == selector
                    || n.name.split('@').next() == Some(selector)
                    || (selector.len() >= 4 && n.key.starts_with(selector))
            })
            .collect()
    }
}

/// A node to add: everything but its key, which [`NodeSpec::push`] derives from the rest and
/// from its inputs' keys (the one place a node's key is computed).
pub struct NodeSpec {
    /// Readable name.
    pub name: String,
    /// Stage.
    pub stage: Stage,
    /// Task.
    pub task: Task,
    /// Plugin name and version.
    pub plugin: Option<(String, String)>,
    /// Config (enters the key).
    pub config: Value,
    /// Input nodes (already in `nodes`).
    pub inputs: Vec<usize>,
    /// Seed.
    pub seed: Option<u64>,
}

impl NodeSpec {
    /// Appends the node with its content key to `nodes` and returns its index.
    pub fn push(self, nodes: &mut Vec<Node>) -> usize {
        let NodeSpec { name, stage, task, plugin, config, inputs, seed } = self;
        let input_keys: Vec<&str> = inputs.iter().map(|&i| nodes[i].key.as_str()).collect();
        let plugin_ref = plugin.as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
        let key = node_key(stage.as_str(), plugin_ref, &config, &input_keys, seed);
        nodes.push(Node { name, stage, task, plugin, config, inputs, seed, key, place: Place::default() });
        nodes.len() - 1
    }
}
