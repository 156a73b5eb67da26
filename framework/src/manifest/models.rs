//! Resolving `[models.NAME]`: a model source plugin, or a neural model trustx runs itself
//! (a Hugging Face checkpoint, fine-tuned by the `train` stage unless `finetuned = true`,
//! or a small architecture built from scratch and trained).

use super::schema::{Manifest, ModelSpec, TrainSpec};
use super::validate::Checker;
use crate::model::scratch::Architecture;
use crate::model::special_text::SpecialTokenText;
use crate::plugin::model_source::{Explainability, ModelSourceEntry};
use crate::plugin::{PluginKind, parse_settings};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default longest input in tokens.
pub const DEFAULT_MAX_LEN: usize = 128;
/// Default prediction batch size.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// A model after validation.
#[derive(Clone)]
pub struct ResolvedModel {
    /// Its name in the manifest.
    pub name: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// What it is.
    pub kind: ModelKind,
}

/// A source plugin or a neural model.
#[derive(Clone)]
pub enum ModelKind {
    /// Predictions come from a model source plugin.
    Source {
        /// The plugin.
        source: &'static ModelSourceEntry,
        /// Its settings, defaults filled.
        settings: Value,
        /// Whether it has one prediction per experiment seed.
        seeded: bool,
    },
    /// A BERT-family model run by trustx.
    Neural(NeuralModel),
}

/// Where a neural model's weights start from.
#[derive(Debug, Clone, PartialEq)]
pub enum NeuralInit {
    /// A Hugging Face checkpoint folder (resolved against the manifest's folder).
    Checkpoint(PathBuf),
    /// An architecture built from scratch: the manifest's table, with its `vocab` path
    /// resolved against the manifest's folder.
    Architecture(Value),
    /// A compressed variant (`[variants.NAME]`) of another model of the manifest.
    Variant {
        /// The model (or variant) it is derived from.
        from: String,
        /// The compressor plugin's name.
        compressor: String,
        /// Its settings, defaults filled.
        settings: Value,
    },
}

/// A neural model of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralModel {
    /// Its starting weights.
    pub init: NeuralInit,
    /// Whether it is used as is (no `train` stage).
    pub finetuned: bool,
    /// Longest input in tokens.
    pub max_len: usize,
    /// Prediction batch size.
    pub batch_size: usize,
    /// What a special token's text inside an input becomes (`special_tokens`).
    pub special_text: SpecialTokenText,
    /// The manifest's renaming of a fine-tuned checkpoint's label names to the dataset's
    /// (`labels`); empty when not given (names are matched as they are).
    pub labels: BTreeMap<String, String>,
    /// Training seeds (empty when `finetuned`).
    pub train_seeds: Vec<u64>,
    /// Whether its predictions are per experiment seed (trained with every experiment
    /// seed); otherwise one prediction is compared with every seed of the others.
    pub seeded: bool,
}

impl ResolvedModel {
    /// Whether it has one prediction per experiment seed.
    pub fn seeded(&self) -> bool {
        match &self.kind {
            ModelKind::Source { seeded, .. } => *seeded,
            ModelKind::Neural(n) => n.seeded,
        }
    }

    /// The neural model, if it is one.
    pub fn neural(&self) -> Option<&NeuralModel> {
        match &self.kind {
            ModelKind::Neural(n) => Some(n),
            ModelKind::Source { .. } => None,
        }
    }

    /// Whether trustx can explain it: a neural model (from its weights), or a source
    /// whose model answers texts.
    pub fn explainable(&self) -> bool {
        self.neural().is_some() || self.black_box() || self.imported()
    }

    /// Whether its explanations are read from an attributions file made elsewhere.
    pub fn imported(&self) -> bool {
        self.source_explainability() == Explainability::Imported
    }

    /// Whether it is a source's black box that answers texts (no weights, no gradients).
    pub fn black_box(&self) -> bool {
        self.source_explainability() == Explainability::BlackBox
    }

