//! `config.json` of a Hugging Face checkpoint folder, read with serde.
//!
//! Field names are those of `transformers` (`BertConfig`, `DistilBertConfig`) and so are the
//! defaults, so a `config.json` that omits a field means what it means to `transformers`.
//! [`HfConfig::from_file`] reads the file, dispatches on `model_type` and validates what this
//! crate supports (exact-erf GELU, absolute positions, sizes that fit together); the result
//! is turned into the architecture-neutral [`EncoderSpec`] that the modules are built from.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Which architecture a checkpoint is, from `model_type` in `config.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelType {
    /// `model_type: "bert"` (also MiniLM, BERT-Mini/Small/Medium/Tiny, which are BERT).
    Bert,
    /// `model_type: "distilbert"`.
    DistilBert,
}

impl ModelType {
    /// The `model_type` string as Hugging Face writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Bert => "bert",
            ModelType::DistilBert => "distilbert",
        }
    }
}

/// The fields of a Hugging Face `BertConfig` that the model uses, with the defaults of
/// `transformers`.
#[derive(Clone, Debug, Deserialize)]
pub struct BertConfig {
    /// Rows of the word embedding table (default 30522).
    #[serde(default = "d_vocab_size")]
    pub vocab_size: usize,
    /// Width of the hidden states (default 768).
    #[serde(default = "d_768")]
    pub hidden_size: usize,
    /// Number of transformer layers (default 12).
    #[serde(default = "d_12")]
    pub num_hidden_layers: usize,
    /// Attention heads per layer (default 12).
    #[serde(default = "d_12")]
    pub num_attention_heads: usize,
    /// Width of the feed-forward block (default 3072).
    #[serde(default = "d_3072")]
    pub intermediate_size: usize,
    /// Activation of the feed-forward block (default `"gelu"`, the only one supported).
    #[serde(default = "d_gelu")]
    pub hidden_act: String,
    /// Dropout on hidden states during training (default 0.1).
    #[serde(default = "d_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities during training (default 0.1).
    #[serde(default = "d_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Rows of the learned position table (default 512).
    #[serde(default = "d_512")]
    pub max_position_embeddings: usize,
    /// Rows of the token type table (default 2).
    #[serde(default = "d_type_vocab")]
    pub type_vocab_size: usize,
    /// Standard deviation of the normal initialiser (default 0.02).
    #[serde(default = "d_init_range")]
    pub initializer_range: f64,
    /// Epsilon of every LayerNorm (default 1e-12).
    #[serde(default = "d_eps")]
    pub layer_norm_eps: f64,
    /// Id of the padding token (default 0).
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// Only `"absolute"` (the default) is supported.
    #[serde(default = "d_absolute")]
    pub position_embedding_type: String,
    /// Dropout before the classifier; `null` means `hidden_dropout_prob`.
    #[serde(default)]
    pub classifier_dropout: Option<f64>,
}

/// The fields of a Hugging Face `DistilBertConfig` that the model uses, with the defaults of
/// `transformers`.
#[derive(Clone, Debug, Deserialize)]
pub struct DistilBertConfig {
    /// Rows of the word embedding table (default 30522).
    #[serde(default = "d_vocab_size")]
    pub vocab_size: usize,
    /// Rows of the position table (default 512).
    #[serde(default = "d_512")]
    pub max_position_embeddings: usize,
    /// Whether the position table holds fixed sinusoids (default false). Either way the
    /// table is loaded from the checkpoint when it is there.
    #[serde(default)]
    pub sinusoidal_pos_embds: bool,
    /// Number of transformer layers (default 6).
    #[serde(default = "d_6")]
    pub n_layers: usize,
    /// Attention heads per layer (default 12).
    #[serde(default = "d_12")]
    pub n_heads: usize,
    /// Width of the hidden states (default 768).
    #[serde(default = "d_768")]
    pub dim: usize,
    /// Width of the feed-forward block (default 3072).
    #[serde(default = "d_3072")]
    pub hidden_dim: usize,
    /// Dropout on hidden states during training (default 0.1).
    #[serde(default = "d_dropout")]
    pub dropout: f64,
    /// Dropout on attention probabilities during training (default 0.1).
    #[serde(default = "d_dropout")]
    pub attention_dropout: f64,
    /// Activation of the feed-forward block (default `"gelu"`, the only one supported).
    #[serde(default = "d_gelu")]
    pub activation: String,
    /// Standard deviation of the normal initialiser (default 0.02).
    #[serde(default = "d_init_range")]
    pub initializer_range: f64,
    /// Dropout before the classifier (default 0.2).
    #[serde(default = "d_seq_classif_dropout")]
    pub seq_classif_dropout: f64,
    /// Id of the padding token (default 0).
    #[serde(default)]
    pub pad_token_id: Option<u32>,
}

/// The label fields every Hugging Face config shares (`PretrainedConfig`).
#[derive(Clone, Debug, Default, Deserialize)]
struct LabelFields {
    #[serde(default)]
    id2label: Option<BTreeMap<String, String>>,
    #[serde(default)]
    num_labels: Option<usize>,
}

