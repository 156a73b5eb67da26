//! `trustx plugins [KIND]`: every registered plugin with its version, summary, what it
//! declares to the engine and its settings with types and defaults.

use crate::plugin::{self, PluginKind};
use std::process::ExitCode;

/// Prints the plugins of `kind` (all without one); an unknown kind exits 2.
pub(super) fn plugins(kind: Option<&str>) -> anyhow::Result<ExitCode> {
    let kind = match kind.map(|k| (k, PluginKind::parse(k))) {
        Some((name, None)) => {
            eprintln!(
                "error: unknown kind `{name}`; kinds: {}",
                PluginKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            );
            return Ok(ExitCode::from(2));
        }
        Some((_, k)) => k,
        None => None,
    };
    for p in plugin::all().into_iter().filter(|p| kind.is_none_or(|k| p.kind == k)) {
        println!("{} {} (v{}): {}", p.kind.as_str(), p.name, p.version, p.summary);
        if let Some(role) = plugin::declared_role(p) {
            println!("    ({role})");
        }
        for s in p.settings() {
            let default = match &s.default {
                Some(d) => format!(" = {d}"),
                None => " (required)".into(),
            };
            println!("    {}: {}{}  {}", s.key, s.ty, default, s.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
