//! Tokenization with the `tokenizers` crate, checked against the model it feeds.
//!
//! A folder's `tokenizer.json` is used when present, else a BERT WordPiece tokenizer is
//! built from `vocab.txt` and `tokenizer_config.json` (`do_lower_case`, default true). Pairs
//! become `[CLS] a [SEP] b [SEP]` with token types 0/1; inputs are truncated longest-first
//! to `max_len` tokens (special tokens included); padding and truncation baked into
//! `tokenizer.json` are replaced by ours.
//!
//! Before use, the vocabulary sizes the folder declares are compared: the WordPiece
//! vocabulary of `tokenizer.json`, the lines of `vocab.txt` and `vocab_size` in
//! `config.json`. A disagreement means the tokenizer does not belong to the model (ids the
//! model never saw, or every word mapped to `[UNK]`) and is an error naming the files and
//! the sizes, unless the caller opts in with [`TokenizerOptions::allow_vocab_mismatch`] or
//! picks the other source with [`TokenizerChoice`].
//!
//! A special token's text typed inside an input (`[SEP]` in a review) is ordinary text by
//! default, not the special token (see [`super::special_text`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::special_text::{self, Placeholder, SpecialTokenText};

/// Which file the tokenizer is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenizerChoice {
    /// `tokenizer.json` when present, else `vocab.txt`.
    #[default]
    Auto,
    /// `tokenizer.json` only (an error when absent).
    TokenizerJson,
    /// A BERT WordPiece tokenizer from `vocab.txt` + `tokenizer_config.json`, ignoring any
    /// `tokenizer.json`.
    VocabTxt,
}

/// How to build the tokenizer.
#[derive(Clone, Debug)]
pub struct TokenizerOptions {
    /// Which file to build it from.
    pub choice: TokenizerChoice,
    /// Longest encoding in tokens, special tokens included.
    pub max_len: usize,
    /// Use the tokenizer even when its vocabulary size disagrees with `vocab.txt` or
    /// `config.json` (logged as a warning instead of an error).
    pub allow_vocab_mismatch: bool,
    /// What a special token's text inside an input becomes (default: ordinary text).
    pub special_text: SpecialTokenText,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        Self {
            choice: TokenizerChoice::Auto,
            max_len: 128,
            allow_vocab_mismatch: false,
            special_text: SpecialTokenText::Escape,
        }
    }
}

/// One encoded input: what the model consumes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Encoded {
    /// Token ids, `[CLS]` first.
    pub ids: Vec<u32>,
    /// Segment ids: 0 for the first text and its special tokens, 1 for the pair.
    pub type_ids: Vec<u32>,
    /// Token strings, as the tokenizer produced them.
    pub tokens: Vec<String>,
}

