//! `trustx bench --served -- COMMAND...`: the speed of explanations through the trustx
//! serving protocol, with any server (the README's figure uses `scripts/serve_bow.py`).
//!
//! Two measurements, on the first `count` sentences of an SST-2 `dev.tsv` file:
//! - **Per-request overhead**: `requests` one-input requests sent one at a time (each
//!   waits for its answer), against the same number of inputs in requests of `max_batch`;
//!   the difference per request is what a round trip costs beyond the model's compute
//!   (pipes, JSON, the server's read loop).
//! - **Explanations per second**: LIME (`lime_samples` samples) on every sentence, the
//!   sentences in parallel as the explain stage runs them (one deduplicating engine each),
//!   with one request in flight and then with [`MAX_IN_FLIGHT`], each on a fresh server.

use crate::explain::{Classifier, EvalCounts, ExampleEngine, rng_for};
use crate::plugin::explainer::{ExplainInput, ExplainerEntry};
use crate::served::process::Launch;
use crate::served::{MAX_IN_FLIGHT, ServedModel, ServerSpec};
use anyhow::{Context, Result, anyhow, bail};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct ServedBenchConfig {
    /// The server's argv.
    pub command: Vec<String>,
    /// SST-2 `dev.tsv` (sentence, tab, label; a header row).
    pub sentences: PathBuf,
    /// Sentences to explain.
    pub count: usize,
    /// LIME samples per explanation.
    pub lime_samples: usize,
    /// One-input requests timed for the overhead.
    pub requests: usize,
    /// Inputs per request.
    pub max_batch: usize,
}

/// The measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct ServedBenchResult {
    /// The server's command line.
    pub command: String,
    /// The server's name and version (from its handshake).
    pub server: String,
    /// Inputs per request (the smaller of ours and the server's).
    pub max_batch: usize,
    /// Milliseconds per one-input request, sent one at a time.
    pub single_request_ms: f64,
    /// Milliseconds per input inside full requests.
    pub batched_input_ms: f64,
    /// `single_request_ms − batched_input_ms`: the cost of a round trip.
    pub overhead_ms: f64,
    /// Sentences explained per run.
    pub explanations: usize,
    /// LIME samples per explanation.
    pub lime_samples: usize,
    /// Explanations per second with one request in flight.
    pub explanations_per_s_one_in_flight: f64,
    /// Explanations per second with [`MAX_IN_FLIGHT`] requests in flight.
    pub explanations_per_s: f64,
    /// Texts run through the server per explanation run (after deduplication).
    pub counts: EvalCounts,
    /// 1-minute load average when it ended (Linux).
    pub load_average: Option<f64>,
}

fn spec(config: &ServedBenchConfig, in_flight: usize) -> ServerSpec {
    ServerSpec {
        launch: Launch { command: config.command.clone(), env: Default::default(), cwd: PathBuf::from(".") },
        max_batch: config.max_batch,
        timeout: Duration::from_secs(600),
        startup_timeout: Duration::from_secs(600),
        in_flight,
    }
}

/// The first `count` sentences of an SST-2 `dev.tsv`.
fn read_sentences(path: &std::path::Path, count: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let sentences: Vec<String> =
        text.lines().skip(1).filter_map(|l| l.split('\t').next()).map(|s| s.trim().to_string()).take(count).collect();
    if sentences.len() < count {
        bail!("{} has {} sentences, fewer than --count {count}", path.display(), sentences.len());
    }
    Ok(sentences)
}

/// Runs the benchmark.
pub fn run(config: &ServedBenchConfig) -> Result<ServedBenchResult> {
    if config.command.is_empty() {
        bail!(
            "give the server's command after `--`, e.g. trustx bench --served -- python3 scripts/serve_bow.py --train data/sst2/stsa.binary.train.head3000"
        );
    }
    if config.count == 0 || config.requests == 0 {
        bail!("--count and --requests must be at least 1");
    }
    let sentences = read_sentences(&config.sentences, config.count)?;
    let lime =
        ExplainerEntry::find("lime").ok_or_else(|| anyhow!("explainer `lime` is not registered in this binary"))?;
    let settings = (lime.info.resolve)(&json!({ "num_samples": config.lime_samples }))
        .map_err(|e| anyhow!("explainer `lime`: {}", e.message))?;

    // Per-request overhead.
    let model = ServedModel::start(&spec(config, 1), "bench", None)?;
    let server = format!("{} {}", model.handshake().name, model.handshake().version).trim().to_string();
    let max_batch = model.max_batch();
    let inputs: Vec<Vec<String>> = (0..config.requests).map(|i| vec![sentences[i % sentences.len()].clone()]).collect();
    model.predict(&inputs[..1])?; // warm-up
    let t = Instant::now();
    for input in inputs.chunks(1) {
        model.predict(input)?;
    }
    let single_request_ms = t.elapsed().as_secs_f64() * 1e3 / inputs.len() as f64;
    let batched: Vec<Vec<String>> = (0..max_batch * 4).map(|i| vec![sentences[i % sentences.len()].clone()]).collect();
    let t = Instant::now();
    model.predict(&batched)?;
    let batched_input_ms = t.elapsed().as_secs_f64() * 1e3 / batched.len() as f64;
    drop(model);

    // Explanations per second, one then two requests in flight.
    let mut rates = Vec::new();
    let mut counts = EvalCounts::default();
    for in_flight in [1, MAX_IN_FLIGHT] {
        let model = ServedModel::start(&spec(config, in_flight), "bench", None)?;
        let t = Instant::now();
        let per: Vec<EvalCounts> = sentences
            .par_iter()
            .enumerate()
            .map(|(i, s)| -> Result<EvalCounts> {
                let id = i.to_string();
                let engine = ExampleEngine::new(&model as &dyn Classifier, id.clone(), vec![s.clone()])?;
                let input = ExplainInput { engine: &engine, class: 1, gradients: None };
                lime.explain(&settings, &input, &mut rng_for(0, &id))?;
                Ok(engine.totals())
            })
            .collect::<Result<_>>()?;
        rates.push(sentences.len() as f64 / t.elapsed().as_secs_f64());
        counts = EvalCounts::default();
        per.iter().for_each(|c| counts.add(c));
    }
    Ok(ServedBenchResult {
        command: config.command.join(" "),
        server,
        max_batch,
        single_request_ms,
        batched_input_ms,
        overhead_ms: single_request_ms - batched_input_ms,
        explanations: sentences.len(),
        lime_samples: config.lime_samples,
        explanations_per_s_one_in_flight: rates[0],
        explanations_per_s: rates[1],
        counts,
        load_average: super::bench::load_average(),
    })
}

/// The human-readable report.
pub fn render(r: &ServedBenchResult) -> String {
    format!(
        "served model: {} ({})\n\
         per request: {:.3} ms for a one-input request, {:.3} ms per input in requests of {} → overhead {:.3} ms per request\n\
         LIME ({} samples) on {} sentences: {:.2} explanations/s with {} requests in flight, {:.2} with one \
         ({} texts requested, {} run through the server)\n\
         load average: {}\n",
        r.command,
        if r.server.is_empty() { "unnamed" } else { &r.server },
        r.single_request_ms,
        r.batched_input_ms,
        r.max_batch,
        r.overhead_ms,
        r.lime_samples,
        r.explanations,
        r.explanations_per_s,
        MAX_IN_FLIGHT,
        r.explanations_per_s_one_in_flight,
        r.counts.requested,
        r.counts.run,
        r.load_average.map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}")),
    )
}
