//! Every parameter of a [`SequenceClassifier`] in one flat f32 buffer, and the map between
//! that buffer and burn's modules.
//!
//! The [`Layout`] says where each tensor lives: Linear weights `[inputs, outputs]` row-major
//! as burn stores them (so `y = x · W + b`), each layer's query, key and value fused into one
//! `[hidden, 3·hidden]` matrix (row `i` is row `i` of each, as the packed inference path
//! fuses them) with the bias `[b_q | b_k | b_v]`. Gradients and AdamW's moments use the same
//! layout, so clipping and the optimiser run over single slices.
//!
//! [`Layout::gather`] copies a network's values (or, with [`Source::Gradients`], the
//! gradients burn's autodiff computed for it, which the parity tests compare against) into
//! a flat buffer; [`Layout::scatter`] writes a flat buffer back into a network, keeping each
//! parameter's id.

use anyhow::{Context, Result, anyhow, bail};
use burn::module::{Param, ParamId};
use burn::nn;
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use crate::model::encoder::TransformerLayer;
use crate::model::heads::SequenceClassifier;
use crate::model::{EncoderSpec, ModelType};

/// Where a Linear layer's weight (`[inputs, outputs]`) and bias (`[outputs]`) start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearAt {
    /// Offset of the weight.
    pub w: usize,
    /// Offset of the bias.
    pub b: usize,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
}

/// Where a LayerNorm's scale and shift start (`width` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormAt {
    /// Offset of γ.
    pub gamma: usize,
    /// Offset of β.
    pub beta: usize,
}

/// One transformer layer's tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerAt {
    /// Fused `[q | k | v]`, `hidden → 3·hidden`.
    pub qkv: LinearAt,
    /// Attention output projection.
    pub output: LinearAt,
    /// LayerNorm after the attention residual.
    pub attention_norm: NormAt,
    /// Feed-forward expansion.
    pub ffn_in: LinearAt,
    /// Feed-forward projection.
    pub ffn_out: LinearAt,
    /// LayerNorm after the feed-forward residual.
    pub output_norm: NormAt,
}

/// Where every tensor of a classifier lives in the flat buffer, and the shapes the kernels
/// need.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// BERT (pooler + tanh, token types) or DistilBERT (pre-classifier + ReLU).
    pub model_type: ModelType,
    /// Hidden width.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Vocabulary size (rows of the word table).
    pub vocab: usize,
    /// Rows of the position table.
    pub positions: usize,
    /// Rows of the token-type table (0 for DistilBERT).
    pub types: usize,
    /// Classes.
    pub labels: usize,
    /// LayerNorm ε.
    pub eps: f64,
    /// `[vocab, hidden]`.
    pub word: usize,
    /// `[positions, hidden]`.
    pub position: usize,
    /// `[types, hidden]` (BERT).
    pub token_type: Option<usize>,
    /// LayerNorm of the embeddings.
    pub embedding_norm: NormAt,
    /// The layers.
    pub layers: Vec<LayerAt>,
    /// BERT's pooler or DistilBERT's pre-classifier, `hidden → hidden`.
    pub head: LinearAt,
    /// `hidden → labels`.
    pub classifier: LinearAt,
    /// Values in all.
    pub len: usize,
}

/// Hands out consecutive offsets.
struct Cursor(usize);

impl Cursor {
    fn take(&mut self, n: usize) -> usize {
        self.0 += n;
        self.0 - n
    }
    fn linear(&mut self, inputs: usize, outputs: usize) -> LinearAt {
        LinearAt { w: self.take(inputs * outputs), b: self.take(outputs), inputs, outputs }
    }
    fn norm(&mut self, width: usize) -> NormAt {
        NormAt { gamma: self.take(width), beta: self.take(width) }
    }
}

/// What [`Layout::gather`] reads from each parameter.
pub enum Source<'a> {
    /// The parameter's value.
    Values,
    /// Its gradient in burn's gradients (zero when it has none).
    Gradients(&'a GradientsParams),
}

