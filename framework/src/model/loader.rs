//! Loading the weights of a Hugging Face checkpoint folder into a [`SequenceClassifier`].
//!
//! All key remapping lives here. The weights file (`model.safetensors`, else
//! `pytorch_model.bin`) is read through burn's store; its tensor names are rewritten to the
//! module paths of this crate by a [`KeyRemapper`] built from one rule table per
//! architecture (`bert.` prefix or none, legacy `LayerNorm.gamma/beta`, DistilBERT's
//! `q_lin/k_lin/v_lin/out_lin/sa_layer_norm/ffn.lin1/lin2/output_layer_norm`), and applied
//! with the PyTorch adapter (which transposes `Linear` weights from PyTorch's
//! `[out, in]` to burn's `[in, out]`).
//!
//! Every tensor is accounted for before anything is applied: a missing tensor, an
//! unexpected one that is not a known optional one (pre-training heads `cls.*`,
//! DistilBERT's `vocab_*`, `position_ids` buffers), two names for one parameter, or a shape
//! that disagrees with `config.json` is an error listing the names and the file. A
//! checkpoint without a classification head gets a fresh one drawn from the seed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use burn::module::{Module, ModuleVisitor, Param};
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    FloatCastAdapter, ModuleAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
use burn::tensor::{DType, Device, Tensor, TensorData};

use super::config::{EncoderSpec, ModelType};
use super::embeddings::sinusoidal_table;
use super::heads::SequenceClassifier;
use super::module_path::ModulePath;
pub(crate) use super::name_rules::NameRules;
use super::name_rules::is_known_optional;
use super::quant::{Granularity, Quantization, Scheme};

/// What to do with a classification head found in the checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadPolicy {
    /// Load it when the checkpoint has one (its size must match the number of labels);
    /// draw a fresh one from the seed when it has none.
    #[default]
    FromCheckpoint,
    /// Always draw a fresh head from the seed, ignoring the checkpoint's (to fine-tune on a
    /// new task).
    Fresh,
}

/// What loading did, for logs and `node.json`.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// The weights file that was read.
    pub weights_file: PathBuf,
    /// Number of tensors applied to the model.
    pub tensors_loaded: usize,
    /// Tensors of the file that were skipped as known optional ones.
    pub ignored: Vec<String>,
    /// The classification head was drawn from the seed.
    pub fresh_head: bool,
    /// BERT's pooler was drawn from the seed (the checkpoint had neither pooler nor head).
    pub fresh_pooler: bool,
    /// DistilBERT's sinusoidal position table was computed (absent from the checkpoint).
    pub computed_positions: bool,
}

/// The weights file of a folder: `model.safetensors`, else `pytorch_model.bin`.
pub fn weights_file(dir: &Path) -> Result<PathBuf> {
    for name in ["model.safetensors", "pytorch_model.bin"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    for name in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] {
        if dir.join(name).is_file() {
            bail!("{} holds a sharded checkpoint ({name}), which is not supported: save it as one file", dir.display());
        }
    }
    bail!("no weights in {}: expected model.safetensors or pytorch_model.bin", dir.display())
}

/// Every tensor of an in-memory safetensors image.
fn read_tensor_bytes(bytes: Vec<u8>, path: &Path) -> Result<Vec<PackTensor>> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let map = store.get_all_tensors().map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?.clone();
    Ok(map.into_values().collect())
}

/// Reads every tensor of a weights file (lazily: the data is read when applied).
fn read_tensors(path: &Path) -> Result<Vec<PackTensor>> {
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    let map = if is_safetensors {
        let mut store = SafetensorsStore::from_file(path);
        store.get_all_tensors().map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?.clone()
    } else {
        let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
        store.get_all_tensors().map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?.clone()
    };
    Ok(map.into_values().collect())
}

/// A parameter of the module: path, burn shape, and whether it is a `Linear` weight or
/// bias (whose weight PyTorch stores transposed).
#[derive(Clone, Debug)]
pub(crate) struct ParamInfo {
    pub(crate) shape: Vec<usize>,
    pub(crate) in_linear: bool,
}

