//! Parsing a plugin's settings table into its typed struct, with the key path of any error.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A settings error: the key path inside the plugin's table (empty for the table itself)
/// and what is wrong. The manifest loader prefixes the section path and finds the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// Key path below the plugin's table, e.g. `["columns", "text"]`.
    pub path: Vec<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl SettingsError {
    /// An error about one key of the settings table.
    pub fn at(key: &str, message: impl Into<String>) -> Self {
        SettingsError { path: vec![key.to_string()], message: message.into() }
    }
}

/// Deserializes settings into `S`; an unknown key, a wrong type or a missing key becomes a
/// [`SettingsError`] naming the key.
pub fn parse_settings<S: DeserializeOwned>(value: &Value) -> Result<S, SettingsError> {
    serde_path_to_error::deserialize::<_, S>(value).map_err(|e| {
        let mut path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let inner = plain_types(&e.into_inner().to_string());
        // serde names a missing field in the message but not in the path: put it there.
        for prefix in ["unknown field `", "missing field `"] {
            if let Some(rest) = inner.strip_prefix(prefix)
                && let Some(end) = rest.find('`')
                && path.last().map(String::as_str) != Some(&rest[..end])
            {
                path.push(rest[..end].to_string());
            }
        }
        SettingsError { path, message: inner }
    })
}

/// serde's message with Rust's type names said in words (`expected usize` → `expected a whole
/// number, 0 or more`) and a `null` explained: TOML's `nan` and `inf` reach serde as `null`,
/// so "invalid type: null, expected f64" means a value that is not a finite number.
pub fn plain_types(message: &str) -> String {
    if message.starts_with("invalid type: null") || message.starts_with("invalid type: unit") {
        let expected =
            message.split_once("expected ").map(|(_, e)| plain_types_in(&format!("expected {e}"))).unwrap_or_default();
        return format!(
            "not a finite number (nan and inf are not accepted){}",
            if expected.is_empty() { String::new() } else { format!("; {expected}") }
        );
    }
    plain_types_in(message)
}

fn plain_types_in(message: &str) -> String {
    const WORDS: [(&str, &str); 12] = [
        ("a nonzero usize", "a whole number of at least 1"),
        ("a nonzero u64", "a whole number of at least 1"),
        ("a nonzero u32", "a whole number of at least 1"),
        ("usize", "a whole number, 0 or more"),
        ("u64", "a whole number, 0 or more"),
        ("u32", "a whole number, 0 or more"),
        ("u16", "a whole number, 0 or more"),
        ("u8", "a whole number, 0 or more"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    let mut out = message.to_string();
    for (rust, words) in WORDS {
        for lead in ["expected ", "expected a value of type "] {
            let from = format!("{lead}{rust}");
            if let Some(at) = out.find(&from) {
                let end = at + from.len();
                // Only a whole word: `u8` must not match the start of `u80`.
                if out[end..].chars().next().is_none_or(|c| !c.is_alphanumeric()) {
                    out.replace_range(at..end, &format!("expected {words}"));
                }
            }
        }
    }
    out
}

/// Parses settings into `S` and serializes them back: the resolved config, defaults filled.
pub fn resolve_settings<S: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, SettingsError> {
    let parsed: S = parse_settings(value)?;
    serde_json::to_value(parsed).map_err(|e| SettingsError { path: vec![], message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        path: String,
        #[serde(default = "ten")]
        k: usize,
    }
    fn ten() -> usize {
        10
    }

    #[test]
    fn rust_type_names_become_words() {
        assert_eq!(
            plain_types("invalid value: integer `0`, expected a nonzero usize"),
            "invalid value: integer `0`, expected a whole number of at least 1"
        );
        assert_eq!(
            plain_types("invalid type: string \"a\", expected f64"),
            "invalid type: string \"a\", expected a number"
        );
        assert_eq!(
            plain_types("invalid type: null, expected f64"),
            "not a finite number (nan and inf are not accepted); expected a number"
        );
        assert_eq!(plain_types("expected u80x"), "expected u80x");
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse_settings::<Demo>(&serde_json::json!({"path": "a", "kk": 1})).unwrap_err();
        assert_eq!(e.path, vec!["kk"]);
        let e = parse_settings::<Demo>(&serde_json::json!({"path": "a", "k": "x"})).unwrap_err();
        assert_eq!(e.path, vec!["k"]);
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let e = parse_settings::<Demo>(&serde_json::json!({})).unwrap_err();
        assert_eq!(e.path, vec!["path"]);
    }

    #[test]
    fn resolve_fills_defaults() {
        let v = resolve_settings::<Demo>(&serde_json::json!({"path": "a"})).unwrap();
        assert_eq!(v, serde_json::json!({"path": "a", "k": 10}));
    }
}
