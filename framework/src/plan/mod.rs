//! The plan: a DAG of nodes, one per stage × model × seed, each with a content key.
//!
//! A node's key is the blake3 hash of the canonical JSON of {kind, plugin name and version,
//! resolved config, input keys, seed}; change a setting and only that node and its
//! descendants get new keys, so only they run again.

pub mod build;
pub mod explain;
pub mod fingerprint;
pub mod key;
pub mod node;
pub mod node_config;
pub mod place;
pub mod report_config;
pub mod tokenization;
pub mod variants;
pub mod verdict_rules;

pub use build::build;
pub use key::{canonical_json, node_key};
pub use node::{Node, Plan, Stage, Task};
