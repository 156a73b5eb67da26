//! The command line: `trustx validate | plan | run | report | status | cancel | node run |
//! model inspect | model export | explain | bench | plugins | init | gc | completions`.
//!
//! Exit codes: 0 success; 1 a run finished with failed nodes, or another error; 2 the
//! manifest (or the command line) is wrong.

mod args;
mod bench_command;
mod closed_pipe;
mod plan_command;
mod plugins_command;
mod run_command;
mod show_command;
mod store_commands;

pub use args::*;

use crate::manifest::ManifestErrors;
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
        Command::Validate { target } => store_commands::validate(target),
        Command::Report { target, out } => store_commands::report(target, out),
        Command::Plan { target, json, executor } => plan_command::plan(target, json, executor),
        Command::Status { target } => store_commands::status(target),
        Command::Cancel { target } => store_commands::cancel(target),
        Command::Node { action: NodeCommand::Run { manifest, node, results_dir, expect_build, force } } => {
            let args = crate::commands::node::NodeRunArgs { manifest, node, results_dir, expect_build, force };
            store_commands::node_run(&args)
        }
        Command::Show { target, json, compare } => show_command::show(target, json, compare),
        c @ Command::Run { .. } => run_command::run_command(c),
        Command::Explain(args) => crate::explain::command::run(&args),
        Command::Init { model, dataset, out } => store_commands::init(model, dataset, out),
        Command::Gc { target, dry_run } => store_commands::gc(target, dry_run),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "trustx", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins { kind } => plugins_command::plugins(kind.as_deref()),
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
        ModelCommand::Quantize { dir, out, scheme, per_channel, embeddings } => {
            use crate::model::quant::Granularity;
            let granularity = if per_channel { Granularity::PerChannel } else { Granularity::PerTensor };
            let q = crate::commands::quantize::quantize(&dir, &out, scheme.into(), granularity, embeddings)?;
            println!(
                "quantised {} ({}, {}, {} Linear layers{} in int8) to {}: {:.1} MB → {:.1} MB",
                dir.display(),
                q.scheme.as_str(),
                q.granularity.as_str(),
                q.layers,
                if q.embedding_tables > 0 {
                    format!(" and {} embedding tables", q.embedding_tables)
                } else {
                    String::new()
                },
                out.display(),
                q.input_bytes as f64 / 1e6,
                q.output_bytes as f64 / 1e6
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Export { node_or_model, out, manifest, seed, results, dense } => {
            let located = export::locate(&node_or_model, manifest.as_deref(), seed, results.as_deref())?;
            export::export(&located, &out)?;
            if dense && crate::model::sparse_io::densify_folder(&out)? {
                println!("wrote {}'s sparse weights dense", out.display());
            }
            println!("exported {} to {}", located.dir.display(), out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
