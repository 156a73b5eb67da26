//! `trustx bench --explain`: the speed of the paper's explanation workload on this machine.
//!
//! The workload: for each of the first `count` labelled SNLI pairs of a JSONL file
//! (`sentence1`, `sentence2`, `gold_label`, `pairID`), for each seed, LIME (`num_samples`
//! samples, 3 classes) then partition SHAP (`max_evals` evaluations) explain the model's
//! predicted class. It runs as the explain stage runs it: the pairs in parallel, one
//! [`ExampleEngine`] per pair shared by every explainer and seed, so later seeds reuse
//! what is cached (partition SHAP is deterministic: all of it).
//!
//! Before it, the first three pairs are explained once more one explanation at a time, each
//! on a fresh cache (LIME removes words, SHAP puts `[MASK]` in their place: they share no
//! text but the original), which is how the Python figures were taken: those times are the
//! seconds per explanation.
//!
//! The figures beside them are the Python stack's (transformers + lime + shap, same model
//! and pairs, batched predictor) measured on this machine: 7.9 s per LIME explanation and
//! 7.2 s per partition-SHAP explanation.

use crate::explain::{EvalCounts, ExampleEngine, rng_for};
use crate::model::{HeadPolicy, HfModel, LoadOptions};
use crate::plugin::explainer::{ExplainInput, ExplainerEntry};
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seconds per LIME explanation (`PYTHON_LIME_SAMPLES` samples) of the Python stack on this machine.
pub const PYTHON_LIME_S: f64 = 7.9;
/// LIME samples the Python figure was measured with.
pub const PYTHON_LIME_SAMPLES: usize = 1000;
/// Seconds per partition-SHAP explanation (`PYTHON_SHAP_EVALS` evaluations) of the Python stack.
pub const PYTHON_SHAP_S: f64 = 7.2;
/// Partition-SHAP evaluations the Python figure was measured with.
pub const PYTHON_SHAP_EVALS: usize = 500;
/// The speed-up over the Python stack the workload must reach.
pub const TARGET_SPEEDUP: f64 = 5.0;

/// What to run.
#[derive(Debug, Clone)]
pub struct ExplainBenchConfig {
    /// The all-MiniLM-L6-v2 folder.
    pub model: PathBuf,
    /// SNLI JSONL file.
    pub pairs: PathBuf,
    /// Pairs to explain (the first labelled ones).
    pub count: usize,
    /// Seeds per explainer (the paper: 3).
    pub seeds: usize,
    /// LIME samples (the paper: 1000).
    pub lime_samples: usize,
    /// Partition-SHAP evaluations (the paper: 500).
    pub shap_evals: usize,
    /// Sequences per forward pass.
    pub batch_size: usize,
}

/// The measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainBenchResult {
    /// Pairs explained.
    pub pairs: usize,
    /// Seeds per explainer.
    pub seeds: usize,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// LIME samples per explanation.
    pub lime_samples: usize,
    /// Partition-SHAP evaluations per explanation.
    pub shap_evals: usize,
    /// Mean seconds of a LIME explanation from scratch (first seed).
    pub lime_s: f64,
    /// Mean seconds of a partition-SHAP explanation from scratch (first seed).
    pub shap_s: f64,
    /// Seconds of the whole workload (every pair, seed and explainer).
    pub workload_s: f64,
    /// CPU seconds (user + system, every thread) of the workload, when the OS reports them:
    /// comparable across machine loads where the wall time is not.
    pub workload_cpu_s: Option<f64>,
    /// The load average (1 minute) when the workload ended, when the OS reports it.
    pub load_average: Option<f64>,
    /// Explanations in the workload.
    pub explanations: usize,
    /// Evaluations requested / distinct / run over the workload.
    pub counts: EvalCounts,
    /// requested / run.
    pub dedup_ratio: f64,
    /// The Python stack's seconds for the same workload (no cache shared), scaled in
    /// proportion to the budgets when they differ from the measured ones.
    pub python_workload_s: f64,
    /// python_workload_s / workload_s.
    pub speedup: f64,
}

/// One SNLI pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// `pairID`.
    pub id: String,
    /// `sentence1`, `sentence2`.
    pub segments: Vec<String>,
}

