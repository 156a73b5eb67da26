//! The command line: `trustx validate | plan | run | model inspect | model export | explain | bench | plugins`.
//!
//! Exit codes: 0 success; 1 a run finished with failed nodes, or another error; 2 the
//! manifest (or the command line) is wrong.

use crate::exec::Status;
use crate::manifest::{self, ManifestErrors};
use crate::plan::build;
use crate::plugin::{self, PluginKind};
use crate::runner::{RunOptions, run};
use crate::store::{NodeState, Store};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Audit whether compressed models are trust-equivalent to their large counterparts.
#[derive(Debug, Parser)]
#[command(name = "trustx", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a manifest: keys, types, plugins, files. Runs nothing.
    #[command(after_help = "Example:\n  trustx validate experiments/sst2-bow.toml")]
    Validate {
        /// The manifest (TOML).
        manifest: PathBuf,
    },
    /// Print the DAG: stages, nodes, content keys and which are already in the store.
    #[command(after_help = "Example:\n  trustx plan experiments/sst2-bow.toml")]
    Plan {
        /// The manifest (TOML).
        manifest: PathBuf,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the nodes not already in the store, then write tables, report and run.json.
    #[command(
        after_help = "Examples:\n  trustx run experiments/sst2-bow.toml\n  trustx run experiments/sst2-bow.toml --force report\n  TRUSTX_EXPERIMENT__JOBS=1 trustx run experiments/sst2-bow.toml"
    )]
    Run {
        /// The manifest (TOML).
        manifest: PathBuf,
        /// Nodes run at once (default: the manifest's `jobs`, else the number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Run again even when cached: a stage (`predict`), a node (`predict/bert@seed42`),
        /// a model's nodes of a stage (`predict/bert`) or a key prefix. Repeatable.
        #[arg(long, value_name = "NODE_OR_STAGE")]
        force: Vec<String>,
        /// No progress bars.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Look into a model folder, or export a trained model from the store.
    Model {
        /// What to do with it.
        #[command(subcommand)]
        action: ModelCommand,
    },
    /// Measure the model runtime's forward and training speed on this machine (sequences/s,
    /// GFLOP/s), or with `--explain` the paper's explanation workload (LIME + partition SHAP).
    #[command(
        after_help = "Examples:\n  trustx bench\n  trustx bench --explain --pairs data/snli/snli_1.0_dev.head1000.jsonl --count 20"
    )]
    Bench {
        /// The all-MiniLM-L6-v2 folder (skipped when absent).
        #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
        minilm: PathBuf,
        /// Sequences per batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Tokens per sequence.
        #[arg(long, default_value_t = 64)]
        length: usize,
        /// Timed repetitions (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Measure explanations instead: LIME and partition SHAP on SNLI pairs, every seed
        /// sharing one cache per pair (all-MiniLM-L6-v2 with a fresh 3-class head, seed 0).
        #[arg(long)]
        explain: bool,
        /// SNLI JSONL file of the pairs (`--explain`).
        #[arg(long, default_value = "data/snli/snli_1.0_dev.head1000.jsonl")]
        pairs: PathBuf,
        /// Pairs to explain: the first labelled ones (`--explain`).
        #[arg(long, default_value_t = 20)]
        count: usize,
        /// Seeds per explainer (`--explain`; the paper: 3).
        #[arg(long, default_value_t = 3)]
        seeds: usize,
        /// LIME samples (`--explain`).
        #[arg(long, default_value_t = 1000)]
        lime_samples: usize,
        /// Partition-SHAP evaluations (`--explain`).
        #[arg(long, default_value_t = 500)]
        shap_evals: usize,
        /// Sequences per forward pass (`--explain`).
        #[arg(long, default_value_t = 64)]
        explain_batch: usize,
    },
    /// List the registered plugins with their settings, types and defaults.
    #[command(after_help = "Examples:\n  trustx plugins\n  trustx plugins --kind metric")]
    Plugins {
        /// Only this kind: dataset, model-source, trainer, compressor, explainer, metric, similarity, alignment.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Explain one prediction of a Hugging Face model: the words it rests on.
    #[command(
        after_help = "Examples:\n  trustx explain models/all-MiniLM-L6-v2 --text \"a great film\" --explainer lime\n  trustx explain DIR --text \"A man plays.\" --pair \"A person plays.\" --explainer partition-shap --json"
    )]
    Explain(crate::explain::command::ExplainArgs),
}