/// The architecture-specific part of a [`HfConfig`].
#[derive(Clone, Debug)]
pub enum ArchConfig {
    /// A BERT checkpoint.
    Bert(BertConfig),
    /// A DistilBERT checkpoint.
    DistilBert(DistilBertConfig),
}

/// A parsed and validated `config.json`.
#[derive(Clone, Debug)]
pub struct HfConfig {
    /// The architecture and its fields.
    pub arch: ArchConfig,
    /// Class names by class index: `id2label` when present, else `LABEL_0`, `LABEL_1`, …
    /// as `transformers` names them. Its length is the number of labels of the config
    /// (`transformers` defaults to 2).
    pub label_names: Vec<String>,
}

/// The architecture-neutral sizes the modules are built from.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderSpec {
    /// BERT or DistilBERT.
    pub model_type: ModelType,
    /// Rows of the word embedding table.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_layers: usize,
    /// Attention heads per layer.
    pub num_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Rows of the position table: the longest input the model accepts.
    pub max_positions: usize,
    /// Rows of the token type table (BERT) or `None` (DistilBERT).
    pub type_vocab_size: Option<usize>,
    /// Epsilon of every LayerNorm.
    pub layer_norm_eps: f64,
    /// Dropout on hidden states (training only).
    pub hidden_dropout: f64,
    /// Dropout on attention probabilities (training only).
    pub attention_dropout: f64,
    /// Dropout in the classification head (training only).
    pub classifier_dropout: f64,
    /// Standard deviation of the normal initialiser for fresh weights.
    pub initializer_range: f64,
    /// DistilBERT with `sinusoidal_pos_embds: true`.
    pub sinusoidal_positions: bool,
    /// Id used to pad batches.
    pub pad_token_id: u32,
}

impl HfConfig {
    /// Reads and validates `config.json` (the file itself, not its folder).
    ///
    /// Errors name the file: unreadable JSON, a missing or unknown `model_type`, an
    /// activation other than exact GELU (naming the value), relative position embeddings,
    /// or sizes that do not fit (hidden size not divisible by the number of heads).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_json_str(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and validates the text of a `config.json`.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).context("config.json is not valid JSON")?;
        let model_type = value
            .get("model_type")
            .and_then(|v| v.as_str())
            .context("config.json has no \"model_type\" (expected \"bert\" or \"distilbert\")")?
            .to_string();
        let arch = match model_type.as_str() {
            "bert" => ArchConfig::Bert(parse_fields(&value)?),
            "distilbert" => ArchConfig::DistilBert(parse_fields(&value)?),
            other => bail!("unsupported model_type \"{other}\" in config.json (supported: \"bert\", \"distilbert\")"),
        };
        let labels: LabelFields = parse_fields(&value)?;
        let label_names = label_names(&labels)?;
        let config = HfConfig { arch, label_names };
        config.validate()?;
        Ok(config)
    }

    /// BERT or DistilBERT.
    pub fn model_type(&self) -> ModelType {
        match self.arch {
            ArchConfig::Bert(_) => ModelType::Bert,
            ArchConfig::DistilBert(_) => ModelType::DistilBert,
        }
    }

    /// Number of classes the config declares (`id2label`, else `num_labels`, else 2).
    pub fn num_labels(&self) -> usize {
        self.label_names.len()
    }

    /// The sizes the modules are built from.
    pub fn spec(&self) -> EncoderSpec {
        match &self.arch {
            ArchConfig::Bert(c) => EncoderSpec {
                model_type: ModelType::Bert,
                vocab_size: c.vocab_size,
                hidden_size: c.hidden_size,
                num_layers: c.num_hidden_layers,
                num_heads: c.num_attention_heads,
                intermediate_size: c.intermediate_size,
                max_positions: c.max_position_embeddings,
                type_vocab_size: Some(c.type_vocab_size),
                layer_norm_eps: c.layer_norm_eps,
                hidden_dropout: c.hidden_dropout_prob,
                attention_dropout: c.attention_probs_dropout_prob,
                classifier_dropout: c.classifier_dropout.unwrap_or(c.hidden_dropout_prob),
                initializer_range: c.initializer_range,
                sinusoidal_positions: false,
                pad_token_id: c.pad_token_id.unwrap_or(0),
            },
            ArchConfig::DistilBert(c) => EncoderSpec {
                model_type: ModelType::DistilBert,
                vocab_size: c.vocab_size,
                hidden_size: c.dim,
                num_layers: c.n_layers,
                num_heads: c.n_heads,
                intermediate_size: c.hidden_dim,
                max_positions: c.max_position_embeddings,
                type_vocab_size: None,
                // DistilBERT hard-codes eps=1e-12 in every LayerNorm.
                layer_norm_eps: 1e-12,
                hidden_dropout: c.dropout,
                attention_dropout: c.attention_dropout,
                classifier_dropout: c.seq_classif_dropout,
                initializer_range: c.initializer_range,
                sinusoidal_positions: c.sinusoidal_pos_embds,
                pad_token_id: c.pad_token_id.unwrap_or(0),
            },
        }
    }

    fn validate(&self) -> Result<()> {
        let (act_field, act) = match &self.arch {
            ArchConfig::Bert(c) => ("hidden_act", &c.hidden_act),
            ArchConfig::DistilBert(c) => ("activation", &c.activation),
        };
        if act != "gelu" {
            bail!("unsupported {act_field} \"{act}\" in config.json: only \"gelu\" (exact erf GELU) is implemented");
        }
        if let ArchConfig::Bert(c) = &self.arch
            && c.position_embedding_type != "absolute"
        {
            bail!(
                "unsupported position_embedding_type \"{}\" in config.json: only \"absolute\" is implemented",
                c.position_embedding_type
            );
        }
        let s = self.spec();
        for (name, v) in [
            ("vocab_size", s.vocab_size),
            ("hidden size", s.hidden_size),
            ("number of layers", s.num_layers),
            ("number of attention heads", s.num_heads),
            ("intermediate size", s.intermediate_size),
            ("max_position_embeddings", s.max_positions),
        ] {
            if v == 0 {
                bail!("{name} is 0 in config.json");
            }
        }
        if !s.hidden_size.is_multiple_of(s.num_heads) {
            bail!(
                "hidden size {} is not a multiple of the number of attention heads {} in config.json",
                s.hidden_size,
                s.num_heads
            );
        }
        if s.type_vocab_size == Some(0) {
            bail!("type_vocab_size is 0 in config.json");
        }
        if s.pad_token_id as usize >= s.vocab_size {
            bail!("pad_token_id {} is not below vocab_size {} in config.json", s.pad_token_id, s.vocab_size);
        }
        Ok(())
    }
}

