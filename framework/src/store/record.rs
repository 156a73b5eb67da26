//! `node.json`: what a node was computed from, how long it took, and its artifacts' hashes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One artifact's size and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// blake3 of the bytes (hex).
    pub blake3: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The record of a completed node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Full content key.
    pub key: String,
    /// Node name, e.g. `predict/bert@seed42`.
    pub name: String,
    /// Stage name.
    pub stage: String,
    /// Plugin name and version, if any.
    #[serde(default)]
    pub plugin: Option<(String, String)>,
    /// The resolved config.
    #[serde(default)]
    pub config: Value,
    /// Keys of the inputs.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Seed, if any.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Seconds the computation took.
    #[serde(default)]
    pub seconds: f64,
    /// Versions of trustx (and, later, burn) that computed it.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Artifacts, by file name.
    #[serde(default)]
    pub artifacts: BTreeMap<String, ArtifactRecord>,
}

impl NodeRecord {
    /// A record with the identity fields set and the rest empty.
    pub fn new(key: &str, name: &str, stage: &str) -> Self {
        NodeRecord {
            key: key.to_string(),
            name: name.to_string(),
            stage: stage.to_string(),
            plugin: None,
            config: Value::Null,
            inputs: Vec::new(),
            seed: None,
            seconds: 0.0,
            versions: BTreeMap::from([("trustx".to_string(), env!("CARGO_PKG_VERSION").to_string())]),
            artifacts: BTreeMap::new(),
        }
    }
}
