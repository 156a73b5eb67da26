//! Explaining predictions: features, masks, the shared prediction engine, attributions.
//!
//! How the pieces fit, for one (model, example):
//!
//! 1. [`features`]: the example's words from a regex, grouped into features (positional,
//!    or bag-of-words per segment).
//! 2. [`mask`]: a bit set over features; [`render`] turns it into the segments the model
//!    reads, removing absent words or replacing them by the mask token. Segments are
//!    rendered apart, so the pair separator is never a feature.
//! 3. [`engine`]: an [`ExampleEngine`](engine::ExampleEngine) wraps a
//!    [`Classifier`](engine::Classifier) for one example; explainers ask it for masks
//!    through a [`MaskedModel`](engine::MaskedModel), it deduplicates, caches per rendered
//!    text (shared by every explainer and seed using the engine), batches by length and
//!    counts evaluations. [`gradient`] is the white-box side for integrated gradients.
//! 4. Explainer plugins ([`crate::plugin::explainer`]) return an
//!    [`Attribution`](attribution::Attribution): a weight per feature, stored as
//!    [`AttributionRow`](attribution::AttributionRow)s; [`attribution`] also ranks top-K.
//! 5. Alignment plugins ([`crate::plugin::alignment`]) compare two attributions.
//!
//! [`hf`] adapts [`HfModel`](crate::model::HfModel) to both classifier traits and
//! [`command`] is `trustx explain`.

pub mod attribution;
pub mod budget;
pub mod command;
pub mod engine;
pub mod faithfulness;
pub mod features;
pub mod gradient;
pub mod hf;
pub mod imported;
pub mod linalg;
pub mod mask;
pub mod moments;
pub mod render;
pub mod text_masker;

pub use attribution::{Attribution, AttributionRow, FeatureKey, FeatureRef};
pub use engine::{Classifier, EvalCounts, ExampleEngine, MaskedModel, Output};
pub use features::{DEFAULT_WORD_PATTERN, Feature, Features, Word, WordSplitter};
pub use gradient::{Baseline, GradientClassifier, PathGradients, PathRequest};
pub use mask::Mask;
pub use render::{MaskMode, render, render_into};

/// The RNG every stochastic explainer draws from (ChaCha8, deterministic for a seed).
pub type ExplainRng = rand_chacha::ChaCha8Rng;

/// The RNG for one (seed, example): ChaCha8 seeded with the first 32 bytes of
/// blake3(seed ‖ example id), so draws depend on neither thread count nor order.
pub fn rng_for(seed: u64, example_id: &str) -> ExplainRng {
    use rand::SeedableRng;
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(example_id.as_bytes());
    ExplainRng::from_seed(*h.finalize().as_bytes())
}
