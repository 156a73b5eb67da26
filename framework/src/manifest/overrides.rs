//! Overrides of manifest keys from outside the file: `TRUSTX_` environment variables
//! (`TRUSTX_CALIBRATION__BINS=15`, `__` between keys) and `key=value` arguments on the
//! command line (`trustx run m.toml alignment.k=5`). Both go through the same figment layer
//! on top of the TOML file (the command line last, so it wins), with values parsed as
//! figment parses environment values (`5` a number, `[5, 10]` a list, `abc` a string).
//!
//! Each override remembers where it came from, so an error about an overridden key names
//! the variable or the argument, not a line of the manifest that did not set the value.

use super::error::ManifestErrors;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "TRUSTX_";

/// Where an override came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable, by name.
    Env(String),
    /// A `key=value` argument of the command line.
    CommandLine,
}

/// One key set from outside the manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Where it came from.
    pub origin: Origin,
    /// The key path, e.g. `["calibration", "bins"]`.
    pub key: Vec<String>,
    /// The value as written.
    pub value: String,
}

impl Override {
    /// `environment variable TRUSTX_CALIBRATION__BINS="abc"` or `command-line override
    /// calibration.bins=abc`.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Env(var) => format!("environment variable {var}={:?}", self.value),
            Origin::CommandLine => format!("command-line override {}={}", self.key.join("."), self.value),
        }
    }
}

/// The `TRUSTX_*` variables with `__` in their name (others, such as `TRUSTX_LOG`, are not
/// manifest keys), sorted by name. Keys are lower-cased, as figment's `Env` does.
pub fn from_env() -> Vec<Override> {
    let mut out: Vec<Override> = std::env::vars()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            rest.contains("__").then(|| Override {
                key: rest.split("__").map(str::to_ascii_lowercase).collect(),
                origin: Origin::Env(name.clone()),
                value,
            })
        })
        .collect();
    out.sort_by_key(Override::describe);
    out
}

/// Parses `key=value` command-line arguments (`alignment.k=5`).
pub fn from_args(args: &[String]) -> Result<Vec<Override>, String> {
    args.iter()
        .map(|a| {
            let (key, value) =
                a.split_once('=').ok_or_else(|| format!("`{a}`: an override is `key=value`, e.g. `alignment.k=5`"))?;
            let key: Vec<String> = key.trim().split('.').map(|k| k.trim().to_string()).collect();
            if key.iter().any(String::is_empty) {
                return Err(format!("`{a}`: the key is a dotted path such as `calibration.bins`"));
            }
            Ok(Override { origin: Origin::CommandLine, key, value: value.to_string() })
        })
        .collect()
}

/// The manifest text with the overrides merged on top, in order.
pub fn figment(text: &str, overrides: &[Override]) -> Figment {
    let overrides = match_names(text, overrides);
    overrides.iter().fold(Figment::from(Toml::string(text)), |f, o| {
        let value: Value = o.value.parse().unwrap_or_else(|_| Value::from(o.value.as_str()));
        f.merge(Serialized::default(&o.key.join("."), value))
    })
}

/// Environment variable names cannot hold `-` (bash refuses `TRUSTX_MODELS__MINILM-INT8__…`),
/// so an environment override's key segment that names no key of the manifest is matched to
/// the one key whose name, with `-` and `.` read as `_`, is the same:
/// `TRUSTX_MODELS__MINILM_INT8__MAX_LEN` sets `[models.minilm-int8] max_len`.
pub fn match_names(text: &str, overrides: &[Override]) -> Vec<Override> {
    let Ok(table) = text.parse::<toml::Table>() else { return overrides.to_vec() };
    let plain = |k: &str| k.to_ascii_lowercase().replace(['-', '.'], "_");
    overrides
        .iter()
        .map(|o| {
            if o.origin == Origin::CommandLine {
                return o.clone();
            }
            let mut o = o.clone();
            let mut at = Some(&table);
            for segment in o.key.iter_mut() {
                let Some(here) = at else { break };
                if !here.contains_key(segment.as_str()) {
                    let hits: Vec<&String> = here.keys().filter(|k| plain(k) == plain(segment)).collect();
                    if let [one] = hits.as_slice() {
                        *segment = (*one).clone();
                    }
                }
                at = here.get(segment.as_str()).and_then(toml::Value::as_table);
            }
            o
        })
        .collect()
}

