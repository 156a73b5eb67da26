//! What a literal `[SEP]`, `[CLS]`, `[MASK]`, `[PAD]` or `[UNK]` typed inside a text becomes.
//!
//! transformers' tokenizers turn such a string into the special token itself: a review that
//! quotes "[SEP]" splits the input in two, and an explainer then ranks `[`, `SEP` and `]` as
//! words of a token the model never saw as text. trustx escapes them by default
//! ([`SpecialTokenText::Escape`]): the characters are tokenized as the ordinary text they are
//! (`[SEP]` → `[`, `sep`, `]` for BERT's WordPiece), through the `tokenizers` crate's
//! `encode_special_tokens`. The special tokens trustx adds itself (`[CLS] … [SEP]`) are added
//! by id, as before. [`SpecialTokenText::Keep`] reproduces transformers.
//!
//! An explainer that masks words writes a mask into the text (shap's Text masker does the
//! same with `tokenizer.mask_token`). So that an escaping tokenizer still reads those as the
//! mask token while a user's literal `[MASK]` stays text, the explainers write a placeholder
//! made of private-use characters ([`MASK_PLACEHOLDER`], registered as a non-special added
//! token) and the tokenizer gives it the mask token's id.

use anyhow::{Result, anyhow};
use serde::{Deserialize, Serialize};
use tokenizers::{AddedToken, Tokenizer};

/// What an escaping tokenizer's explainers write for a masked word: private-use code points
/// (U+E000, U+E001) that no text of a dataset is expected to hold, read as the mask token.
pub const MASK_PLACEHOLDER: &str = "\u{E000}mask\u{E001}";

/// What a special token's text inside an input becomes.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialTokenText {
    /// Ordinary text: `[SEP]` in a review is the characters `[`, `SEP`, `]` (the default).
    #[default]
    Escape,
    /// The special token, as transformers does.
    Keep,
}

impl SpecialTokenText {
    /// The manifest / command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialTokenText::Escape => "escape",
            SpecialTokenText::Keep => "keep",
        }
    }
}

/// The placeholder's id in an escaping tokenizer and the mask token's id it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    /// The id the tokenizer gives [`MASK_PLACEHOLDER`].
    pub id: u32,
    /// The mask token's id in the vocabulary.
    pub mask_id: u32,
}

/// Sets `inner` to treat special tokens' text as `mode` says; with [`SpecialTokenText::Escape`]
/// registers [`MASK_PLACEHOLDER`] and returns its id with the mask token's (`None` when the
/// vocabulary has no `mask_token`: then nothing is masked through text).
pub fn configure(inner: &mut Tokenizer, mode: SpecialTokenText, mask_token: &str) -> Result<Option<Placeholder>> {
    match mode {
        SpecialTokenText::Keep => {
            inner.set_encode_special_tokens(false);
            Ok(None)
        }
        SpecialTokenText::Escape => {
            inner.set_encode_special_tokens(true);
            let Some(mask_id) = inner.token_to_id(mask_token) else { return Ok(None) };
            let token = AddedToken::from(MASK_PLACEHOLDER, false).normalized(false);
            inner.add_tokens(&[token]);
            let id = inner
                .token_to_id(MASK_PLACEHOLDER)
                .ok_or_else(|| anyhow!("the tokenizer did not register the mask placeholder"))?;
            Ok(Some(Placeholder { id, mask_id }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HfTokenizer;

    fn tokenizer() -> HfTokenizer {
        let vocab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vocab/sst2-words.txt");
        HfTokenizer::from_vocab_file(&vocab, true, 64).unwrap()
    }

    #[test]
    fn escaped_by_default_and_the_placeholder_is_the_mask() {
        let mut t = tokenizer();
        let (sep, mask) = (t.token_to_id("[SEP]").unwrap(), t.token_to_id("[MASK]").unwrap());
        let count = |ids: &[u32], id: u32| ids.iter().filter(|&&x| x == id).count();
        let e = t.encode("good [SEP] film [MASK]", None).unwrap();
        assert_eq!((count(&e.ids, sep), count(&e.ids, mask)), (1, 0), "{:?}", e.tokens);
        // What an explainer writes for a masked word is read as the mask token.
        assert_eq!(t.mask_placeholder(), MASK_PLACEHOLDER);
        let e = t.encode(&format!("good {MASK_PLACEHOLDER} film"), None).unwrap();
        assert_eq!(count(&e.ids, mask), 1, "{:?}", e.tokens);
        assert!(e.tokens.contains(&"[MASK]".to_string()));
        assert!(t.kept_special_words().is_empty());
        // Kept: transformers' reading; the explainers write the mask token itself.
        t.set_special_text(SpecialTokenText::Keep).unwrap();
        let e = t.encode("good [SEP] film [MASK]", None).unwrap();
        assert_eq!((count(&e.ids, sep), count(&e.ids, mask)), (2, 1), "{:?}", e.tokens);
        assert_eq!(t.mask_placeholder(), "[MASK]");
        assert!(t.kept_special_words().contains(&"[SEP]".to_string()));
    }
}