    /// What a source model's explain nodes get from its source (`None` for a neural model).
    pub fn source_explainability(&self) -> Explainability {
        match &self.kind {
            // Settings were resolved by validation, so they parse.
            ModelKind::Source { source, settings, .. } => {
                (source.explainability)(settings).unwrap_or(Explainability::None)
            }
            ModelKind::Neural(_) => Explainability::None,
        }
    }

    /// A short description of where it comes from, for tables: the source plugin's name,
    /// `checkpoint`, `checkpoint+train` or `architecture+train`.
    pub fn origin(&self) -> String {
        match &self.kind {
            ModelKind::Source { source, .. } => source.info.name.to_string(),
            ModelKind::Neural(n) => match (&n.init, n.finetuned) {
                (NeuralInit::Checkpoint(_), true) => "checkpoint".into(),
                (NeuralInit::Checkpoint(_), false) => "checkpoint+train".into(),
                (NeuralInit::Architecture(_), _) => "architecture+train".into(),
                (NeuralInit::Variant { compressor, .. }, true) => compressor.clone(),
                (NeuralInit::Variant { compressor, .. }, false) => format!("{compressor}+train"),
            },
        }
    }

    /// For a compressed variant: the model it derives from and its compressor.
    pub fn variant(&self) -> Option<(&str, &str)> {
        match &self.kind {
            ModelKind::Neural(NeuralModel { init: NeuralInit::Variant { from, compressor, .. }, .. }) => {
                Some((from.as_str(), compressor.as_str()))
            }
            _ => None,
        }
    }
}

/// The `[train]` section in force: the manifest's, or the default `finetune` trainer.
pub fn train_spec(m: &Manifest) -> TrainSpec {
    m.train.clone().unwrap_or_else(|| TrainSpec { trainer: "finetune".into(), seeds: None, settings: Map::new() })
}

/// Resolves one `[models.NAME]` section; errors go to `c`.
/// The shortest `max_len` a model may have: a pair's three special tokens and one word.
pub const MIN_MAX_LEN: usize = 4;

