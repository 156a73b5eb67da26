//! The tensor naming of each architecture: Hugging Face checkpoint names ↔ this crate's
//! module paths (`bert.` prefix or none, legacy `LayerNorm.gamma/beta`, DistilBERT's
//! `q_lin/k_lin/v_lin/out_lin/…`), and the tensors a checkpoint may carry that no classifier
//! uses. The loader applies the rules when reading a folder, the saver when writing one.

use super::config::ModelType;
use burn::store::KeyRemapper;
use regex::Regex;

/// Tensors a checkpoint may carry that the classifier does not use.
pub(super) fn is_known_optional(name: &str) -> bool {
    static OPTIONAL: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(
            r"^cls\.|^(distilbert\.)?vocab_(transform|layer_norm|projector)\.|(^|\.)position_ids$|(^|\.)embeddings\.token_type_ids$",
        )
        .expect("valid regex")
    });
    OPTIONAL.is_match(name)
}

/// The naming rules of one architecture.
pub(crate) struct NameRules {
    /// Checkpoint name → module path (applied in order, as [`KeyRemapper`] does).
    pub(super) forward: KeyRemapper,
    /// Module path → canonical checkpoint name (with prefix), for messages.
    pub(super) reverse: Vec<(Regex, String)>,
    /// `bert.` or `distilbert.`.
    pub(super) prefix: &'static str,
    /// Module paths of the classification head.
    pub(super) head: &'static [&'static str],
    /// Module path prefix of BERT's pooler.
    pub(super) pooler: Option<&'static str>,
    /// Module path of the position table.
    pub(super) positions: &'static str,
}

const NORM_RULES: [(&str, &str); 4] = [
    // Legacy TF-era names, then everything to burn's LayerNorm parameter names.
    (r"\.LayerNorm\.gamma$", ".LayerNorm.weight"),
    (r"\.LayerNorm\.beta$", ".LayerNorm.bias"),
    (r"^(.*)_norm\.weight$", "${1}_norm.gamma"),
    (r"^(.*)_norm\.bias$", "${1}_norm.beta"),
];

/// Forward rules, reverse rules, prefix, head paths, pooler path, position table path.
type RuleTable = (
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
);

