//! The tokenization settings a neural model's nodes carry in their config beyond `max_len`:
//! `special_tokens = "keep"` changes what a model reads, so it is part of every key of that
//! model's train, compress, predict and explain nodes. The default (`escape`) adds nothing,
//! so the keys of manifests that leave it out are unchanged.

use crate::manifest::models::NeuralModel;
use crate::model::special_text::SpecialTokenText;
use serde_json::Value;

/// `config` with `"special_tokens"` added when the model keeps special tokens' text.
pub fn with_tokenization(mut config: Value, n: Option<&NeuralModel>) -> Value {
    if let (Some(n), Some(map)) = (n, config.as_object_mut())
        && n.special_text != SpecialTokenText::Escape
    {
        map.insert("special_tokens".into(), Value::from(n.special_text.as_str()));
    }
    config
}