pub(super) fn resolve_model(
    c: &mut Checker,
    m: &Manifest,
    name: &str,
    spec: &ModelSpec,
    base_dir: &Path,
) -> Option<ResolvedModel> {
    let neural_keys = [
        ("checkpoint", spec.checkpoint.is_some()),
        ("finetuned", spec.finetuned),
        ("architecture", spec.architecture.is_some()),
        ("max_len", spec.max_len.is_some()),
        ("batch_size", spec.batch_size.is_some()),
        ("labels", spec.labels.is_some()),
        ("special_tokens", spec.special_tokens.is_some()),
    ];
    if let Some(source) = &spec.source {
        for (key, present) in neural_keys {
            if present {
                c.error(
                    &["models", name, key],
                    format!("`{key}` belongs to neural models; a model with `source = \"{source}\"` takes the source's own settings only"),
                );
            }
        }
        let Some(src) = ModelSourceEntry::find(source) else {
            c.unknown_plugin(&["models", name, "source"], PluginKind::ModelSource, source);
            return None;
        };
        let raw = Value::Object(spec.settings.clone());
        let resolved = (src.info.resolve)(&raw)
            .and_then(|v| (src.validate)(&raw, base_dir, &m.experiment.seeds).map(|_| v))
            .and_then(|v| (src.seeded)(&raw).map(|s| (v, s)));
        return match resolved {
            Ok((settings, seeded)) => Some(ResolvedModel {
                name: name.into(),
                reference: spec.reference,
                kind: ModelKind::Source { source: src, settings, seeded },
            }),
            Err(e) => {
                c.settings_error(&["models", name], e);
                None
            }
        };
    }

    for key in spec.settings.keys() {
        c.error(
            &["models", name, key],
            format!(
                "unknown key `{key}` of a neural model; its keys are checkpoint, finetuned, labels, architecture, max_len, batch_size, special_tokens and reference (or set `source` for a model source plugin)"
            ),
        );
    }
    let init = match (&spec.checkpoint, &spec.architecture) {
        (Some(_), Some(_)) => {
            c.error(&["models", name, "architecture"], "give `checkpoint` or `architecture`, not both");
            return None;
        }
        (None, None) => {
            c.error(
                &["models", name],
                "say what the model is: `checkpoint = \"DIR\"` (a Hugging Face folder), `architecture = { .. }` (built from scratch), or `source = \"...\"` (a model source plugin)",
            );
            return None;
        }
        (Some(dir), None) => {
            let full = base_dir.join(dir);
            if !full.join("config.json").is_file() {
                c.error(
                    &["models", name, "checkpoint"],
                    format!(
                        "{} is not a Hugging Face checkpoint folder (no config.json there; paths resolve against the manifest's folder)",
                        full.display()
                    ),
                );
                return None;
            }
            NeuralInit::Checkpoint(full)
        }
        (None, Some(arch)) => {
            if spec.finetuned {
                c.error(
                    &["models", name, "finetuned"],
                    "a model built from `architecture` starts untrained; remove `finetuned`",
                );
            }
            let mut arch = arch.clone();
            match arch.get("vocab").and_then(Value::as_str) {
                Some(v) => {
                    let full = base_dir.join(v);
                    if !full.exists() {
                        c.error(
                            &["models", name, "architecture", "vocab"],
                            format!(
                                "{} does not exist; give a vocab.txt file or a folder holding vocab.txt or tokenizer.json",
                                full.display()
                            ),
                        );
                    }
                    arch["vocab"] = Value::String(full.to_string_lossy().into_owned());
                }
                None => c.error(
                    &["models", name, "architecture", "vocab"],
                    "missing: give a vocab.txt file or a folder holding vocab.txt or tokenizer.json",
                ),
            }
            match parse_settings::<Architecture>(&arch) {
                Err(e) => c.settings_error(&["models", name, "architecture"], e),
                Ok(a) => {
                    if let Err(e) = a.validate() {
                        c.error(&["models", name, "architecture"], e.to_string());
                    }
                }
            }
            NeuralInit::Architecture(arch)
        }
    };

    let finetuned = spec.finetuned && matches!(init, NeuralInit::Checkpoint(_));
    let labels = spec.labels.clone().unwrap_or_default();
    if !labels.is_empty() && !finetuned {
        c.error(
            &["models", name, "labels"],
            "`labels` names the classes of a fine-tuned checkpoint's head (with `finetuned = true`); this model's head is trained by trustx on the dataset's labels, so remove `labels`",
        );
    }
    let mut train_seeds = Vec::new();
    let mut seeded = false;
    if !finetuned {
        let train = train_spec(m);
        if m.dataset.train.is_none() {
            c.error(
                &["models", name],
                "this model needs training (a checkpoint without `finetuned = true`, or an architecture) but [dataset.train] is not set; add a train split or mark the checkpoint `finetuned = true`",
            );
        }
        match &train.seeds {
            None => {
                train_seeds = m.experiment.seeds.clone();
                seeded = true;
            }
            Some(s) if s.len() == 1 => train_seeds = s.clone(),
            Some(s) if *s == m.experiment.seeds => {
                train_seeds = s.clone();
                seeded = true;
            }
            Some(_) => c.error(
                &["train", "seeds"],
                "give one training seed (one model, explained with every experiment seed) or leave it out to train once per experiment seed",
            ),
        }
    }
    if let Some(n) = spec.max_len.filter(|n| n.get() < MIN_MAX_LEN) {
        c.error(
            &["models", name, "max_len"],
            format!(
                "max_len {n} leaves no room for a word: an input holds [CLS] and [SEP] (a pair two [SEP]); use {MIN_MAX_LEN} or more (128 is usual)"
            ),
        );
    }
    Some(ResolvedModel {
        name: name.into(),
        reference: spec.reference,
        kind: ModelKind::Neural(NeuralModel {
            init,
            finetuned,
            max_len: spec.max_len.map_or(DEFAULT_MAX_LEN, |n| n.get()),
            batch_size: spec.batch_size.map_or(DEFAULT_BATCH_SIZE, |n| n.get()),
            special_text: spec.special_tokens.unwrap_or_default(),
            labels,
            train_seeds,
            seeded,
        }),
    })
}
