//! Resolving `[variants.NAME]`: each compressed variant becomes a neural model of
//! [`super::Resolved::models`] (`NeuralInit::Variant`), after its parents, so every later
//! stage treats it like any neural model.
//!
//! Checked here: the name is free, `from` names a model or variant, the chain of `from`s
//! has no cycle and ends at a neural model (not a `predictions` source), the compressor is
//! registered and its settings parse, and — when the source's layer count is known from the
//! manifest (a checkpoint's `config.json` or an architecture) — the compressor's own check
//! (layer indices in range). A variant of a variant is checked again at compress time.

use super::models::{ModelKind, NeuralInit, NeuralModel, ResolvedModel, train_spec};
use super::schema::Manifest;
use super::validate::Checker;
use crate::model::HfConfig;
use crate::plugin::PluginKind;
use crate::plugin::compressor::{CompressorEntry, ModelShape};
use serde_json::Value;

/// The variants of `m`, parents before children; errors go to `c`. `models` are the
/// resolved `[models.*]`.
pub(super) fn resolve_variants(c: &mut Checker, m: &Manifest, models: &[ResolvedModel]) -> Vec<ResolvedModel> {
    // Depth of each variant in its `from` chain, or None when the chain is broken.
    let mut ordered: Vec<(usize, &String)> = Vec::new();
    for (name, spec) in &m.variants {
        if m.models.contains_key(name) {
            c.error(
                &["variants", name],
                format!("`{name}` is already a model name; names must be unique across [models] and [variants]"),
            );
            continue;
        }
        if !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            c.error(&["variants", name], "variant names use letters, digits, `-`, `_` and `.` only");
        }
        let mut chain = vec![name.as_str()];
        let mut at = spec.from.as_str();
        let depth = loop {
            if m.models.contains_key(at) {
                break Some(chain.len());
            }
            let Some(parent) = m.variants.get(at) else {
                c.error(&["variants", name, "from"], format!("`{at}` is not a model or variant of this manifest"));
                break None;
            };
            if chain.contains(&at) {
                chain.push(at);
                c.error(&["variants", name, "from"], format!("the variants form a cycle: {}", chain.join(" → ")));
                break None;
            }
            chain.push(at);
            at = parent.from.as_str();
        };
        if let Some(d) = depth {
            ordered.push((d, name));
        }
    }
    ordered.sort();

    let mut out: Vec<ResolvedModel> = Vec::new();
    for (_, name) in ordered {
        let spec = &m.variants[name];
        let Some(parent) = models.iter().chain(out.iter()).find(|r| r.name == spec.from) else {
            continue; // the parent failed to resolve: its error is already reported
        };
        let parent_neural = match &parent.kind {
            ModelKind::Neural(n) => n.clone(),
            ModelKind::Source { source, .. } => {
                c.error(
                    &["variants", name, "from"],
                    format!(
                        "`{}` is a `{}` model (predictions made elsewhere): there are no weights to compress; derive variants from a neural model (checkpoint or architecture)",
                        parent.name, source.info.name
                    ),
                );
                continue;
            }
        };
        let Some(entry) = CompressorEntry::find(&spec.compressor) else {
            c.unknown_plugin(&["variants", name, "compressor"], PluginKind::Compressor, &spec.compressor);
            continue;
        };
        let raw = Value::Object(spec.settings.clone());
        let settings = match (entry.info.resolve)(&raw) {
            Ok(v) => v,
            Err(e) => {
                c.settings_error(&["variants", name], e);
                continue;
            }
        };
        if let Some(shape) = known_shape(&parent_neural)
            && let Err(e) = (entry.check)(&settings, shape)
        {
            c.settings_error(&["variants", name], e);
        }
        let mut train_seeds = parent_neural.train_seeds.clone();
        let mut seeded = parent_neural.seeded;
        if spec.finetune {
            if m.dataset.train.is_none() {
                c.error(
                    &["variants", name, "finetune"],
                    "fine-tuning needs [dataset.train]; add a train split or remove `finetune`",
                );
            }
            if train_seeds.is_empty() {
                match train_spec(m).seeds {
                    None => {
                        train_seeds = m.experiment.seeds.clone();
                        seeded = true;
                    }
                    Some(s) => {
                        seeded = s == m.experiment.seeds && s.len() > 1;
                        train_seeds = s;
                    }
                }
            }
        }
        out.push(ResolvedModel {
            name: name.clone(),
            reference: false,
            kind: ModelKind::Neural(NeuralModel {
                init: NeuralInit::Variant { from: spec.from.clone(), compressor: spec.compressor.clone(), settings },
                finetuned: !spec.finetune,
                max_len: parent_neural.max_len,
                batch_size: parent_neural.batch_size,
                special_text: parent_neural.special_text,
                labels: Default::default(),
                train_seeds,
                seeded,
            }),
        });
    }
    out
}

/// The encoder's shape (layers, heads per layer) when the manifest tells it.
fn known_shape(n: &NeuralModel) -> Option<ModelShape> {
    match &n.init {
        NeuralInit::Checkpoint(dir) => HfConfig::from_file(&dir.join("config.json"))
            .ok()
            .map(|c| c.spec())
            .map(|s| ModelShape { layers: s.num_layers, heads: s.num_heads }),
        NeuralInit::Architecture(arch) => {
            let get = |k: &str| arch.get(k).and_then(Value::as_u64).map(|v| v as usize);
            Some(ModelShape { layers: get("layers")?, heads: get("heads")? })
        }
        NeuralInit::Variant { .. } => None,
    }
}
