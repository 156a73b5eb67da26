//! The weights of a [`SequenceClassifier`] copied out of burn into plain row-major f32
//! buffers, with each layer's query, key and value projections fused into one `[hidden,
//! 3·hidden]` matrix.

use anyhow::{Result, anyhow, bail};
use burn::module::Param;
use burn::nn;
use burn::tensor::Tensor;

use crate::model::encoder::TransformerLayer;
use crate::model::heads::SequenceClassifier;
use crate::model::{EncoderSpec, ModelType};

/// A Linear layer: `y = x · weight + bias`, `weight` `[inputs, outputs]` row-major.
#[derive(Clone)]
pub struct Linear {
    /// `[inputs, outputs]`, row-major.
    pub weight: Vec<f32>,
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
        Ok(Self { weight, bias, inputs, outputs })
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
    /// `[q | k | v]` projection, `hidden → 3·hidden`.
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
}

fn values<const D: usize>(t: &Param<Tensor<D>>) -> Result<Vec<f32>> {
    t.val().try_into_vec_as::<f32>().map_err(|e| anyhow!("cannot read a weight as f32: {e:?}"))
}

fn linear(l: &nn::Linear) -> Result<Linear> {
    let [inputs, outputs] = l.weight.dims();
    let bias = match &l.bias {
        Some(b) => values(b)?,
        None => vec![0.0; outputs],
    };
    Linear::new(values(&l.weight)?, bias, inputs, outputs)
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
    let mut weight = Vec::with_capacity(inputs * 3 * width);
    for i in 0..inputs {
        for part in [q, k, v] {
            weight.extend_from_slice(&part.weight[i * width..(i + 1) * width]);
        }
    }
    let bias = [&q.bias[..], &k.bias, &v.bias].concat();
    Linear::new(weight, bias, inputs, 3 * width)
}

fn layer(l: &TransformerLayer, eps: f64) -> Result<Layer> {
    let a = &l.attention;
    Ok(Layer {
        qkv: fused_qkv(&linear(&a.query)?, &linear(&a.key)?, &linear(&a.value)?)?,
        output: linear(&a.output)?,
        attention_norm: norm(&l.attention_norm, eps)?,
        ffn_in: linear(&l.ffn_in)?,
        ffn_out: linear(&l.ffn_out)?,
        output_norm: norm(&l.output_norm, eps)?,
    })
}

impl Weights {
    /// Copies the weights of `network` (built from `spec`) off its device.
    pub fn from_network(network: &SequenceClassifier, spec: &EncoderSpec) -> Result<Self> {
        let eps = spec.layer_norm_eps;
        let emb = network.embeddings();
        let (encoder, head, classifier) = match network {
            SequenceClassifier::Bert(m) => {
                (&m.bert.encoder, Head::Bert { pooler: linear(&m.bert.pooler.dense)? }, &m.classifier)
            }
            SequenceClassifier::DistilBert(m) => (
                &m.distilbert.transformer,
                Head::DistilBert { pre_classifier: linear(&m.pre_classifier)? },
                &m.classifier,
            ),
        };
        let weights = Self {
            word: values(&emb.word_embeddings.weight)?,
            position: values(&emb.position_embeddings.weight)?,
            token_type: emb.token_type_embeddings.as_ref().map(|t| values(&t.weight)).transpose()?,
            embedding_norm: norm(&emb.layer_norm, eps)?,
            layers: encoder.layers.iter().map(|l| layer(l, eps)).collect::<Result<_>>()?,
            head,
            classifier: linear(classifier)?,
            hidden: spec.hidden_size,
            heads: spec.num_heads,
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
