//! BERT (`BertModel`): embeddings with token types, post-LN encoder, pooler
//! (dense + tanh on `[CLS]`).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use super::attention::attention_bias;
use super::config::EncoderSpec;
use super::embeddings::Embeddings;
use super::encoder::Encoder;

/// The pooler: `tanh(dense(h[CLS]))`.
#[derive(Module, Debug)]
pub struct Pooler {
    /// `hidden → hidden` projection.
    pub dense: Linear,
}

impl Pooler {
    /// Builds the pooler with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        Self { dense: LinearConfig::new(spec.hidden_size, spec.hidden_size).init(device) }
    }

    /// `[batch, seq, hidden]` → `[batch, hidden]`.
    pub fn forward(&self, last_hidden: Tensor<3>) -> Tensor<2> {
        self.dense.forward(cls_token(last_hidden)).tanh()
    }
}

/// The hidden state of the first (`[CLS]`) token: `[batch, seq, hidden]` → `[batch, hidden]`.
pub fn cls_token(hidden: Tensor<3>) -> Tensor<2> {
    let [batch, _, width] = hidden.dims();
    hidden.narrow(1, 0, 1).reshape([batch, width])
}

/// What BERT's forward returns.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[batch, seq, hidden]`.
    pub last_hidden_state: Tensor<3>,
    /// `[batch, hidden]`.
    pub pooler_output: Tensor<2>,
}

/// `BertModel` with its pooler.
#[derive(Module, Debug)]
pub struct BertModel {
    /// Word, position and token type embeddings.
    pub embeddings: Embeddings,
    /// The transformer layers.
    pub encoder: Encoder,
    /// Dense + tanh on `[CLS]`.
    pub pooler: Pooler,
}

impl BertModel {
    /// Builds the model with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        Self {
            embeddings: Embeddings::init(spec, device),
            encoder: Encoder::init(spec, device),
            pooler: Pooler::init(spec, device),
        }
    }

    /// `input_ids`, `token_type_ids`: `[batch, seq]`; `attention_mask`: `[batch, seq]` of
    /// 1 (token) / 0 (padding).
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
        attention_mask: Tensor<2>,
    ) -> BertOutput {
        let words = self.embeddings.words(input_ids);
        self.forward_from_words(words, token_type_ids, attention_mask)
    }

    /// Forward from precomputed word vectors `[batch, seq, hidden]`.
    pub fn forward_from_words(
        &self,
        words: Tensor<3>,
        token_type_ids: Option<Tensor<2, Int>>,
        attention_mask: Tensor<2>,
    ) -> BertOutput {
        let x = self.embeddings.forward_from_words(words, token_type_ids);
        let last_hidden_state = self.encoder.forward(x, attention_bias(attention_mask));
        let pooler_output = self.pooler.forward(last_hidden_state.clone());
        BertOutput { last_hidden_state, pooler_output }
    }
}
