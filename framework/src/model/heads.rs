//! Sequence-classification heads as Hugging Face builds them, and [`SequenceClassifier`],
//! the one type the rest of the crate runs.
//!
//! - `BertForSequenceClassification`: pooler output → dropout → `classifier`.
//! - `DistilBertForSequenceClassification`: `[CLS]` hidden → `pre_classifier` → ReLU →
//!   dropout → `classifier`.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::bert::{BertModel, Pooler, cls_token};
use super::config::{EncoderSpec, ModelType};
use super::distilbert::DistilBertModel;
use super::embeddings::Embeddings;

/// What a classifier's forward returns: what `inspect` and the parity tests need.
#[derive(Debug, Clone)]
pub struct ClassifierOutput {
    /// `[batch, seq, hidden]`.
    pub last_hidden_state: Tensor<3>,
    /// `[batch, hidden]` pooler output (BERT only).
    pub pooler_output: Option<Tensor<2>>,
    /// `[batch, num_labels]` unnormalised scores.
    pub logits: Tensor<2>,
}

/// `BertForSequenceClassification`.
#[derive(Module, Debug)]
pub struct BertForSequenceClassification {
    /// The encoder (`bert.*` in checkpoints).
    pub bert: BertModel,
    /// Dropout before the classifier (training only).
    pub dropout: Dropout,
    /// `hidden → num_labels`.
    pub classifier: Linear,
}

impl BertForSequenceClassification {
    /// Builds the model with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, num_labels: usize, device: &Device) -> Self {
        Self {
            bert: BertModel::init(spec, device),
            dropout: DropoutConfig::new(spec.classifier_dropout).init(),
            classifier: LinearConfig::new(spec.hidden_size, num_labels).init(device),
        }
    }

    /// Forward from precomputed word vectors `[batch, seq, hidden]`.
    pub fn forward_from_words(
        &self,
        words: Tensor<3>,
        token_type_ids: Option<Tensor<2, Int>>,
        attention_mask: Tensor<2>,
    ) -> ClassifierOutput {
        let out = self.bert.forward_from_words(words, token_type_ids, attention_mask);
        let logits = self.classifier.forward(self.dropout.forward(out.pooler_output.clone()));
        ClassifierOutput { last_hidden_state: out.last_hidden_state, pooler_output: Some(out.pooler_output), logits }
    }
}

/// `DistilBertForSequenceClassification`.
#[derive(Module, Debug)]
pub struct DistilBertForSequenceClassification {
    /// The encoder (`distilbert.*` in checkpoints).
    pub distilbert: DistilBertModel,
    /// `hidden → hidden`, followed by ReLU.
    pub pre_classifier: Linear,
    /// Dropout before the classifier (training only).
    pub dropout: Dropout,
    /// `hidden → num_labels`.
    pub classifier: Linear,
}

impl DistilBertForSequenceClassification {
    /// Builds the model with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, num_labels: usize, device: &Device) -> Self {
        Self {
            distilbert: DistilBertModel::init(spec, device),
            pre_classifier: LinearConfig::new(spec.hidden_size, spec.hidden_size).init(device),
            dropout: DropoutConfig::new(spec.classifier_dropout).init(),
            classifier: LinearConfig::new(spec.hidden_size, num_labels).init(device),
        }
    }

    /// Forward from precomputed word vectors `[batch, seq, hidden]`.
    pub fn forward_from_words(&self, words: Tensor<3>, attention_mask: Tensor<2>) -> ClassifierOutput {
        let last_hidden_state = self.distilbert.forward_from_words(words, attention_mask);
        let pooled = relu(self.pre_classifier.forward(cls_token(last_hidden_state.clone())));
        let logits = self.classifier.forward(self.dropout.forward(pooled));
        ClassifierOutput { last_hidden_state, pooler_output: None, logits }
    }
}

/// A BERT or DistilBERT sequence classifier.
#[derive(Module, Debug)]
pub enum SequenceClassifier {
    /// BERT with pooler and `classifier`.
    Bert(BertForSequenceClassification),
    /// DistilBERT with `pre_classifier` and `classifier`.
    DistilBert(DistilBertForSequenceClassification),
}

