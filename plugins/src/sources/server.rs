//! The `server` model source: a model that another process serves over the trustx
//! serving protocol (JSON lines over its stdin and stdout; see
//! [`trustx_framework::served::protocol`] and the README), so that any model in any
//! framework can be predicted, calibrated and explained by every black-box explainer.
//!
//! ```toml
//! [models.roberta]
//! source = "server"
//! command = ["python3", "../scripts/serve_transformers.py", "--model", "models/roberta-sst2"]
//! inputs = ["../scripts/serve_transformers.py", "models/roberta-sst2"]
//! # env = { OMP_NUM_THREADS = "1" }
//! # cwd = "."                 # default: the manifest's folder
//! # max_batch = 64            # inputs per request (the server's own max_batch may lower it)
//! # timeout_s = 60            # longest wait for one answer
//! # startup_timeout_s = 300   # longest wait for the handshake (the server loads its model)
//! ```
//!
//! **Definition.** Every predict and explain node that needs the model starts the server
//! once (argv, no shell, in `cwd` with `env` added), sends the handshake `{"trustx": 1}`,
//! checks that the answer's `labels` are the dataset's label names in order, sends requests
//! of at most `max_batch` inputs with up to two in flight, checks every answer (one row per
//! input, one probability per label, finite, non-negative, summing to 1 within 1e-4), and
//! closes the server's stdin at the end (killing it if it has not exited 3 s later).
//! Any failure — the server does not start, exits, answers malformed JSON, wrong row or
//! class counts, NaN, negative or non-normalised rows, other labels, or nothing within
//! `timeout_s` — is an error naming the model, the command, what happened and the last
//! lines of the server's stderr.
//!
//! **The key.** The settings (so the command itself) and the blake3 of every file under
//! `inputs` (a folder: each file in it, by relative path) enter the predict node's key and,
//! through it, every node downstream: list the server script and the model's files there,
//! so that changing them reruns what depends on them. The model is not seeded (a server is
//! assumed deterministic); its explanations are seeded like any model's.

use anyhow::{Context, Result, anyhow};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trustx_framework::explain::Classifier;
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::model_source::{Explainability, ModelSource, ModelSourceEntry, PredictRequest};
use trustx_framework::predictions::Predictions;
use trustx_framework::served::process::Launch;
use trustx_framework::served::{MAX_IN_FLIGHT, ServedModel, ServerSpec};

/// Settings of the `server` source: the keys of `[models.NAME]` besides `source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// The server's argv: the program, then its arguments (no shell). A program given as a
    /// relative path with a `/` resolves against the manifest's folder; one without `/` is
    /// looked up on PATH.
    pub command: Vec<String>,
    /// Environment variables added to trustx's own for the server.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The server's working directory (relative to the manifest's folder). Default: the
    /// manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Files or folders whose blake3 enters the node keys (relative to the manifest's
    /// folder): the server script and the model's files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Most inputs per request (the server's handshake `max_batch` may lower it).
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Seconds to wait for one answer.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Seconds to wait for the handshake (the server loads its model first).
    #[serde(default = "default_startup_timeout_s")]
    pub startup_timeout_s: f64,
}

fn default_max_batch() -> usize {
    64
}

fn default_timeout_s() -> f64 {
    60.0
}

fn default_startup_timeout_s() -> f64 {
    300.0
}

impl ServerSettings {
    /// How to start the server, paths resolved against `base_dir`.
    fn spec(&self, base_dir: &Path) -> ServerSpec {
        let mut command = self.command.clone();
        if let Some(program) = command.first_mut()
            && program.contains('/')
            && Path::new(program).is_relative()
        {
            *program = base_dir.join(&*program).to_string_lossy().into_owned();
        }
        ServerSpec {
            launch: Launch {
                command,
                env: self.env.clone(),
                cwd: self.cwd.as_ref().map_or_else(|| base_dir.to_path_buf(), |c| base_dir.join(c)),
            },
            max_batch: self.max_batch,
            timeout: Duration::from_secs_f64(self.timeout_s),
            startup_timeout: Duration::from_secs_f64(self.startup_timeout_s),
            in_flight: MAX_IN_FLIGHT,
        }
    }

