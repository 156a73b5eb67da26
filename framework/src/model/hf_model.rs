//! [`HfModel`]: a loaded Hugging Face sequence classifier with its tokenizer — loading a
//! folder, tokenizing, batched forward passes, saving — and what its forward pass returns.

use super::*;
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
    pub(super) dir: PathBuf,
    pub(super) origin: Origin,
    pub(super) config_json: serde_json::Value,
    pub(super) config: HfConfig,
    pub(super) spec: EncoderSpec,
    pub(super) network: SequenceClassifier,
    pub(super) tokenizer: HfTokenizer,
    pub(super) label_names: Vec<String>,
    pub(super) batch_size: usize,
    pub(super) device: Device,
    pub(super) report: LoadReport,
    /// Run [`HfModel::forward_batch`] through [`packed`] where it applies.
    pub(super) packed_enabled: bool,
    /// The packed copy of `network`, made on first use (`None`: it does not apply).
    pub(super) packed: OnceLock<Option<Arc<packed::PackedClassifier>>>,
    /// The int8 weights of a quantised model (`network` holds them dequantised).
    pub(super) quantization: Option<Arc<quant::Quantization>>,
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
        let quantized = quant::Quantization::declared(&config_json)?;
        let (report, quantization) = loader::load_weights(
            &mut network,
            &spec,
            dir,
            &loader::WeightOptions {
                seed: options.seed,
                head: options.head,
                quantized,
                sparse: super::sparse_io::declared(&config_json)?,
            },
            device,
        )?;
        let network = set_training(network, false);
        // A fresh head of a quantised folder is quantised too.
        let (network, quantization) = match quantization {
            Some(q) => {
                let (network, q) = q.refresh(network);
                (network, Some(Arc::new(q)))
            }
            None => (network, None),
        };
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
            quantization,
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
            .get_or_init(|| {
                match packed::PackedClassifier::new(&self.network, &self.spec, self.quantization.as_deref()) {
                    Ok(p) => Some(Arc::new(p)),
                    Err(e) => {
                        tracing::warn!(error = %e, "packed inference does not apply: burn's forward is used");
                        None
                    }
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
    /// A quantised model stays quantised: layers whose weights changed are quantised
    /// afresh ([`quant::Quantization::refresh`]).
    pub fn with_network(mut self, network: SequenceClassifier) -> Self {
        self.network = match &self.quantization {
            Some(q) => {
                let (network, q) = q.refresh(network);
                self.quantization = Some(Arc::new(q));
                network
            }
            None => network,
        };
        self.packed = OnceLock::new();
        self
    }

    /// The model with every Linear layer quantised to int8 (`network` then holds the
    /// dequantised weights; the packed path runs a dynamic-int8 model in int8).
    pub fn quantized(mut self, scheme: quant::Scheme, granularity: quant::Granularity) -> Self {
        let (network, q) = quant::Quantization::quantize(self.network.clone(), scheme, granularity);
        self.network = network;
        self.quantization = Some(Arc::new(q));
        self.packed = OnceLock::new();
        self
    }

    /// The quantised model with its embedding tables quantised too (PyTorch's
    /// `nn.Embedding` with `float_qparams_weight_only_qconfig`, [`super::quant_embedding`]).
    pub fn with_int8_embeddings(mut self) -> Result<Self> {
        let Some(q) = &self.quantization else {
            bail!("int8 embeddings need a quantised model (quantise its Linear layers first)");
        };
        let (network, q) = q.with_embeddings(self.network.clone());
        self.network = network;
        self.quantization = Some(Arc::new(q));
        self.packed = OnceLock::new();
        Ok(self)
    }

    /// The int8 weights of a quantised model.
    pub fn quantization(&self) -> Option<&quant::Quantization> {
        self.quantization.as_deref()
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