impl Encoded {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there is no token (never the case for an encoding with special tokens).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Where the tokenizer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenizerSource {
    /// Loaded from this `tokenizer.json`.
    TokenizerJson(PathBuf),
    /// Built from this `vocab.txt`.
    VocabTxt(PathBuf),
}

/// A tokenizer bound to one model: it checks every id against the embedding table.
#[derive(Clone, Debug)]
pub struct HfTokenizer {
    inner: Tokenizer,
    source: TokenizerSource,
    max_len: usize,
    embedding_rows: usize,
    mask_token: String,
    special_text: SpecialTokenText,
    placeholder: Option<Placeholder>,
}

impl HfTokenizer {
    /// Builds the tokenizer of the checkpoint folder `dir` for a model with
    /// `embedding_rows` word vectors (`vocab_size` of `config.json`).
    pub fn load(dir: &Path, embedding_rows: usize, options: &TokenizerOptions) -> Result<Self> {
        let json_path = dir.join("tokenizer.json");
        let vocab_path = dir.join("vocab.txt");
        let special = SpecialTokens::read(dir)?;
        let vocab_lines = if vocab_path.is_file() {
            let text = std::fs::read_to_string(&vocab_path)
                .with_context(|| format!("cannot read {}", vocab_path.display()))?;
            Some(text.lines().count())
        } else {
            None
        };
        let use_json = match options.choice {
            TokenizerChoice::Auto => json_path.is_file(),
            TokenizerChoice::TokenizerJson => {
                if !json_path.is_file() {
                    bail!("{} not found", json_path.display());
                }
                true
            }
            TokenizerChoice::VocabTxt => false,
        };

        let (mut inner, source, mismatch) = if use_json {
            let tok = read_tokenizer_json(&json_path)?;
            let model_vocab = tok.get_vocab_size(false);
            let full_vocab = tok.get_vocab_size(true);
            let mut problems = Vec::new();
            if let Some(lines) = vocab_lines
                && lines != model_vocab
            {
                problems.push(format!(
                    "tokenizer.json has a vocabulary of {model_vocab} entries but vocab.txt has {lines} lines"
                ));
            }
            if full_vocab != embedding_rows {
                problems.push(format!(
                    "tokenizer.json has {full_vocab} tokens (added tokens included) but config.json has vocab_size {embedding_rows}"
                ));
            }
            (tok, TokenizerSource::TokenizerJson(json_path.clone()), problems)
        } else {
            let Some(lines) = vocab_lines else {
                bail!("no tokenizer in {}: neither tokenizer.json nor vocab.txt is there", dir.display());
            };
            let tok = bert_wordpiece(&vocab_path, &special)?;
            let mut problems = Vec::new();
            if lines != embedding_rows {
                problems.push(format!("vocab.txt has {lines} lines but config.json has vocab_size {embedding_rows}"));
            }
            (tok, TokenizerSource::VocabTxt(vocab_path.clone()), problems)
        };

        if !mismatch.is_empty() {
            let what = mismatch.join("; ");
            if options.allow_vocab_mismatch {
                tracing::warn!(
                    folder = %dir.display(),
                    "tokenizer/vocab mismatch, used anyway as asked: {what}"
                );
            } else {
                let hint = match source {
                    TokenizerSource::TokenizerJson(_) if vocab_lines.is_some() => {
                        "build the tokenizer from vocab.txt instead (`--vocab-txt` on the command line, or remove tokenizer.json from the folder), or use tokenizer.json anyway (`--allow-vocab-mismatch`)"
                    }
                    _ => {
                        "fix the folder's tokenizer files, or use them anyway (`--allow-vocab-mismatch` on the command line)"
                    }
                };
                bail!(
                    "tokenizer/vocab mismatch in {}: {what}. The tokenizer does not match the model's \
                     embedding table: words would get ids the model was not trained with (or all \
                     become [UNK]). Fix the folder, or {hint}",
                    dir.display()
                );
            }
        }

        let max_len = options.max_len;
        if max_len < 3 {
            bail!("max_len {max_len} is too short: a pair needs 3 special tokens");
        }
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| anyhow!("cannot set truncation to {max_len}: {e}"))?;
        inner.with_padding(None);
        if let TokenizerSource::TokenizerJson(path) = &source {
            probe(&inner, path)?;
        }

        let mut tokenizer = Self {
            inner,
            source,
            max_len,
            embedding_rows,
            mask_token: special.mask,
            special_text: SpecialTokenText::Keep,
            placeholder: None,
        };
        tokenizer.set_special_text(options.special_text)?;
        Ok(tokenizer)
    }

    /// Sets what a special token's text inside an input becomes (see
    /// [`super::special_text`]).
    pub fn set_special_text(&mut self, mode: SpecialTokenText) -> Result<()> {
        self.placeholder = special_text::configure(&mut self.inner, mode, &self.mask_token)?;
        self.special_text = mode;
        Ok(())
    }

    /// The special tokens whose text inside an input this tokenizer reads as the token
    /// (none when it escapes them).
    pub fn kept_special_words(&self) -> Vec<String> {
        match self.special_text {
            SpecialTokenText::Escape => Vec::new(),
            SpecialTokenText::Keep => {
                let mut words: Vec<String> = self
                    .inner
                    .get_added_tokens_decoder()
                    .into_values()
                    .filter(|t| t.special && t.content != special_text::MASK_PLACEHOLDER)
                    .map(|t| t.content)
                    .collect();
                words.sort();
                words
            }
        }
    }

    /// What a special token's text inside an input becomes.
    pub fn special_text(&self) -> SpecialTokenText {
        self.special_text
    }

    /// What an explainer writes into a text for a masked word: the mask token itself when
    /// special tokens' text is kept, else [`special_text::MASK_PLACEHOLDER`], which this
    /// tokenizer reads as the mask token (a literal `[MASK]` in the text stays text).
    pub fn mask_placeholder(&self) -> &str {
        if self.placeholder.is_some() { special_text::MASK_PLACEHOLDER } else { &self.mask_token }
    }