/// The first `count` pairs of `path` with a gold label (rows labelled `-` are skipped).
pub fn read_pairs(path: &Path, count: usize) -> Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!("cannot read {} (an SNLI JSONL file; give another with --pairs FILE)", path.display())
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if out.len() == count {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), i + 1);
        let row: Value = serde_json::from_str(line).with_context(|| format!("{}: not a JSON object", at()))?;
        let field = |k: &str| {
            row.get(k).and_then(Value::as_str).with_context(|| format!("{}: `{k}` is missing or not a string", at()))
        };
        if field("gold_label")? == "-" {
            continue;
        }
        out.push(Pair {
            id: field("pairID")?.to_string(),
            segments: vec![field("sentence1")?.into(), field("sentence2")?.into()],
        });
    }
    if out.len() < count {
        bail!("{} has {} labelled pairs, fewer than the {count} asked for", path.display(), out.len());
    }
    Ok(out)
}

/// Pairs whose explanations are also timed one at a time.
const TIMED_PAIRS: usize = 3;

/// The class the model predicts for the engine's example.
fn predicted(engine: &ExampleEngine) -> Result<usize> {
    Ok(crate::predictions::argmax(&engine.original(&mut EvalCounts::default())?))
}

/// Runs the workload and measures it.
pub fn run(config: &ExplainBenchConfig) -> Result<ExplainBenchResult> {
    if config.count == 0 || config.seeds == 0 {
        bail!("--count and --seeds must be at least 1");
    }
    let find = |name: &str| {
        ExplainerEntry::find(name).ok_or_else(|| anyhow!("explainer `{name}` is not registered in this binary"))
    };
    let (lime, shap) = (find("lime")?, find("partition-shap")?);
    let resolve = |entry: &ExplainerEntry, settings: Value| {
        (entry.info.resolve)(&settings).map_err(|e| anyhow!("explainer `{}`: {}", entry.info.name, e.message))
    };
    let lime_settings = resolve(lime, json!({ "num_samples": config.lime_samples }))?;
    let shap_settings = resolve(shap, json!({ "max_evals": config.shap_evals }))?;
    let pairs = read_pairs(&config.pairs, config.count)?;
    if !config.model.join("config.json").is_file() {
        bail!("{} is absent (bash scripts/fetch-minilm.sh fetches it)", config.model.display());
    }
    let options = LoadOptions {
        num_labels: Some(3),
        head: HeadPolicy::Fresh,
        seed: 0,
        batch_size: config.batch_size,
        ..LoadOptions::default()
    };
    let model = HfModel::load(&config.model, &options, &Device::flex())?;

    // One explanation at a time, each on a fresh cache (as Python's figures were taken).
    let timed = &pairs[..pairs.len().min(TIMED_PAIRS)];
    let (mut lime_s, mut shap_s) = (0.0, 0.0);
    for pair in timed {
        for (entry, settings, total) in [(lime, &lime_settings, &mut lime_s), (shap, &shap_settings, &mut shap_s)] {
            let engine = ExampleEngine::new(&model, pair.id.clone(), pair.segments.clone())?;
            let input = ExplainInput { engine: &engine, class: predicted(&engine)?, gradients: None };
            let t = Instant::now();
            entry.explain(settings, &input, &mut rng_for(0, &pair.id))?;
            *total += t.elapsed().as_secs_f64();
        }
    }

    // The workload as the explain stage runs it: examples in parallel, one cache per
    // example shared by every explainer and seed.
    let started = Instant::now();
    let cpu_started = crate::exec::cpu_time::process_seconds();
    let per_pair: Vec<EvalCounts> = pairs
        .par_iter()
        .map(|pair| -> Result<EvalCounts> {
            let engine = ExampleEngine::new(&model, pair.id.clone(), pair.segments.clone())?;
            let input = ExplainInput { engine: &engine, class: predicted(&engine)?, gradients: None };
            for seed in 0..config.seeds as u64 {
                for (entry, settings) in [(lime, &lime_settings), (shap, &shap_settings)] {
                    entry.explain(settings, &input, &mut rng_for(seed, &pair.id))?;
                }
            }
            Ok(engine.totals())
        })
        .collect::<Result<_>>()?;
    let mut counts = EvalCounts::default();
    for c in &per_pair {
        counts.add(c);
    }
    let workload_s = started.elapsed().as_secs_f64();
    let workload_cpu_s = crate::exec::cpu_time::process_seconds().zip(cpu_started).map(|(end, start)| end - start);
    let timed_n = timed.len() as f64;
    let python_workload_s = python_workload_s(pairs.len(), config);
    Ok(ExplainBenchResult {
        pairs: pairs.len(),
        seeds: config.seeds,
        batch_size: config.batch_size,
        lime_samples: config.lime_samples,
        shap_evals: config.shap_evals,
        lime_s: lime_s / timed_n,
        shap_s: shap_s / timed_n,
        workload_s,
        workload_cpu_s,
        load_average: super::bench::load_average(),
        explanations: pairs.len() * config.seeds * 2,
        counts,
        dedup_ratio: counts.dedup_ratio(),
        python_workload_s,
        speedup: python_workload_s / workload_s,
    })
}

