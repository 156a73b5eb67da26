//! Model surgery for compression: keeping a subset of encoder layers, rewriting Linear
//! weights (quantisation, magnitude pruning), removing attention heads exactly, and
//! counting zero weights.
//!
//! Weights are handled in burn's Linear layout `[d_in, d_out]` (`y = x·W + b`), row-major.
//! Parameter paths are the module field names joined by `.`, e.g.
//! `bert.encoder.layers.0.attention.value` for a Linear (its tensors are `.weight` and
//! `.bias`).

use super::config::HfConfig;
use super::encoder::TransformerLayer;
use super::module_path::ModulePath;
use super::{HfModel, ModelType, SequenceClassifier};
use anyhow::{Result, bail};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;

/// One Linear weight matrix: its module path, `[d_in, d_out]` and values (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearWeight {
    /// Path of the Linear module (`bert.encoder.layers.0.ffn_in`).
    pub path: String,
    /// `[d_in, d_out]`.
    pub shape: [usize; 2],
    /// Values, row-major.
    pub values: Vec<f32>,
}

impl LinearWeight {
    /// The encoder layer the matrix belongs to, if any (`…layers.N.…`).
    pub fn layer(&self) -> Option<usize> {
        let parts: Vec<&str> = self.path.split('.').collect();
        parts.windows(2).find(|w| w[0] == "layers").and_then(|w| w[1].parse().ok())
    }
}

impl HfModel {
    /// The model with only the encoder layers `keep` (in the order given), renumbered
    /// from 0; `config.json`'s layer count is updated. Indices must be distinct and below
    /// the layer count.
    pub fn with_layers(&self, keep: &[usize]) -> Result<HfModel> {
        let n = self.spec.num_layers;
        if keep.is_empty() {
            bail!("keep at least one encoder layer");
        }
        for (i, &l) in keep.iter().enumerate() {
            if l >= n {
                bail!("layer {l} is out of range: the model has {n} layers (0 to {})", n - 1);
            }
            if keep[..i].contains(&l) {
                bail!("layer {l} is listed twice");
            }
        }
        let pick = |layers: &[TransformerLayer]| keep.iter().map(|&i| layers[i].clone()).collect::<Vec<_>>();
        let mut network = self.network.clone();
        match &mut network {
            SequenceClassifier::Bert(m) => m.bert.encoder.layers = pick(&m.bert.encoder.layers),
            SequenceClassifier::DistilBert(m) => {
                m.distilbert.transformer.layers = pick(&m.distilbert.transformer.layers)
            }
        }
        let mut config_json = self.config_json.clone();
        let key = match self.spec.model_type {
            ModelType::Bert => "num_hidden_layers",
            ModelType::DistilBert => "n_layers",
        };
        if let Value::Object(map) = &mut config_json {
            map.insert(key.into(), Value::from(keep.len()));
        }
        let config = HfConfig::from_json_str(&config_json.to_string())?;
        let spec = config.spec();
        // Through `with_network`, which also drops the packed copy of the old network.
        Ok(HfModel { config_json, config, spec, ..self.clone() }.with_network(network))
    }
}

/// Every Linear weight matrix of `network`, in module order (classification head
/// included).
pub fn linear_weights(network: &SequenceClassifier) -> Vec<LinearWeight> {
    #[derive(Default)]
    struct Collect {
        path: ModulePath,
        out: Vec<LinearWeight>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D != 2 || self.path.last() != Some("weight") || !self.path.in_linear() {
                return;
            }
            let t = param.val();
            let dims = t.dims();
            let values = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
            let path = self.path.parent();
            self.out.push(LinearWeight { path, shape: [dims[0], dims[1]], values });
        }
    }
    let mut c = Collect::default();
    match network {
        SequenceClassifier::Bert(m) => m.visit(&mut c),
        SequenceClassifier::DistilBert(m) => m.visit(&mut c),
    }
    c.out
}

/// An edit of one tensor: (full path, dims, values) → new values, or `None` to keep it.
pub type TensorEdit<'a> = dyn FnMut(&str, &[usize], &[f32]) -> Option<Vec<f32>> + 'a;

/// An edit of one Linear weight: (module path, `[d_in, d_out]`, values) → new values, or
/// `None` to keep it.
pub type LinearEdit<'a> = dyn FnMut(&str, [usize; 2], &[f32]) -> Option<Vec<f32>> + 'a;