fn parse_fields<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!("config.json field `{path}`: {}", e.inner())
    })
}

fn label_names(labels: &LabelFields) -> Result<Vec<String>> {
    if let Some(map) = &labels.id2label
        && !map.is_empty()
    {
        let mut by_index: Vec<Option<String>> = vec![None; map.len()];
        for (k, v) in map {
            let i: usize = k.parse().with_context(|| format!("id2label key \"{k}\" is not a class index"))?;
            if i >= map.len() {
                bail!("id2label has {} entries but index {i}: class indices must be 0..{}", map.len(), map.len());
            }
            by_index[i] = Some(v.clone());
        }
        let names: Vec<String> = by_index.into_iter().map(Option::unwrap_or_default).collect();
        if let Some(n) = labels.num_labels
            && n != names.len()
        {
            bail!("num_labels {n} disagrees with id2label, which has {} entries", names.len());
        }
        return Ok(names);
    }
    let n = labels.num_labels.unwrap_or(2);
    Ok(default_label_names(n))
}

/// `LABEL_0`, `LABEL_1`, … as `transformers` names classes without `id2label`.
pub fn default_label_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("LABEL_{i}")).collect()
}

fn d_vocab_size() -> usize {
    30522
}
fn d_768() -> usize {
    768
}
fn d_12() -> usize {
    12
}
fn d_6() -> usize {
    6
}
fn d_3072() -> usize {
    3072
}
fn d_512() -> usize {
    512
}
fn d_type_vocab() -> usize {
    2
}
fn d_gelu() -> String {
    "gelu".into()
}
fn d_absolute() -> String {
    "absolute".into()
}
fn d_dropout() -> f64 {
    0.1
}
fn d_seq_classif_dropout() -> f64 {
    0.2
}
fn d_init_range() -> f64 {
    0.02
}
fn d_eps() -> f64 {
    1e-12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bert_defaults_follow_transformers() {
        let c = HfConfig::from_json_str(r#"{"model_type": "bert"}"#).unwrap();
        let s = c.spec();
        assert_eq!(s.hidden_size, 768);
        assert_eq!(s.num_layers, 12);
        assert_eq!(s.type_vocab_size, Some(2));
        assert_eq!(s.layer_norm_eps, 1e-12);
        assert_eq!(c.label_names, vec!["LABEL_0", "LABEL_1"]);
    }

    #[test]
    fn id2label_orders_names() {
        let c =
            HfConfig::from_json_str(r#"{"model_type": "distilbert", "id2label": {"1": "pos", "0": "neg"}}"#).unwrap();
        assert_eq!(c.label_names, vec!["neg", "pos"]);
        assert_eq!(c.spec().type_vocab_size, None);
    }

    #[test]
    fn rejects_other_activations_by_name() {
        let err = HfConfig::from_json_str(r#"{"model_type": "bert", "hidden_act": "gelu_new"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("gelu_new"), "{err:#}");
        let err = HfConfig::from_json_str(r#"{"model_type": "distilbert", "activation": "relu"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("\"relu\""), "{err:#}");
    }

    #[test]
    fn rejects_unknown_model_type_and_bad_sizes() {
        let err = HfConfig::from_json_str(r#"{"model_type": "roberta"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("roberta"));
        let err = HfConfig::from_json_str(r#"{"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4}"#)
            .unwrap_err();
        assert!(format!("{err:#}").contains("multiple"));
        let err = HfConfig::from_json_str(r#"{"model_type": "bert", "hidden_size": "big"}"#).unwrap_err();
        assert!(format!("{err:#}").contains("hidden_size"), "{err:#}");
    }
}