/// Where one burn tensor sits in the flat buffer.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// `len` consecutive values from `at`.
    Plain { at: usize },
    /// Columns `part·width..(part+1)·width` of a fused `[inputs, 3·width]` matrix at `at`.
    Fused { at: usize, part: usize, inputs: usize, width: usize },
}

/// A burn parameter of rank 1 or 2.
enum AnyParam<'a> {
    One(&'a mut Param<Tensor<1>>),
    Two(&'a mut Param<Tensor<2>>),
}

impl AnyParam<'_> {
    fn id(&self) -> ParamId {
        match self {
            Self::One(p) => p.id,
            Self::Two(p) => p.id,
        }
    }
    fn dims(&self) -> Vec<usize> {
        match self {
            Self::One(p) => p.val().dims().to_vec(),
            Self::Two(p) => p.val().dims().to_vec(),
        }
    }
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| anyhow!("cannot read a tensor as f32: {e:?}"))
}

impl Layout {
    /// The layout of `network` (built from `spec`). Errors when a Linear layer has no bias
    /// or a LayerNorm no shift (every BERT and DistilBERT layer has both).
    pub fn of(network: &SequenceClassifier, spec: &EncoderSpec) -> Result<Self> {
        let h = spec.hidden_size;
        if spec.num_heads == 0 || !h.is_multiple_of(spec.num_heads) {
            bail!("hidden size {h} is not a multiple of {} heads", spec.num_heads);
        }
        let emb = network.embeddings();
        let [vocab, _] = emb.word_embeddings.weight.dims();
        let [positions, _] = emb.position_embeddings.weight.dims();
        let types = emb.token_type_embeddings.as_ref().map_or(0, |t| t.weight.dims()[0]);
        let (encoder, classifier) = match network {
            SequenceClassifier::Bert(m) => (&m.bert.encoder, &m.classifier),
            SequenceClassifier::DistilBert(m) => (&m.distilbert.transformer, &m.classifier),
        };
        let [_, labels] = classifier.weight.dims();
        let intermediate = encoder.layers.first().map_or(spec.intermediate_size, |l| l.ffn_in.weight.dims()[1]);
        let mut c = Cursor(0);
        let word = c.take(vocab * h);
        let position = c.take(positions * h);
        let token_type = (types > 0).then(|| c.take(types * h));
        let embedding_norm = c.norm(h);
        let layers = encoder
            .layers
            .iter()
            .map(|_| LayerAt {
                qkv: c.linear(h, 3 * h),
                output: c.linear(h, h),
                attention_norm: c.norm(h),
                ffn_in: c.linear(h, intermediate),
                ffn_out: c.linear(intermediate, h),
                output_norm: c.norm(h),
            })
            .collect();
        let head = c.linear(h, h);
        let classifier = c.linear(h, labels);
        let layout = Self {
            model_type: spec.model_type,
            hidden: h,
            heads: spec.num_heads,
            intermediate,
            vocab,
            positions,
            types,
            labels,
            eps: spec.layer_norm_eps,
            word,
            position,
            token_type,
            embedding_norm,
            layers,
            head,
            classifier,
            len: c.0,
        };
        // Walk once to check that every tensor has the shape the layout expects.
        let mut probe = network.clone();
        layout.walk(&mut probe, &mut |slot, len, param| {
            let dims = param.dims();
            let want = match slot {
                Slot::Plain { .. } => len,
                Slot::Fused { inputs, width, .. } => inputs * width,
            };
            if dims.iter().product::<usize>() != want {
                bail!("a tensor of shape {dims:?} does not fit the layout ({want} values)");
            }
            Ok(())
        })?;
        Ok(layout)
    }