/// Walks a module and lists its float parameters without materialising them.
#[derive(Default)]
struct Inventory {
    path: ModulePath,
    params: BTreeMap<String, ParamInfo>,
}

impl ModuleVisitor for Inventory {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let info = ParamInfo { shape: param.lazy_shape().to_vec(), in_linear: self.path.in_linear() };
        self.params.insert(self.path.dotted(), info);
    }
}

/// The float parameters of the model by module path.
pub(crate) fn inventory(model: &SequenceClassifier) -> BTreeMap<String, ParamInfo> {
    let mut inv = Inventory::default();
    match model {
        SequenceClassifier::Bert(m) => m.visit(&mut inv),
        SequenceClassifier::DistilBert(m) => m.visit(&mut inv),
    }
    inv.params
}

/// The shape a checkpoint stores a parameter in (PyTorch transposes `Linear` weights).
fn checkpoint_shape(info: &ParamInfo) -> Vec<usize> {
    if info.in_linear && info.shape.len() == 2 { vec![info.shape[1], info.shape[0]] } else { info.shape.clone() }
}

fn fmt_shape(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

/// Settings of [`load_weights`].
pub(crate) struct WeightOptions {
    pub(crate) seed: u64,
    pub(crate) head: HeadPolicy,
    /// The folder's `config.json` declares int8 weights ([`super::quant_io`]).
    pub(crate) quantized: Option<(Scheme, Granularity)>,
    /// The folder's `config.json` declares sparse weights ([`super::sparse_io`]).
    pub(crate) sparse: bool,
}

/// Loads the weights of folder `dir` into `model` (built from `spec`), checking that every
/// tensor is accounted for. A quantised folder's int8 weights are dequantised into the
/// model and returned as they are.
pub(crate) fn load_weights(
    model: &mut SequenceClassifier,
    spec: &EncoderSpec,
    dir: &Path,
    options: &WeightOptions,
    device: &Device,
) -> Result<(LoadReport, Option<Quantization>)> {
    let path = weights_file(dir)?;
    let file = path.display().to_string();
    let rules = NameRules::for_model(spec.model_type);

    let (all, quantization) = match options.quantized {
        Some((scheme, granularity)) => {
            if path.extension().is_none_or(|e| e != "safetensors") {
                bail!("{file}: config.json declares int8 weights, which trustx stores in model.safetensors");
            }
            let (bytes, q) = super::quant_io::read_quantized(&path, &rules, scheme, granularity)?;
            (read_tensor_bytes(bytes, &path)?, Some(q))
        }
        None if options.sparse => {
            if path.extension().is_none_or(|e| e != "safetensors") {
                bail!("{file}: config.json declares sparse weights, which trustx stores in model.safetensors");
            }
            let (raw, metadata) = super::quant_io::read_safetensors_with(&path)?;
            let dense = super::sparse_io::decode(raw, &metadata, &file)?;
            (read_tensor_bytes(super::save::safetensors_bytes(&dense)?, &path)?, None)
        }
        None => (read_tensors(&path)?, None),
    };
    let (ignored, tensors): (Vec<PackTensor>, Vec<PackTensor>) =
        all.into_iter().partition(|t| is_known_optional(&t.name));
    let ignored: Vec<String> = ignored.into_iter().map(|t| t.name).collect();
    let with_prefix = tensors.iter().any(|t| t.name.starts_with(rules.prefix));

    // The store's remapper renames the tensors; `originals` keeps the file's names.
    let (tensors, renamed) = rules.forward.remap(tensors);
    let mut originals: BTreeMap<String, String> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (new, old) in renamed {
        if let Some(first) = originals.insert(new.clone(), old.clone()) {
            duplicates.push(format!("{first} and {old} (both are {new})"));
        }
    }
    let file_shapes: BTreeMap<String, Vec<usize>> =
        tensors.iter().map(|t| (t.name.clone(), t.shape.to_vec())).collect();

    let expected = inventory(model);
    let head_in_file = originals.keys().any(|p| rules.is_head(p));
    let pooler_in_file = originals.keys().any(|p| rules.is_pooler(p));
    let fresh_head = options.head == HeadPolicy::Fresh || !head_in_file;
    let fresh_pooler = rules.pooler.is_some() && !pooler_in_file && fresh_head;
    if head_in_file && fresh_head {
        tracing::info!(file = %file, "ignoring the checkpoint's classification head: a new one is initialised");
    }
    let tensors: Vec<PackTensor> = tensors.into_iter().filter(|t| !(fresh_head && rules.is_head(&t.name))).collect();
    let positions_missing = !originals.contains_key(rules.positions);
    let computed_positions = spec.sinusoidal_positions && positions_missing;

    let allowed_missing = |p: &str| {
        (fresh_head && rules.is_head(p))
            || (fresh_pooler && rules.is_pooler(p))
            || (computed_positions && p == rules.positions)
    };

    // Account for every tensor before applying any.
    let mut unexpected = Vec::new();
    let mut wrong_shape = Vec::new();
    for t in &tensors {
        let original = &originals[&t.name];
        match expected.get(&t.name) {
            None => unexpected.push(format!("{original} {}", fmt_shape(&file_shapes[&t.name]))),
            Some(info) => {
                let want = checkpoint_shape(info);
                let got = &file_shapes[&t.name];
                if *got != want {
                    let hint = if rules.is_head(&t.name) {
                        " (a head for another number of labels: in a manifest, leave out `finetuned = true` so the train stage fits a new head; on the command line, `--random-head --labels N`)"
                    } else {
                        ""
                    };
                    wrong_shape.push(format!(
                        "{original} is {} in the file but config.json implies {}{hint}",
                        fmt_shape(got),
                        fmt_shape(&want)
                    ));
                }
            }
        }
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|(p, _)| !originals.contains_key(*p) && !allowed_missing(p))
        .map(|(p, info)| {
            format!(
                "{} {} (module parameter {p})",
                rules.to_checkpoint_name(p, with_prefix || rules.is_head(p)),
                fmt_shape(&checkpoint_shape(info))
            )
        })
        .collect();
    if !(missing.is_empty() && unexpected.is_empty() && wrong_shape.is_empty() && duplicates.is_empty()) {
        let mut msg = format!("{file} does not fit the {} architecture of config.json:", spec.model_type.as_str());
        for (what, list) in [
            ("missing tensors", &missing),
            ("unexpected tensors", &unexpected),
            ("tensors with the wrong shape", &wrong_shape),
            ("tensors given twice", &duplicates),
        ] {
            if !list.is_empty() {
                msg.push_str(&format!("\n  {what} ({}): {}", list.len(), list.join(", ")));
            }
        }
        bail!(msg);
    }

    // Apply: transpose Linear weights from PyTorch's layout, store floats as f32.
    let adapter: Box<dyn ModuleAdapter> = Box::new(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)));
    let count = tensors.len();
    let result = match model {
        SequenceClassifier::Bert(m) => m.apply(tensors, None, Some(adapter), false),
        SequenceClassifier::DistilBert(m) => m.apply(tensors, None, Some(adapter), false),
    };
    let missing_after: Vec<&String> = result.missing.iter().map(|(p, _)| p).filter(|p| !allowed_missing(p)).collect();
    if !result.errors.is_empty() || !result.unused.is_empty() || !missing_after.is_empty() {
        bail!("{file}: burn's store could not apply every tensor:\n{result}");
    }

    if fresh_head || fresh_pooler {
        model.reset_head(spec, options.seed, fresh_pooler, device);
        tracing::info!(
            file = %file,
            seed = options.seed,
            pooler = fresh_pooler,
            "the checkpoint has no classification head: drew a fresh one from the seed"
        );
    }
    if computed_positions {
        let table = sinusoidal_table(spec.max_positions, spec.hidden_size);
        let weight = Tensor::<2>::from_data(TensorData::new(table, [spec.max_positions, spec.hidden_size]), device);
        model.embeddings_mut().position_embeddings.weight = Param::from_tensor(weight);
        tracing::info!(file = %file, "computed the sinusoidal position table");
    }
    if !ignored.is_empty() {
        tracing::debug!(file = %file, ignored = ?ignored, "skipped optional tensors");
    }
    let report =
        LoadReport { weights_file: path, tensors_loaded: count, ignored, fresh_head, fresh_pooler, computed_positions };
    Ok((report, quantization))
}