    fn start(&self, request: &PredictRequest) -> Result<ServedModel> {
        let d = request.dataset;
        ServedModel::start(&self.spec(request.base_dir), &d.name, Some(&d.label_names))
    }
}

/// A model served by another process over the trustx serving protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSource;

impl ModelSource for ServerSource {
    type Settings = ServerSettings;
    const NAME: &'static str = "server";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "A model served by another process over JSON lines (any framework): predicted and explained as a black box";

    fn seeded(_settings: &Self::Settings) -> bool {
        false
    }

    fn validate(settings: &Self::Settings, base_dir: &Path, _seeds: &[u64]) -> Result<(), SettingsError> {
        match settings.command.first() {
            None => {
                return Err(SettingsError::at(
                    "command",
                    "is empty; give the server's argv, e.g. [\"python3\", \"serve.py\", \"--model\", \"DIR\"]",
                ));
            }
            Some(p) if p.trim().is_empty() => return Err(SettingsError::at("command", "names an empty program")),
            Some(p) if p.contains('/') && !base_dir.join(p).is_file() => {
                return Err(SettingsError::at(
                    "command",
                    format!(
                        "the program {} is not a file (a relative path resolves against the manifest's folder)",
                        base_dir.join(p).display()
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some(cwd) = &settings.cwd
            && !base_dir.join(cwd).is_dir()
        {
            return Err(SettingsError::at("cwd", format!("{} is not a folder", base_dir.join(cwd).display())));
        }
        if let Some(missing) = settings.inputs.iter().find(|i| !base_dir.join(i).exists()) {
            return Err(SettingsError::at(
                "inputs",
                format!(
                    "{} does not exist (a relative path resolves against the manifest's folder)",
                    base_dir.join(missing).display()
                ),
            ));
        }
        if settings.max_batch == 0 {
            return Err(SettingsError::at("max_batch", "must be at least 1"));
        }
        for (key, value) in [("timeout_s", settings.timeout_s), ("startup_timeout_s", settings.startup_timeout_s)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SettingsError::at(key, format!("is {value}; give a positive number of seconds")));
            }
        }
        Ok(())
    }

    fn fingerprint(settings: &Self::Settings, base_dir: &Path, _seed: Option<u64>) -> Result<Value> {
        let inputs = settings
            .inputs
            .iter()
            .map(|i| Ok(json!({"path": i, "blake3": tree_hash(&base_dir.join(i))?})))
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({"inputs": inputs}))
    }

    fn predict(settings: &Self::Settings, request: &PredictRequest) -> Result<Predictions> {
        let model = settings.start(request)?;
        let examples = &request.dataset.eval.examples;
        let inputs: Vec<Vec<String>> = examples.iter().map(|e| e.segments.clone()).collect();
        let rows = model.predict(&inputs).context("predicting the eval split")?;
        Ok(Predictions {
            ids: examples.iter().map(|e| e.id.clone()).collect(),
            labels: examples.iter().map(|e| e.label).collect(),
            num_classes: request.dataset.label_names.len(),
            probs: rows.into_iter().flatten().collect(),
        })
    }

    fn explainability(_settings: &Self::Settings) -> Explainability {
        Explainability::BlackBox
    }

    fn classifier(settings: &Self::Settings, request: &PredictRequest) -> Result<Box<dyn Classifier>> {
        Ok(Box::new(settings.start(request)?))
    }
}

inventory::submit! { ModelSourceEntry::of::<ServerSource>() }

/// blake3 of a file, or of a folder's files (each relative path and content, in sorted
/// order), as hex.
fn tree_hash(path: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    let mut h = blake3::Hasher::new();
    for (relative, full) in &files {
        let bytes = std::fs::read(full).with_context(|| format!("reading {} to fingerprint it", full.display()))?;
        h.update(relative.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().to_hex().to_string())
}

fn collect_files(root: &Path, path: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.is_file() {
        let relative = path.strip_prefix(root).map_err(|e| anyhow!("{e}"))?.to_string_lossy().into_owned();
        out.push((relative, path.to_path_buf()));
    } else if meta.is_dir() {
        for entry in std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
            collect_files(root, &entry?.path(), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(v: Value) -> ServerSettings {
        serde_json::from_value(v).unwrap()
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("trustx-server-source-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sources_server_validates_command_cwd_inputs_and_numbers() {
        let dir = temp("validate");
        std::fs::write(dir.join("serve.py"), "print()").unwrap();
        let ok = settings(json!({"command": ["python3", "serve.py"], "inputs": ["serve.py"]}));
        assert!(ServerSource::validate(&ok, &dir, &[]).is_ok());
        for (bad, key, wanted) in [
            (json!({"command": []}), "command", "is empty"),
            (json!({"command": ["./nope"]}), "command", "nope is not a file"),
            (json!({"command": ["python3"], "cwd": "nowhere"}), "cwd", "is not a folder"),
            (json!({"command": ["python3"], "inputs": ["model.bin"]}), "inputs", "model.bin does not exist"),
            (json!({"command": ["python3"], "max_batch": 0}), "max_batch", "at least 1"),
            (json!({"command": ["python3"], "timeout_s": 0.0}), "timeout_s", "positive number"),
        ] {
            let e = ServerSource::validate(&settings(bad), &dir, &[]).unwrap_err();
            assert_eq!(e.path, [key]);
            assert!(e.message.contains(wanted), "{}", e.message);
        }
        let entry = ModelSourceEntry::find("server").expect("registered");
        let resolved = (entry.info.resolve)(&json!({"command": ["x"]})).unwrap();
        assert_eq!(resolved, json!({"command": ["x"], "max_batch": 64, "timeout_s": 60.0, "startup_timeout_s": 300.0}));
        assert!((entry.info.resolve)(&json!({"command": ["x"], "timeout": 3})).is_err());
        assert_eq!((entry.explainability)(&resolved).unwrap(), Explainability::BlackBox);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sources_server_fingerprint_follows_input_files_and_folders() {
        let dir = temp("fingerprint");
        std::fs::create_dir_all(dir.join("model/sub")).unwrap();
        std::fs::write(dir.join("model/a.json"), "1").unwrap();
        std::fs::write(dir.join("model/sub/b.bin"), "2").unwrap();
        let s = settings(json!({"command": ["x"], "inputs": ["model"]}));
        let f1 = ServerSource::fingerprint(&s, &dir, None).unwrap();
        assert_eq!(f1, ServerSource::fingerprint(&s, &dir, None).unwrap());
        std::fs::write(dir.join("model/sub/b.bin"), "3").unwrap();
        assert_ne!(f1, ServerSource::fingerprint(&s, &dir, None).unwrap());
        let none = settings(json!({"command": ["x"]}));
        assert_eq!(ServerSource::fingerprint(&none, &dir, None).unwrap(), json!({"inputs": []}));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sources_server_relative_program_resolves_against_the_manifest() {
        let s = settings(json!({"command": ["./bin/serve", "--x"], "cwd": "work"}));
        let spec = s.spec(Path::new("/m"));
        assert_eq!(spec.launch.command, ["/m/./bin/serve", "--x"]);
        assert_eq!(spec.launch.cwd, Path::new("/m/work"));
        let s = settings(json!({"command": ["python3", "a.py"]}));
        assert_eq!(s.spec(Path::new("/m")).launch.command, ["python3", "a.py"]);
        assert_eq!(s.spec(Path::new("/m")).launch.cwd, Path::new("/m"));
    }
}
