//! One post-LayerNorm transformer layer (shared by BERT and DistilBERT) and the stack of
//! them.
//!
//! `h = LN(x + Attn(x))`, `out = LN(h + W2·gelu(W1·h))` with exact (erf) GELU. Field names
//! are architecture-neutral; the loader maps BERT's `attention.output.LayerNorm`,
//! `intermediate.dense`, `output.dense`, `output.LayerNorm` and DistilBERT's
//! `sa_layer_norm`, `ffn.lin1`, `ffn.lin2`, `output_layer_norm` onto them.
//!
//! The feed-forward expansion's bias and GELU are fused ([`super::fused::bias_gelu`]).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::attention::SelfAttention;
use super::config::EncoderSpec;
use super::fused::bias_gelu;

/// One transformer layer.
#[derive(Module, Debug)]
pub struct TransformerLayer {
    /// Multi-head self-attention.
    pub attention: SelfAttention,
    /// LayerNorm after the attention residual.
    pub attention_norm: LayerNorm,
    /// Feed-forward expansion `hidden → intermediate`.
    pub ffn_in: Linear,
    /// Feed-forward projection `intermediate → hidden`.
    pub ffn_out: Linear,
    /// LayerNorm after the feed-forward residual.
    pub output_norm: LayerNorm,
    /// Dropout on sublayer outputs (training only).
    pub dropout: Dropout,
}

impl TransformerLayer {
    /// Builds a layer with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        let norm = || LayerNormConfig::new(spec.hidden_size).with_epsilon(spec.layer_norm_eps).init(device);
        Self {
            attention: SelfAttention::init(spec, device),
            attention_norm: norm(),
            ffn_in: LinearConfig::new(spec.hidden_size, spec.intermediate_size).init(device),
            ffn_out: LinearConfig::new(spec.intermediate_size, spec.hidden_size).init(device),
            output_norm: norm(),
            dropout: DropoutConfig::new(spec.hidden_dropout).init(),
        }
    }

    /// Width of the feed-forward expansion.
    fn ffn_in_width(&self) -> usize {
        self.ffn_in.weight.dims()[1]
    }

    /// `x`: `[batch, seq, hidden]`, `mask_bias`: `[batch, 1, 1, seq]`.
    pub fn forward(&self, x: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        let attended = self.dropout.forward(self.attention.forward(x.clone(), mask_bias));
        let h = self.attention_norm.forward(x + attended);
        let [batch, seq, _] = h.dims();
        let inner = h.clone().matmul(self.ffn_in.weight.val().unsqueeze()).reshape([batch * seq, self.ffn_in_width()]);
        let inner = bias_gelu(inner, self.ffn_in.bias.as_ref().map(|b| b.val()));
        let ff = self.ffn_out.forward(inner.reshape([batch, seq, self.ffn_in_width()]));
        self.output_norm.forward(h + self.dropout.forward(ff))
    }
}

/// The stack of layers (`encoder.layer.N` in BERT, `transformer.layer.N` in DistilBERT).
#[derive(Module, Debug)]
pub struct Encoder {
    /// The layers, applied in order.
    pub layers: Vec<TransformerLayer>,
}

impl Encoder {
    /// Builds `spec.num_layers` layers with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        Self { layers: (0..spec.num_layers).map(|_| TransformerLayer::init(spec, device)).collect() }
    }

    /// Runs every layer.
    pub fn forward(&self, mut x: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        for layer in &self.layers {
            x = layer.forward(x, mask_bias.clone());
        }
        x
    }
}
