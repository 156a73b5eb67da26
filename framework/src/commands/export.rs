//! `trustx model export NODE_OR_MODEL --out DIR`: copies a trained model out of the store as
//! a Hugging Face folder (config.json, model.safetensors, tokenizer files) that
//! `transformers` and trustx load.
//!
//! With `--manifest`, NODE_OR_MODEL is a train or compress node (`train/bert@seed42`,
//! `compress/bert-int8@seed42`), a model or variant name
//! (with `--seed` when it was trained with several) or a key prefix. Without it,
//! NODE_OR_MODEL is the path of a train node's folder under `results/<experiment>/nodes/`.

use crate::manifest;
use crate::plan::{Stage, build};
use crate::stages::train::MODEL_DIR;
use crate::store::{NodeState, Store};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A model found in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The train or compress node's folder.
    pub dir: PathBuf,
    /// The dataset's label names (from the node's data input), when known.
    pub label_names: Option<Vec<String>>,
}

/// Finds the train node folder `selector` names.
pub fn locate(selector: &str, manifest_file: Option<&Path>, seed: Option<u64>) -> Result<Located> {
    let Some(file) = manifest_file else {
        let dir = PathBuf::from(selector);
        if dir.join(MODEL_DIR).join("config.json").is_file() {
            return Ok(Located { dir, label_names: None });
        }
        bail!(
            "{selector} is not a train node's folder (no {MODEL_DIR}/config.json in it); give the manifest with --manifest to name a model or node"
        );
    };
    let r = manifest::load(file)?;
    let plan = build(&r)?;
    let store = Store::new(&r.results_dir);
    let mut hits: Vec<_> = plan
        .nodes
        .iter()
        .filter(|n| matches!(n.stage, Stage::Train | Stage::Compress))
        .filter(|n| {
            let model = n.name.split_once('/').map_or("", |(_, rest)| rest).split('@').next().unwrap_or("");
            n.name == selector || model == selector || (selector.len() >= 4 && n.key.starts_with(selector))
        })
        .filter(|n| seed.is_none() || n.seed == seed)
        .collect();
    if hits.is_empty() {
        let names: Vec<&str> = plan
            .nodes
            .iter()
            .filter(|n| matches!(n.stage, Stage::Train | Stage::Compress))
            .map(|n| n.name.as_str())
            .collect();
        bail!(
            "`{selector}` names no trained model of {}; its train nodes: {}",
            file.display(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        );
    }
    // A fine-tuned variant: its train node holds the final model, not its compress node.
    if hits.iter().any(|n| n.stage == Stage::Train) && hits.iter().all(|n| n.name != selector) {
        hits.retain(|n| n.stage == Stage::Train);
    }
    if hits.len() > 1 {
        let names: Vec<&str> = hits.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "`{selector}` names {} trained models ({}); add --seed or give the node name",
            hits.len(),
            names.join(", ")
        );
    }
    let node = hits.remove(0);
    match store.state(&node.key) {
        NodeState::Done(_) => {
            let data = &plan.nodes[node.inputs[0]];
            let meta = crate::stages::data::read_meta(&store, &data.key).ok();
            Ok(Located { dir: store.dir(&node.key), label_names: meta.map(|m| m.label_names) })
        }
        NodeState::Missing => {
            bail!("{} has not been trained yet; run `trustx run {}` first", node.name, file.display())
        }
        NodeState::Corrupt(why) => {
            bail!("{} is corrupt in the store ({why}); run `trustx run {}` to redo it", node.name, file.display())
        }
    }
}

/// Copies the model of the train node folder `located.dir` to `out` (which must not exist
/// or be empty), through a temporary folder renamed into place. A folder an older trustx
/// saved with the names `LABEL_0 …` gets the dataset's label names in `id2label` /
/// `label2id` (it was trained on the dataset's class order).
pub fn export(located: &Located, out: &Path) -> Result<()> {
    let src = located.dir.join(MODEL_DIR);
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty; choose another --out or remove it", out.display());
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("export"),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let copy = || -> Result<()> {
        for entry in std::fs::read_dir(&src).with_context(|| format!("reading {}", src.display()))? {
            let entry = entry?;
            if entry.path().is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
                std::fs::copy(entry.path(), tmp.join(entry.file_name()))
                    .with_context(|| format!("copying {}", entry.path().display()))?;
            }
        }
        if let Some(names) = &located.label_names {
            name_default_labels(&tmp.join("config.json"), names)?;
        }
        if out.exists() {
            std::fs::remove_dir(out).with_context(|| format!("replacing the empty folder {}", out.display()))?;
        }
        std::fs::rename(&tmp, out).with_context(|| format!("moving the export to {}", out.display()))
    };
    let result = copy();
    if result.is_err() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    result
}

/// Rewrites `id2label`/`label2id` of a trustx-written `config.json` whose names are the
/// defaults `LABEL_0 …` with `names` (same count); leaves any other config alone.
fn name_default_labels(config: &Path, names: &[String]) -> Result<()> {
    let bytes = std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", config.display()))?;
    let parsed = crate::model::HfConfig::from_json_str(&String::from_utf8_lossy(&bytes))?;
    let defaults = crate::model::config::default_label_names(names.len());
    if json.get("trustx_version").is_none() || parsed.label_names != defaults {
        return Ok(());
    }
    json["id2label"] = names.iter().enumerate().map(|(i, l)| (i.to_string(), serde_json::json!(l))).collect();
    json["label2id"] = names.iter().enumerate().map(|(i, l)| (l.clone(), serde_json::json!(i))).collect();
    std::fs::write(config, serde_json::to_vec_pretty(&json)?).with_context(|| format!("writing {}", config.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_of_a_trustx_folder_become_the_datasets() {
        let dir = std::env::temp_dir().join(format!("trustx-export-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.json");
        let names = vec!["negative".to_string(), "positive".to_string()];
        let base = r#"{"model_type": "bert", "trustx_version": "0.1.0", "id2label": {"0": "LABEL_0", "1": "LABEL_1"}}"#;
        std::fs::write(&config, base).unwrap();
        name_default_labels(&config, &names).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        assert_eq!(v["id2label"]["1"], "positive");
        assert_eq!(v["label2id"]["negative"], 0);
        // Not trustx's, or already named: untouched.
        for other in [base.replace(r#""trustx_version": "0.1.0", "#, ""), base.replace("LABEL_1", "good")] {
            std::fs::write(&config, &other).unwrap();
            name_default_labels(&config, &names).unwrap();
            assert_eq!(std::fs::read_to_string(&config).unwrap(), other);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
