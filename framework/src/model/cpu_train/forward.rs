//! The training forward pass: the inputs of a batch laid end to end (`[tokens, hidden]`,
//! no padding), every activation the backward pass needs kept in reusable buffers.
//!
//! Embeddings (word + token type + position, LayerNorm, dropout), then per layer:
//! `qkv = x·W_qkv + b` (one product), attention ([`super::attention`]),
//! `h = LN(x + drop(ctx·W_o + b_o))`, `u = h·W_1 + b_1`, `g = gelu(u)`,
//! `y = LN(h + drop(g·W_2 + b_2))`; then the head on the `[CLS]` rows: BERT
//! `p = tanh(cls·W_p + b_p)`, DistilBERT `p = relu(cls·W_pc + b_pc)`, and
//! `logits = drop(p)·W_c + b_c` — what [`crate::model::SequenceClassifier::forward`]
//! computes on an autodiff device. Only the `[CLS]` rows reach the head, so the last layer
//! computes keys and values for every token but attention, its output projection and the
//! feed-forward block for the `[CLS]` rows alone (as the packed inference path does).

use anyhow::{Result, bail};

use super::CpuNet;
use super::attention::{self, Heads, Queries};
use super::buffers::LinearAt;
use super::dropout;
use super::layer_norm;
use crate::model::ModelType;
use crate::model::packed::kernels::{Threads, View, product};
use crate::model::tokenizer::Encoded;

/// A dropout mask that may be off (probability 0).
#[derive(Debug, Default)]
pub struct Mask {
    /// Whether the mask applies.
    pub on: bool,
    /// The multipliers (when on).
    pub values: Vec<f32>,
}

impl Mask {
    /// The multipliers when the mask applies.
    pub fn get(&self) -> Option<&[f32]> {
        self.on.then_some(&self.values[..])
    }

    /// Draws the mask for `len` values at (`step`, `site`), or turns it off.
    fn draw(&mut self, len: usize, p: f64, seed: u64, step: u64, site: u64) {
        self.on = p > 0.0;
        if self.on {
            self.values.resize(len, 0.0);
            dropout::fill(&mut self.values, p, seed, step, site);
        }
    }
}

/// What one layer's backward pass reads.
#[derive(Debug, Default)]
pub struct LayerActs {
    /// `[tokens, 3·hidden]`.
    pub qkv: Vec<f32>,
    /// Attention probabilities before dropout.
    pub probs: Vec<f32>,
    /// Dropout on the probabilities.
    pub attention_mask: Mask,
    /// `[tokens, hidden]` attention context.
    pub ctx: Vec<f32>,
    /// Dropout on the attention output.
    pub attention_out_mask: Mask,
    /// `[tokens, hidden]` after the first LayerNorm.
    pub h: Vec<f32>,
    /// Its normalised input and inverse deviations.
    pub xhat1: Vec<f32>,
    /// Per row.
    pub rstd1: Vec<f32>,
    /// `[tokens, intermediate]` before GELU.
    pub u: Vec<f32>,
    /// After GELU.
    pub g: Vec<f32>,
    /// Dropout on the feed-forward output.
    pub ffn_mask: Mask,
    /// The second LayerNorm's normalised input.
    pub xhat2: Vec<f32>,
    /// Per row.
    pub rstd2: Vec<f32>,
}

/// Every activation of one batch.
#[derive(Debug, Default)]
pub struct Activations {
    /// `(first token, length)` of each sequence.
    pub sequences: Vec<(usize, usize)>,
    /// Token ids, end to end.
    pub ids: Vec<u32>,
    /// Token types (BERT).
    pub types: Vec<u32>,
    /// Position of each token in its sequence.
    pub positions: Vec<u32>,
    /// The embedding LayerNorm's normalised input.
    pub emb_xhat: Vec<f32>,
    /// Per row.
    pub emb_rstd: Vec<f32>,
    /// Dropout on the embeddings.
    pub emb_mask: Mask,
    /// `xs[0]` the embeddings, `xs[l + 1]` the output of layer `l`: `[tokens, hidden]`
    /// (the last layer's: `[batch, hidden]`, the `[CLS]` rows).
    pub xs: Vec<Vec<f32>>,
    /// Per layer (the last one's sublayers on the `[CLS]` rows only).
    pub layers: Vec<LayerActs>,
    /// `[batch, hidden]`: the last layer's `[CLS]` rows.
    pub cls: Vec<f32>,
    /// `[batch, hidden]`: tanh (BERT) or ReLU (DistilBERT) of the pooler.
    pub pooled: Vec<f32>,
    /// Dropout before the classifier.
    pub classifier_mask: Mask,
    /// The classifier's input (pooled after dropout).
    pub pooled_used: Vec<f32>,
    /// `[batch, labels]`.
    pub logits: Vec<f32>,
    /// Scratch of the sublayers.
    pub tmp: Vec<f32>,
    /// Scratch of attention.
    pub scratch: Vec<f32>,
}