impl NameRules {
    /// The rules of one architecture.
    pub(crate) fn for_model(model_type: ModelType) -> Self {
        let table: RuleTable = match model_type {
            ModelType::Bert => (
                vec![
                    (r"^(embeddings|encoder|pooler)\.", "bert.${1}."),
                    NORM_RULES[0],
                    NORM_RULES[1],
                    (r"^bert\.encoder\.layer\.(\d+)\.attention\.self\.", "bert.encoder.layers.${1}.attention."),
                    (
                        r"^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.",
                        "bert.encoder.layers.${1}.attention.output.",
                    ),
                    (
                        r"^bert\.encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.",
                        "bert.encoder.layers.${1}.attention_norm.",
                    ),
                    (r"^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.", "bert.encoder.layers.${1}.ffn_in."),
                    (r"^bert\.encoder\.layer\.(\d+)\.output\.dense\.", "bert.encoder.layers.${1}.ffn_out."),
                    (r"^bert\.encoder\.layer\.(\d+)\.output\.LayerNorm\.", "bert.encoder.layers.${1}.output_norm."),
                    (r"^bert\.embeddings\.LayerNorm\.", "bert.embeddings.layer_norm."),
                    NORM_RULES[2],
                    NORM_RULES[3],
                ],
                vec![
                    (
                        r"^bert\.encoder\.layers\.(\d+)\.attention\.(query|key|value)\.",
                        "bert.encoder.layer.${1}.attention.self.${2}.",
                    ),
                    (
                        r"^bert\.encoder\.layers\.(\d+)\.attention\.output\.",
                        "bert.encoder.layer.${1}.attention.output.dense.",
                    ),
                    (
                        r"^bert\.encoder\.layers\.(\d+)\.attention_norm\.",
                        "bert.encoder.layer.${1}.attention.output.LayerNorm.",
                    ),
                    (r"^bert\.encoder\.layers\.(\d+)\.ffn_in\.", "bert.encoder.layer.${1}.intermediate.dense."),
                    (r"^bert\.encoder\.layers\.(\d+)\.ffn_out\.", "bert.encoder.layer.${1}.output.dense."),
                    (r"^bert\.encoder\.layers\.(\d+)\.output_norm\.", "bert.encoder.layer.${1}.output.LayerNorm."),
                    (r"^bert\.embeddings\.layer_norm\.", "bert.embeddings.LayerNorm."),
                    (r"\.gamma$", ".weight"),
                    (r"\.beta$", ".bias"),
                ],
                "bert.",
                &["classifier."],
                Some("bert.pooler."),
                "bert.embeddings.position_embeddings.weight",
            ),
            ModelType::DistilBert => (
                vec![
                    (r"^(embeddings|transformer)\.", "distilbert.${1}."),
                    NORM_RULES[0],
                    NORM_RULES[1],
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.attention\.q_lin\.",
                        "distilbert.transformer.layers.${1}.attention.query.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.attention\.k_lin\.",
                        "distilbert.transformer.layers.${1}.attention.key.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.attention\.v_lin\.",
                        "distilbert.transformer.layers.${1}.attention.value.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.attention\.out_lin\.",
                        "distilbert.transformer.layers.${1}.attention.output.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.sa_layer_norm\.",
                        "distilbert.transformer.layers.${1}.attention_norm.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.ffn\.lin1\.",
                        "distilbert.transformer.layers.${1}.ffn_in.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.ffn\.lin2\.",
                        "distilbert.transformer.layers.${1}.ffn_out.",
                    ),
                    (
                        r"^distilbert\.transformer\.layer\.(\d+)\.output_layer_norm\.",
                        "distilbert.transformer.layers.${1}.output_norm.",
                    ),
                    (r"^distilbert\.embeddings\.LayerNorm\.", "distilbert.embeddings.layer_norm."),
                    NORM_RULES[2],
                    NORM_RULES[3],
                ],
                vec![
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.attention\.query\.",
                        "distilbert.transformer.layer.${1}.attention.q_lin.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.attention\.key\.",
                        "distilbert.transformer.layer.${1}.attention.k_lin.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.attention\.value\.",
                        "distilbert.transformer.layer.${1}.attention.v_lin.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.attention\.output\.",
                        "distilbert.transformer.layer.${1}.attention.out_lin.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.attention_norm\.",
                        "distilbert.transformer.layer.${1}.sa_layer_norm.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.ffn_in\.",
                        "distilbert.transformer.layer.${1}.ffn.lin1.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.ffn_out\.",
                        "distilbert.transformer.layer.${1}.ffn.lin2.",
                    ),
                    (
                        r"^distilbert\.transformer\.layers\.(\d+)\.output_norm\.",
                        "distilbert.transformer.layer.${1}.output_layer_norm.",
                    ),
                    (r"^distilbert\.embeddings\.layer_norm\.", "distilbert.embeddings.LayerNorm."),
                    (r"\.gamma$", ".weight"),
                    (r"\.beta$", ".bias"),
                ],
                "distilbert.",
                &["pre_classifier.", "classifier."],
                None,
                "distilbert.embeddings.position_embeddings.weight",
            ),
        };
        let (forward, reverse, prefix, head, pooler, positions) = table;
        Self {
            forward: KeyRemapper::from_patterns(forward).expect("valid remapping regexes"),
            reverse: reverse.into_iter().map(|(r, s)| (Regex::new(r).expect("valid regex"), s.to_string())).collect(),
            prefix,
            head,
            pooler,
            positions,
        }
    }

    /// Module path of a checkpoint name (what the store's remapping makes of it).
    pub(crate) fn to_module_path(&self, name: &str) -> String {
        apply_rules(&self.forward.patterns, name)
    }

    /// Checkpoint name of a module path, with or without the architecture prefix.
    pub(crate) fn to_checkpoint_name(&self, path: &str, with_prefix: bool) -> String {
        let name = apply_rules(&self.reverse, path);
        match name.strip_prefix(self.prefix) {
            Some(rest) if !with_prefix => rest.to_string(),
            _ => name,
        }
    }

    pub(super) fn is_head(&self, path: &str) -> bool {
        self.head.iter().any(|h| path.starts_with(h))
    }

    pub(super) fn is_pooler(&self, path: &str) -> bool {
        self.pooler.is_some_and(|p| path.starts_with(p))
    }
}

/// Sequential `replace_all`, exactly as [`KeyRemapper::remap`] applies its patterns.
fn apply_rules(rules: &[(Regex, String)], name: &str) -> String {
    let mut out = name.to_string();
    for (re, rep) in rules {
        if re.is_match(&out) {
            out = re.replace_all(&out, rep.as_str()).into_owned();
        }
    }
    out
}
