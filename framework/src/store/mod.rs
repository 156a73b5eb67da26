//! The store: one folder per node key under `results/<experiment>/nodes/`, artifacts
//! written atomically, and `node.json` written last with each artifact's blake3.
//!
//! A node is done only when `node.json` parses and every artifact it lists exists with
//! the recorded hash; a truncated or corrupted artifact makes the node run again.
//!
//! A node is written into a temporary folder of its own (`nodes/.<prefix>.tmp-<host>-<pid>-<n>`)
//! and renamed into place once `node.json` is in it, so a node folder is either complete or
//! absent (or holds only `logs/`, the cluster jobs' logs, which are kept across rewrites). Two
//! processes computing the same node (two hosts of a cluster) cannot mix their files: the first
//! rename wins, the other finds a complete node and drops its own copy.

pub mod atomic;
pub mod boundary;
pub mod host;
pub mod lock;
pub mod record;

pub use atomic::{write_atomic, write_within};
pub use boundary::check_within;
pub use lock::RunLock;
pub use record::{ArtifactRecord, NodeRecord};

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The sub-folder of a node's folder that holds its cluster jobs' scripts and logs: not an
/// artifact, kept when the node is written again.
pub const LOGS_DIR: &str = "logs";

static WRITERS: AtomicU64 = AtomicU64::new(0);

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

    /// Starts writing a node into a temporary folder of its own (the node's folder is replaced
    /// only by [`NodeWriter::finish`]). Removes this host's temporary folders of the key left by
    /// processes that died.
    pub fn writer(&self, key: &str) -> Result<NodeWriter> {
        let final_dir = self.dir(key);
        let prefix = final_dir.file_name().and_then(|n| n.to_str()).unwrap_or("node").to_string();
        self.sweep_dead_temporaries(&prefix);
        let n = WRITERS.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.join(format!(".{prefix}.tmp-{}-{}-{n}", host::hostname(), std::process::id()));
        if let Some(results_dir) = self.root.parent() {
            check_within(results_dir, &final_dir)?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(NodeWriter { dir, final_dir, artifacts: BTreeMap::new() })
    }

    /// The folder of a node's cluster job logs and scripts (kept when the node is rewritten).
    pub fn logs_dir(&self, key: &str) -> PathBuf {
        self.dir(key).join(LOGS_DIR)
    }

    /// Removes `.<prefix>.tmp-<this host>-<pid>-<n>` folders whose process is gone.
    fn sweep_dead_temporaries(&self, prefix: &str) {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return };
        let host = host::hostname();
        let start = format!(".{prefix}.tmp-{host}-");
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(&start) else { continue };
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| pid != std::process::id() && !host::pid_alive(pid)) {
                std::fs::remove_dir_all(entry.path()).ok();
            }
        }
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

/// Writes one node's artifacts into a temporary folder; [`NodeWriter::finish`] writes
/// `node.json` last and moves the folder into place. Dropped unfinished, it removes its folder.
#[derive(Debug)]
pub struct NodeWriter {
    dir: PathBuf,
    final_dir: PathBuf,
    artifacts: BTreeMap<String, ArtifactRecord>,
}

impl Drop for NodeWriter {
    fn drop(&mut self) {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).ok();
        }
    }
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

    /// The folder the node is being written into (temporary until [`NodeWriter::finish`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `node.json` (with the artifact hashes filled in) and moves the folder into
    /// place: the node is now done. When another process finished the same node first, its
    /// copy stays and this one is dropped; an incomplete folder in the way (a job's logs, a
    /// corrupt node) is replaced, its `logs/` carried over.
    pub fn finish(mut self, mut record: NodeRecord) -> Result<NodeRecord> {
        record.artifacts = std::mem::take(&mut self.artifacts);
        let bytes = serde_json::to_vec_pretty(&record)?;
        write_atomic(&self.dir.join("node.json"), &bytes)?;
        let store = Store { root: self.final_dir.parent().map(Path::to_path_buf).unwrap_or_default() };
        for _attempt in 0..8 {
            match std::fs::rename(&self.dir, &self.final_dir) {
                Ok(()) => return Ok(record),
                Err(_) if !self.final_dir.exists() => continue,
                Err(_) => {}
            }
            if let NodeState::Done(_) = store.state(&record.key) {
                // Another process completed it: its copy holds the same computation. Logs
                // this writer carried over go back.
                move_files(&self.dir.join(LOGS_DIR), &self.final_dir.join(LOGS_DIR))?;
                return Ok(record);
            }
            move_files(&self.final_dir.join(LOGS_DIR), &self.dir.join(LOGS_DIR))?;
            let n = WRITERS.fetch_add(1, Ordering::Relaxed);
            let name = self.final_dir.file_name().and_then(|n| n.to_str()).unwrap_or("node");
            let old =
                self.final_dir.with_file_name(format!(".{name}.old-{}-{}-{n}", host::hostname(), std::process::id()));
            if std::fs::rename(&self.final_dir, &old).is_ok() {
                // Another writer may have completed the folder (and put logs in it) between the
                // check above and the rename: its logs come along before it goes.
                move_files(&old.join(LOGS_DIR), &self.dir.join(LOGS_DIR))?;
                std::fs::remove_dir_all(&old).ok();
            }
        }
        bail!("could not move {} into place at {}", self.dir.display(), self.final_dir.display())
    }
}

/// Moves the files of folder `from` (if it exists) into folder `to`.
fn move_files(from: &Path, to: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in entries.flatten() {
        std::fs::rename(entry.path(), to.join(entry.file_name())).ok();
    }
    Ok(())
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

    #[test]
    fn racing_writers_leave_one_complete_node_and_keep_the_logs() {
        let dir = temp("race");
        let store = Store::new(&dir);
        let key = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        // A cluster job's log is already in the node's folder.
        std::fs::create_dir_all(store.logs_dir(key)).unwrap();
        std::fs::write(store.logs_dir(key).join("slurm-7.out"), b"log").unwrap();
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let (store, barrier) = (&store, &barrier);
                s.spawn(move || {
                    let mut w = store.writer(key).unwrap();
                    for part in 0..20u8 {
                        w.write(&format!("part{part}.bin"), &vec![t; 10_000]).unwrap();
                    }
                    barrier.wait();
                    w.finish(NodeRecord::new(key, "data", "data")).unwrap();
                });
            }
        });
        let NodeState::Done(record) = store.state(key) else { panic!("{:?}", store.state(key)) };
        assert_eq!(record.artifacts.len(), 20);
        // Every artifact comes from one writer.
        let first = store.read(key, "part0.bin").unwrap()[0];
        for part in 0..20 {
            assert!(store.read(key, &format!("part{part}.bin")).unwrap().iter().all(|&b| b == first));
        }
        assert_eq!(std::fs::read(store.logs_dir(key).join("slurm-7.out")).unwrap(), b"log");
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("nodes"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(leftovers, vec![key[..16].to_string()]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn an_unfinished_writer_leaves_nothing() {
        let dir = temp("drop");
        let store = Store::new(&dir);
        let key = "00000000000000aa00000000000000aa00000000000000aa00000000000000aa";
        {
            let mut w = store.writer(key).unwrap();
            w.write("x.bin", b"half").unwrap();
        }
        assert_eq!(store.state(key), NodeState::Missing);
        assert_eq!(std::fs::read_dir(dir.join("nodes")).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).ok();
    }
}