    /// Every tensor of the layout by name with its range of the flat buffer (query, key
    /// and value as one `qkv` tensor), in buffer order.
    pub fn tensors(&self) -> Vec<(String, std::ops::Range<usize>)> {
        let h = self.hidden;
        let mut out = vec![("word".to_string(), self.word..self.word + self.vocab * h)];
        out.push(("position".into(), self.position..self.position + self.positions * h));
        if let Some(t) = self.token_type {
            out.push(("token_type".into(), t..t + self.types * h));
        }
        let norm = |name: &str, n: NormAt| {
            [(format!("{name}.gamma"), n.gamma..n.gamma + h), (format!("{name}.beta"), n.beta..n.beta + h)]
        };
        let linear = |name: &str, l: LinearAt| {
            [
                (format!("{name}.weight"), l.w..l.w + l.inputs * l.outputs),
                (format!("{name}.bias"), l.b..l.b + l.outputs),
            ]
        };
        out.extend(norm("embeddings.norm", self.embedding_norm));
        for (i, l) in self.layers.iter().enumerate() {
            out.extend(linear(&format!("layer {i}.qkv"), l.qkv));
            out.extend(linear(&format!("layer {i}.output"), l.output));
            out.extend(norm(&format!("layer {i}.attention_norm"), l.attention_norm));
            out.extend(linear(&format!("layer {i}.ffn_in"), l.ffn_in));
            out.extend(linear(&format!("layer {i}.ffn_out"), l.ffn_out));
            out.extend(norm(&format!("layer {i}.output_norm"), l.output_norm));
        }
        out.extend(linear("head", self.head));
        out.extend(linear("classifier", self.classifier));
        out
    }

    /// Copies `source` (values or gradients) of every parameter of `network` into a flat
    /// buffer of [`Layout::len`] values.
    pub fn gather(&self, network: &SequenceClassifier, source: &Source) -> Result<Vec<f32>> {
        let mut flat = vec![0.0f32; self.len];
        let mut net = network.clone();
        self.walk(&mut net, &mut |slot, len, param| {
            let values = match (source, &param) {
                (Source::Values, AnyParam::One(p)) => to_vec(p.val())?,
                (Source::Values, AnyParam::Two(p)) => to_vec(p.val())?,
                (Source::Gradients(g), AnyParam::One(p)) => match g.get::<1>(p.id) {
                    Some(t) => to_vec(t)?,
                    None => return Ok(()),
                },
                (Source::Gradients(g), AnyParam::Two(p)) => match g.get::<2>(p.id) {
                    Some(t) => to_vec(t)?,
                    None => return Ok(()),
                },
            };
            match slot {
                Slot::Plain { at } => flat[at..at + len].copy_from_slice(&values),
                Slot::Fused { at, part, inputs, width } => {
                    for i in 0..inputs {
                        let row = at + i * 3 * width + part * width;
                        flat[row..row + width].copy_from_slice(&values[i * width..(i + 1) * width]);
                    }
                }
            }
            Ok(())
        })?;
        Ok(flat)
    }

    /// `network` with every parameter replaced by its values in `flat` (same ids, same
    /// device).
    pub fn scatter(&self, network: &SequenceClassifier, flat: &[f32]) -> Result<SequenceClassifier> {
        if flat.len() != self.len {
            bail!("a flat buffer of {} values for a layout of {}", flat.len(), self.len);
        }
        let mut net = network.clone();
        self.walk(&mut net, &mut |slot, len, param| {
            let dims = param.dims();
            let values = match slot {
                Slot::Plain { at } => flat[at..at + len].to_vec(),
                Slot::Fused { at, part, inputs, width } => (0..inputs)
                    .flat_map(|i| {
                        let row = at + i * 3 * width + part * width;
                        flat[row..row + width].iter().copied()
                    })
                    .collect(),
            };
            let id = param.id();
            match param {
                AnyParam::One(p) => {
                    let device = p.val().device();
                    *p = Param::initialized(id, Tensor::from_data(TensorData::new(values, dims), &device));
                }
                AnyParam::Two(p) => {
                    let device = p.val().device();
                    *p = Param::initialized(id, Tensor::from_data(TensorData::new(values, dims), &device));
                }
            }
            Ok(())
        })?;
        Ok(net)
    }

