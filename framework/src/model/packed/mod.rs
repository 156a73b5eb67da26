//! The packed inference path: a classifier's weights as plain f32 buffers and a forward
//! pass written for what explanations need on a CPU — many short texts.
//!
//! burn's forward pads every batch to its longest input, splits heads into a
//! `[batch, heads, seq, dim]` copy and back, and runs each projection as per-sequence
//! products. Here the inputs of a batch lie end to end (`[tokens, hidden]`, no padding and
//! so no attention mask), query, key and value are one product (`hidden → 3·hidden`),
//! attention reads the heads in place, every projection is one gemm call with its bias
//! folded in, the last layer computes only the `[CLS]` rows the head reads (its keys and
//! values still come from every token: about a seventh fewer products for a 6-layer
//! model), and independent batches run on the rayon pool with single-threaded kernels
//! (on two cores this beats splitting each small product between threads).
//!
//! It computes what [`super::SequenceClassifier::forward`] computes (the parity tests hold
//! it to 1e-4 on the logits) and is used by [`super::HfModel::forward_batch`] on the CPU
//! device without autodiff; training, gradients and the CUDA backend keep burn's graph.
//!
//! A model quantised with [`Scheme::DynamicInt8`](super::quant::Scheme) runs its Linear
//! layers in int8 ([`int8`]), each input quantised per example as PyTorch's dynamic
//! quantisation does at batch size 1. Its activation ranges cover every token of a layer's
//! input, so its last layer is computed for every token up to the feed-forward output,
//! which (its range still taken over every token) is computed for the `[CLS]` rows only.
//! burn's forward of such a model computes with the dequantised weights in f32
//! (weight-only).

pub mod attention;
pub mod gelu;
pub mod int8;
pub(crate) mod kernels;
pub mod layer_norm;
mod pruned_heads;
pub mod sparse;
mod weights;

pub(crate) use gelu::gelu;

use anyhow::Result;
use rayon::prelude::*;

use super::heads::SequenceClassifier;
use super::quant::Quantization;
use super::{Encoded, EncoderSpec};
use attention::{Heads, Queries, attention};
use int8::{Int8Scratch, linear_dynamic, linear_dynamic_first_rows};
use kernels::{add_assign, linear, linear_columns, relu, tanh};
use layer_norm::layer_norm;
use weights::{Head, Linear, Weights};

/// Which rows a layer's feed-forward output is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Every row.
    All,
    /// The first row of each group (the others are computed up to the feed-forward
    /// block's input, which the int8 activation ranges need).
    FirstOutputs,
}

/// A request is split into at least this many batches (when it has that many inputs).
const MIN_BATCHES: usize = 4;

/// The largest [`Scratch`] a thread keeps for its next batch, in bytes: reusing the buffers
/// spares every batch their page faults and zeroing, and the bound keeps a thread from
/// holding on to the buffers of one unusually large batch.
const KEPT_SCRATCH_BYTES: usize = 64 << 20;

thread_local! {
    /// The buffers of this thread's previous batch (see [`KEPT_SCRATCH_BYTES`]).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// A classifier ready for the packed forward pass.
#[derive(Clone)]
pub struct PackedClassifier {
    weights: Weights,
}

impl std::fmt::Debug for PackedClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedClassifier")
            .field("layers", &self.weights.layers.len())
            .field("hidden", &self.weights.hidden)
            .field("heads", &self.weights.heads)
            .finish()
    }
}

/// Reusable buffers of one batch.
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    inner: Vec<f32>,
    scores: Vec<f32>,
    /// A `[rows, hidden]` buffer the forward has finished with (the next one embeds into it).
    spare: Vec<f32>,
    int8: Int8Scratch,
}

impl Scratch {
    /// The bytes the buffers hold (their capacities).
    fn bytes(&self) -> usize {
        let floats = [&self.qkv, &self.ctx, &self.tmp, &self.inner, &self.scores, &self.spare]
            .iter()
            .map(|v| v.capacity())
            .sum::<usize>();
        floats * size_of::<f32>() + self.int8.bytes()
    }
}

/// `out = x · W + b` for the rows of `groups` (`(first row, rows)` per example): int8 with
/// one activation range per group when the layer has an int8 form, else f32.
fn project(x: &[f32], groups: &[(usize, usize)], layer: &Linear, out: &mut Vec<f32>, s: &mut Int8Scratch) {
    match &layer.int8 {
        Some(q) => linear_dynamic(x, groups, q, out, s),
        None => linear(x, groups.iter().map(|g| g.1).sum(), layer, out),
    }
}

