//! The weights of a [`SequenceClassifier`] copied out of burn into plain row-major f32
//! buffers, with each layer's query, key and value projections fused into one `[hidden,
//! 3·hidden]` matrix.

use anyhow::{Result, anyhow, bail};
use burn::module::Param;
use burn::nn;
use burn::tensor::Tensor;

use super::int8::QLinear;
use super::pruned_heads::{keep_inputs, keep_int8_inputs, keep_int8_outputs, keep_outputs, kept_heads, pick};
use crate::model::encoder::TransformerLayer;
use crate::model::heads::SequenceClassifier;
use crate::model::quant::{Quantization, QuantizedLinear, Scheme};
use crate::model::surgery::layer_prefix;
use crate::model::{EncoderSpec, ModelType};

/// A Linear layer: `y = x · weight + bias`, `weight` `[inputs, outputs]` row-major; or,
/// for a dynamic-int8 model, its int8 form (`int8`, and `weight` is empty).
#[derive(Clone)]
pub struct Linear {
    /// `[inputs, outputs]`, row-major (empty when `int8` is set).
    pub weight: Vec<f32>,
    /// The int8 layer that replaces the f32 product.
    pub int8: Option<QLinear>,
    /// `[outputs]` (zeros for a layer without bias).
    pub bias: Vec<f32>,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
}

impl Linear {
    /// Checks the buffer sizes.
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, inputs: usize, outputs: usize) -> Result<Self> {
        if weight.len() != inputs * outputs || bias.len() != outputs {
            bail!("a {inputs}×{outputs} linear layer has {} weights and {} biases", weight.len(), bias.len());
        }
        Ok(Self { weight, bias, inputs, outputs, int8: None })
    }

    /// The int8 form of a quantised layer (PyTorch layout `[outputs, inputs]`).
    fn int8(q: &QuantizedLinear, bias: Vec<f32>) -> Result<Self> {
        let int8 = QLinear::new(&q.q, &q.scales, bias.clone(), q.inputs, q.outputs)?;
        Ok(Self { weight: Vec::new(), bias, inputs: q.inputs, outputs: q.outputs, int8: Some(int8) })
    }
}

/// A LayerNorm's scale, shift and epsilon.
#[derive(Clone)]
pub struct Norm {
    /// Scale.
    pub gamma: Vec<f32>,
    /// Shift (zeros when the norm has none).
    pub beta: Vec<f32>,
    /// Added to the variance.
    pub eps: f64,
}

/// One transformer layer.
#[derive(Clone)]
pub struct Layer {
    /// Attention heads computed (fewer than the model's when pruning removed some:
    /// [`super::pruned_heads`]).
    pub heads: usize,
    /// `[q | k | v]` projection, `hidden → 3·heads·dim`.
    pub qkv: Linear,
    /// Attention output projection.
    pub output: Linear,
    /// LayerNorm after the attention residual.
    pub attention_norm: Norm,
    /// Feed-forward expansion.
    pub ffn_in: Linear,
    /// Feed-forward projection.
    pub ffn_out: Linear,
    /// LayerNorm after the feed-forward residual.
    pub output_norm: Norm,
}

/// The classification head on the `[CLS]` hidden state.
#[derive(Clone)]
pub enum Head {
    /// BERT: `classifier(tanh(pooler(h)))`.
    Bert {
        /// The pooler's dense layer.
        pooler: Linear,
    },
    /// DistilBERT: `classifier(relu(pre_classifier(h)))`.
    DistilBert {
        /// `pre_classifier`.
        pre_classifier: Linear,
    },
}

/// Every weight of a classifier.
#[derive(Clone)]
pub struct Weights {
    /// `[vocab, hidden]`.
    pub word: Vec<f32>,
    /// `[max_positions, hidden]`.
    pub position: Vec<f32>,
    /// `[type_vocab, hidden]` (BERT).
    pub token_type: Option<Vec<f32>>,
    /// LayerNorm of the embeddings.
    pub embedding_norm: Norm,
    /// The transformer layers.
    pub layers: Vec<Layer>,
    /// Pooler or pre-classifier.
    pub head: Head,
    /// `hidden → num_labels`.
    pub classifier: Linear,
    /// Hidden width.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// The Linear layers run in int8 with activations quantised per call.
    pub dynamic_int8: bool,
}

