//! The command line's grammar (clap): every subcommand with its arguments and help text.

use crate::commands::target::ManifestArgs;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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
        /// Run only the forward and training rows whose name contains this text (e.g.
        /// `MiniLM-L6-v2, packed`; the sizes in a pruned row's name are not matched).
        #[arg(long)]
        only: Option<String>,
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

/// `--scheme` of `trustx model quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuantScheme {
    /// PyTorch's dynamic quantisation (the default).
    DynamicInt8,
    /// int8 weights dequantised before an f32 product.
    WeightOnlyInt8,
}

impl From<QuantScheme> for crate::model::quant::Scheme {
    fn from(s: QuantScheme) -> Self {
        match s {
            QuantScheme::DynamicInt8 => Self::DynamicInt8,
            QuantScheme::WeightOnlyInt8 => Self::WeightOnlyInt8,
        }
    }
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
    /// Quantise a Hugging Face folder's Linear layers to int8 and write the deployable
    /// folder (I8 tensors plus scales), as a `quantize` variant holds it.
    #[command(
        after_help = "Examples:\n  trustx model quantize exported/minilm --out exported/minilm-int8\n  trustx model quantize exported/minilm --out exported/minilm-int8-pc --per-channel\n  trustx model quantize exported/minilm --out exported/minilm-int8-emb --embeddings\n  trustx model quantize exported/minilm --out exported/minilm-w8 --scheme weight-only-int8\n  trustx model inspect exported/minilm-int8 --text \"A fine film.\" --json"
    )]
    Quantize {
        /// The float checkpoint folder (config.json, weights, tokenizer files, a trained head).
        dir: PathBuf,
        /// The folder to write (must not exist, or be empty).
        #[arg(long)]
        out: PathBuf,
        /// `dynamic-int8`: PyTorch's `quantize_dynamic` (int8 weights and per-call int8
        /// activations, int8 kernels); `weight-only-int8`: int8 weights, f32 activations.
        #[arg(long, value_enum, default_value = "dynamic-int8")]
        scheme: QuantScheme,
        /// One weight scale per output unit instead of one per matrix.
        #[arg(long)]
        per_channel: bool,
        /// Quantise the embedding tables too, as PyTorch's `nn.Embedding` with
        /// `float_qparams_weight_only_qconfig` (8-bit rows, a float scale and zero point each):
        /// about a quarter of the f32 size instead of two thirds.
        #[arg(long)]
        embeddings: bool,
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
        /// Write a pruned model's sparse weights dense (the plain safetensors that
        /// transformers reads) instead of as stored.
        #[arg(long)]
        dense: bool,
    },
}
