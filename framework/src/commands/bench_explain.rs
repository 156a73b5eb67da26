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
//! on a fresh cache (LIME removes words, SHAP puts `...` in their place: they share no text
//! but the original): those times are the seconds per explanation.
//!
//! The bench prints its own measurements only. A ratio to the Python stack (transformers +
//! lime + shap) comes from `benches/compare.sh`, which runs this bench and
//! `benches/peers/explain.py` (the same pairs, counts and model) alternately in one session.

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

    // One explanation at a time, each on a fresh cache (benches/peers/explain.py times the
    // Python stack's first three pairs the same way).
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
    })
}

/// The results as a Markdown table: this machine's measurements only (a ratio to another
/// stack is `benches/compare.sh`'s, measured beside it).
pub fn render(r: &ExplainBenchResult) -> String {
    let mut s = String::from("| measure | trustx |\n|---|---|\n");
    s.push_str(&format!(
        "| LIME ({} samples, 3 classes), s per explanation | {:.2} ({:.2}/s) |\n",
        r.lime_samples,
        r.lime_s,
        1.0 / r.lime_s
    ));
    s.push_str(&format!(
        "| partition SHAP ({} evals), s per explanation | {:.2} ({:.2}/s) |\n",
        r.shap_evals,
        r.shap_s,
        1.0 / r.shap_s
    ));
    s.push_str(&format!(
        "| workload: {} pairs × {} seeds × (LIME + SHAP), s | {:.1} |\n",
        r.pairs, r.seeds, r.workload_s
    ));
    s.push_str(&format!(
        "| evaluations requested / distinct / run (dedup ratio) | {} / {} / {} ({:.2}) |\n",
        r.counts.requested, r.counts.distinct, r.counts.run, r.dedup_ratio
    ));
    if let Some(cpu) = r.workload_cpu_s {
        s.push_str(&format!("| workload CPU seconds (every thread) | {cpu:.1} |\n"));
    }
    if let Some(load) = r.load_average {
        s.push_str(&format!("| load average at the end | {load:.2} |\n"));
    }
    s.push_str(&format!("| sequences per forward pass | {} |\n", r.batch_size));
    s.push_str("| ratio to the Python stack | `bash benches/compare.sh` (measured side by side) |\n");
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
    fn the_table_holds_this_run_and_no_other_stacks_figure() {
        let counts = EvalCounts { requested: 120, distinct: 100, run: 90 };
        let r = ExplainBenchResult {
            pairs: 2,
            seeds: 3,
            batch_size: 64,
            lime_samples: 1000,
            shap_evals: 500,
            lime_s: 1.25,
            shap_s: 0.5,
            workload_s: 12.5,
            workload_cpu_s: Some(24.0),
            load_average: Some(1.5),
            explanations: 12,
            counts,
            dedup_ratio: counts.dedup_ratio(),
        };
        let table = render(&r);
        for want in [
            "| 1.25 (0.80/s) |",
            "| 0.50 (2.00/s) |",
            "2 pairs × 3 seeds",
            "| 12.5 |",
            "| 24.0 |",
            "benches/compare.sh",
        ] {
            assert!(table.contains(want), "{want} missing from\n{table}");
        }
        // No speed-up: a ratio needs the other stack measured in the same session.
        assert!(!table.contains("speed-up"), "{table}");
        assert!(!table.contains("7.9") && !table.contains("7.2") && !table.contains("target"), "{table}");
    }
}