/// [`project`]'s rows for the first row of each group only (one row per group in `out`);
/// in int8 each group's activation range still covers all of its rows.
fn project_first_rows(x: &[f32], groups: &[(usize, usize)], layer: &Linear, out: &mut Vec<f32>, s: &mut Int8Scratch) {
    match &layer.int8 {
        Some(q) => linear_dynamic_first_rows(x, groups, q, out, s),
        None => linear(&first_rows(x, groups, layer.inputs), groups.len(), layer, out),
    }
}

impl PackedClassifier {
    /// Copies the weights of `network` (built from `spec`) off its device; a dynamic-int8
    /// `quantization` makes every Linear layer int8.
    pub fn new(network: &SequenceClassifier, spec: &EncoderSpec, quantization: Option<&Quantization>) -> Result<Self> {
        Ok(Self { weights: Weights::from_network(network, spec, quantization)? })
    }

    /// Whether the Linear layers run in int8.
    pub fn is_int8(&self) -> bool {
        self.weights.dynamic_int8
    }

    /// Number of classes.
    pub fn num_labels(&self) -> usize {
        self.weights.classifier.outputs
    }

    /// Logits of `inputs` (`num_labels` per input, row after row), `batch_size` inputs per
    /// batch and the batches in parallel. Inputs sorted by length waste nothing. Crate-only:
    /// the inputs must have passed [`super::HfModel::check_input`] (ids index the embedding
    /// tables unchecked), as [`super::HfModel::forward_batch`] ensures.
    pub(crate) fn logits(&self, inputs: &[&Encoded], batch_size: usize) -> Vec<f32> {
        // At least `MIN_BATCHES` batches to keep the threads busy, no larger than asked. The
        // split depends on the inputs only, never on the number of threads, so the logits
        // are bit for bit the same on any machine with the same kernels.
        let size = batch_size.min(inputs.len().div_ceil(MIN_BATCHES)).max(1);
        let batches: Vec<Vec<f32>> = inputs.par_chunks(size).map(|chunk| self.batch_logits(chunk)).collect();
        batches.concat()
    }

    /// Logits of one batch, on the calling thread, with its buffers of the previous batch.
    fn batch_logits(&self, inputs: &[&Encoded]) -> Vec<f32> {
        let mut s = SCRATCH.with(|kept| kept.take());
        let logits = self.batch_logits_with(inputs, &mut s);
        if s.bytes() <= KEPT_SCRATCH_BYTES {
            SCRATCH.with(|kept| *kept.borrow_mut() = s);
        }
        logits
    }

    /// [`Self::batch_logits`] with the buffers `s`.
    fn batch_logits_with(&self, inputs: &[&Encoded], s: &mut Scratch) -> Vec<f32> {
        let w = &self.weights;
        let h = w.hidden;
        let mut sequences = Vec::with_capacity(inputs.len());
        let mut rows = 0;
        for e in inputs {
            sequences.push((rows, e.len()));
            rows += e.len();
        }
        let mut x = self.embed(inputs, rows, std::mem::take(&mut s.spare));
        let dim = h / w.heads;
        let n = inputs.len();
        let cls_groups: Vec<(usize, usize)> = (0..n).map(|i| (i, 1)).collect();
        // The last layer computes less: only the rows the head reads (see below and the
        // module documentation).
        let (full, last) = match w.layers.split_last() {
            Some((last, layers)) => (layers, Some(last)),
            None => (&w.layers[..], None),
        };
        for layer in full {
            x = self.layer(layer, x, &sequences, Rows::All, s);
        }
        let Some(last) = last else {
            return self.head(&first_rows(&x, &sequences, h), &cls_groups, s);
        };
        if w.dynamic_int8 {
            // Every activation range covers all tokens: every row is computed up to the
            // feed-forward output, whose product is taken for the [CLS] rows only.
            let cls = self.layer(last, x, &sequences, Rows::FirstOutputs, s);
            return self.head(&cls, &cls_groups, s);
        }
        let cls = first_rows(&x, &sequences, h);
        // The last layer: only the [CLS] rows reach the head, so only their query, context,
        // output projection and feed-forward block are computed (keys and values of every
        // token still are).
        let width = last.heads * dim;
        s.qkv.resize(rows * 3 * width, 0.0);
        linear_columns(&x, rows, &last.qkv, width..3 * width, &mut s.qkv[width..], 3 * width);
        let mut query = vec![0.0; n * width];
        linear_columns(&cls, n, &last.qkv, 0..width, &mut query, width);
        for (&(start, _), q) in sequences.iter().zip(query.chunks_exact(width)) {
            s.qkv[start * 3 * width..start * 3 * width + width].copy_from_slice(q);
        }
        s.ctx.resize(n * width, 0.0);
        let heads = Heads { count: last.heads, dim };
        attention(&s.qkv, &sequences, heads, Queries::First, &mut s.ctx, &mut s.scores);
        let ctx = std::mem::take(&mut s.ctx);
        let cls = self.sublayers(last, cls, &ctx[..n * width], &cls_groups, Rows::All, s);
        s.ctx = ctx;
        s.spare = x;
        self.head(&cls, &cls_groups, s)
    }