impl Activations {
    /// Number of tokens in the batch.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }
}

/// `out[rows, outputs] = x · W + b` over the pool's threads.
pub(super) fn linear(x: &[f32], rows: usize, at: LinearAt, params: &[f32], out: &mut Vec<f32>) {
    let (k, n) = (at.inputs, at.outputs);
    out.resize(rows * n, 0.0);
    let bias = &params[at.b..at.b + n];
    for row in out.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    let w = View::rows(&params[at.w..at.w + k * n], k, n, n);
    product(out, n, View::rows(x, rows, k, k), w, 1.0, true, Threads::Pool);
}

/// `a ⊙= mask` when the mask is on.
pub(super) fn apply(a: &mut [f32], mask: &Mask) {
    if let Some(m) = mask.get() {
        for (a, &m) in a.iter_mut().zip(m) {
            *a *= m;
        }
    }
}

impl CpuNet {
    /// Lays `inputs` end to end and checks their ids against the tables.
    fn pack(&mut self, inputs: &[&Encoded]) -> Result<()> {
        let l = &self.layout;
        let a = &mut self.acts;
        a.sequences.clear();
        a.ids.clear();
        a.types.clear();
        a.positions.clear();
        for e in inputs {
            if e.ids.len() > l.positions {
                bail!("an input of {} tokens is longer than the model's {} positions", e.ids.len(), l.positions);
            }
            if let Some(&id) = e.ids.iter().find(|&&id| id as usize >= l.vocab) {
                bail!("token id {id} is outside the vocabulary of {} words", l.vocab);
            }
            if l.types > 0
                && let Some(&t) = e.type_ids.iter().find(|&&t| t as usize >= l.types)
            {
                bail!("token type {t} is outside the model's {} types", l.types);
            }
            a.sequences.push((a.ids.len(), e.ids.len()));
            a.ids.extend_from_slice(&e.ids);
            a.types.extend((0..e.ids.len()).map(|j| e.type_ids.get(j).copied().unwrap_or(0)));
            a.positions.extend(0..e.ids.len() as u32);
        }
        if a.sequences.iter().any(|s| s.1 == 0) {
            bail!("an input has no tokens");
        }
        Ok(())
    }

