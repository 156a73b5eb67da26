//! The report's minijinja templates: the built-in ones (in this crate's `templates/`) and a
//! manifest's override folder (`[report] templates`), plus their fingerprint, which the
//! plan puts in the report node's key so an edited template re-renders the report.

use anyhow::{Context, Result};
use std::path::Path;

/// The built-in templates, by file name.
pub const BUILTIN_TEMPLATES: [(&str, &str); 2] = [
    ("report.html.j2", include_str!("../templates/report.html.j2")),
    ("report.md.j2", include_str!("../templates/report.md.j2")),
];

/// The templates in use: the built-in ones, each replaced by a file of the same name in
/// `dir` when given.
pub fn templates(dir: Option<&Path>) -> Result<Vec<(String, String)>> {
    BUILTIN_TEMPLATES
        .iter()
        .map(|(name, builtin)| {
            let custom = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            match custom {
                Some(p) => Ok((
                    name.to_string(),
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?,
                )),
                None => Ok((name.to_string(), builtin.to_string())),
            }
        })
        .collect()
}

/// blake3 (hex) of the templates in use (names and texts).
pub fn fingerprint(dir: Option<&Path>) -> Result<String> {
    let mut h = blake3::Hasher::new();
    for (name, text) in templates(dir)? {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}
