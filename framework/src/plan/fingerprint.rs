//! Fingerprints of the files a node's key covers: a file's blake3, a checkpoint folder's
//! defining files, a vocabulary. The plan hashes them when it builds the keys, so an
//! edited file reruns exactly the nodes that read it.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::Path;

/// blake3 (hex) of a file's bytes.
pub fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// The files of a checkpoint folder that define a model: config, weights, tokenizer.
const CHECKPOINT_FILES: [&str; 7] = [
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
];

/// blake3 of every defining file of a checkpoint folder (absent files are left out), so
/// that a changed checkpoint reruns what depends on it.
pub fn checkpoint_fingerprint(dir: &Path) -> Result<Value> {
    let mut files = serde_json::Map::new();
    for name in CHECKPOINT_FILES {
        let p = dir.join(name);
        if p.is_file() {
            files.insert(name.into(), Value::String(file_hash(&p)?));
        }
    }
    if !files.contains_key("model.safetensors") && !files.contains_key("pytorch_model.bin") {
        bail!("{} holds neither model.safetensors nor pytorch_model.bin", dir.display());
    }
    Ok(Value::Object(files))
}

/// blake3 of a file or of a folder's vocabulary files (for `architecture.vocab`).
pub fn vocab_fingerprint(path: &Path) -> Result<Value> {
    if path.is_file() {
        return Ok(json!({ "file": file_hash(path)? }));
    }
    let mut files = serde_json::Map::new();
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"] {
        let p = path.join(name);
        if p.is_file() {
            files.insert(name.into(), Value::String(file_hash(&p)?));
        }
    }
    if files.is_empty() {
        bail!("{} holds neither vocab.txt nor tokenizer.json", path.display());
    }
    Ok(Value::Object(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_fingerprint_needs_weights() {
        let dir = std::env::temp_dir().join(format!("trustx-neural-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        assert!(checkpoint_fingerprint(&dir).unwrap_err().to_string().contains("model.safetensors"));
        std::fs::write(dir.join("model.safetensors"), "x").unwrap();
        let fp = checkpoint_fingerprint(&dir).unwrap();
        assert!(fp.get("config.json").is_some() && fp.get("model.safetensors").is_some());
        std::fs::remove_dir_all(&dir).ok();
    }
}