fn values<const D: usize>(t: &Param<Tensor<D>>) -> Result<Vec<f32>> {
    t.val().try_into_vec_as::<f32>().map_err(|e| anyhow!("cannot read a weight as f32: {e:?}"))
}

/// Which layers run in int8: those of a dynamic-int8 quantisation, by module path.
#[derive(Clone, Copy)]
struct Int8Layers<'a>(Option<&'a Quantization>);

impl<'a> Int8Layers<'a> {
    fn get(&self, path: &str) -> Result<Option<&'a QuantizedLinear>> {
        match self.0 {
            Some(q) => q.layers.get(path).map(Some).ok_or_else(|| anyhow!("layer {path} has no int8 weights")),
            None => Ok(None),
        }
    }
}

/// A Linear layer's bias (zeros when it has none).
fn bias(l: &nn::Linear) -> Result<Vec<f32>> {
    match &l.bias {
        Some(b) => values(b),
        None => Ok(vec![0.0; l.weight.dims()[1]]),
    }
}

fn linear(l: &nn::Linear, path: &str, int8: Int8Layers) -> Result<Linear> {
    let [inputs, outputs] = l.weight.dims();
    let bias = bias(l)?;
    match int8.get(path)? {
        Some(q) if [q.inputs, q.outputs] == [inputs, outputs] => Linear::int8(q, bias),
        Some(_) => bail!("layer {path}: int8 weights of another shape"),
        None => Linear::new(values(&l.weight)?, bias, inputs, outputs),
    }
}

fn norm(n: &nn::LayerNorm, eps: f64) -> Result<Norm> {
    let gamma = values(&n.gamma)?;
    let beta = match &n.beta {
        Some(b) => values(b)?,
        None => vec![0.0; gamma.len()],
    };
    Ok(Norm { gamma, beta, eps })
}

/// `[q | k | v]` as one linear layer: row `i` of the fused weight is row `i` of each.
fn fused_qkv(q: &Linear, k: &Linear, v: &Linear) -> Result<Linear> {
    let (inputs, width) = (q.inputs, q.outputs);
    if [k.inputs, v.inputs] != [inputs; 2] || [k.outputs, v.outputs] != [width; 2] {
        bail!("query, key and value projections differ in shape");
    }
    if q.int8.is_some() {
        bail!("int8 query, key and value are fused by fused_qkv_int8");
    }
    let mut weight = Vec::with_capacity(inputs * 3 * width);
    for i in 0..inputs {
        for part in [q, k, v] {
            weight.extend_from_slice(&part.weight[i * width..(i + 1) * width]);
        }
    }
    let bias = [&q.bias[..], &k.bias, &v.bias].concat();
    Linear::new(weight, bias, inputs, 3 * width)
}

/// int8 `[q | k | v]`: the three `[outputs, inputs]` matrices one after the other (the
/// same input, so one activation range, as PyTorch's three calls on one tensor have).
fn fused_qkv_int8(parts: [&QuantizedLinear; 3], bias: Vec<f32>) -> Result<Linear> {
    let [q, k, v] = parts;
    if [k.inputs, v.inputs] != [q.inputs; 2] || [k.outputs, v.outputs] != [q.outputs; 2] {
        bail!("query, key and value projections differ in shape");
    }
    let weights = [&q.q[..], &k.q, &v.q].concat();
    let scales: Vec<f32> = parts.iter().flat_map(|p| (0..p.outputs).map(|o| p.scale(o))).collect();
    Linear::int8(&QuantizedLinear { inputs: q.inputs, outputs: 3 * q.outputs, q: weights, scales }, bias)
}

