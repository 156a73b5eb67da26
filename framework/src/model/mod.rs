//! BERT and DistilBERT sequence classifiers in burn, loaded from Hugging Face checkpoint
//! folders.
//!
//! # The API the rest of trustx calls
//!
//! ```no_run
//! use std::path::Path;
//! use burn::tensor::Device;
//! use trustx_framework::model::{HfModel, LoadOptions};
//!
//! # fn main() -> anyhow::Result<()> {
//! let device = Device::flex(); // burn's CPU backend; `Device::cuda(0)` with the `cuda` feature
//! let model = HfModel::load(Path::new("models/all-MiniLM-L6-v2"), &LoadOptions::default(), &device)?;
//! let a = model.tokenize("A man is playing a guitar.", None)?;
//! let b = model.tokenize("Two dogs run.", Some("Some animals are outdoors."))?;
//! let out = model.forward_batch(&[a, b])?; // batched, sorted by length, deduplicated
//! println!("{:?} {:?}", model.label_names(), out.probs[0]);
//! println!("{} parameters", model.num_parameters());
//! # Ok(()) }
//! ```
//!
//! - [`HfModel::load`] reads `config.json` ([`config`]), builds the architecture, loads
//!   `model.safetensors` or `pytorch_model.bin` through burn's store with every tensor
//!   accounted for ([`loader`]), and builds the tokenizer ([`tokenizer`]), checking that its
//!   vocabulary fits the model. Errors are `anyhow` errors naming the folder, the file and
//!   the tensors; a bad folder never panics.
//! - [`HfModel::tokenize`] encodes a text or a pair, truncated to `max_len`.
//! - [`HfModel::forward_batch`] returns logits and softmax probabilities per input.
//! - [`HfModel::forward`] runs one padded [`Batch`] and returns the tensors
//!   ([`ClassifierOutput`]: last hidden state, pooler output for BERT, logits) for
//!   inspection, parity tests and gradients.
//!
//! # Layout
//!
//! [`embeddings`], [`attention`] and [`encoder`] are shared by [`bert`] and [`distilbert`];
//! [`heads`] puts the Hugging Face classification heads on top. Module field names are
//! architecture-neutral and all checkpoint naming lives in [`loader`]. Dropout modules are
//! present for training but inactive unless [`HfModel::set_training`] turns them on and the
//! device is an autodiff device.

pub mod attention;
pub mod bert;
pub mod config;
pub mod cpu_train;
pub mod distilbert;
pub mod distill;
pub mod embeddings;
pub mod encoder;
pub mod fused;
pub mod heads;
mod hf_model;
pub mod labels;
pub mod loader;
pub mod module_path;
mod name_rules;
pub mod packed;
pub mod quant;
pub mod quant_embedding;
pub mod quant_io;
#[cfg(test)]
mod quant_parity;
mod quant_records;
pub mod save;
pub mod scratch;
pub mod sparse_io;
pub mod special_text;
pub mod surgery;
pub mod tokenizer;
pub mod train;

use burn::module::{Flag, Module, ModuleMapper, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

pub use config::{EncoderSpec, HfConfig, ModelType};
pub use heads::{ClassifierOutput, SequenceClassifier};
pub use hf_model::{HfModel, Origin, Predictions};
pub use loader::{HeadPolicy, LoadReport};
pub use tokenizer::{Encoded, HfTokenizer, TokenizerChoice, TokenizerOptions};

/// How to load a checkpoint folder.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Seed of a freshly drawn classification head (a checkpoint without one).
    pub seed: u64,
    /// Number of classes, overriding `config.json` (`id2label` / `num_labels`). Label
    /// names become `LABEL_i` unless the config has that many.
    pub num_labels: Option<usize>,
    /// Longest encoding in tokens, special tokens included; capped at the model's
    /// `max_position_embeddings`. Default 128.
    pub max_len: usize,
    /// Inputs per forward pass in [`HfModel::forward_batch`]. Default 32.
    pub batch_size: usize,
    /// Load the checkpoint's head or draw a fresh one.
    pub head: HeadPolicy,
    /// Which tokenizer file to use.
    pub tokenizer: TokenizerChoice,
    /// Use the tokenizer even when its vocabulary disagrees with `vocab.txt` or
    /// `config.json` (a warning instead of an error).
    pub allow_vocab_mismatch: bool,
    /// What a special token's text inside an input becomes (default: ordinary text; see
    /// [`special_text`]).
    pub special_text: special_text::SpecialTokenText,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            num_labels: None,
            max_len: 128,
            batch_size: 32,
            head: HeadPolicy::FromCheckpoint,
            tokenizer: TokenizerChoice::Auto,
            allow_vocab_mismatch: false,
            special_text: special_text::SpecialTokenText::Escape,
        }
    }
}

/// Inputs of one forward pass, padded to the longest.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, seq]` token ids (padding with the pad id).
    pub input_ids: Tensor<2, Int>,
    /// `[batch, seq]` segment ids (BERT); `None` for DistilBERT.
    pub token_type_ids: Option<Tensor<2, Int>>,
    /// `[batch, seq]`: 1 for tokens, 0 for padding.
    pub attention_mask: Tensor<2>,
    /// Number of real tokens of each row.
    pub lengths: Vec<usize>,
}

impl Batch {
    /// Pads `inputs` to the longest with `pad_id` (one flat buffer per tensor).
    pub fn new(inputs: &[&Encoded], pad_id: u32, with_token_types: bool, device: &Device) -> Self {
        let rows = inputs.len();
        let seq = inputs.iter().map(|e| e.len()).max().unwrap_or(0);
        let mut ids = vec![pad_id as i64; rows * seq];
        let mut types = vec![0i64; if with_token_types { rows * seq } else { 0 }];
        let mut mask = vec![0f32; rows * seq];
        for (r, e) in inputs.iter().enumerate() {
            let row = r * seq;
            for (j, &id) in e.ids.iter().enumerate() {
                ids[row + j] = id as i64;
                mask[row + j] = 1.0;
            }
            if with_token_types {
                for (j, &t) in e.type_ids.iter().enumerate() {
                    types[row + j] = t as i64;
                }
            }
        }
        Self {
            input_ids: Tensor::from_data(TensorData::new(ids, [rows, seq]), device),
            token_type_ids: with_token_types.then(|| Tensor::from_data(TensorData::new(types, [rows, seq]), device)),
            attention_mask: Tensor::from_data(TensorData::new(mask, [rows, seq]), device),
            lengths: inputs.iter().map(|e| e.len()).collect(),
        }
    }
}

/// Softmax of one row, stable (max subtracted), in f32 like `torch.softmax`.
pub fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = row.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Sets every dropout's training flag.
pub fn set_training(network: SequenceClassifier, training: bool) -> SequenceClassifier {
    struct Mapper(bool);
    impl ModuleMapper for Mapper {
        fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
            flag.with_value(self.0)
        }
    }
    match network {
        SequenceClassifier::Bert(m) => SequenceClassifier::Bert(m.map(&mut Mapper(training))),
        SequenceClassifier::DistilBert(m) => SequenceClassifier::DistilBert(m.map(&mut Mapper(training))),
    }
}
