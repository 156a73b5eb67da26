//! The command line: `trustx validate | plan | run | report | status | cancel | node run |
//! model inspect | model export | explain | bench | plugins | init | gc | completions`.
//!
//! Exit codes: 0 success; 1 a run finished with failed nodes, or another error; 2 the
//! manifest (or the command line) is wrong.

use crate::commands::target::{ManifestArgs, results_line};
use crate::exec::Status;
use crate::manifest::{ExecutorKind, ManifestErrors};
use crate::plan::build;
use crate::plugin::{self, PluginKind};
use crate::runner::{RunOptions, RunOutcome, run};
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
        /// The manifest, its overrides and results folder.
        #[command(flatten)]
        target: ManifestArgs,
    },
    /// Print the DAG: stages, nodes, content keys and which are already in the store.
    #[command(after_help = "Example:\n  trustx plan experiments/sst2-bow.toml")]
    Plan {
        /// The manifest, its overrides and results folder.
        #[command(flatten)]
        target: ManifestArgs,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
        /// `slurm`: also print the jobs a Slurm run would submit, their resources and
        /// dependencies (no cluster needed).
        #[arg(long, value_name = "local|slurm")]
        executor: Option<String>,
    },
    /// Run the nodes not already in the store, then write tables, report and run.json.
    #[command(
        after_help = "Examples:\n  trustx run experiments/sst2-bow.toml\n  trustx run experiments/sst2-bow.toml --force report\n  trustx run experiments/sst2-bow.toml calibration.bins=15 --results /tmp/audits\n  TRUSTX_EXPERIMENT__JOBS=1 trustx run experiments/sst2-bow.toml"
    )]
    Run {
        /// The manifest, its overrides and results folder.
        #[command(flatten)]
        target: ManifestArgs,
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
        /// `local` (run here) or `slurm` (one cluster job per node); overrides the manifest's
        /// `[experiment] executor`.
        #[arg(long, value_name = "local|slurm")]
        executor: Option<String>,
        /// Slurm: return once the jobs are submitted (`trustx status` follows them, `trustx run`
        /// again collects them).
        #[arg(long)]
        detach: bool,
        /// Exit with status 3 when a compared model is `not-equivalent` (shown not
        /// trust-equivalent) or `not-established` (not shown trust-equivalent: different,
        /// inconclusive or not run), so a CI pipeline can gate a compressed model.
        #[arg(long, value_name = "not-equivalent|not-established")]
        fail_on: Option<crate::commands::show::FailOn>,
    },
    /// The verdict of a manifest's last run (from `results/<experiment>/verdict.json`), without
    /// running anything.
    #[command(
        after_help = "Examples:\n  trustx show experiments/sst2-bow.toml\n  trustx show experiments/sst2-bow.toml --json\n  trustx show experiments/sst2-bow.toml --compare saved/verdict.json"
    )]
    Show {
        /// The manifest, its overrides and the results folder.
        #[command(flatten)]
        target: ManifestArgs,
        /// Print verdict.json as it is (with `--compare`: the comparison as JSON).
        #[arg(long)]
        json: bool,
        /// Show this verdict beside another: a manifest (its last run), a results folder of
        /// one experiment, or a saved verdict.json; tests whose outcome changed are marked.
        #[arg(long, value_name = "MANIFEST|DIR|verdict.json")]
        compare: Option<std::path::PathBuf>,
    },
    /// Each node of a manifest: done, stale or missing in the store; under Slurm also queued,
    /// waiting, running (job id) or failed (job id, exit status, the end of its log).
    #[command(after_help = "Example:\n  trustx status experiments/sst2-tiny.toml")]
    Status {
        /// The manifest, its overrides and the results folder.
        #[command(flatten)]
        target: ManifestArgs,
    },
    /// Cancel the queued and running Slurm jobs of a manifest's run.
    #[command(after_help = "Example:\n  trustx cancel experiments/paper-snli.toml")]
    Cancel {
        /// The manifest, its overrides and the results folder.
        #[command(flatten)]
        target: ManifestArgs,
    },
    /// Work on one node of a manifest (what a cluster job runs).
    Node {
        /// What to do.
        #[command(subcommand)]
        action: NodeCommand,
    },
    /// Render the report of a finished run again from the store alone (no stage runs), with
    /// the manifest's templates as they are now.
    #[command(
        after_help = "Examples:\n  trustx report experiments/sst2-bow.toml\n  trustx report experiments/sst2-bow.toml --out /tmp/report"
    )]
    Report {
        /// The manifest, its overrides and the results folder.
        #[command(flatten)]
        target: ManifestArgs,
        /// The folder to write report.html / report.md into (default: the results folder).
        #[arg(long)]
        out: Option<PathBuf>,
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
        /// Sequences per forward pass (`--explain`); inputs per request (`--served`).
        #[arg(long, default_value_t = 64)]
        explain_batch: usize,
        /// Measure explanations through the serving protocol instead, with the server
        /// command given after `--` (LIME on `--count` SST-2 dev sentences, `--lime-samples`).
        #[arg(long)]
        served: bool,
        /// SST-2 dev.tsv file of the sentences (`--served`).
        #[arg(long, default_value = "data/sst2/dev.tsv")]
        sentences: PathBuf,
        /// One-input requests timed for the per-request overhead (`--served`).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// The server's argv (`--served`), after `--`.
        #[arg(last = true)]
        server_command: Vec<String>,
    },
    /// List the registered plugins with their settings, types and defaults.
    #[command(after_help = "Examples:\n  trustx plugins\n  trustx plugins --kind metric")]
    Plugins {
        /// Only this kind: dataset, model-source, trainer, compressor, explainer, metric, similarity, alignment.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Write a commented starter manifest for your own model and data.
    #[command(
        after_help = "Examples:\n  trustx init --model models/my-finetuned-bert --dataset data/dev.csv --out experiments/my-audit.toml"
    )]
    Init {
        /// Your Hugging Face model folder (the reference).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Your evaluation data (CSV, JSONL, Parquet, or a GLUE TSV).
        #[arg(long)]
        dataset: Option<PathBuf>,
        /// The manifest to write (must not exist).
        #[arg(long, default_value = "audit.toml")]
        out: PathBuf,
    },
    /// Remove store nodes that no node of the manifest's current plan uses.
    #[command(
        after_help = "Examples:\n  trustx gc experiments/quickstart.toml --dry-run\n  trustx gc experiments/quickstart.toml"
    )]
    Gc {
        /// The manifest, its overrides and results folder.
        #[command(flatten)]
        target: ManifestArgs,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  trustx completions bash > ~/.local/share/bash-completion/completions/trustx\n  trustx completions zsh > ~/.zfunc/_trustx\n  trustx completions fish > ~/.config/fish/completions/trustx.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Explain one prediction of a Hugging Face model: the words it rests on.
    #[command(
        after_help = "Examples:\n  trustx explain exported/minilm --text \"a great film\" --explainer lime\n  trustx explain models/all-MiniLM-L6-v2 --text \"a great film\" --explainer lime --random-head --labels 2\n  trustx explain DIR --text \"A man plays.\" --pair \"A person plays.\" --explainer partition-shap --json"
    )]
    Explain(crate::explain::command::ExplainArgs),
}

