//! DistilBERT (`DistilBertModel`): embeddings without token types, post-LN transformer,
//! no pooler.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use super::attention::attention_bias;
use super::config::EncoderSpec;
use super::embeddings::Embeddings;
use super::encoder::Encoder;

/// `DistilBertModel`.
#[derive(Module, Debug)]
pub struct DistilBertModel {
    /// Word and position embeddings.
    pub embeddings: Embeddings,
    /// The transformer layers (`transformer.layer.N` in checkpoints).
    pub transformer: Encoder,
}

impl DistilBertModel {
    /// Builds the model with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        Self { embeddings: Embeddings::init(spec, device), transformer: Encoder::init(spec, device) }
    }

    /// `input_ids`: `[batch, seq]`; `attention_mask`: `[batch, seq]` of 1 / 0. Returns the
    /// last hidden state `[batch, seq, hidden]`.
    pub fn forward(&self, input_ids: Tensor<2, Int>, attention_mask: Tensor<2>) -> Tensor<3> {
        let words = self.embeddings.words(input_ids);
        self.forward_from_words(words, attention_mask)
    }

    /// Forward from precomputed word vectors `[batch, seq, hidden]`.
    pub fn forward_from_words(&self, words: Tensor<3>, attention_mask: Tensor<2>) -> Tensor<3> {
        let x = self.embeddings.forward_from_words(words, None);
        self.transformer.forward(x, attention_bias(attention_mask))
    }
}
