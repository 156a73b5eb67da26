//! The command line: `trustx validate | plan | run | report | status | cancel | node run |
//! model inspect | model export | explain | bench | plugins | init | gc | completions`.
//!
//! Exit codes: 0 success; 1 a run finished with failed nodes, or another error; 2 the
//! manifest (or the command line) is wrong.

mod args;
mod bench_command;
mod closed_pipe;
mod plan_command;
mod run_command;

pub use args::*;

use crate::commands::target::{ManifestArgs, results_line};
use crate::exec::Status;
use crate::manifest::ManifestErrors;
use crate::plugin::{self, PluginKind};
use clap::Parser;
use std::process::ExitCode;

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    closed_pipe::exit_quietly_on_closed_stdout();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRUSTX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<ManifestErrors>() {
            Some(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
            None => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Model { action } => model_command(action),
        c @ Command::Bench { .. } => bench_command::bench(c),
        Command::Validate { target } => {
            let manifest = &target.manifest;
            let r = target.load()?;
            let seeds = r.manifest.experiment.seeds.len();
            println!(
                "{}: valid ({} models, {} seeds, dataset loader `{}`)",
                manifest.display(),
                r.models.len(),
                seeds,
                r.loader.info.name
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { target, out } => {
            let r = target.load()?;
            for path in crate::commands::report::run(&r, out.as_deref())? {
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { target, json, executor } => plan_command::plan(target, json, executor),
        Command::Status { target } => {
            let r = target.load()?;
            let (text, _) = crate::commands::status::status(&r)?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { target } => {
            let r = target.load()?;
            let jobs = crate::commands::status::cancel(&r)?;
            if jobs.is_empty() {
                println!("no job of {} is queued or running", r.results_dir.display());
            } else {
                println!("cancelled {} jobs: {}", jobs.len(), jobs.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Node { action: NodeCommand::Run { manifest, node, results_dir, expect_build, force } } => {
            let args = crate::commands::node::NodeRunArgs { manifest, node, results_dir, expect_build, force };
            let report = crate::commands::node::run(&args)?;
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
        Command::Show { target, json, compare: Some(other) } => {
            use crate::commands::compare::{self, OtherVerdict};
            let r = target.load()?;
            let v = crate::commands::show::read(&r.results_dir)?;
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
                for line in compare::table(&c).lines() {
                    println!("{}", crate::snippet::printable(line));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { target, json, compare: None } => {
            let r = target.load()?;
            let v = crate::commands::show::read(&r.results_dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for line in crate::commands::show::table(&v).lines() {
                    println!("{}", crate::snippet::printable(line));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        c @ Command::Run { .. } => run_command::run_command(c),
        Command::Explain(args) => crate::explain::command::run(&args),
        Command::Init { model, dataset, out } => {
            crate::commands::init::init(&crate::commands::init::InitOptions { model, dataset, out: out.clone() })?;
            println!("wrote {}", out.display());
            match crate::manifest::load(&out) {
                Ok(_) => println!("it validates; next: `trustx plan {0}`, then `trustx run {0}`", out.display()),
                Err(e) => println!("edit it where it says so, then `trustx validate {}`:\n{e}", out.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gc { target, dry_run } => {
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
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "trustx", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins { kind } => {
            let kind = match kind.as_deref().map(PluginKind::parse) {
                Some(None) => {
                    eprintln!(
                        "error: unknown kind `{}`; kinds: {}",
                        kind.unwrap_or_default(),
                        PluginKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    );
                    return Ok(ExitCode::from(2));
                }
                Some(k) => k,
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
    }
}

/// An unknown `--executor` value: exit 2.
fn bad_executor(e: &str) -> ExitCode {
    eprintln!("error: unknown executor `{e}`; executors: local, slurm");
    ExitCode::from(2)
}

fn model_command(action: ModelCommand) -> anyhow::Result<ExitCode> {
    use crate::commands::{export, inspect};
    match action {
        ModelCommand::Inspect {
            dir,
            text,
            pair,
            json,
            max_len,
            vocab_txt,
            allow_vocab_mismatch,
            head,
            encoder_only,
        } => {
            let opts = inspect::InspectOptions { max_len, vocab_txt, allow_vocab_mismatch, head, encoder_only };
            let result = inspect::inspect(&dir, &text, pair.as_deref(), &opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                // Texts and label names come from the user's files: control characters are
                // escaped, line by line.
                for line in inspect::render(&result).lines() {
                    println!("{}", crate::snippet::printable(line));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Quantize { dir, out, scheme, per_channel } => {
            use crate::model::quant::Granularity;
            let granularity = if per_channel { Granularity::PerChannel } else { Granularity::PerTensor };
            let q = crate::commands::quantize::quantize(&dir, &out, scheme.into(), granularity)?;
            println!(
                "quantised {} ({}, {}, {} Linear layers in int8) to {}: {:.1} MB → {:.1} MB",
                dir.display(),
                q.scheme.as_str(),
                q.granularity.as_str(),
                q.layers,
                out.display(),
                q.input_bytes as f64 / 1e6,
                q.output_bytes as f64 / 1e6
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Export { node_or_model, out, manifest, seed, results } => {
            let located = export::locate(&node_or_model, manifest.as_deref(), seed, results.as_deref())?;
            export::export(&located, &out)?;
            println!("exported {} to {}", located.dir.display(), out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
