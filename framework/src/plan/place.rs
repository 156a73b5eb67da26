//! Where a node's files are on the host that builds the plan: the paths a stage opens,
//! beside the config that its key hashes. The config says *what* a node reads (a
//! checkpoint's file hashes, a vocabulary's, the templates'); the place says *where* those
//! files are here. A plan built on another host from the same manifest has the same keys
//! and that host's places, which is what `trustx node run KEY` there relies on. A stage
//! reads its node's config, its place and its inputs, never the manifest.

use serde::Serialize;
use std::path::PathBuf;

/// The host paths a node opens (all absent for most nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The checkpoint folder the node's model starts from: a fine-tuned model used as it
    /// is, the checkpoint a train node fine-tunes, the root of a compressed variant chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PathBuf>,
    /// The vocabulary (file or folder) of a model a train node builds from scratch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab: Option<PathBuf>,
    /// The report's own templates folder (`[report] templates`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates: Option<PathBuf>,
}

impl Place {
    /// Whether the node opens no host path of its own.
    pub fn is_empty(&self) -> bool {
        *self == Place::default()
    }

    /// The checkpoint folder, or an error naming the node (a plan that put none there).
    pub fn checkpoint(&self, node: &str) -> anyhow::Result<&std::path::Path> {
        self.checkpoint
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("node {node} has no checkpoint folder in its plan (internal error)"))
    }
}
