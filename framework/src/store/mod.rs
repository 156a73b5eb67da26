//! The store: one folder per node key under `results/<experiment>/nodes/`, artifacts
//! written atomically, and `node.json` written last with each artifact's blake3.
//!
//! A node is done only when `node.json` parses and every artifact it lists exists with
//! the recorded hash; a truncated or corrupted artifact makes the node run again.

pub mod atomic;
pub mod lock;
pub mod record;

pub use atomic::write_atomic;
pub use lock::RunLock;
pub use record::{ArtifactRecord, NodeRecord};

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the store holds for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeState {
    /// Done: the record, with every artifact verified.
    Done(Box<NodeRecord>),
    /// Never completed (no `node.json`).
    Missing,
    /// `node.json` exists but something does not match; the reason says what.
    Corrupt(String),
}

/// The node store of one experiment.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store under `results_dir/nodes`.
    pub fn new(results_dir: &Path) -> Self {
        Store { root: results_dir.join("nodes") }
    }

    /// The folder of a node.
    pub fn dir(&self, key: &str) -> PathBuf {
        self.root.join(&key[..16.min(key.len())])
    }

    /// Checks a node: done and intact, missing, or corrupt.
    pub fn state(&self, key: &str) -> NodeState {
        let dir = self.dir(key);
        let record_path = dir.join("node.json");
        let text = match std::fs::read(&record_path) {
            Ok(t) => t,
            Err(_) => return NodeState::Missing,
        };
        let record: NodeRecord = match serde_json::from_slice(&text) {
            Ok(r) => r,
            Err(e) => return NodeState::Corrupt(format!("node.json does not parse: {e}")),
        };
        if record.key != key {
            return NodeState::Corrupt(format!("node.json belongs to key {}", record.key));
        }
        for (name, a) in &record.artifacts {
            match std::fs::read(dir.join(name)) {
                Err(_) => return NodeState::Corrupt(format!("artifact {name} is missing")),
                Ok(bytes) if bytes.len() as u64 != a.bytes => {
                    return NodeState::Corrupt(format!(
                        "artifact {name} has {} bytes, {} recorded (truncated?)",
                        bytes.len(),
                        a.bytes
                    ));
                }
                Ok(bytes) if blake3::hash(&bytes).to_hex().as_str() != a.blake3 => {
                    return NodeState::Corrupt(format!("artifact {name} does not match its recorded blake3"));
                }
                Ok(_) => {}
            }
        }
        NodeState::Done(Box::new(record))
    }

    /// Starts writing a node: clears any partial or corrupt folder of the key.
    pub fn writer(&self, key: &str) -> Result<NodeWriter> {
        let dir = self.dir(key);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(NodeWriter { dir, artifacts: BTreeMap::new() })
    }

    /// Reads an artifact of a done node.
    pub fn read(&self, key: &str, name: &str) -> Result<Vec<u8>> {
        let path = self.dir(key).join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The path of an artifact of a node.
    pub fn artifact_path(&self, key: &str, name: &str) -> PathBuf {
        self.dir(key).join(name)
    }
}

/// Writes one node's artifacts; [`NodeWriter::finish`] writes `node.json` last.
#[derive(Debug)]
pub struct NodeWriter {
    dir: PathBuf,
    artifacts: BTreeMap<String, ArtifactRecord>,
}

impl NodeWriter {
    /// Writes an artifact atomically and records its hash.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.dir.join(name), bytes)?;
        self.artifacts.insert(
            name.to_string(),
            ArtifactRecord { blake3: blake3::hash(bytes).to_hex().to_string(), bytes: bytes.len() as u64 },
        );
        Ok(())
    }

    /// Records every file under the sub-folder `name` of the node's folder (written there by
    /// someone else, e.g. a model saved as a Hugging Face folder) as artifacts
    /// `name/<file>`, with their hashes.
    pub fn adopt_dir(&mut self, name: &str) -> Result<()> {
        let dir = self.dir.join(name);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_file() || file.starts_with('.') {
                continue;
            }
            let bytes = std::fs::read(entry.path()).with_context(|| format!("reading {}", entry.path().display()))?;
            self.artifacts.insert(
                format!("{name}/{file}"),
                ArtifactRecord { blake3: blake3::hash(&bytes).to_hex().to_string(), bytes: bytes.len() as u64 },
            );
        }
        Ok(())
    }

    /// Writes a JSON artifact (pretty, stable key order).
    pub fn write_json<T: serde::Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(value)?;
        self.write(name, &bytes)
    }

    /// The artifacts written so far.
    pub fn artifacts(&self) -> &BTreeMap<String, ArtifactRecord> {
        &self.artifacts
    }

    /// The node's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `node.json` (with the artifact hashes filled in): the node is now done.
    pub fn finish(self, mut record: NodeRecord) -> Result<NodeRecord> {
        record.artifacts = self.artifacts;
        let bytes = serde_json::to_vec_pretty(&record)?;
        write_atomic(&self.dir.join("node.json"), &bytes)?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trustx-store-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    #[test]
    fn done_only_after_node_json_and_detects_corruption() {
        let dir = temp("a");
        let store = Store::new(&dir);
        let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(store.state(key), NodeState::Missing);
        let mut w = store.writer(key).unwrap();
        w.write("x.bin", b"hello").unwrap();
        assert_eq!(store.state(key), NodeState::Missing);
        w.finish(NodeRecord::new(key, "data", "data")).unwrap();
        assert!(matches!(store.state(key), NodeState::Done(_)));
        std::fs::write(store.artifact_path(key, "x.bin"), b"hell").unwrap();
        assert!(matches!(store.state(key), NodeState::Corrupt(r) if r.contains("truncated")));
        std::fs::write(store.artifact_path(key, "x.bin"), b"jello").unwrap();
        assert!(matches!(store.state(key), NodeState::Corrupt(r) if r.contains("blake3")));
        std::fs::remove_file(store.artifact_path(key, "x.bin")).unwrap();
        assert!(matches!(store.state(key), NodeState::Corrupt(r) if r.contains("missing")));
        std::fs::remove_dir_all(dir).ok();
    }
}