/// The last override that set `key` or a key around or inside it.
pub fn find<'a>(overrides: &'a [Override], key: &str) -> Option<&'a Override> {
    let key: Vec<&str> = key.split('.').filter(|k| !k.is_empty()).collect();
    if key.is_empty() {
        return None;
    }
    overrides.iter().rev().find(|o| {
        let n = o.key.len().min(key.len());
        // Environment keys are matched as [`match_names`] merged them (`_` for `-`).
        let same = |a: &str, b: &str| match o.origin {
            Origin::Env(_) => a.replace(['-', '.'], "_").eq_ignore_ascii_case(&b.replace(['-', '.'], "_")),
            Origin::CommandLine => a == b,
        };
        o.key[..n].iter().zip(&key[..n]).all(|(a, b)| same(a, b))
    })
}

/// Points the errors about overridden keys at the override: no manifest line, and the
/// variable or argument named first in the message.
pub fn attribute(mut errors: ManifestErrors, overrides: &[Override]) -> ManifestErrors {
    for e in &mut errors.0 {
        if let Some(o) = find(overrides, &e.key) {
            e.line = None;
            let fix = match o.origin {
                Origin::Env(_) => "unset the variable or fix its name",
                Origin::CommandLine => "drop the argument or fix its key",
            };
            let message = e.message.replace("remove it or fix its spelling", fix);
            e.message = format!("set by the {}: {message}", o.describe());
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(a: &[&str]) -> Vec<Override> {
        from_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn command_line_overrides_merge_typed_values() {
        let f = figment(
            "[alignment]\nk = [10]\n[calibration]\nbins = 10\n",
            &cli(&["alignment.k=[5, 10]", "calibration.bins=15"]),
        );
        let v: serde_json::Value = f.extract().unwrap();
        assert_eq!(v["alignment"]["k"], serde_json::json!([5, 10]));
        assert_eq!(v["calibration"]["bins"], 15);
        let v: serde_json::Value = figment("", &cli(&["report.title=My audit"])).extract().unwrap();
        assert_eq!(v["report"]["title"], "My audit");
    }

    #[test]
    fn environment_names_with_underscores_find_dashed_keys() {
        let env = |name: &str, key: &[&str]| Override {
            origin: Origin::Env(name.into()),
            key: key.iter().map(|k| k.to_string()).collect(),
            value: "64".into(),
        };
        let text = "[models.minilm-int8]\nmax_len = 128\n[models.minilm_int8x]\nmax_len = 1\n";
        let o = env("TRUSTX_MODELS__MINILM_INT8__MAX_LEN", &["models", "minilm_int8", "max_len"]);
        let v: serde_json::Value = figment(text, &[o]).extract().unwrap();
        assert_eq!(v["models"]["minilm-int8"]["max_len"], 64);
        assert!(v["models"].get("minilm_int8").is_none());
    }

    #[test]
    fn bad_arguments_say_the_form() {
        assert!(from_args(&["alignment.k".into()]).unwrap_err().contains("key=value"));
        assert!(from_args(&["a..b=1".into()]).unwrap_err().contains("dotted path"));
    }

    #[test]
    fn errors_are_found_by_key_prefix() {
        let o = cli(&["calibration.bins=abc"]);
        assert!(find(&o, "calibration.bins").is_some());
        assert!(find(&o, "calibration").is_some());
        assert!(find(&o, "calibration.bootstrap").is_none());
        assert!(find(&o, "").is_none());
        assert_eq!(o[0].describe(), "command-line override calibration.bins=abc");
        let env = Override { origin: Origin::Env("TRUSTX_CALIBRATION__BINS".into()), key: vec![], value: "abc".into() };
        assert_eq!(env.describe(), "environment variable TRUSTX_CALIBRATION__BINS=\"abc\"");
    }
}
