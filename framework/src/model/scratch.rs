//! Small BERT and DistilBERT models built from scratch (`architecture = { .. }` in a
//! manifest), for tests and demos: a `config.json` is made from the sizes, the weights are
//! drawn as `transformers` initialises them (normal(0, 0.02) matrices and embeddings, zero
//! biases, LayerNorm 1 and 0, a zero padding row) from a ChaCha generator seeded by the
//! load seed, and the tokenizer is a word-piece tokenizer over the given vocabulary.

use super::config::{HfConfig, default_label_names};
use super::heads::SequenceClassifier;
use super::module_path::ModulePath;
use super::tokenizer::HfTokenizer;
use super::{HfModel, LoadOptions, Origin, loader, set_training};
use anyhow::{Context, Result, bail};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The sizes of a model built from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// `bert` or `distilbert`.
    #[serde(rename = "type")]
    pub model_type: ArchitectureType,
    /// Transformer layers.
    pub layers: usize,
    /// Hidden size (divisible by `heads`).
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the feed-forward block.
    pub ffn: usize,
    /// A `vocab.txt`-format file (one token per line, with the BERT special tokens), or a
    /// folder holding `vocab.txt`.
    pub vocab: PathBuf,
    /// Longest input the position table allows. Default 512.
    #[serde(default = "default_positions")]
    pub max_positions: usize,
    /// Lower-case the inputs. Default true.
    #[serde(default = "yes")]
    pub lower_case: bool,
}

/// The architecture family of [`Architecture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArchitectureType {
    /// BERT (post-LN, learned positions, token types, pooler).
    Bert,
    /// DistilBERT (no token types, no pooler).
    Distilbert,
}

fn default_positions() -> usize {
    512
}

fn yes() -> bool {
    true
}

impl Architecture {
    /// The vocabulary file (`vocab` itself, or `vocab/vocab.txt` for a folder).
    pub fn vocab_file(&self) -> PathBuf {
        if self.vocab.is_dir() { self.vocab.join("vocab.txt") } else { self.vocab.clone() }
    }

    /// Checks the sizes and the vocabulary; errors say which value is wrong.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("layers", self.layers), ("hidden", self.hidden), ("heads", self.heads), ("ffn", self.ffn)] {
            if v == 0 {
                bail!("architecture.{name} must be at least 1");
            }
        }
        if !self.hidden.is_multiple_of(self.heads) {
            bail!("architecture.hidden ({}) must be divisible by architecture.heads ({})", self.hidden, self.heads);
        }
        if self.max_positions < 3 {
            bail!("architecture.max_positions must be at least 3");
        }
        let file = self.vocab_file();
        if !file.is_file() {
            bail!(
                "architecture.vocab: {} does not exist (give a vocab.txt file or a folder holding one)",
                file.display()
            );
        }
        Ok(())
    }

    /// The `config.json` of this architecture for `labels` classes, `vocab_size` tokens
    /// and padding id `pad`.
    pub fn config_json(&self, labels: &[String], vocab_size: usize, pad: u32) -> serde_json::Value {
        let id2label: serde_json::Map<String, serde_json::Value> =
            labels.iter().enumerate().map(|(i, l)| (i.to_string(), json!(l))).collect();
        let label2id: serde_json::Map<String, serde_json::Value> =
            labels.iter().enumerate().map(|(i, l)| (l.clone(), json!(i))).collect();
        match self.model_type {
            ArchitectureType::Bert => json!({
                "architectures": ["BertForSequenceClassification"],
                "model_type": "bert",
                "vocab_size": vocab_size,
                "hidden_size": self.hidden,
                "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads,
                "intermediate_size": self.ffn,
                "hidden_act": "gelu",
                "hidden_dropout_prob": 0.1,
                "attention_probs_dropout_prob": 0.1,
                "max_position_embeddings": self.max_positions,
                "type_vocab_size": 2,
                "initializer_range": 0.02,
                "layer_norm_eps": 1e-12,
                "pad_token_id": pad,
                "position_embedding_type": "absolute",
                "id2label": id2label,
                "label2id": label2id,
            }),
            ArchitectureType::Distilbert => json!({
                "architectures": ["DistilBertForSequenceClassification"],
                "model_type": "distilbert",
                "vocab_size": vocab_size,
                "dim": self.hidden,
                "n_layers": self.layers,
                "n_heads": self.heads,
                "hidden_dim": self.ffn,
                "activation": "gelu",
                "dropout": 0.1,
                "attention_dropout": 0.1,
                "seq_classif_dropout": 0.2,
                "max_position_embeddings": self.max_positions,
                "sinusoidal_pos_embds": false,
                "initializer_range": 0.02,
                "pad_token_id": pad,
                "id2label": id2label,
                "label2id": label2id,
            }),
        }
    }
}

