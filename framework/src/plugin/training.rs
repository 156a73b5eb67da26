//! Registries of the trainer and compressor kinds.
//!
//! The `train` and `compress` stages run neural models, which arrive with the models
//! issue; their registries exist now so that manifests naming them are validated (an
//! unknown name is an error with the nearest registered name) and `trustx plugins` lists them.

use super::PluginInfo;

/// Registry entry of a trainer (`[train] trainer = "..."`).
pub struct TrainerEntry {
    /// Self-description.
    pub info: PluginInfo,
}

inventory::collect!(TrainerEntry);

/// Registry entry of a compressor (`[variants.NAME] compressor = "..."`).
pub struct CompressorEntry {
    /// Self-description.
    pub info: PluginInfo,
}

inventory::collect!(CompressorEntry);
