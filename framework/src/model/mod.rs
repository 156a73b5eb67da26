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
pub mod distilbert;
pub mod distill;
pub mod embeddings;
pub mod encoder;
pub mod fused;
pub mod heads;
pub mod labels;
pub mod loader;
pub mod packed;
pub mod save;
pub mod scratch;
pub mod special_text;
pub mod surgery;
pub mod tokenizer;
pub mod train;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use burn::module::{Flag, Module, ModuleMapper, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

pub use config::{EncoderSpec, HfConfig, ModelType};
pub use heads::{ClassifierOutput, SequenceClassifier};
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

/// Per-input results of [`HfModel::forward_batch`], in input order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    /// Unnormalised scores, one row of `num_labels` per input.
    pub logits: Vec<Vec<f32>>,
    /// Softmax of the logits.
    pub probs: Vec<Vec<f32>>,
}

/// Where a model's files came from (what [`HfModel::save_hf`] copies the tokenizer from).
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A Hugging Face folder.
    Folder(PathBuf),
    /// Built from scratch with this word-piece vocabulary file.
    Scratch {
        /// The `vocab.txt`-format file.
        vocab: PathBuf,
        /// Lower-case inputs.
        lower_case: bool,
    },
}

/// A loaded Hugging Face sequence classifier with its tokenizer.
#[derive(Debug, Clone)]
pub struct HfModel {
    dir: PathBuf,
    origin: Origin,
    config_json: serde_json::Value,
    config: HfConfig,
    spec: EncoderSpec,
    network: SequenceClassifier,
    tokenizer: HfTokenizer,
    label_names: Vec<String>,
    batch_size: usize,
    device: Device,
    report: LoadReport,
    /// Run [`HfModel::forward_batch`] through [`packed`] where it applies.
    packed_enabled: bool,
    /// The packed copy of `network`, made on first use (`None`: it does not apply).
    packed: OnceLock<Option<Arc<packed::PackedClassifier>>>,
}

impl HfModel {
    /// Loads the checkpoint folder `dir` onto `device`.
    pub fn load(dir: &Path, options: &LoadOptions, device: &Device) -> Result<Self> {
        let result = Self::load_inner(dir, options, device);
        result.with_context(|| format!("cannot load the model in {}", dir.display()))
    }

