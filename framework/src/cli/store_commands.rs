//! The commands that look into (or tidy) a manifest's run without running a stage of it:
//! `validate`, `report`, `status`, `cancel`, `gc`, `init`, and `node run` (one node, as a
//! cluster job runs it).

use crate::commands::target::{ManifestArgs, results_line};
use crate::exec::Status;
use std::path::PathBuf;
use std::process::ExitCode;

/// `trustx validate`: the manifest's summary when it validates.
pub(super) fn validate(target: ManifestArgs) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    println!(
        "{}: valid ({} models, {} seeds, dataset loader `{}`)",
        target.manifest.display(),
        r.models.len(),
        r.manifest.experiment.seeds.len(),
        r.loader.info.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `trustx report`: the finished run's report rendered again from the store.
pub(super) fn report(target: ManifestArgs, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    for path in crate::commands::report::run(&r, out.as_deref())? {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `trustx status`: every node's state.
pub(super) fn status(target: ManifestArgs) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    let (text, _) = crate::commands::status::status(&r)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `trustx cancel`: the run's queued and running Slurm jobs cancelled.
pub(super) fn cancel(target: ManifestArgs) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    let jobs = crate::commands::status::cancel(&r)?;
    if jobs.is_empty() {
        println!("no job of {} is queued or running", r.results_dir.display());
    } else {
        println!("cancelled {} jobs: {}", jobs.len(), jobs.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

/// `trustx node run`: one node computed (or found in the store); exit 1 when it fails.
pub(super) fn node_run(args: &crate::commands::node::NodeRunArgs) -> anyhow::Result<ExitCode> {
    let report = crate::commands::node::run(args)?;
    match report.status {
        Status::Failed => {
            eprintln!("FAILED  {} {}", report.name, report.error.as_deref().unwrap_or(""));
            Ok(ExitCode::from(1))
        }
        Status::Cached => {
            println!("cached  {} (already in the store)", report.name);
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            println!(
                "ran     {:<40} {:>8.2} s  ({})",
                report.name,
                report.seconds,
                report.reason.as_deref().unwrap_or("")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `trustx init`: a starter manifest written, and whether it validates as it is.
pub(super) fn init(model: Option<PathBuf>, dataset: Option<PathBuf>, out: PathBuf) -> anyhow::Result<ExitCode> {
    crate::commands::init::init(&crate::commands::init::InitOptions { model, dataset, out: out.clone() })?;
    println!("wrote {}", out.display());
    match crate::manifest::load(&out) {
        Ok(_) => println!("it validates; next: `trustx plan {0}`, then `trustx run {0}`", out.display()),
        Err(e) => println!("edit it where it says so, then `trustx validate {}`:\n{e}", out.display()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `trustx gc`: the store's node folders no node of the current plan uses, removed (or
/// listed with `dry_run`).
pub(super) fn gc(target: ManifestArgs, dry_run: bool) -> anyhow::Result<ExitCode> {
    let r = target.load()?;
    println!("{}", results_line(&r));
    let g = crate::commands::gc::gc(&r, dry_run)?;
    for p in &g.unused {
        println!("{} {}", if dry_run { "unused " } else { "removed" }, p.display());
    }
    println!(
        "{} {} unused node folders ({:.1} MB); {} kept",
        if dry_run { "would remove" } else { "removed" },
        g.unused.len(),
        g.bytes as f64 / 1e6,
        g.kept
    );
    Ok(ExitCode::SUCCESS)
}
