//! Saving a model as a Hugging Face folder that `transformers` loads: `config.json` (with
//! the classes and the sequence-classification architecture), `model.safetensors` with
//! Hugging Face tensor names and PyTorch layouts (Linear weights `[out, in]`), and the
//! tokenizer files. The folder is written beside its destination and renamed into place,
//! so a crash never leaves half a model.

use super::loader::NameRules;
use super::module_path::ModulePath;
use super::quant_io::RawTensor;
use super::{HfModel, ModelType, Origin, SequenceClassifier};
use anyhow::{Context, Result};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// One tensor to write: Hugging Face name, PyTorch shape, row-major f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Hugging Face name (`bert.encoder.layer.0.attention.self.query.weight`).
    pub name: String,
    /// Shape as PyTorch stores it.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

impl HfModel {
    /// Writes the model as a Hugging Face folder `dir` (which must not exist, or is
    /// replaced). See the module documentation.
    pub fn save_hf(&self, dir: &Path) -> Result<()> {
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).with_context(|| format!("clearing {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let result = self.write_files(&tmp).and_then(|_| {
            if dir.exists() {
                std::fs::remove_dir_all(dir).with_context(|| format!("replacing {}", dir.display()))?;
            }
            std::fs::rename(&tmp, dir).with_context(|| format!("moving the model into {}", dir.display()))
        });
        if result.is_err() {
            std::fs::remove_dir_all(&tmp).ok();
        }
        result
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        let tensors = hf_tensors(self.network(), self.spec().model_type);
        let mut config = self.saved_config();
        let bytes = match self.quantization() {
            Some(q) => {
                let rules = NameRules::for_model(self.spec().model_type);
                super::quant_io::safetensors_file(&super::quant_io::quantized_tensors(tensors, q, &rules)?)?
            }
            // Weights with enough zeros (a pruned model) are stored sparse (`sparse_io`).
            None => {
                let (raw, metadata) = super::sparse_io::encode(&tensors)?;
                if !metadata.is_empty() {
                    config[super::sparse_io::CONFIG_KEY] = super::sparse_io::config_entry();
                }
                super::quant_io::safetensors_file_with(&raw, &metadata)?
            }
        };
        std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
        std::fs::write(dir.join("model.safetensors"), bytes)?;
        match self.origin() {
            Origin::Folder(src) => {
                for file in ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
                    let from = src.join(file);
                    if from.is_file() {
                        std::fs::copy(&from, dir.join(file)).with_context(|| format!("copying {}", from.display()))?;
                    }
                }
            }
            Origin::Scratch { vocab, lower_case } => {
                std::fs::copy(vocab, dir.join("vocab.txt")).with_context(|| format!("copying {}", vocab.display()))?;
                let config = json!({
                    "tokenizer_class": "BertTokenizer",
                    "do_lower_case": lower_case,
                    "model_max_length": self.spec().max_positions,
                    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                    "cls_token": "[CLS]", "mask_token": "[MASK]",
                });
                std::fs::write(dir.join("tokenizer_config.json"), serde_json::to_vec_pretty(&config)?)?;
                let special = json!({
                    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                    "cls_token": "[CLS]", "mask_token": "[MASK]",
                });
                std::fs::write(dir.join("special_tokens_map.json"), serde_json::to_vec_pretty(&special)?)?;
            }
        }
        Ok(())
    }

    /// The `config.json` to save: the original with the classes, the architecture of a
    /// sequence classifier and trustx's mark.
    pub fn saved_config(&self) -> Value {
        let mut config = self.config_json().clone();
        let labels = self.label_names();
        let id2label: serde_json::Map<String, Value> =
            labels.iter().enumerate().map(|(i, l)| (i.to_string(), json!(l))).collect();
        let label2id: serde_json::Map<String, Value> =
            labels.iter().enumerate().map(|(i, l)| (l.clone(), json!(i))).collect();
        let architecture = match self.spec().model_type {
            ModelType::Bert => "BertForSequenceClassification",
            ModelType::DistilBert => "DistilBertForSequenceClassification",
        };
        if let Value::Object(map) = &mut config {
            map.insert("id2label".into(), Value::Object(id2label));
            map.insert("label2id".into(), Value::Object(label2id));
            map.remove("num_labels");
            map.insert("architectures".into(), json!([architecture]));
            map.insert("trustx_version".into(), json!(env!("CARGO_PKG_VERSION")));
            match self.quantization() {
                Some(q) => map.insert(super::quant::CONFIG_KEY.into(), q.config_entry()),
                None => map.remove(super::quant::CONFIG_KEY),
            };
            // Set by `write_files` when some weight is stored sparse.
            map.remove(super::sparse_io::CONFIG_KEY);
        }
        config
    }
}

/// Every float parameter of `network` under its Hugging Face name, in PyTorch layout,
/// sorted by name.
pub fn hf_tensors(network: &SequenceClassifier, model_type: ModelType) -> Vec<NamedTensor> {
    let rules = NameRules::for_model(model_type);
    let mut collect = Collect::default();
    match network {
        SequenceClassifier::Bert(m) => m.visit(&mut collect),
        SequenceClassifier::DistilBert(m) => m.visit(&mut collect),
    }
    let mut out: Vec<NamedTensor> = collect
        .tensors
        .into_iter()
        .map(|(path, (in_linear, shape, values))| {
            let name = rules.to_checkpoint_name(&path, true);
            if in_linear && shape.len() == 2 {
                let (rows, cols) = (shape[0], shape[1]);
                let mut t = vec![0.0f32; values.len()];
                for r in 0..rows {
                    for c in 0..cols {
                        t[c * rows + r] = values[r * cols + c];
                    }
                }
                NamedTensor { name, shape: vec![cols, rows], values: t }
            } else {
                NamedTensor { name, shape, values }
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[derive(Default)]
struct Collect {
    path: ModulePath,
    tensors: BTreeMap<String, (bool, Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let in_linear = self.path.in_linear();
        let t = param.val();
        let shape = t.dims().to_vec();
        let values = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        self.tensors.insert(self.path.dotted(), (in_linear, shape, values));
    }
}

/// The bytes of a safetensors file holding `tensors` as F32: the one writer,
/// [`super::quant_io::safetensors_file`], on their little-endian bytes.
pub fn safetensors_bytes(tensors: &[NamedTensor]) -> Result<Vec<u8>> {
    let raw: Vec<RawTensor> = tensors.iter().map(|t| RawTensor::f32(&t.name, t.shape.clone(), &t.values)).collect();
    super::quant_io::safetensors_file(&raw)
}
