//! `trustx show`: the verdict of a manifest's last run, or with `--compare` its tests beside
//! another run's (a manifest, a results folder or a saved `verdict.json`).

use crate::commands::compare::{self, OtherVerdict};
use crate::commands::target::ManifestArgs;
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints the verdict of `target`'s last run (as JSON with `json`), compared with `other`.
pub(super) fn show(target: ManifestArgs, json: bool, other: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    let v = crate::commands::show::read(&r.results_dir)?;
    let Some(other) = other else {
        if json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_lines(&crate::commands::show::table(&v));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let (b_name, b) = match OtherVerdict::classify(&other)? {
        OtherVerdict::File(p) => (p.display().to_string(), compare::read_file(&p)?),
        OtherVerdict::Folder(d) => (d.display().to_string(), compare::read_folder(&d)?),
        OtherVerdict::Manifest(m) => {
            let o = ManifestArgs { manifest: m, overrides: Vec::new(), results: None }.load()?;
            (o.results_dir.display().to_string(), crate::commands::show::read(&o.results_dir)?)
        }
    };
    let c = compare::compare(&r.results_dir.display().to_string(), &v, &b_name, &b);
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print_lines(&compare::table(&c));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a table line by line, each made printable (no terminal control characters).
fn print_lines(table: &str) {
    for line in table.lines() {
        println!("{}", crate::snippet::printable(line));
    }
}
