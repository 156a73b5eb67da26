//! The CPU training path: BERT and DistilBERT forward and backward written by hand over flat
//! f32 buffers, for fine-tuning and distillation on the CPU at PyTorch's speed.
//!
//! - [`buffers`]: every parameter in one flat buffer (fused query/key/value), mapped to and
//!   from burn's modules; gradients and AdamW's moments share the layout.
//! - [`forward`]: the inputs of a batch end to end (no padding), one gemm per projection
//!   with the bias folded in, every activation the backward pass needs kept in buffers that
//!   are reused from step to step.
//! - [`backward`], with [`layer_norm`], [`gelu`], [`attention`] and [`loss`] (cross-entropy
//!   and the distillation loss): hand-written gradients.
//! - [`dropout`]: masks from a seeded ChaCha generator (same seed, same weights).
//! - [`adamw`]: AdamW and global-norm clipping over the flat buffers.
//!
//! The products run on gemm's kernels ([`crate::model::packed::kernels::product`], chosen
//! at run time for AVX-512 or AVX2) split over output blocks between the pool's threads,
//! never over the summed dimension, and every sum over rows runs in a fixed order: a step
//! gives bitwise the same result with one thread or many.
//!
//! burn's autodiff stays the reference (and the CUDA path): the tests below hold the
//! gradients of this path to burn's on BERT and DistilBERT models drawn from scratch and
//! on the real all-MiniLM-L6-v2.

pub mod adamw;
pub mod attention;
pub mod backward;
pub mod buffers;
pub mod dropout;
pub mod forward;
pub mod gelu;
pub mod layer_norm;
pub mod loss;

use anyhow::{Result, bail};

use crate::model::tokenizer::Encoded;
use crate::model::{EncoderSpec, SequenceClassifier};
use adamw::{AdamW, clip_global_norm};
use backward::Workspace;
use buffers::{Layout, Source};
use dropout::Dropout;
use forward::Activations;
use loss::CpuBatchLoss;

/// A classifier being trained on the CPU: its parameters and gradients as flat buffers and
/// the activations of the last forward pass.
#[derive(Debug)]
pub struct CpuNet {
    layout: Layout,
    params: Vec<f32>,
    grads: Vec<f32>,
    dropout: Option<Dropout>,
    acts: Activations,
    work: Workspace,
}

impl CpuNet {
    /// Copies the parameters of `network` (built from `spec`); `dropout` `None` trains
    /// without dropout.
    pub fn new(network: &SequenceClassifier, spec: &EncoderSpec, dropout: Option<Dropout>) -> Result<Self> {
        let layout = Layout::of(network, spec)?;
        let params = layout.gather(network, &Source::Values)?;
        let grads = vec![0.0; layout.len];
        Ok(Self { layout, params, grads, dropout, acts: Activations::default(), work: Workspace::default() })
    }

    /// Where each tensor lives in the flat buffers.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The parameters.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The gradients of the last [`CpuNet::gradients`] (after clipping, when [`CpuNet::update`] ran).
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// `template` (the network this one was built from) with the current parameters.
    pub fn to_network(&self, template: &SequenceClassifier) -> Result<SequenceClassifier> {
        self.layout.scatter(template, &self.params)
    }

    /// Forward pass of `inputs` (the training examples `rows`) at update `step`, the loss and
    /// the backward pass; returns the loss. The gradients are in [`CpuNet::grads`].
    pub fn gradients(&mut self, inputs: &[&Encoded], rows: &[usize], step: u64, loss: &CpuBatchLoss) -> Result<f64> {
        if inputs.len() != rows.len() || inputs.is_empty() {
            bail!("{} inputs for {} training rows", inputs.len(), rows.len());
        }
        self.forward(inputs, step)?;
        let mut dlogits = std::mem::take(self.work.dlogits());
        dlogits.resize(self.acts.logits.len(), 0.0);
        let value = loss(&self.acts.logits, rows, &mut dlogits);
        if value.is_finite() {
            self.backward(&dlogits);
        }
        *self.work.dlogits() = dlogits;
        Ok(value)
    }

    /// Clips the gradients to `max_grad_norm` (0: no clipping) and applies one AdamW update
    /// at learning rate `lr`; returns the gradient norm before clipping.
    pub fn update(&mut self, optim: &mut AdamW, lr: f64, max_grad_norm: f64) -> f64 {
        let norm = if max_grad_norm > 0.0 {
            clip_global_norm(&mut self.grads, max_grad_norm)
        } else {
            self.grads.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>().sqrt()
        };
        optim.step(lr, &mut self.params, &self.grads);
        norm
    }
}

/// The dropout probabilities of `network`'s modules: (hidden, attention, classifier), as
/// burn applies them when training (the first layer's stand for every layer's).
pub fn dropout_of(network: &SequenceClassifier) -> (f64, f64, f64) {
    let (emb, encoder, classifier) = match network {
        SequenceClassifier::Bert(m) => (&m.bert.embeddings, &m.bert.encoder, &m.dropout),
        SequenceClassifier::DistilBert(m) => (&m.distilbert.embeddings, &m.distilbert.transformer, &m.dropout),
    };
    let attention = encoder.layers.first().map_or(0.0, |l| l.attention.dropout.prob);
    (emb.dropout.prob, attention, classifier.prob)
}

#[cfg(test)]
mod parity;