/// Replaces float tensors of `network`: `f(path, values)` gets the full tensor path
/// (`….value.weight`) and its row-major values and returns new values of the same length,
/// or `None` to keep the tensor.
pub fn map_tensors(network: SequenceClassifier, f: &mut TensorEdit) -> SequenceClassifier {
    struct Mapper<'a, 'b> {
        path: ModulePath,
        f: &'a mut TensorEdit<'b>,
    }
    impl ModuleMapper for Mapper<'_, '_> {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let path = self.path.dotted();
            let f = &mut self.f;
            param.map(|t| {
                let dims = t.dims();
                let device = t.device();
                let values = t.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
                match f(&path, &dims, &values) {
                    Some(new) if new.len() == values.len() => Tensor::from_data(TensorData::new(new, dims), &device),
                    _ => t,
                }
            })
        }
    }
    let mut mapper = Mapper { path: ModulePath::default(), f };
    match network {
        SequenceClassifier::Bert(m) => SequenceClassifier::Bert(m.map(&mut mapper)),
        SequenceClassifier::DistilBert(m) => SequenceClassifier::DistilBert(m.map(&mut mapper)),
    }
}

/// Replaces the Linear weight matrices whose module path `f` answers for: `f(path,
/// [d_in, d_out], values)` returns new values or `None`.
pub fn map_linear_weights(network: SequenceClassifier, f: &mut LinearEdit) -> SequenceClassifier {
    let linears: Vec<String> = linear_weights(&network).into_iter().map(|w| format!("{}.weight", w.path)).collect();
    map_tensors(network, &mut |path, dims, values| {
        if dims.len() != 2 || !linears.iter().any(|l| l == path) {
            return None;
        }
        f(path.trim_end_matches(".weight"), [dims[0], dims[1]], values)
    })
}

/// The prefix of encoder layer `layer`'s modules (`bert.encoder.layers.3`).
pub fn layer_prefix(model_type: ModelType, layer: usize) -> String {
    match model_type {
        ModelType::Bert => format!("bert.encoder.layers.{layer}"),
        ModelType::DistilBert => format!("distilbert.transformer.layers.{layer}"),
    }
}

/// Removes attention heads exactly: for each `(layer, head)` the head's columns of the
/// query, key and value projections (weights and biases) and its rows of the output
/// projection are set to 0. With the value slice zero the head's context is zero, and with
/// the output rows zero nothing of it reaches the residual: the layer computes what it
/// would with that head's context forced to 0.
pub fn remove_heads(
    network: SequenceClassifier,
    model_type: ModelType,
    head_dim: usize,
    heads: &[(usize, usize)],
) -> SequenceClassifier {
    let heads: Vec<(String, usize)> =
        heads.iter().map(|&(l, h)| (format!("{}.attention", layer_prefix(model_type, l)), h)).collect();
    map_tensors(network, &mut |path, dims, values| {
        let mine: Vec<usize> = heads.iter().filter(|(p, _)| path.starts_with(p.as_str())).map(|&(_, h)| h).collect();
        if mine.is_empty() {
            return None;
        }
        let (module, tensor) = path.rsplit_once('.')?;
        let proj = module.rsplit('.').next()?;
        let mut v = values.to_vec();
        for h in mine {
            let span = h * head_dim..(h + 1) * head_dim;
            match (proj, tensor, dims.len()) {
                ("query" | "key" | "value", "weight", 2) => {
                    for row in v.chunks_mut(dims[1]) {
                        row[span.clone()].fill(0.0);
                    }
                }
                ("query" | "key" | "value", "bias", 1) => v[span].fill(0.0),
                ("output", "weight", 2) => v[span.start * dims[1]..span.end * dims[1]].fill(0.0),
                _ => return None,
            }
        }
        Some(v)
    })
}

