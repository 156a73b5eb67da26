//! `trustx show MANIFEST [--json]`: the verdict of a manifest's last run, read from
//! `results/<experiment>/verdict.json` without running anything; and the `--fail-on` gate of
//! `trustx run`, which exits 3 when a compared model gets a verdict a CI pipeline should stop on.

use crate::report::stored::VERDICT_FILE;
use crate::report::verdict::{Status, Verdict};
use anyhow::{Context, Result};
use std::fmt::Write;
use std::path::Path;

/// The exit code of `trustx run --fail-on` when a model's verdict trips it.
pub const FAIL_ON_EXIT: u8 = 3;

/// Reads the verdict of the last run in `results_dir`.
pub fn read(results_dir: &Path) -> Result<Verdict> {
    let path = results_dir.join(VERDICT_FILE);
    if !path.is_file() {
        anyhow::bail!("no verdict at {}: run the manifest first (`trustx run`), or its report failed", path.display());
    }
    read_file(&path)
}

/// Reads a verdict file trustx wrote (`verdict.json`, or a saved copy of one).
pub fn read_file(path: &Path) -> Result<Verdict> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a verdict trustx wrote", path.display()))
}

/// The verdict as a table: the answer, then each model's verdict and every test.
pub fn table(v: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", v.answer);
    let rule = match v.rules.rule {
        crate::manifest::schema::VerdictRule::Interval => {
            format!(
                "interval rule: equivalence tests on {:.0}% intervals (α = {})",
                (1.0 - 2.0 * v.rules.alpha) * 100.0,
                v.rules.alpha
            )
        }
        crate::manifest::schema::VerdictRule::Point => "point rule (the paper's)".to_string(),
    };
    let _ = writeln!(out, "reference {}; {rule}", v.reference);
    for m in &v.models {
        let _ = writeln!(out, "\n{}: {}", m.model, m.label);
        let _ = writeln!(out, "  {:<40} {:>9} {:>21} {:>12}  outcome", "test", "value", "interval", "margin");
        for t in &m.tests {
            let value = t.value.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
            let ci = t.ci.map(|(lo, hi)| format!("[{lo:.4}, {hi:.4}]")).unwrap_or_default();
            let margin = format!("{} {}", t.comparison.symbol(), t.threshold);
            let _ = writeln!(out, "  {:<40} {value:>9} {ci:>21} {margin:>12}  {}", t.name, t.label);
        }
        let _ = writeln!(out, "  {}", m.explanation);
    }
    out
}

/// What `--fail-on` stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A model is shown *not* trust-equivalent (a test is different / failed).
    NotEquivalent,
    /// A model is not shown trust-equivalent (different, inconclusive or not run).
    NotEstablished,
}

/// The models whose verdict trips `fail_on`.
pub fn tripped(v: &Verdict, fail_on: FailOn) -> Vec<String> {
    v.models
        .iter()
        .filter(|m| match fail_on {
            FailOn::NotEquivalent => m.status == Status::NotTrustEquivalent,
            FailOn::NotEstablished => m.status != Status::TrustEquivalent,
        })
        .map(|m| format!("{} ({})", m.model, m.label))
        .collect()
}
