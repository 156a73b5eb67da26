//! Registry of the explainer kind (`[[explainers]] explainer = "..."`).
//!
//! Explainers run models; their stage arrives with the explainers issue. The registry
//! exists now so manifests naming explainers are validated against it.

use super::PluginInfo;

/// Registry entry of an explainer.
pub struct ExplainerEntry {
    /// Self-description.
    pub info: PluginInfo,
}

inventory::collect!(ExplainerEntry);
