//! Multi-head self-attention with Hugging Face's padding semantics.
//!
//! Padding positions get an additive bias of `f32::MIN` (the dtype minimum, as
//! `transformers` builds its extended attention mask), so after the softmax they weigh
//! exactly 0 and a padded batch gives the same result as unpadded single inputs.
//!
//! The projections keep burn's batched products (per-sequence products in parallel measured
//! faster on 2 cores than one `[batch·seq, hidden]` product split by gemm). Without autodiff (inference, where dropout is off) the
//! scores, mask, softmax and context run in burn's fused attention kernel, parallel over
//! (sequence, head); with autodiff they are separate ops so gradients and dropout work.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Tensor};

use super::config::EncoderSpec;

/// Query, key, value and output projections of one layer (one matmul each).
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// Query projection (`attention.self.query` in BERT, `attention.q_lin` in DistilBERT).
    pub query: Linear,
    /// Key projection (`key` / `k_lin`).
    pub key: Linear,
    /// Value projection (`value` / `v_lin`).
    pub value: Linear,
    /// Output projection (`attention.output.dense` / `attention.out_lin`).
    pub output: Linear,
    /// Dropout on attention probabilities (training only).
    pub dropout: Dropout,
    /// Number of heads.
    pub num_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl SelfAttention {
    /// Builds the projections with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        let d = spec.hidden_size;
        let linear = || LinearConfig::new(d, d).init(device);
        Self {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
            dropout: DropoutConfig::new(spec.attention_dropout).init(),
            num_heads: spec.num_heads,
            head_dim: d / spec.num_heads,
        }
    }

    /// `x`: `[batch, seq, hidden]`; `mask_bias`: `[batch, 1, 1, seq]` from
    /// [`attention_bias`]. Returns `[batch, seq, hidden]` (before the residual).
    pub fn forward(&self, x: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        let [batch, seq, hidden] = x.dims();
        let heads = |t: Tensor<3>| t.reshape([batch, seq, self.num_heads, self.head_dim]).swap_dims(1, 2);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let q = heads(self.query.forward(x.clone()));
        let k = heads(self.key.forward(x.clone()));
        let v = heads(self.value.forward(x));
        let context = if q.is_autodiff() {
            // Scaling the queries (as DistilBERT does) touches seq·head_dim values instead
            // of seq² scores; the result equals BERT's scaled scores up to rounding.
            let scores = q.mul_scalar(scale).matmul(k.swap_dims(2, 3)) + mask_bias;
            let probs = self.dropout.forward(softmax(scores, 3));
            probs.matmul(v)
        } else {
            let options = AttentionModuleOptions { scale: Some(scale), ..AttentionModuleOptions::default() };
            attention(q, k, v, None, Some(mask_bias), options)
        };
        self.output.forward(context.swap_dims(1, 2).reshape([batch, seq, hidden]))
    }
}

/// Additive attention bias `[batch, 1, 1, seq]` from a `[batch, seq]` mask of 1 (real
/// token) and 0 (padding): `(1 - mask) · f32::MIN`.
pub fn attention_bias(mask: Tensor<2>) -> Tensor<4> {
    let [batch, seq] = mask.dims();
    mask.neg().add_scalar(1.0).mul_scalar(f32::MIN).reshape([batch, 1, 1, seq])
}