fn layer(l: &TransformerLayer, eps: f64, prefix: &str, int8: Int8Layers, heads: usize, drop: bool) -> Result<Layer> {
    let a = &l.attention;
    let path = |name: &str| format!("{prefix}.{name}");
    let [_, width] = a.value.weight.dims();
    if heads == 0 || !width.is_multiple_of(heads) {
        bail!("{prefix}: attention width {width} is not a multiple of {heads} heads");
    }
    let kept = if drop { kept_heads(&values(&a.value.weight)?, &bias(&a.value)?, heads, width / heads) } else { None };
    // Every head's columns when none was removed (a copy at load, one code path).
    #[allow(clippy::single_range_in_vec_init)] // one range: all the columns
    let every = [0..width];
    let ranges: &[std::ops::Range<usize>] = kept.as_deref().unwrap_or(&every);
    let qkv = match int8.0 {
        Some(_) => {
            let get = |name: &str| int8.get(&path(name)).and_then(|q| q.ok_or_else(|| anyhow!("no int8 {name}")));
            let parts = [get("attention.query")?, get("attention.key")?, get("attention.value")?]
                .map(|p| keep_int8_outputs(p, ranges));
            let biases = [bias(&a.query)?, bias(&a.key)?, bias(&a.value)?];
            let bias = biases.iter().flat_map(|b| pick(b, ranges)).collect();
            fused_qkv_int8([&parts[0], &parts[1], &parts[2]], bias)?
        }
        None => {
            let part = |l: &nn::Linear, name: &str| keep_outputs(&linear(l, &path(name), int8)?, ranges);
            fused_qkv(
                &part(&a.query, "attention.query")?,
                &part(&a.key, "attention.key")?,
                &part(&a.value, "attention.value")?,
            )?
        }
    };
    let output = match int8.get(&path("attention.output"))? {
        Some(q) => Linear::int8(&keep_int8_inputs(q, ranges), bias(&a.output)?)?,
        None => keep_inputs(&linear(&a.output, &path("attention.output"), int8)?, ranges)?,
    };
    Ok(Layer {
        heads: kept.as_ref().map_or(heads, Vec::len),
        qkv,
        output,
        attention_norm: norm(&l.attention_norm, eps)?,
        ffn_in: linear(&l.ffn_in, &path("ffn_in"), int8)?,
        ffn_out: linear(&l.ffn_out, &path("ffn_out"), int8)?,
        output_norm: norm(&l.output_norm, eps)?,
    })
}

impl Weights {
    /// Copies the weights of `network` (built from `spec`) off its device; with a
    /// dynamic-int8 `quantization`, every Linear layer takes its int8 form from it.
    pub fn from_network(
        network: &SequenceClassifier,
        spec: &EncoderSpec,
        quantization: Option<&Quantization>,
    ) -> Result<Self> {
        Self::build(network, spec, quantization, true)
    }

    /// [`Weights::from_network`], leaving out removed heads or computing every head
    /// (`drop_removed_heads = false`: tests compare the two).
    pub(super) fn build(
        network: &SequenceClassifier,
        spec: &EncoderSpec,
        quantization: Option<&Quantization>,
        drop_removed_heads: bool,
    ) -> Result<Self> {
        let eps = spec.layer_norm_eps;
        let int8 = Int8Layers(quantization.filter(|q| q.scheme == Scheme::DynamicInt8));
        let emb = network.embeddings();
        let (encoder, head, classifier) = match network {
            SequenceClassifier::Bert(m) => (
                &m.bert.encoder,
                Head::Bert { pooler: linear(&m.bert.pooler.dense, "bert.pooler.dense", int8)? },
                &m.classifier,
            ),
            SequenceClassifier::DistilBert(m) => (
                &m.distilbert.transformer,
                Head::DistilBert { pre_classifier: linear(&m.pre_classifier, "pre_classifier", int8)? },
                &m.classifier,
            ),
        };
        let weights = Self {
            word: values(&emb.word_embeddings.weight)?,
            position: values(&emb.position_embeddings.weight)?,
            token_type: emb.token_type_embeddings.as_ref().map(|t| values(&t.weight)).transpose()?,
            embedding_norm: norm(&emb.layer_norm, eps)?,
            layers: encoder
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    layer(l, eps, &layer_prefix(spec.model_type, i), int8, spec.num_heads, drop_removed_heads)
                })
                .collect::<Result<_>>()?,
            head,
            classifier: linear(classifier, "classifier", int8)?,
            hidden: spec.hidden_size,
            heads: spec.num_heads,
            dynamic_int8: int8.0.is_some(),
        };
        if weights.heads == 0 || !weights.hidden.is_multiple_of(weights.heads) {
            bail!("hidden size {} is not a multiple of {} heads", weights.hidden, weights.heads);
        }
        if (spec.model_type == ModelType::Bert) != weights.token_type.is_some() {
            bail!("token type embeddings do not match the model type");
        }
        Ok(weights)
    }
}