impl HfModel {
    /// Builds a model of `arch` with fresh weights drawn from `options.seed` (same seed,
    /// bitwise the same weights), `options.num_labels` classes (default 2) and a
    /// word-piece tokenizer over `arch.vocab`.
    pub fn from_architecture(arch: &Architecture, options: &LoadOptions, device: &Device) -> Result<HfModel> {
        arch.validate()?;
        if options.batch_size == 0 {
            bail!("batch_size must be at least 1");
        }
        let vocab_file = arch.vocab_file();
        let max_len = options.max_len.min(arch.max_positions);
        let mut tokenizer = HfTokenizer::from_vocab_file(&vocab_file, arch.lower_case, max_len)?;
        tokenizer.set_special_text(options.special_text)?;
        let vocab_text =
            std::fs::read_to_string(&vocab_file).with_context(|| format!("cannot read {}", vocab_file.display()))?;
        let vocab_size = vocab_text.lines().count();
        let pad = vocab_text.lines().position(|l| l == "[PAD]").unwrap_or(0) as u32;
        let labels = default_label_names(options.num_labels.unwrap_or(2).max(1));
        let config_json = arch.config_json(&labels, vocab_size, pad);
        let config = HfConfig::from_json_str(&config_json.to_string())?;
        let spec = config.spec();
        let mut init = HfInit {
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            std: spec.initializer_range,
            path: ModulePath::default(),
            pad_row: pad as usize,
        };
        // burn's lazy initialisers draw from its process-wide generator: hold the training
        // lock so that building a model never shifts a running training's dropout stream.
        let _guard = super::train::TRAINING.lock().unwrap_or_else(|p| p.into_inner());
        let network = match SequenceClassifier::init(&spec, labels.len(), device) {
            SequenceClassifier::Bert(m) => SequenceClassifier::Bert(m.map(&mut init)),
            SequenceClassifier::DistilBert(m) => SequenceClassifier::DistilBert(m.map(&mut init)),
        };
        let network = set_training(network, false);
        drop(_guard);
        let dir = vocab_file.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(HfModel {
            dir,
            origin: Origin::Scratch { vocab: vocab_file, lower_case: arch.lower_case },
            config_json,
            label_names: labels,
            config,
            spec,
            network,
            tokenizer,
            batch_size: options.batch_size,
            device: device.clone(),
            report: loader::LoadReport {
                weights_file: PathBuf::new(),
                tensors_loaded: 0,
                ignored: Vec::new(),
                fresh_head: true,
                fresh_pooler: true,
                computed_positions: false,
            },
            packed_enabled: true,
            quantization: None,
            packed: Default::default(),
        })
    }
}

/// Draws every float parameter as `transformers` initialises it.
struct HfInit {
    rng: ChaCha8Rng,
    std: f64,
    path: ModulePath,
    pad_row: usize,
}

impl HfInit {
    fn normal(&mut self, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            // Box–Muller: two standard normals from two uniforms in (0, 1].
            let u1: f64 = 1.0 - self.rng.random::<f64>();
            let u2: f64 = self.rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            out.push((self.std * r * t.cos()) as f32);
            out.push((self.std * r * t.sin()) as f32);
        }
        out.truncate(n);
        out
    }
}

impl ModuleMapper for HfInit {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.lazy_shape();
        let dims: Vec<usize> = shape.to_vec();
        let n: usize = dims.iter().product();
        let name = self.path.last().unwrap_or_default().to_string();
        let in_norm = self.path.names().iter().rev().nth(1).is_some_and(|p| p.contains("norm"));
        let values = match name.as_str() {
            "bias" | "beta" => vec![0.0; n],
            "gamma" => vec![1.0; n],
            "weight" if in_norm => vec![1.0; n],
            _ => {
                let mut v = self.normal(n);
                let is_words = self.path.names().iter().any(|p| p == "word_embeddings");
                if is_words && dims.len() == 2 && self.pad_row < dims[0] {
                    v[self.pad_row * dims[1]..(self.pad_row + 1) * dims[1]].fill(0.0);
                }
                v
            }
        };
        param.map(|t| {
            let device = t.device();
            Tensor::<D>::from_data(TensorData::new(values, dims.clone()), &device)
        })
    }
}