/// `trustx model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Run a Hugging Face folder on one input: tokens, ids, [CLS] and mean-pooled vectors,
    /// pooler output, logits and probabilities, parameters and size on disk.
    #[command(
        after_help = "Examples:\n  trustx model inspect models/all-MiniLM-L6-v2 --text \"A man plays a guitar.\"\n  trustx model inspect DIR --text \"A dog runs.\" --pair \"An animal moves.\" --json"
    )]
    Inspect {
        /// The checkpoint folder (config.json, weights, tokenizer files).
        dir: PathBuf,
        /// The input text.
        #[arg(long)]
        text: String,
        /// The second text of a pair.
        #[arg(long)]
        pair: Option<String>,
        /// Print every value as JSON (full vectors).
        #[arg(long)]
        json: bool,
        /// Longest encoding in tokens.
        #[arg(long, default_value_t = 128)]
        max_len: usize,
        /// Tokenize with vocab.txt even when tokenizer.json exists.
        #[arg(long)]
        vocab_txt: bool,
        /// Accept a tokenizer whose vocabulary size disagrees with the model.
        #[arg(long)]
        allow_vocab_mismatch: bool,
    },
    /// Copy a trained model out of the store as a Hugging Face folder.
    #[command(
        after_help = "Examples:\n  trustx model export minilm --manifest experiments/quickstart.toml --out exported/minilm\n  trustx model export train/minilm@seed42 --manifest experiments/quickstart.toml --out exported/minilm\n  trustx model export results/quickstart/nodes/0123456789abcdef --out exported/minilm"
    )]
    Export {
        /// A train node (`train/NAME@seedS`), a model name, a key prefix (with --manifest),
        /// or a train node's folder.
        node_or_model: String,
        /// The folder to write (must not exist, or be empty).
        #[arg(long)]
        out: PathBuf,
        /// The manifest that trained it.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The training seed, when the model was trained with several.
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
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
        Command::Bench { minilm, batch, length, reps, json, .. } => {
            let results = crate::commands::bench::run(&minilm, batch, length, reps)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print!("{}", crate::commands::bench::render(&results));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { manifest } => {
            let r = manifest::load(&manifest)?;
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
        Command::Plan { manifest, json } => {
            let r = manifest::load(&manifest)?;
            let plan = build(&r)?;
            let store = Store::new(&r.results_dir);
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut cached = 0;
            for stage in crate::plan::Stage::ALL {
                let nodes: Vec<_> = plan.nodes.iter().filter(|n| n.stage == stage).collect();
                if nodes.is_empty() {
                    continue;
                }
                println!("{} ({} nodes)", stage.as_str(), nodes.len());
                for n in nodes {
                    let state = match store.state(&n.key) {
                        NodeState::Done(_) => {
                            cached += 1;
                            "cached".to_string()
                        }
                        NodeState::Missing => "to run".to_string(),
                        NodeState::Corrupt(why) => format!("to run (corrupt: {why})"),
                    };
                    let inputs: Vec<&str> = n.inputs.iter().map(|&i| plan.nodes[i].name.as_str()).collect();
                    println!(
                        "  {}  {:<40} {:<10} <- {}",
                        n.short_key(),
                        n.name,
                        state,
                        if inputs.is_empty() { "-".into() } else { inputs.join(", ") }
                    );
                    if let Some(detail) = crate::plan::explain::describe(n) {
                        println!("  {:16}  {detail}", "");
                    }
                }
            }
            if !r.explainers.is_empty() {
                for m in r.models.iter().filter(|m| !m.explainable()) {
                    println!("not explained: `{}` (predictions only, no weights)", m.name);
                }
            }
            println!(
                "{} nodes: {} cached, {} to run (results in {})",
                plan.nodes.len(),
                cached,
                plan.nodes.len() - cached,
                r.results_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { manifest, jobs, force, quiet } => {
            if jobs == Some(0) {
                eprintln!("error: --jobs must be at least 1");
                return Ok(ExitCode::from(2));
            }
            let r = manifest::load(&manifest)?;
            let record = run(&r, &RunOptions { jobs, force, progress: !quiet })?;
            for n in record.nodes.iter().filter(|n| n.status == Status::Ran) {
                println!("ran     {:<40} {:>8.2} s  ({})", n.name, n.seconds, n.reason.as_deref().unwrap_or(""));
            }
            for n in record.nodes.iter().filter(|n| matches!(n.status, Status::Failed | Status::Skipped)) {
                let what = if n.status == Status::Failed { "FAILED " } else { "skipped" };
                println!("{what} {:<40} {}", n.name, n.error.as_deref().unwrap_or(""));
            }
            println!("results: {}", r.results_dir.display());
            println!("{}", record.counts.summary(record.seconds));
            Ok(if record.counts.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Explain(args) => crate::explain::command::run(&args),
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

fn model_command(action: ModelCommand) -> anyhow::Result<ExitCode> {
    use crate::commands::{export, inspect};
    match action {
        ModelCommand::Inspect { dir, text, pair, json, max_len, vocab_txt, allow_vocab_mismatch } => {
            let opts = inspect::InspectOptions { max_len, vocab_txt, allow_vocab_mismatch };
            let result = inspect::inspect(&dir, &text, pair.as_deref(), &opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", inspect::render(&result));
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Export { node_or_model, out, manifest, seed } => {
            let node_dir = export::locate(&node_or_model, manifest.as_deref(), seed)?;
            export::export(&node_dir, &out)?;
            println!("exported {} to {}", node_dir.display(), out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
