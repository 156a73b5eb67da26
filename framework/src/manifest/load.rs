//! Reading a manifest: the TOML file merged with `TRUSTX_` environment overrides (figment),
//! then typed (serde) and validated against the plugin registries.
//!
//! Environment overrides use `__` between keys: `TRUSTX_EXPERIMENT__JOBS=1` sets
//! `[experiment] jobs`. Variables without `__` (such as `TRUSTX_LOG`) are not manifest keys.
//! Command-line `key=value` overrides come last ([`super::overrides`]); an error about an
//! overridden key names the variable or argument.

use super::error::{ManifestError, ManifestErrors};
use super::locate::SourceMap;
use super::overrides::{self, Override};
use super::schema::Manifest;
use super::validate::{Resolved, validate};
use std::path::Path;

pub use super::overrides::ENV_PREFIX;

/// Reads, types and validates the manifest at `path` with the environment's overrides.
pub fn load(path: &Path) -> Result<Resolved, ManifestErrors> {
    load_with(path, &[])
}

/// [`load`] with command-line `key=value` overrides on top of the environment's.
pub fn load_with(path: &Path, args: &[String]) -> Result<Resolved, ManifestErrors> {
    let all = all_overrides(path, args)?;
    let (manifest, source) = parse_with(path, &all)?;
    validate(path, manifest, &source).map_err(|e| overrides::attribute(e, &all))
}

/// The environment's overrides, then the command line's.
fn all_overrides(path: &Path, args: &[String]) -> Result<Vec<Override>, ManifestErrors> {
    let mut all = overrides::from_env();
    all.extend(overrides::from_args(args).map_err(|message| {
        ManifestErrors(vec![ManifestError { file: path.to_path_buf(), line: None, key: String::new(), message }])
    })?);
    Ok(all)
}

/// Reads and types the manifest at `path` without checking plugins or files.
pub fn parse(path: &Path) -> Result<(Manifest, SourceMap), ManifestErrors> {
    parse_with(path, &overrides::from_env())
}

/// [`parse`] with the given overrides.
fn parse_with(path: &Path, all: &[Override]) -> Result<(Manifest, SourceMap), ManifestErrors> {
    parse_inner(path, all).map_err(|e| overrides::attribute(e, all))
}

fn parse_inner(path: &Path, all: &[Override]) -> Result<(Manifest, SourceMap), ManifestErrors> {
    let fail = |line, key: &str, message: String| {
        ManifestErrors(vec![ManifestError { file: path.to_path_buf(), line, key: key.into(), message }])
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(None, "", format!("cannot read the manifest: {e}")))?;
    let source = SourceMap::new(&text);
    if let Err(e) = toml_edit::Document::parse(text.as_str()) {
        let line = e.span().map(|s| source.line_at(s.start));
        let message = e.message().trim().to_string();
        // A duplicate table names itself on its header line: report it as a key.
        let header = line
            .and_then(|l| text.lines().nth(l - 1))
            .map(str::trim)
            .filter(|l| l.starts_with('[') && message.contains("duplicate"))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        return Err(match header {
            Some(key) => {
                fail(line, &key, format!("`{key}` is defined twice; model, variant and table names must be unique"))
            }
            None => fail(line, "", format!("not valid TOML: {message}")),
        });
    }
    let value: serde_json::Value = overrides::figment(&text, all).extract().map_err(|e| {
        fail(None, &e.path.join("."), format!("{} (check the overrides {ENV_PREFIX}* and key=value)", e.kind))
    })?;
    let manifest: Manifest = serde_path_to_error::deserialize(&value).map_err(|e| {
        let mut key: Vec<String> = e
            .path()
            .iter()
            .map(|s| s.to_string().trim_start_matches('.').to_string())
            .filter(|s| !s.is_empty() && s != "?")
            .collect();
        let message = e.inner().to_string();
        for prefix in ["missing field `", "unknown field `"] {
            if let Some(rest) = message.strip_prefix(prefix)
                && let Some(end) = rest.find('`')
                && key.last().map(String::as_str) != Some(&rest[..end])
            {
                key.push(rest[..end].to_string());
            }
        }
        let key = normalise_key(&key);
        let line = source.line_of(&key);
        fail(
            line.or_else(|| source.line_of(&key[..key.len().saturating_sub(1)])),
            &key.join("."),
            explain_serde(&message),
        )
    })?;
    Ok((manifest, source))
}

/// serde_path_to_error writes sequence indices as `[i]`: split them into their own segments.
fn normalise_key(key: &[String]) -> Vec<String> {
    key.iter()
        .flat_map(|s| s.split(['[', ']', '.']).filter(|p| !p.is_empty()).map(String::from).collect::<Vec<_>>())
        .collect()
}

/// Adds what to do to serde's terse messages.
fn explain_serde(message: &str) -> String {
    let message = &crate::plugin::settings::plain_types(message);
    if message.starts_with("not a finite number") {
        message.to_string()
    } else if message.starts_with("unknown field") {
        format!("{message}; remove it or fix its spelling")
    } else if message.starts_with("missing field") {
        format!("{message}; this key is required")
    } else if message.starts_with("invalid type") {
        format!("{message}; fix the value's type")
    } else if message.starts_with("invalid value") {
        format!("{message}; fix the value")
    } else if message.contains("did not match any variant") {
        format!("{message}; write a name such as \"ece\" or a table such as {{ metric = \"ece\", bins = 15 }}")
    } else {
        message.to_string()
    }
}