/// The module paths of the model and the names they have in a checkpoint, for
/// documentation and tests.
pub fn checkpoint_names(model: &SequenceClassifier, with_prefix: bool) -> Vec<String> {
    let rules = NameRules::for_model(match model {
        SequenceClassifier::Bert(_) => ModelType::Bert,
        SequenceClassifier::DistilBert(_) => ModelType::DistilBert,
    });
    inventory(model).keys().map(|p| rules.to_checkpoint_name(p, with_prefix || rules.is_head(p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::HfConfig;

    fn tiny(model_type: &str) -> (SequenceClassifier, EncoderSpec) {
        let json = format!(
            r#"{{"model_type": "{model_type}", "hidden_size": 8, "dim": 8, "num_attention_heads": 2,
                "n_heads": 2, "num_hidden_layers": 2, "n_layers": 2, "intermediate_size": 16,
                "hidden_dim": 16, "vocab_size": 10, "max_position_embeddings": 6}}"#
        );
        let spec = HfConfig::from_json_str(&json).unwrap().spec();
        let device = Device::flex();
        (SequenceClassifier::init(&spec, 3, &device), spec)
    }

    #[test]
    fn names_round_trip_through_the_rules() {
        for mt in ["bert", "distilbert"] {
            let (model, spec) = tiny(mt);
            let rules = NameRules::for_model(spec.model_type);
            for path in inventory(&model).keys() {
                for prefix in [true, false] {
                    let name = rules.to_checkpoint_name(path, prefix);
                    assert_eq!(&rules.to_module_path(&name), path, "{mt}: {name}");
                }
            }
        }
    }

    #[test]
    fn checkpoint_names_look_like_transformers() {
        let (model, _) = tiny("bert");
        let names = checkpoint_names(&model, true);
        for n in [
            "bert.embeddings.LayerNorm.weight",
            "bert.encoder.layer.1.attention.self.query.weight",
            "bert.encoder.layer.0.attention.output.dense.bias",
            "bert.encoder.layer.0.attention.output.LayerNorm.bias",
            "bert.encoder.layer.1.intermediate.dense.weight",
            "bert.encoder.layer.1.output.dense.weight",
            "bert.encoder.layer.1.output.LayerNorm.weight",
            "bert.pooler.dense.weight",
            "classifier.weight",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
        }
        let (model, _) = tiny("distilbert");
        let names = checkpoint_names(&model, false);
        for n in [
            "embeddings.LayerNorm.weight",
            "transformer.layer.0.attention.q_lin.weight",
            "transformer.layer.0.attention.out_lin.bias",
            "transformer.layer.1.sa_layer_norm.weight",
            "transformer.layer.1.ffn.lin1.weight",
            "transformer.layer.1.ffn.lin2.bias",
            "transformer.layer.1.output_layer_norm.bias",
            "pre_classifier.weight",
            "classifier.bias",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
        }
    }

    #[test]
    fn legacy_and_optional_names() {
        let rules = NameRules::for_model(ModelType::Bert);
        assert_eq!(rules.to_module_path("bert.embeddings.LayerNorm.gamma"), "bert.embeddings.layer_norm.gamma");
        assert_eq!(
            rules.to_module_path("encoder.layer.3.output.LayerNorm.beta"),
            "bert.encoder.layers.3.output_norm.beta"
        );
        for n in [
            "cls.predictions.bias",
            "bert.embeddings.position_ids",
            "embeddings.position_ids",
            "vocab_projector.weight",
            "distilbert.vocab_layer_norm.bias",
        ] {
            assert!(is_known_optional(n), "{n}");
        }
        assert!(!is_known_optional("bert.embeddings.word_embeddings.weight"));
        assert!(!is_known_optional("classifier.weight"));
    }
}