    /// Builds a BERT word-piece tokenizer from a `vocab.txt`-format file (one token per
    /// line, with `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]`), for a model built from
    /// scratch whose embedding table has one row per line.
    pub fn from_vocab_file(vocab: &Path, lower_case: bool, max_len: usize) -> Result<Self> {
        let text = std::fs::read_to_string(vocab).with_context(|| format!("cannot read {}", vocab.display()))?;
        let rows = text.lines().count();
        for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if !text.lines().any(|l| l == token) {
                bail!(
                    "{} has no line `{token}`; a BERT vocabulary needs [PAD], [UNK], [CLS], [SEP] and [MASK]",
                    vocab.display()
                );
            }
        }
        let special = SpecialTokens {
            unk: "[UNK]".into(),
            cls: "[CLS]".into(),
            sep: "[SEP]".into(),
            pad: "[PAD]".into(),
            mask: "[MASK]".into(),
            lowercase: lower_case,
            strip_accents: None,
            chinese_chars: true,
        };
        if max_len < 3 {
            bail!("max_len {max_len} is too short: a pair needs 3 special tokens");
        }
        let mut inner = bert_wordpiece(vocab, &special)?;
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| anyhow!("cannot set truncation to {max_len}: {e}"))?;
        inner.with_padding(None);
        let mut tokenizer = Self {
            inner,
            source: TokenizerSource::VocabTxt(vocab.to_path_buf()),
            max_len,
            embedding_rows: rows,
            mask_token: special.mask,
            special_text: SpecialTokenText::Keep,
            placeholder: None,
        };
        tokenizer.set_special_text(SpecialTokenText::Escape)?;
        Ok(tokenizer)
    }

    /// For each segment (the text, and the pair if any), the byte offset up to which the
    /// model reads it: the end of its last token that survives truncation to `max_len`, or
    /// the segment's length when nothing of it is cut. Text past that offset never reaches
    /// the model.
    pub fn visible_bytes(&self, text: &str, pair: Option<&str>) -> Result<Vec<usize>> {
        let enc = match pair {
            Some(b) => self.inner.encode((text, b), true),
            None => self.inner.encode(text, true),
        }
        .map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?;
        let segments: Vec<&str> = std::iter::once(text).chain(pair).collect();
        if enc.get_overflowing().is_empty() {
            return Ok(segments.iter().map(|s| s.len()).collect());
        }
        let mut visible = vec![0usize; segments.len()];
        for (i, &(_, end)) in enc.get_offsets().iter().enumerate() {
            if let Some(s) = enc.token_to_sequence(i)
                && s < visible.len()
                && enc.get_special_tokens_mask().get(i) == Some(&0)
            {
                visible[s] = visible[s].max(end.min(segments[s].len()));
            }
        }
        Ok(visible)
    }

    /// Encodes one text, or a pair (`[CLS] a [SEP] b [SEP]`), truncated to `max_len`.
    /// Errors when a token id is not below the number of rows of the embedding table.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        let enc = match pair {
            Some(b) => self.inner.encode((text, b), true),
            None => self.inner.encode(text, true),
        }
        .map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?;
        let mut ids = enc.get_ids().to_vec();
        let mut tokens = enc.get_tokens().to_vec();
        if let Some(p) = self.placeholder {
            for (id, token) in ids.iter_mut().zip(tokens.iter_mut()) {
                if *id == p.id {
                    *id = p.mask_id;
                    token.clone_from(&self.mask_token);
                }
            }
        }
        if let Some(pos) = ids.iter().position(|&id| id as usize >= self.embedding_rows) {
            bail!(
                "token {:?} has id {} but the embedding table has only {} rows (config.json vocab_size): \
                 the tokenizer does not belong to this model",
                tokens[pos],
                ids[pos],
                self.embedding_rows
            );
        }
        Ok(Encoded { ids, type_ids: enc.get_type_ids().to_vec(), tokens })
    }

    /// The file the tokenizer was built from.
    pub fn source(&self) -> &TokenizerSource {
        &self.source
    }

    /// Longest encoding in tokens.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The mask token (`[MASK]` unless `tokenizer_config.json` says otherwise), for
    /// explainers that replace words instead of removing them.
    pub fn mask_token(&self) -> &str {
        &self.mask_token
    }

    /// Id of a token, if the vocabulary has it.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// Reads a `tokenizer.json`. The file's JSON syntax is checked first: the `tokenizers`
