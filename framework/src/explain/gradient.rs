//! White-box access for gradient explainers: gradients of the explained output with
//! respect to the input word embeddings along a straight path from a baseline.

use super::engine::Output;
use super::features::Features;
use anyhow::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a word's embedding is replaced by at the start of the path. Special tokens
/// (`[CLS]`, `[SEP]`) keep their own embedding, so the input stays a well-formed pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The `[PAD]` token's embedding.
    #[default]
    Pad,
    /// The `[MASK]` token's embedding.
    Mask,
    /// The zero vector.
    Zero,
}

/// One request: the words of an example, the class, the output and the points α ∈ [0, 1]
/// on the path x' + α (x − x') where the gradient is wanted.
#[derive(Debug, Clone, Copy)]
pub struct PathRequest<'a> {
    /// The example's words ([`Features::words`]; features are not needed).
    pub features: &'a Features,
    /// Explained class.
    pub class: usize,
    /// Differentiated output.
    pub output: Output,
    /// Path start.
    pub baseline: Baseline,
    /// Points on the path.
    pub alphas: &'a [f64],
}

/// Gradients along the path, reduced to words.
#[derive(Debug, Clone, PartialEq)]
pub struct PathGradients {
    /// `[alpha][word]`: Σ over the word's tokens of (x − x')·∂F/∂e at x' + α (x − x').
    pub word_grads: Vec<Vec<f64>>,
    /// F at the input (α = 1).
    pub at_input: f64,
    /// F at the baseline (α = 0).
    pub at_baseline: f64,
}

/// A classifier that can differentiate its output with respect to word embeddings.
pub trait GradientClassifier: Send + Sync {
    /// Gradients along the path for every α of the request. Every word of the request must
    /// map to at least one token.
    fn path_gradients(&self, request: &PathRequest) -> Result<PathGradients>;
}