/// `trustx node ...`.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Compute one node whose inputs are in the store, as the executor does (atomic artifacts,
    /// node.json last); exits 0 when it is done (computed now or already), 1 when it failed.
    #[command(
        after_help = "Examples:\n  trustx node run experiments/sst2-tiny.toml data\n  trustx node run experiments/sst2-tiny.toml 0123456789abcdef"
    )]
    Run {
        /// The manifest (TOML).
        manifest: PathBuf,
        /// The node: its full key, a key prefix (8 digits or more) or its name.
        node: String,
        /// The experiment's results folder (`results/<experiment>`), instead of the manifest's.
        #[arg(long, value_name = "DIR")]
        results_dir: Option<PathBuf>,
        /// Refuse to run unless this binary is this build (`<version>+<hash>`).
        #[arg(long, value_name = "BUILD")]
        expect_build: Option<String>,
        /// Compute it even when it is in the store.
        #[arg(long)]
        force: bool,
    },
}

/// `trustx model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Run a Hugging Face folder on one input: tokens, ids, [CLS] and mean-pooled vectors,
    /// pooler output, logits and probabilities, parameters and size on disk.
    #[command(
        after_help = "Examples:\n  trustx model inspect exported/minilm --text \"A man plays a guitar.\"\n  trustx model inspect models/all-MiniLM-L6-v2 --text \"A man plays a guitar.\" --encoder-only\n  trustx model inspect DIR --text \"A dog runs.\" --pair \"An animal moves.\" --json"
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
        /// A random head on purpose (a folder without a head is refused otherwise).
        #[command(flatten)]
        head: crate::commands::head::HeadArgs,
        /// The encoder's outputs only (tokens, vectors, pooler), no logits: for a folder
        /// without a classification head.
        #[arg(long, conflicts_with = "random_head")]
        encoder_only: bool,
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
        /// The results folder the manifest's run used (see `trustx run --results`).
        #[arg(long, value_name = "DIR")]
        results: Option<PathBuf>,
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
        Command::Bench { minilm, batch, length, reps, json, .. } => {
            let results = crate::commands::bench::run(&minilm, batch, length, reps)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print!("{}", crate::commands::bench::render(&results));
            }
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Plan { target, json, executor } => {
            let executor = match executor.as_deref().map(|e| (e, ExecutorKind::parse(e))) {
                Some((e, None)) => return Ok(bad_executor(e)),
                Some((_, kind)) => kind,
                None => None,
            };
            let r = target.load()?;
            let plan = build(&r)?;
            let store = Store::new(&r.results_dir);
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}", results_line(&r));
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
            if executor.unwrap_or(r.manifest.experiment.executor) == ExecutorKind::Slurm {
                print!("{}", crate::exec::slurm::plan_view::describe(&plan, &store, &r.manifest.executor.slurm));
                for warning in crate::exec::slurm::idle_gpus::idle_gpu_warnings(&r) {
                    eprintln!("{warning}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Run { target, jobs, force, quiet, executor, detach, fail_on } => {
            if jobs == Some(0) {
                eprintln!("error: --jobs must be at least 1");
                return Ok(ExitCode::from(2));
            }
            let executor = match executor.as_deref().map(|e| (e, ExecutorKind::parse(e))) {
                Some((e, None)) => return Ok(bad_executor(e)),
                Some((_, kind)) => kind,
                None => None,
            };
            let r = target.load()?;
            println!("{}", results_line(&r));
            let record = match run(&r, &RunOptions { jobs, force, progress: !quiet, executor, detach })? {
                RunOutcome::Finished(record) => record,
                RunOutcome::Detached { submitted, live } => {
                    println!(
                        "detached: {submitted} jobs submitted, {live} queued or running; `trustx status {m}` follows them, \
                         `trustx run {m}` collects them (and the tables and report)",
                        m = target.manifest.display()
                    );
                    return Ok(ExitCode::SUCCESS);
                }
            };
            // Each node's line was printed when it finished (exec::progress).
            for n in record.nodes.iter().filter(|n| n.status == Status::Failed) {
                let job = n.job.as_ref().map(|j| format!(" (job {j})")).unwrap_or_default();
                println!("failed: {}{job} (its error is above)", n.name);
            }
            println!("results: {}", r.results_dir.display());
            println!("{}", record.counts.summary(record.seconds));
            // A skipped node (an input failed, or its Slurm job was cancelled) leaves the run
            // without its tables: never a success.
            if record.counts.failed > 0 || record.counts.skipped > 0 {
                return Ok(ExitCode::from(1));
            }
            if let Some(fail_on) = fail_on {
                use crate::commands::show::{FAIL_ON_EXIT, read, tripped};
                let models = tripped(&read(&r.results_dir)?, fail_on);
                if !models.is_empty() {
                    eprintln!(
                        "--fail-on {}: {} (exit {FAIL_ON_EXIT})",
                        clap::ValueEnum::to_possible_value(&fail_on)
                            .map(|v| v.get_name().to_string())
                            .unwrap_or_default(),
                        models.join(", ")
                    );
                    return Ok(ExitCode::from(FAIL_ON_EXIT));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
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
        ModelCommand::Export { node_or_model, out, manifest, seed, results } => {
            let located = export::locate(&node_or_model, manifest.as_deref(), seed, results.as_deref())?;
            export::export(&located, &out)?;
            println!("exported {} to {}", located.dir.display(), out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