    /// One encoder layer on every token of `sequences`: `[rows, hidden]` out, or with
    /// [`Rows::FirstOutputs`] the first row of each sequence.
    fn layer(
        &self,
        layer: &weights::Layer,
        x: Vec<f32>,
        sequences: &[(usize, usize)],
        rows: Rows,
        s: &mut Scratch,
    ) -> Vec<f32> {
        let dim = self.weights.hidden / self.weights.heads;
        let tokens = sequences.iter().map(|g| g.1).sum::<usize>();
        project(&x, sequences, &layer.qkv, &mut s.qkv, &mut s.int8);
        s.ctx.resize(tokens * layer.heads * dim, 0.0);
        let heads = Heads { count: layer.heads, dim };
        attention(&s.qkv, sequences, heads, Queries::All, &mut s.ctx, &mut s.scores);
        let ctx = std::mem::take(&mut s.ctx);
        let x = self.sublayers(layer, x, &ctx, sequences, rows, s);
        s.ctx = ctx;
        x
    }

    /// The rest of a layer after attention: `h = LN(x + ctx·Wo)`, `LN(h + ffn(h))`, on the
    /// rows of `groups`; with [`Rows::FirstOutputs`] the feed-forward output and what
    /// follows only for the first row of each group.
    fn sublayers(
        &self,
        layer: &weights::Layer,
        x: Vec<f32>,
        ctx: &[f32],
        groups: &[(usize, usize)],
        rows: Rows,
        s: &mut Scratch,
    ) -> Vec<f32> {
        let h = self.weights.hidden;
        let mut x = x;
        project(ctx, groups, &layer.output, &mut s.tmp, &mut s.int8);
        add_assign(&mut s.tmp, &x);
        layer_norm(&mut s.tmp, h, &layer.attention_norm);
        std::mem::swap(&mut x, &mut s.tmp);
        project(&x, groups, &layer.ffn_in, &mut s.inner, &mut s.int8);
        gelu(&mut s.inner);
        if rows == Rows::FirstOutputs {
            project_first_rows(&s.inner, groups, &layer.ffn_out, &mut s.tmp, &mut s.int8);
            let first = first_rows(&x, groups, h);
            s.spare = std::mem::replace(&mut x, first);
        } else {
            project(&s.inner, groups, &layer.ffn_out, &mut s.tmp, &mut s.int8);
        }
        add_assign(&mut s.tmp, &x);
        layer_norm(&mut s.tmp, h, &layer.output_norm);
        std::mem::swap(&mut x, &mut s.tmp);
        x
    }

    /// The classification head on the `[CLS]` rows (one group each): logits, row after row.
    fn head(&self, cls: &[f32], groups: &[(usize, usize)], s: &mut Scratch) -> Vec<f32> {
        let w = &self.weights;
        let mut pooled = Vec::new();
        match &w.head {
            Head::Bert { pooler } => {
                project(cls, groups, pooler, &mut pooled, &mut s.int8);
                tanh(&mut pooled);
            }
            Head::DistilBert { pre_classifier } => {
                project(cls, groups, pre_classifier, &mut pooled, &mut s.int8);
                relu(&mut pooled);
            }
        }
        let mut logits = Vec::new();
        project(&pooled, groups, &w.classifier, &mut logits, &mut s.int8);
        logits
    }

    /// Word + position (+ token type) embeddings of every token, normalised: `[rows, hidden]`.
    /// `x` is a buffer to reuse (cleared first).
    fn embed(&self, inputs: &[&Encoded], rows: usize, mut x: Vec<f32>) -> Vec<f32> {
        let w = &self.weights;
        let h = w.hidden;
        x.clear();
        x.reserve(rows * h);
        for e in inputs {
            for (pos, (&id, &ty)) in e.ids.iter().zip(&e.type_ids).enumerate() {
                let start = x.len();
                x.extend_from_slice(&w.word[id as usize * h..(id as usize + 1) * h]);
                let row = &mut x[start..];
                // transformers' order: (word + token type) + position.
                if let Some(types) = &w.token_type {
                    add_assign(row, &types[ty as usize * h..(ty as usize + 1) * h]);
                }
                add_assign(row, &w.position[pos * h..(pos + 1) * h]);
            }
        }
        layer_norm(&mut x, h, &w.embedding_norm);
        x
    }
}

/// The first row (`[CLS]`) of every sequence of `x` (`width` wide): `[sequences, width]`.
fn first_rows(x: &[f32], sequences: &[(usize, usize)], width: usize) -> Vec<f32> {
    sequences.iter().flat_map(|&(start, _)| x[start * width..(start + 1) * width].iter().copied()).collect()
}
