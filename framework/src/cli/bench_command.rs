//! `trustx bench`: the forward and training speed, `--explain` the paper's explanation
//! workload, `--served` explanations through the serving protocol.

use super::Command;
use std::process::ExitCode;

/// Runs the `bench` subcommand `command`.
pub(super) fn bench(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Bench {
            json,
            served: true,
            sentences,
            count,
            lime_samples,
            requests,
            explain_batch,
            server_command,
            ..
        } => {
            let config = crate::commands::bench_served::ServedBenchConfig {
                command: server_command,
                sentences,
                count,
                lime_samples,
                requests,
                max_batch: explain_batch,
            };
            let result = crate::commands::bench_served::run(&config)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", crate::commands::bench_served::render(&result));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            minilm,
            json,
            explain: true,
            pairs,
            count,
            seeds,
            lime_samples,
            shap_evals,
            explain_batch,
            ..
        } => {
            let config = crate::commands::bench_explain::ExplainBenchConfig {
                model: minilm,
                pairs,
                count,
                seeds,
                lime_samples,
                shap_evals,
                batch_size: explain_batch,
            };
            let result = crate::commands::bench_explain::run(&config)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", crate::commands::bench_explain::render(&result));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { minilm, batch, length, reps, only, json, .. } => {
            let results = crate::commands::bench::run(&minilm, batch, length, reps, only.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print!("{}", crate::commands::bench::render(&results));
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => anyhow::bail!("not a bench command (internal error)"),
    }
}
