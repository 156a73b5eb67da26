//! Validation of `[models.*]`, `[variants.*]` and `[train]`: exactly one reference, names,
//! every model resolved, and the trainer of the models that need training.

use super::Checker;
use crate::manifest::models::{ResolvedModel, resolve_model, train_spec};
use crate::manifest::schema::Manifest;
use crate::plugin::PluginKind;
use crate::plugin::training::TrainerEntry;
use serde_json::Value;
use std::path::Path;

/// The models and variants, the reference first, then by name.
pub(super) fn models(c: &mut Checker, m: &Manifest, base_dir: &Path) -> Vec<ResolvedModel> {
    let mut models = Vec::new();
    if m.models.is_empty() {
        c.error(&["models"], "no model; add a [models.NAME] section");
    }
    let references: Vec<&String> = m.models.iter().filter(|(_, s)| s.reference).map(|(n, _)| n).collect();
    match references.len() {
        0 if !m.models.is_empty() => c.error(
            &["models"],
            "no model is marked `reference = true`; mark exactly one (the large model the others are compared with)",
        ),
        n if n > 1 => c.error(
            &["models", references[1], "reference"],
            format!(
                "{n} models are marked `reference = true` ({}); mark exactly one",
                references.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ),
        _ => {}
    }
    for (name, spec) in &m.models {
        if !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            c.error(&["models", name], "model names use letters, digits, `-`, `_` and `.` only");
        }
        if let Some(model) = resolve_model(c, m, name, spec, base_dir) {
            models.push(model);
        }
    }
    models.sort_by(|a, b| (!a.reference, &a.name).cmp(&(!b.reference, &b.name)));
    let variants = crate::manifest::variants::resolve_variants(c, m, &models);
    models.extend(variants);

    models
}

/// `[train]`: the manifest's section, or the default trainer when a model needs training.
pub(super) fn trainer(
    c: &mut Checker,
    m: &Manifest,
    models: &[ResolvedModel],
) -> Option<(&'static TrainerEntry, Value)> {
    let needs_training = models.iter().any(|m| m.neural().is_some_and(|n| !n.finetuned));
    let mut trainer = None;
    if m.train.is_some() || needs_training {
        let train = train_spec(m);
        match TrainerEntry::find(&train.trainer) {
            None if m.train.is_some() => {
                c.unknown_plugin(&["train", "trainer"], PluginKind::Trainer, &train.trainer)
            }
            None => c.error(
                &["models"],
                format!(
                    "a model needs training but the default trainer `{}` is not registered in this build; add a [train] section naming one",
                    train.trainer
                ),
            ),
            Some(t) => match (t.info.resolve)(&Value::Object(train.settings.clone())) {
                Ok(v) => {
                    for e in (t.info.check)(&v) {
                        c.settings_error(&["train"], e);
                    }
                    trainer = Some((t, v))
                }
                Err(e) => c.settings_error(&["train"], e),
            },
        }
        if train.seeds.as_ref().is_some_and(Vec::is_empty) {
            c.error(
                &["train", "seeds"],
                "the training seed list is empty; remove it to train with every experiment seed",
            );
        }
    }

    trainer
}