impl SequenceClassifier {
    /// Builds the architecture of `spec` with lazily initialised weights.
    pub fn init(spec: &EncoderSpec, num_labels: usize, device: &Device) -> Self {
        match spec.model_type {
            ModelType::Bert => Self::Bert(BertForSequenceClassification::init(spec, num_labels, device)),
            ModelType::DistilBert => {
                Self::DistilBert(DistilBertForSequenceClassification::init(spec, num_labels, device))
            }
        }
    }

    /// Word vectors of `input_ids` `[batch, seq]` → `[batch, seq, hidden]`.
    pub fn embed_words(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        self.embeddings().words(input_ids)
    }

    /// Forward from token ids. `token_type_ids` is ignored by DistilBERT.
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
        attention_mask: Tensor<2>,
    ) -> ClassifierOutput {
        let words = self.embed_words(input_ids);
        self.forward_from_words(words, token_type_ids, attention_mask)
    }

    /// Forward from precomputed word vectors `[batch, seq, hidden]` (for gradients with
    /// respect to the input embeddings). `token_type_ids` is ignored by DistilBERT.
    pub fn forward_from_words(
        &self,
        words: Tensor<3>,
        token_type_ids: Option<Tensor<2, Int>>,
        attention_mask: Tensor<2>,
    ) -> ClassifierOutput {
        match self {
            Self::Bert(m) => m.forward_from_words(words, token_type_ids, attention_mask),
            Self::DistilBert(m) => m.forward_from_words(words, attention_mask),
        }
    }

    /// The embedding block.
    pub fn embeddings(&self) -> &Embeddings {
        match self {
            Self::Bert(m) => &m.bert.embeddings,
            Self::DistilBert(m) => &m.distilbert.embeddings,
        }
    }

    /// The embedding block, mutably.
    pub fn embeddings_mut(&mut self) -> &mut Embeddings {
        match self {
            Self::Bert(m) => &mut m.bert.embeddings,
            Self::DistilBert(m) => &mut m.distilbert.embeddings,
        }
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        match self {
            Self::Bert(m) => m.num_params(),
            Self::DistilBert(m) => m.num_params(),
        }
    }

    /// Replaces the classification head (and, with `with_pooler`, BERT's pooler) by fresh
    /// weights drawn from `seed`: normal(0, `initializer_range`) weights and zero biases, as
    /// `transformers` initialises them. Deterministic for a given seed on every backend.
    pub fn reset_head(&mut self, spec: &EncoderSpec, seed: u64, with_pooler: bool, device: &Device) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let std = spec.initializer_range;
        let h = spec.hidden_size;
        match self {
            Self::Bert(m) => {
                if with_pooler {
                    m.bert.pooler = Pooler { dense: fresh_linear(h, h, std, &mut rng, device) };
                }
                let n = m.classifier.weight.lazy_shape().dims::<2>()[1];
                m.classifier = fresh_linear(h, n, std, &mut rng, device);
            }
            Self::DistilBert(m) => {
                m.pre_classifier = fresh_linear(h, h, std, &mut rng, device);
                let n = m.classifier.weight.lazy_shape().dims::<2>()[1];
                m.classifier = fresh_linear(h, n, std, &mut rng, device);
            }
        }
    }
}

/// A `Linear` (burn layout `[d_in, d_out]`) with normal(0, std) weights and zero bias.
fn fresh_linear(d_in: usize, d_out: usize, std: f64, rng: &mut ChaCha8Rng, device: &Device) -> Linear {
    let mut weights = Vec::with_capacity(d_in * d_out);
    while weights.len() < d_in * d_out {
        // Box–Muller: two independent standard normals from two uniforms in (0, 1].
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        weights.push((std * r * t.cos()) as f32);
        weights.push((std * r * t.sin()) as f32);
    }
    weights.truncate(d_in * d_out);
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [d_in, d_out]), device);
    let bias = Tensor::<1>::zeros([d_out], device);
    Linear { weight: Param::from_tensor(weight), bias: Some(Param::from_tensor(bias)) }
}