    /// Calls `f(slot, values, parameter)` for every parameter of `network`.
    fn walk(&self, network: &mut SequenceClassifier, f: &mut Visit) -> Result<()> {
        let h = self.hidden;
        let (embeddings, encoder, head, classifier) = match network {
            SequenceClassifier::Bert(m) => {
                (&mut m.bert.embeddings, &mut m.bert.encoder, &mut m.bert.pooler.dense, &mut m.classifier)
            }
            SequenceClassifier::DistilBert(m) => {
                (&mut m.distilbert.embeddings, &mut m.distilbert.transformer, &mut m.pre_classifier, &mut m.classifier)
            }
        };
        if encoder.layers.len() != self.layers.len() {
            bail!("{} layers for a layout of {}", encoder.layers.len(), self.layers.len());
        }
        for (i, (l, at)) in encoder.layers.iter_mut().zip(&self.layers).enumerate() {
            walk_layer(l, at, h, &format!("layer {i}"), f)?;
        }
        linear(head, self.head, "head", f)?;
        linear(classifier, self.classifier, "classifier", f)?;
        f(Slot::Plain { at: self.word }, self.vocab * h, AnyParam::Two(&mut embeddings.word_embeddings.weight))?;
        f(
            Slot::Plain { at: self.position },
            self.positions * h,
            AnyParam::Two(&mut embeddings.position_embeddings.weight),
        )?;
        match (&mut embeddings.token_type_embeddings, self.token_type) {
            (Some(t), Some(at)) => f(Slot::Plain { at }, self.types * h, AnyParam::Two(&mut t.weight))?,
            (None, None) => {}
            _ => bail!("token type embeddings do not match the layout"),
        }
        norm(&mut embeddings.layer_norm, self.embedding_norm, h, "embeddings.layer_norm", f)
    }
}

/// What [`Layout::walk`] calls for each parameter: its slot, its number of values, itself.
type Visit<'a> = dyn FnMut(Slot, usize, AnyParam<'_>) -> Result<()> + 'a;

fn linear(l: &mut nn::Linear, at: LinearAt, name: &str, f: &mut Visit) -> Result<()> {
    f(Slot::Plain { at: at.w }, at.inputs * at.outputs, AnyParam::Two(&mut l.weight))
        .with_context(|| format!("{name}.weight"))?;
    let bias = l.bias.as_mut().ok_or_else(|| anyhow!("{name} has no bias"))?;
    f(Slot::Plain { at: at.b }, at.outputs, AnyParam::One(bias)).with_context(|| format!("{name}.bias"))
}

fn norm(n: &mut nn::LayerNorm, at: NormAt, width: usize, name: &str, f: &mut Visit) -> Result<()> {
    f(Slot::Plain { at: at.gamma }, width, AnyParam::One(&mut n.gamma)).with_context(|| format!("{name}.gamma"))?;
    let beta = n.beta.as_mut().ok_or_else(|| anyhow!("{name} has no shift (beta)"))?;
    f(Slot::Plain { at: at.beta }, width, AnyParam::One(beta)).with_context(|| format!("{name}.beta"))
}

fn walk_layer(l: &mut TransformerLayer, at: &LayerAt, h: usize, name: &str, f: &mut Visit) -> Result<()> {
    // Query, key and value: each `[h, h]` weight is a third of the fused columns; their
    // biases lie one after the other, so each is a plain slot.
    let a = &mut l.attention;
    for (part, (lin, what)) in
        [(&mut a.query, "query"), (&mut a.key, "key"), (&mut a.value, "value")].into_iter().enumerate()
    {
        let name = format!("{name}.attention.{what}");
        let slot = Slot::Fused { at: at.qkv.w, part, inputs: h, width: h };
        f(slot, h * h, AnyParam::Two(&mut lin.weight)).with_context(|| format!("{name}.weight"))?;
        let bias = lin.bias.as_mut().ok_or_else(|| anyhow!("{name} has no bias"))?;
        f(Slot::Plain { at: at.qkv.b + part * h }, h, AnyParam::One(bias)).with_context(|| format!("{name}.bias"))?;
    }
    linear(&mut a.output, at.output, &format!("{name}.attention.output"), f)?;
    norm(&mut l.attention_norm, at.attention_norm, h, &format!("{name}.attention_norm"), f)?;
    linear(&mut l.ffn_in, at.ffn_in, &format!("{name}.ffn_in"), f)?;
    linear(&mut l.ffn_out, at.ffn_out, &format!("{name}.ffn_out"), f)?;
    norm(&mut l.output_norm, at.output_norm, h, &format!("{name}.output_norm"), f)
}