    /// Runs the forward pass of `inputs` for update `step` (which picks the dropout masks)
    /// and returns the logits, `[batch, labels]` row after row.
    pub fn forward(&mut self, inputs: &[&Encoded], step: u64) -> Result<&[f32]> {
        self.pack(inputs)?;
        let (l, p) = (&self.layout, &self.params);
        let a = &mut self.acts;
        let (h, t) = (l.hidden, a.tokens());
        let heads = Heads { count: l.heads, dim: h / l.heads };
        let drop = self.dropout;
        let (seed, hidden_p, attention_p, classifier_p) =
            drop.map_or((0, 0.0, 0.0, 0.0), |d| (d.seed, d.hidden, d.attention, d.classifier));
        a.xs.resize_with(l.layers.len() + 1, Vec::new);
        a.layers.resize_with(l.layers.len(), LayerActs::default);

        // Embeddings: word + token type + position (burn's order of additions).
        a.tmp.resize(t * h, 0.0);
        for (j, row) in a.tmp.chunks_exact_mut(h).enumerate() {
            let word = l.word + a.ids[j] as usize * h;
            row.copy_from_slice(&p[word..word + h]);
            if let Some(types) = l.token_type {
                let at = types + a.types[j] as usize * h;
                row.iter_mut().zip(&p[at..at + h]).for_each(|(r, v)| *r += v);
            }
            let at = l.position + a.positions[j] as usize * h;
            row.iter_mut().zip(&p[at..at + h]).for_each(|(r, v)| *r += v);
        }
        let norm = (&p[l.embedding_norm.gamma..][..h], &p[l.embedding_norm.beta..][..h]);
        a.emb_xhat.resize(t * h, 0.0);
        a.emb_rstd.resize(t, 0.0);
        let x0 = &mut a.xs[0];
        x0.resize(t * h, 0.0);
        layer_norm::forward(&a.tmp, h, norm, l.eps, x0, &mut a.emb_xhat, &mut a.emb_rstd);
        a.emb_mask.draw(t * h, hidden_p, seed, step, 0);
        apply(x0, &a.emb_mask);

        let n = a.sequences.len();
        for (i, at) in l.layers.iter().enumerate() {
            let (done, rest) = a.xs.split_at_mut(i + 1);
            let (x, y) = (&done[i], &mut rest[0]);
            let la = &mut a.layers[i];
            let site = 1 + 3 * i as u64;
            // The last layer: the [CLS] rows only after the key and value projections.
            let (queries, r) = if i + 1 == l.layers.len() { (Queries::First, n) } else { (Queries::All, t) };
            linear(x, t, at.qkv, p, &mut la.qkv);
            la.probs.resize(attention::probs_len(&a.sequences, heads, queries), 0.0);
            la.attention_mask.draw(la.probs.len(), attention_p, seed, step, site);
            la.ctx.resize(r * h, 0.0);
            let mask = la.attention_mask.get();
            attention::forward(&la.qkv, &a.sequences, heads, queries, mask, &mut la.probs, &mut la.ctx, &mut a.scratch);
            linear(&la.ctx, r, at.output, p, &mut a.tmp);
            la.attention_out_mask.draw(r * h, hidden_p, seed, step, site + 1);
            apply(&mut a.tmp, &la.attention_out_mask);
            match queries {
                Queries::All => a.tmp.iter_mut().zip(x).for_each(|(s, x)| *s += x),
                Queries::First => {
                    for (row, &(start, _)) in a.tmp.chunks_exact_mut(h).zip(&a.sequences) {
                        row.iter_mut().zip(&x[start * h..(start + 1) * h]).for_each(|(s, x)| *s += x);
                    }
                }
            }
            let norm = (&p[at.attention_norm.gamma..][..h], &p[at.attention_norm.beta..][..h]);
            la.h.resize(r * h, 0.0);
            la.xhat1.resize(r * h, 0.0);
            la.rstd1.resize(r, 0.0);
            layer_norm::forward(&a.tmp, h, norm, l.eps, &mut la.h, &mut la.xhat1, &mut la.rstd1);
            linear(&la.h, r, at.ffn_in, p, &mut la.u);
            la.g.resize(la.u.len(), 0.0);
            super::gelu::forward(&la.u, &mut la.g);
            linear(&la.g, r, at.ffn_out, p, &mut a.tmp);
            la.ffn_mask.draw(r * h, hidden_p, seed, step, site + 2);
            apply(&mut a.tmp, &la.ffn_mask);
            a.tmp.iter_mut().zip(&la.h).for_each(|(s, x)| *s += x);
            let norm = (&p[at.output_norm.gamma..][..h], &p[at.output_norm.beta..][..h]);
            y.resize(r * h, 0.0);
            la.xhat2.resize(r * h, 0.0);
            la.rstd2.resize(r, 0.0);
            layer_norm::forward(&a.tmp, h, norm, l.eps, y, &mut la.xhat2, &mut la.rstd2);
        }

        // The head on the [CLS] rows (the last layer's output, or the embeddings' first rows
        // of a model without layers).
        let last = &a.xs[l.layers.len()];
        a.cls.clear();
        if l.layers.is_empty() {
            for &(start, _) in &a.sequences {
                a.cls.extend_from_slice(&last[start * h..(start + 1) * h]);
            }
        } else {
            a.cls.extend_from_slice(last);
        }
        linear(&a.cls, n, l.head, p, &mut a.pooled);
        match l.model_type {
            ModelType::Bert => a.pooled.iter_mut().for_each(|v| *v = v.tanh()),
            ModelType::DistilBert => a.pooled.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
        a.classifier_mask.draw(n * h, classifier_p, seed, step, 1 + 3 * l.layers.len() as u64);
        a.pooled_used.clone_from(&a.pooled);
        apply(&mut a.pooled_used, &a.classifier_mask);
        linear(&a.pooled_used, n, l.classifier, p, &mut a.logits);
        Ok(&a.logits)
    }
}
