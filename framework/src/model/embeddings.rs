//! Input embeddings shared by BERT and DistilBERT: word + learned (or sinusoidal, for
//! DistilBERT) absolute position + token type (BERT only), then LayerNorm and dropout.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor};

use super::config::EncoderSpec;

/// The embedding block. Field names follow Hugging Face (`word_embeddings`,
/// `position_embeddings`, `token_type_embeddings`), the LayerNorm is `layer_norm`
/// (`LayerNorm` in checkpoints; see the loader's key remapping).
#[derive(Module, Debug)]
pub struct Embeddings {
    /// `[vocab_size, hidden]` word vectors.
    pub word_embeddings: Embedding,
    /// `[max_positions, hidden]` absolute position vectors.
    pub position_embeddings: Embedding,
    /// `[type_vocab_size, hidden]` segment vectors (BERT); `None` for DistilBERT.
    pub token_type_embeddings: Option<Embedding>,
    /// LayerNorm over the summed embeddings.
    pub layer_norm: LayerNorm,
    /// Dropout, active only while training on an autodiff device.
    pub dropout: Dropout,
}

impl Embeddings {
    /// Builds the block with lazily initialised (not yet materialised) weights.
    pub fn init(spec: &EncoderSpec, device: &Device) -> Self {
        Self {
            word_embeddings: EmbeddingConfig::new(spec.vocab_size, spec.hidden_size).init(device),
            position_embeddings: EmbeddingConfig::new(spec.max_positions, spec.hidden_size).init(device),
            token_type_embeddings: spec.type_vocab_size.map(|n| EmbeddingConfig::new(n, spec.hidden_size).init(device)),
            layer_norm: LayerNormConfig::new(spec.hidden_size).with_epsilon(spec.layer_norm_eps).init(device),
            dropout: DropoutConfig::new(spec.hidden_dropout).init(),
        }
    }

    /// Word vectors of `input_ids` (`[batch, seq]`) as `[batch, seq, hidden]`: the input
    /// that white-box explainers differentiate against.
    pub fn words(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        self.word_embeddings.forward(input_ids)
    }

    /// Full embedding of token ids.
    pub fn forward(&self, input_ids: Tensor<2, Int>, token_type_ids: Option<Tensor<2, Int>>) -> Tensor<3> {
        let words = self.words(input_ids);
        self.forward_from_words(words, token_type_ids)
    }

    /// Embedding from precomputed word vectors (`[batch, seq, hidden]`): adds positions and
    /// token types, normalises. Token types default to 0 when `None`.
    pub fn forward_from_words(&self, words: Tensor<3>, token_type_ids: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [batch, seq, _] = words.dims();
        let device = words.device();
        let mut x = words;
        if let Some(types) = &self.token_type_embeddings {
            let ids = token_type_ids.unwrap_or_else(|| Tensor::zeros([batch, seq], &device));
            x = x + types.forward(ids);
        }
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &device).reshape([1, seq]);
        x = x + self.position_embeddings.forward(positions);
        self.dropout.forward(self.layer_norm.forward(x))
    }
}

/// The fixed sinusoidal position table of DistilBERT (`create_sinusoidal_embeddings` in
/// `transformers`), row-major `[n_pos, dim]`: even columns sin, odd columns cos of
/// `pos / 10000^(2⌊j/2⌋/dim)`.
pub fn sinusoidal_table(n_pos: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; n_pos * dim];
    for pos in 0..n_pos {
        for j in 0..dim {
            let angle = pos as f64 / 10000f64.powf(2.0 * (j / 2) as f64 / dim as f64);
            out[pos * dim + j] = if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    out
}