/// library panics on some malformed files (a truncated `decoder`) instead of returning an
/// error; a panic that still escapes it becomes an error naming the file.
fn read_tokenizer_json(path: &Path) -> Result<Tokenizer> {
    use std::str::FromStr;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text)
        .map_err(|e| anyhow!("{} is not valid JSON: {e}; restore the file from the model's source", path.display()))?;
    match std::panic::catch_unwind(|| Tokenizer::from_str(&text)) {
        Ok(Ok(tok)) => Ok(tok),
        Ok(Err(e)) => bail!("cannot load {}: {e}", path.display()),
        Err(_) => bail!(
            "cannot load {}: the tokenizers library stopped on its contents; restore the file from the model's source",
            path.display()
        ),
    }
}

/// Encodes a text and a pair once: a `tokenizer.json` whose post-processor names a special
/// token it does not define makes the `tokenizers` library panic on every encoding, so such a
/// file is refused here, naming it, instead of failing a run later.
fn probe(inner: &Tokenizer, path: &Path) -> Result<()> {
    let ok = std::panic::catch_unwind(|| inner.encode("a", true).is_ok() && inner.encode(("a", "b"), true).is_ok());
    match ok {
        Ok(true) => Ok(()),
        _ => bail!(
            "{} cannot encode a text and a pair (its post-processor or vocabulary is inconsistent); restore the file from the model's source",
            path.display()
        ),
    }
}

/// Settings of `tokenizer_config.json` that a WordPiece tokenizer needs.
struct SpecialTokens {
    unk: String,
    cls: String,
    sep: String,
    pad: String,
    mask: String,
    lowercase: bool,
    strip_accents: Option<bool>,
    chinese_chars: bool,
}

impl SpecialTokens {
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer_config.json");
        let value: serde_json::Value = if path.is_file() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?
        } else {
            serde_json::Value::Null
        };
        // A token is a string or an AddedToken object {"content": ...}.
        let token = |key: &str, default: &str| -> String {
            match value.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(obj) => obj.get("content").and_then(|c| c.as_str()).unwrap_or(default).to_string(),
                None => default.to_string(),
            }
        };
        Ok(Self {
            unk: token("unk_token", "[UNK]"),
            cls: token("cls_token", "[CLS]"),
            sep: token("sep_token", "[SEP]"),
            pad: token("pad_token", "[PAD]"),
            mask: token("mask_token", "[MASK]"),
            lowercase: value.get("do_lower_case").and_then(|v| v.as_bool()).unwrap_or(true),
            strip_accents: value.get("strip_accents").and_then(|v| v.as_bool()),
            chinese_chars: value.get("tokenize_chinese_chars").and_then(|v| v.as_bool()).unwrap_or(true),
        })
    }
}

/// `BertTokenizerFast` from a `vocab.txt`, as `transformers` converts it.
fn bert_wordpiece(vocab_path: &Path, special: &SpecialTokens) -> Result<Tokenizer> {
    let path_str = vocab_path.to_str().with_context(|| format!("path {} is not UTF-8", vocab_path.display()))?;
    let model = WordPiece::from_file(path_str)
        .unk_token(special.unk.clone())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| anyhow!("cannot read {}: {e}", vocab_path.display()))?;
    let id = |tok: &str| -> Result<u32> {
        model_token_id(&model, tok).with_context(|| format!("special token {tok:?} is not in {}", vocab_path.display()))
    };
    let cls = (special.cls.clone(), id(&special.cls)?);
    let sep = (special.sep.clone(), id(&special.sep)?);
    id(&special.unk)?;
    let mut tok = Tokenizer::new(model);
    tok.with_normalizer(Some(BertNormalizer::new(
        true,
        special.chinese_chars,
        special.strip_accents,
        special.lowercase,
    )));
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(BertProcessing::new(sep, cls)));
    let specials: Vec<AddedToken> = [&special.pad, &special.unk, &special.cls, &special.sep, &special.mask]
        .into_iter()
        .filter(|t| model_token_id_in(&tok, t).is_some())
        .map(|t| AddedToken::from(t.clone(), true))
        .collect();
    tok.add_special_tokens(&specials);
    Ok(tok)
}

fn model_token_id(model: &WordPiece, token: &str) -> Option<u32> {
    use tokenizers::Model;
    model.token_to_id(token)
}

fn model_token_id_in(tok: &Tokenizer, token: &str) -> Option<u32> {
    tok.token_to_id(token)
}
