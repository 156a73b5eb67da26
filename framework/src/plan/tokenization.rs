//! The tokenization settings a neural model's nodes carry in their config beyond `max_len`:
//! `special_tokens = "keep"` changes what a model reads, so it is part of every key of that
//! model's train, compress, predict and explain nodes. The default (`escape`) adds nothing,
//! so the keys of manifests that leave it out are unchanged.

use super::node_config::NeuralRun;
use crate::manifest::models::NeuralModel;
use crate::manifest::schema::Backend;
use crate::model::special_text::SpecialTokenText;

/// `special_tokens` of a neural model's node configs: `keep`, or none for the default.
pub fn special_tokens(n: Option<&NeuralModel>) -> Option<SpecialTokenText> {
    n.map(|n| n.special_text).filter(|&s| s != SpecialTokenText::Escape)
}

impl NeuralRun {
    /// How model `n` runs on `backend`.
    pub fn of(n: &NeuralModel, backend: Backend) -> Self {
        NeuralRun { max_len: n.max_len, backend, special_tokens: special_tokens(Some(n)) }
    }
}