/// Zero weights and all weights of the Linear weight matrices of encoder layers (what
/// pruning and the card's `sparsity` count).
pub fn encoder_zeros(network: &SequenceClassifier) -> (usize, usize) {
    let mut zeros = 0;
    let mut total = 0;
    for w in linear_weights(network).iter().filter(|w| w.layer().is_some()) {
        zeros += w.values.iter().filter(|&&v| v == 0.0).count();
        total += w.values.len();
    }
    (zeros, total)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::LoadOptions;
    use crate::model::attention::attention_bias;
    use crate::model::scratch::{Architecture, ArchitectureType};
    use burn::tensor::Device;

    /// A small random BERT over the bundled SST-2 vocabulary.
    pub(crate) fn tiny(layers: usize, seed: u64) -> HfModel {
        let vocab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vocab/sst2-words.txt");
        let arch = Architecture {
            model_type: ArchitectureType::Bert,
            layers,
            hidden: 16,
            heads: 4,
            ffn: 32,
            vocab,
            max_positions: 64,
            lower_case: true,
        };
        let options = LoadOptions { seed, num_labels: Some(2), max_len: 32, ..LoadOptions::default() };
        HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap()
    }

    fn logits(model: &HfModel, text: &str) -> Vec<f32> {
        let e = model.tokenize(text, None).unwrap();
        model.forward_batch(&[e]).unwrap().logits.remove(0)
    }

    #[test]
    fn kept_layers_compute_what_those_layers_compute() {
        let model = tiny(4, 3);
        let small = model.with_layers(&[0, 2]).unwrap();
        assert_eq!(small.spec().num_layers, 2);
        assert_eq!(small.config_json()["num_hidden_layers"], 2);
        // By hand: embeddings → layer 0 → layer 2 → pooler → classifier of the original.
        let SequenceClassifier::Bert(m) = model.network() else { panic!("bert") };
        let e = model.tokenize("a gripping , funny film", None).unwrap();
        let batch = model.batch(&[&e]);
        let x = m
            .bert
            .embeddings
            .forward_from_words(m.bert.embeddings.words(batch.input_ids.clone()), batch.token_type_ids.clone());
        let bias = attention_bias(batch.attention_mask.clone());
        let x = m.bert.encoder.layers[0].forward(x, bias.clone());
        let x = m.bert.encoder.layers[2].forward(x, bias);
        let by_hand = m.classifier.forward(m.bert.pooler.forward(x)).into_data().try_to_vec::<f32>().unwrap();
        let got = logits(&small, "a gripping , funny film");
        for (a, b) in by_hand.iter().zip(&got) {
            assert!((a - b).abs() < 1e-6, "{by_hand:?} vs {got:?}");
        }
        assert_ne!(got, logits(&model, "a gripping , funny film"));
        assert!(model.with_layers(&[4]).unwrap_err().to_string().contains("out of range"));
        assert!(model.with_layers(&[1, 1]).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn a_removed_head_equals_its_context_forced_to_zero() {
        let model = tiny(1, 5);
        let SequenceClassifier::Bert(m) = model.network() else { panic!("bert") };
        let att = &m.bert.encoder.layers[0].attention;
        let x = Tensor::<3>::random([2, 5, 16], burn::tensor::Distribution::Normal(0.0, 1.0), model.device());
        let mask = Tensor::<2>::ones([2, 5], model.device());
        // The original layer with head 1's context multiplied by 0.
        let [batch, seq, hidden] = x.dims();
        let split = |t: Tensor<3>| t.reshape([batch, seq, att.num_heads, att.head_dim]).swap_dims(1, 2);
        let q = split(att.query.forward(x.clone())).mul_scalar(1.0 / (att.head_dim as f64).sqrt());
        let k = split(att.key.forward(x.clone()));
        let v = split(att.value.forward(x.clone()));
        let probs = burn::tensor::activation::softmax(q.matmul(k.swap_dims(2, 3)) + attention_bias(mask.clone()), 3);
        let head_mask = Tensor::<1>::from_floats([1.0, 0.0, 1.0, 1.0], model.device()).reshape([1, 4, 1, 1]);
        let context = (probs.matmul(v) * head_mask).swap_dims(1, 2).reshape([batch, seq, hidden]);
        let expected = att.output.forward(context).into_data().try_to_vec::<f32>().unwrap();

        let pruned = remove_heads(model.network().clone(), ModelType::Bert, 4, &[(0, 1)]);
        let SequenceClassifier::Bert(p) = &pruned else { panic!("bert") };
        let got = p.bert.encoder.layers[0].attention.forward(x.clone(), attention_bias(mask.clone()));
        let got = got.into_data().try_to_vec::<f32>().unwrap();
        let max = expected.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max < 1e-5, "max difference {max}");
        let unpruned = att.forward(x, attention_bias(mask)).into_data().try_to_vec::<f32>().unwrap();
        assert!(unpruned.iter().zip(&got).any(|(a, b)| (a - b).abs() > 1e-3), "pruning changed nothing");
        // Four projections lose a 16×4 slice each.
        let (zeros, _) = encoder_zeros(&pruned);
        assert_eq!(zeros, 4 * 16 * 4);
    }

    #[test]
    fn linear_weights_find_every_projection() {
        let model = tiny(2, 1);
        let w = linear_weights(model.network());
        // 6 per layer (q, k, v, o, ffn in/out), pooler, classifier.
        assert_eq!(w.len(), 2 * 6 + 2);
        assert_eq!(w.iter().filter(|w| w.layer() == Some(1)).count(), 6);
        let doubled = map_linear_weights(model.network().clone(), &mut |p, _, v| {
            p.ends_with("ffn_in").then(|| v.iter().map(|x| x * 2.0).collect())
        });
        let after = linear_weights(&doubled);
        for (a, b) in w.iter().zip(&after) {
            let factor = if a.path.ends_with("ffn_in") { 2.0 } else { 1.0 };
            assert!(a.values.iter().zip(&b.values).all(|(x, y)| x * factor == *y), "{}", a.path);
        }
    }
}
