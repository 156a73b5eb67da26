//! Trainer plugins (`[train] trainer = "..."`); the compressor registry moved to
//! [`super::compressor`] and is re-exported here.
//!
//! A trainer receives a neural model (a checkpoint with a fresh head, or an architecture
//! built from scratch), the dataset and a seed, and returns the trained model plus a JSON
//! report; the `train` stage stores the model as a Hugging Face folder.

use super::dataset::schema_of;
use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::data::Dataset;
use crate::model::HfModel;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Progress of a training run, for the progress bar.
#[derive(Debug, Clone, Default)]
pub struct TrainTick {
    /// Optimisation steps done.
    pub step: usize,
    /// Optimisation steps in all.
    pub total_steps: usize,
    /// A short status, e.g. `epoch 2 loss 0.312 41 ex/s`.
    pub message: String,
}

/// What the `train` stage hands a trainer.
pub struct TrainRequest<'a> {
    /// The model's name in the manifest.
    pub model_name: &'a str,
    /// The model to train (on the run's device, in inference mode).
    pub model: HfModel,
    /// The dataset: `train` to learn from, `eval` for the paper's per-epoch dev evaluation.
    pub dataset: &'a Dataset,
    /// The training seed (shuffling, dropout, fresh heads).
    pub seed: u64,
    /// Longest input in tokens.
    pub max_len: usize,
    /// Called as training progresses.
    pub progress: &'a (dyn Fn(&TrainTick) + Sync),
}

/// What a trainer returns.
pub struct TrainOutput {
    /// The trained model (inference mode).
    pub model: HfModel,
    /// The trainer's report (losses, dev accuracy per epoch, timings), stored as `train.json`.
    pub report: Value,
}

/// A trainer. Register with `inventory::submit! { TrainerEntry::of::<MyTrainer>() }`.
pub trait Trainer: 'static {
    /// Settings: the keys of `[train]` besides `trainer` and `seeds`.
    type Settings: Serialize + DeserializeOwned + JsonSchema;
    /// Name used as `trainer = "..."`.
    const NAME: &'static str;
    /// Version; part of the train node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Trains `request.model`.
    fn train(settings: &Self::Settings, request: TrainRequest) -> anyhow::Result<TrainOutput>;
    /// Checks the settings' values at `validate`, every problem at once, each naming its key
    /// (a range the type cannot express: a positive learning rate, a ratio below 1). Default:
    /// nothing to check.
    fn check(_settings: &Self::Settings) -> Vec<SettingsError> {
        Vec::new()
    }
}

/// Registry entry of a trainer.
pub struct TrainerEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`Trainer::train`]; settings were checked at validation.
    pub train: fn(&Value, TrainRequest) -> anyhow::Result<TrainOutput>,
}

inventory::collect!(TrainerEntry);

impl TrainerEntry {
    /// The registry entry for trainer `T`.
    pub const fn of<T: Trainer>() -> Self {
        TrainerEntry {
            info: PluginInfo {
                kind: PluginKind::Trainer,
                name: T::NAME,
                version: T::VERSION,
                summary: T::SUMMARY,
                schema: schema_of::<T::Settings>,
                resolve: resolve_settings::<T::Settings>,
                check: |v| match parse_settings::<T::Settings>(v) {
                    Ok(s) => T::check(&s),
                    Err(e) => vec![e],
                },
            },
            train: |v, r| T::train(&parse_settings(v)?, r),
        }
    }

    /// Looks a trainer up by name.
    pub fn find(name: &str) -> Option<&'static TrainerEntry> {
        inventory::iter::<TrainerEntry>().find(|e| e.info.name == name)
    }
}

pub use super::compressor::CompressorEntry;