    fn load_inner(dir: &Path, options: &LoadOptions, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{} is not a folder", dir.display());
        }
        let config = HfConfig::from_file(&dir.join("config.json"))?;
        let config_json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
        )
        .with_context(|| format!("{}/config.json is not valid JSON", dir.display()))?;
        let spec = config.spec();
        let label_names = match options.num_labels {
            Some(0) => bail!("num_labels must be at least 1"),
            Some(n) if n != config.num_labels() => config::default_label_names(n),
            _ => config.label_names.clone(),
        };
        if options.batch_size == 0 {
            bail!("batch_size must be at least 1");
        }
        let max_len = if options.max_len > spec.max_positions {
            tracing::warn!(
                max_len = options.max_len,
                max_position_embeddings = spec.max_positions,
                "max_len exceeds the model's positions: capped"
            );
            spec.max_positions
        } else {
            options.max_len
        };
        let tokenizer = HfTokenizer::load(
            dir,
            spec.vocab_size,
            &TokenizerOptions {
                choice: options.tokenizer,
                max_len,
                allow_vocab_mismatch: options.allow_vocab_mismatch,
                special_text: options.special_text,
            },
        )?;

        let mut network = SequenceClassifier::init(&spec, label_names.len(), device);
        let report = loader::load_weights(
            &mut network,
            &spec,
            dir,
            &loader::WeightOptions { seed: options.seed, head: options.head },
            device,
        )?;
        let network = set_training(network, false);
        tracing::info!(
            folder = %dir.display(),
            model_type = spec.model_type.as_str(),
            layers = spec.num_layers,
            hidden = spec.hidden_size,
            labels = label_names.len(),
            tensors = report.tensors_loaded,
            "loaded model"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            origin: Origin::Folder(dir.to_path_buf()),
            config_json,
            config,
            spec,
            network,
            tokenizer,
            label_names,
            batch_size: options.batch_size,
            device: device.clone(),
            report,
            packed_enabled: true,
            packed: OnceLock::new(),
        })
    }

    /// Encodes a text, or a pair of texts, for this model.
    pub fn tokenize(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        self.tokenizer.encode(text, pair)
    }

    /// Pads encodings into one [`Batch`] on the model's device.
    pub fn batch(&self, inputs: &[&Encoded]) -> Batch {
        Batch::new(inputs, self.spec.pad_token_id, self.spec.model_type == ModelType::Bert, &self.device)
    }

    /// One forward pass over a padded batch, returning the tensors.
    pub fn forward(&self, batch: &Batch) -> ClassifierOutput {
        self.network.forward(batch.input_ids.clone(), batch.token_type_ids.clone(), batch.attention_mask.clone())
    }

    /// Logits and probabilities for every input, in input order. Identical encodings are
    /// run once; the rest are sorted by length and run `batch_size` at a time to keep
    /// padding low.
    pub fn forward_batch(&self, inputs: &[Encoded]) -> Result<Predictions> {
        for (i, e) in inputs.iter().enumerate() {
            self.check_input(e).with_context(|| format!("input {i} cannot be run"))?;
        }
        // Deduplicate: the same masked text is never run twice.
        let mut unique: Vec<&Encoded> = Vec::new();
        let mut slot_of: HashMap<(&[u32], &[u32]), usize> = HashMap::new();
        let slots: Vec<usize> = inputs
            .iter()
            .map(|e| {
                *slot_of.entry((e.ids.as_slice(), e.type_ids.as_slice())).or_insert_with(|| {
                    unique.push(e);
                    unique.len() - 1
                })
            })
            .collect();
        let mut order: Vec<usize> = (0..unique.len()).collect();
        order.sort_by_key(|&i| unique[i].len());

        let n = self.num_labels();
        let sorted: Vec<&Encoded> = order.iter().map(|&i| unique[i]).collect();
        let flat = match self.packed() {
            Some(p) => p.logits(&sorted, self.batch_size),
            None => self.burn_logits(&sorted)?,
        };
        if flat.len() != sorted.len() * n {
            bail!("model returned {} logits for {} inputs of {n} labels", flat.len(), sorted.len());
        }
        let mut logits_unique: Vec<Vec<f32>> = vec![Vec::new(); unique.len()];
        for (k, &i) in order.iter().enumerate() {
            logits_unique[i] = flat[k * n..(k + 1) * n].to_vec();
        }
        let logits: Vec<Vec<f32>> = slots.iter().map(|&s| logits_unique[s].clone()).collect();
        let probs = logits.iter().map(|row| softmax(row)).collect();
        Ok(Predictions { logits, probs })
    }

    /// Logits of `inputs` (row after row) through burn's forward, `batch_size` at a time.
    fn burn_logits(&self, inputs: &[&Encoded]) -> Result<Vec<f32>> {
        let mut flat = Vec::with_capacity(inputs.len() * self.num_labels());
        for chunk in inputs.chunks(self.batch_size) {
            let out = self.forward(&self.batch(chunk));
            flat.extend(
                out.logits
                    .try_into_vec_as::<f32>()
                    .map_err(|e| anyhow!("cannot read logits from the device: {e:?}"))?,
            );
        }
        Ok(flat)
    }

    /// The packed inference copy ([`packed`]) when it applies: enabled, on the CPU device
    /// without autodiff, weights readable as f32. Made once, on first use.
    fn packed(&self) -> Option<&packed::PackedClassifier> {
        if !self.packed_enabled || self.device != Device::flex() {
            return None;
        }
        self.packed
            .get_or_init(|| match packed::PackedClassifier::new(&self.network, &self.spec) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    tracing::warn!(error = %e, "packed inference does not apply: burn's forward is used");
                    None
                }
            })
            .as_deref()
    }

    /// Chooses how [`HfModel::forward_batch`] runs on the CPU: the packed path (`true`, the
    /// default) or burn's forward (`false`, for comparisons). Other devices always use burn.
    pub fn set_packed(&mut self, on: bool) {
        self.packed_enabled = on;
    }

    /// Checks that an encoding fits the model: 1 to `max_position_embeddings` tokens, ids
    /// below `vocab_size`, token types below `type_vocab_size` (BERT). [`HfModel::tokenize`]
    /// always produces such encodings; hand-made ones may not, and the forward pass would
    /// index out of its tables.
    pub fn check_input(&self, e: &Encoded) -> Result<()> {
        let s = &self.spec;
        if e.is_empty() || e.len() > s.max_positions {
            bail!("{} tokens: the model takes 1 to {} (max_position_embeddings)", e.len(), s.max_positions);
        }
        if e.type_ids.len() != e.ids.len() {
            bail!("{} token ids but {} token type ids", e.ids.len(), e.type_ids.len());
        }
        if let Some(&id) = e.ids.iter().find(|&&id| id as usize >= s.vocab_size) {
            bail!("token id {id} is not below vocab_size {}", s.vocab_size);
        }
        if let Some(types) = s.type_vocab_size
            && let Some(&t) = e.type_ids.iter().find(|&&t| t as usize >= types)
        {
            bail!("token type id {t} is not below type_vocab_size {types}");
        }
        Ok(())
    }

    /// Turns dropout on (`true`, for fine-tuning on an autodiff device) or off (the
    /// default after loading).
    pub fn set_training(&mut self, training: bool) {
        self.network = set_training(self.network.clone(), training);
        self.packed = OnceLock::new();
    }

    /// Number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.network.num_params()
    }

    /// Where the model's files came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The `config.json` as read (or as built for a model from scratch).
    pub fn config_json(&self) -> &serde_json::Value {
        &self.config_json
    }

    /// Prediction batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The same model with another network of the same architecture (e.g. after training).
    pub fn with_network(mut self, network: SequenceClassifier) -> Self {
        self.network = network;
        self.packed = OnceLock::new();
        self
    }

    /// The parsed `config.json`.
    pub fn config(&self) -> &HfConfig {
        &self.config
    }

    /// The sizes the model was built from.
    pub fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    /// Class names by class index.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// Number of classes.
    pub fn num_labels(&self) -> usize {
        self.label_names.len()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &HfTokenizer {
        &self.tokenizer
    }

    /// The burn module.
    pub fn network(&self) -> &SequenceClassifier {
        &self.network
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The folder it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What loading did (fresh head, ignored tensors, …).
    pub fn load_report(&self) -> &LoadReport {
        &self.report
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