/// The Python stack's seconds for `pairs` pairs under `config`: its measured seconds per
/// explanation, scaled in proportion when the budgets differ from the measured ones.
fn python_workload_s(pairs: usize, config: &ExplainBenchConfig) -> f64 {
    let lime_s = PYTHON_LIME_S * config.lime_samples as f64 / PYTHON_LIME_SAMPLES as f64;
    let shap_s = PYTHON_SHAP_S * config.shap_evals as f64 / PYTHON_SHAP_EVALS as f64;
    pairs as f64 * config.seeds as f64 * (lime_s + shap_s)
}

/// The results as a Markdown table, the Python figures beside ours.
pub fn render(r: &ExplainBenchResult) -> String {
    let mut s = String::from("| measure | trustx | Python stack |\n|---|---|---|\n");
    s.push_str(&format!(
        "| LIME ({} samples, 3 classes), s per explanation | {:.2} ({:.2}/s) | {PYTHON_LIME_S} ({PYTHON_LIME_SAMPLES} samples) |\n",
        r.lime_samples,
        r.lime_s,
        1.0 / r.lime_s
    ));
    s.push_str(&format!(
        "| partition SHAP ({} evals), s per explanation | {:.2} ({:.2}/s) | {PYTHON_SHAP_S} ({PYTHON_SHAP_EVALS} evals) |\n",
        r.shap_evals,
        r.shap_s,
        1.0 / r.shap_s
    ));
    s.push_str(&format!(
        "| workload: {} pairs × {} seeds × (LIME + SHAP), s | {:.1} | {:.1} (target ≤ {:.1}: {TARGET_SPEEDUP}×) |\n",
        r.pairs,
        r.seeds,
        r.workload_s,
        r.python_workload_s,
        r.python_workload_s / TARGET_SPEEDUP
    ));
    s.push_str(&format!(
        "| evaluations requested / distinct / run (dedup ratio) | {} / {} / {} ({:.2}) | no cache |\n",
        r.counts.requested, r.counts.distinct, r.counts.run, r.dedup_ratio
    ));
    if let Some(cpu) = r.workload_cpu_s {
        s.push_str(&format!("| workload CPU seconds (both cores) | {cpu:.1} | |\n"));
    }
    s.push_str(&format!("| speed-up over Python | {:.2}× | 1× |\n", r.speedup));
    if let Some(load) = r.load_average {
        s.push_str(&format!("| load average at the end | {load:.2} | |\n"));
    }
    s.push_str(&format!("| sequences per forward pass | {} | |\n", r.batch_size));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labelled_pairs_and_names_bad_rows() {
        let dir = std::env::temp_dir().join(format!("trustx-bench-pairs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("snli.jsonl");
        let row = |id: &str, gold: &str| {
            format!(r#"{{"pairID": "{id}", "gold_label": "{gold}", "sentence1": "A {id}.", "sentence2": "B."}}"#)
        };
        std::fs::write(&path, [row("a", "neutral"), row("b", "-"), row("c", "entailment")].join("\n")).unwrap();
        let pairs = read_pairs(&path, 2).unwrap();
        assert_eq!(pairs.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(pairs[1].segments, ["A c.", "B."]);
        let e = read_pairs(&path, 3).unwrap_err().to_string();
        assert!(e.contains("2 labelled pairs"), "{e}");
        std::fs::write(&path, format!("{}\n{{\"pairID\": 3}}\n", row("a", "neutral"))).unwrap();
        let e = format!("{:#}", read_pairs(&path, 2).unwrap_err());
        assert!(e.contains("snli.jsonl:2") && e.contains("gold_label"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn python_figures_scale_with_the_budgets() {
        let config = |lime_samples, shap_evals| ExplainBenchConfig {
            model: PathBuf::new(),
            pairs: PathBuf::new(),
            count: 20,
            seeds: 3,
            lime_samples,
            shap_evals,
            batch_size: 64,
        };
        // The measured budgets: 20 pairs × 3 seeds × (7.9 + 7.2) s = 906 s.
        assert!((python_workload_s(20, &config(1000, 500)) - 906.0).abs() < 1e-9);
        assert!((python_workload_s(20, &config(500, 1000)) - 60.0 * (3.95 + 14.4)).abs() < 1e-9);
    }
}
