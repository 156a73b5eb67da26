//! Compressor plugins (`[variants.NAME] compressor = "..."`): derive a compressed variant
//! from a trained model.
//!
//! A compressor receives the source model (loaded from its trained Hugging Face folder),
//! the dataset (calibration data, importance scores, distillation) and a seed; it returns
//! the compressed model, a JSON report of what it did (stored as `compress.json` by the
//! `compress` stage) and the model-card fields that only it knows (bits per weight, the
//! size of the compressed format a deployment would ship).

use super::dataset::schema_of;
use super::training::TrainTick;
use super::{PluginInfo, PluginKind, SettingsError, parse_settings, resolve_settings};
use crate::data::Dataset;
use crate::model::HfModel;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the `compress` stage hands a compressor.
pub struct CompressRequest<'a> {
    /// The variant's name in the manifest.
    pub variant: &'a str,
    /// The source model (inference mode, on the run's device).
    pub model: HfModel,
    /// The dataset: `train` for calibration data, importance scores or distillation.
    pub dataset: &'a Dataset,
    /// The node's seed (the source model's training seed).
    pub seed: u64,
    /// Longest input in tokens.
    pub max_len: usize,
    /// The manifest's folder (relative paths in settings resolve against it).
    pub base_dir: &'a std::path::Path,
    /// Called as a long compression (distillation) progresses.
    pub progress: &'a (dyn Fn(&TrainTick) + Sync),
}

/// Model-card fields a compressor sets; `None` leaves the measured value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardOverrides {
    /// Bits per weight of the compressed format (8 for int8).
    #[serde(default)]
    pub weight_bits: Option<u32>,
    /// How the weights are quantised, e.g. `int8 simulated (per-channel)`.
    #[serde(default)]
    pub quantization: Option<String>,
    /// Bytes of the compressed format a deployment would ship, when the stored Hugging Face
    /// folder (always f32) is larger than that format.
    #[serde(default)]
    pub deploy_size_bytes: Option<u64>,
}

impl CardOverrides {
    /// `self` where set, else `parent` (a variant of a variant keeps, e.g., int8 bits
    /// through a later layer drop).
    pub fn over(self, parent: &CardOverrides) -> CardOverrides {
        CardOverrides {
            weight_bits: self.weight_bits.or(parent.weight_bits),
            quantization: self.quantization.or_else(|| parent.quantization.clone()),
            deploy_size_bytes: self.deploy_size_bytes.or(parent.deploy_size_bytes),
        }
    }
}

/// The shape of the model a compressor starts from, as far as its settings depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads per layer.
    pub heads: usize,
}

/// What a compressor returns.
pub struct CompressOutput {
    /// The compressed model (inference mode).
    pub model: HfModel,
    /// What was done: layers kept, bits, per-layer sparsity, heads pruned, whether int8
    /// is real or simulated.
    pub report: Value,
    /// Card fields the compressor knows.
    pub card: CardOverrides,
}

/// A compressor. Register with `inventory::submit! { CompressorEntry::of::<MyCompressor>() }`.
pub trait Compressor: 'static {
    /// Settings: the keys of `[variants.NAME]` besides `from`, `compressor` and `finetune`.
    type Settings: Serialize + DeserializeOwned + JsonSchema;
    /// Name used as `compressor = "..."`.
    const NAME: &'static str;
    /// Version; part of the compress node's key.
    const VERSION: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// Checks the settings against the source's shape (layer indices in range, heads to
    /// remove fewer than a layer has); errors name the key. Called by `trustx validate` when
    /// the shape is known from the manifest, and again at compress time.
    fn check(_settings: &Self::Settings, _shape: ModelShape) -> Result<(), SettingsError> {
        Ok(())
    }
    /// Compresses `request.model`.
    fn compress(settings: &Self::Settings, request: CompressRequest) -> anyhow::Result<CompressOutput>;
}

/// Registry entry of a compressor.
pub struct CompressorEntry {
    /// Self-description.
    pub info: PluginInfo,
    /// See [`Compressor::check`]; settings were resolved at validation.
    pub check: fn(&Value, ModelShape) -> Result<(), SettingsError>,
    /// See [`Compressor::compress`].
    pub compress: fn(&Value, CompressRequest) -> anyhow::Result<CompressOutput>,
}

inventory::collect!(CompressorEntry);

impl CompressorEntry {
    /// The registry entry for compressor `C`.
    pub const fn of<C: Compressor>() -> Self {
        CompressorEntry {
            info: PluginInfo {
                kind: PluginKind::Compressor,
                name: C::NAME,
                version: C::VERSION,
                summary: C::SUMMARY,
                schema: schema_of::<C::Settings>,
                resolve: resolve_settings::<C::Settings>,
                check: super::descriptor::no_check,
            },
            check: |v, shape| C::check(&parse_settings(v)?, shape),
            compress: |v, r| C::compress(&parse_settings(v)?, r),
        }
    }

    /// Looks a compressor up by name.
    pub fn find(name: &str) -> Option<&'static CompressorEntry> {
        inventory::iter::<CompressorEntry>().find(|e| e.info.name == name)
    }
}
