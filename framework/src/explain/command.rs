//! `trustx explain MODEL_DIR --text T [--pair P] --explainer NAME`: explain one prediction of
//! a Hugging Face model from the command line.
//!
//! Loads the folder with [`HfModel::load`] (on an autodiff device when the explainer needs
//! gradients; a folder without a classification head is refused unless `--random-head
//! --labels N`, see [`crate::commands::head`]), predicts, explains the predicted class (or `--class`, an index or a label
//! name) and prints the top words by |weight| as a ranked list, the text with coloured words
//! when stdout is a terminal (green supports the class, red opposes it, bold for the
//! strongest), and the evaluation counts. `--json` prints everything as one JSON object:
//! the attribution rows, the counts, the diagnostics, the resolved settings.

use super::attribution::FeatureKey;
use super::engine::{EvalCounts, ExampleEngine};
use super::features::{DEFAULT_WORD_PATTERN, Features, WordSplitter};
use super::gradient::GradientClassifier;
use crate::model::{HfModel, LoadOptions};
use crate::plugin::explainer::{ExplainInput, ExplainerEntry};
use crate::plugin::{self, PluginKind, SettingsError};
use crate::snippet::printable;
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `trustx explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// Hugging Face model folder (config.json, weights, vocab.txt or tokenizer.json).
    pub model_dir: PathBuf,
    /// The text to explain (the premise of a pair).
    #[arg(long)]
    pub text: String,
    /// The second segment of a pair (the hypothesis).
    #[arg(long)]
    pub pair: Option<String>,
    /// Explainer plugin (`trustx plugins --kind explainer`).
    #[arg(long)]
    pub explainer: String,
    /// Explain this class (index or label name) instead of the predicted one.
    #[arg(long)]
    pub class: Option<String>,
    /// Seed of the explainer's random draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// An explainer setting, `key=value` (value read as TOML, else as a string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Number of words in the ranked list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the full attributions and evaluation counts as JSON.
    #[arg(long)]
    pub json: bool,
    /// A random head, on purpose (a folder without a head is refused otherwise).
    #[command(flatten)]
    pub head: crate::commands::head::HeadArgs,
}

/// Parses `--set key=value` pairs into a settings table.
pub fn parse_sets(sets: &[String]) -> Result<Value> {
    let mut table = serde_json::Map::new();
    for s in sets {
        let (key, raw) = s.split_once('=').with_context(|| format!("--set {s:?}: expected key=value"))?;
        let key = key.trim();
        if key.is_empty() {
            bail!("--set {s:?}: empty key");
        }
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => serde_json::to_value(t.remove("v")).context("cannot convert the value")?,
            Err(_) => Value::String(raw.to_string()),
        };
        table.insert(key.to_string(), value);
    }
    Ok(Value::Object(table))
}

/// Runs `trustx explain`.
pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let Some(entry) = ExplainerEntry::find(&args.explainer) else {
        let hint = plugin::nearest(PluginKind::Explainer, &args.explainer)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        // A bad command line exits 2, as a bad manifest does.
        eprintln!(
            "error: unknown explainer `{}`{hint}; explainers: {}",
            args.explainer,
            plugin::names(PluginKind::Explainer).join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    let resolved = match parse_sets(&args.set).and_then(|settings| {
        let describe =
            |e: &SettingsError| format!("explainer `{}`: --set {}: {}", entry.info.name, e.path.join("."), e.message);
        let resolved = (entry.info.resolve)(&settings).map_err(|e| anyhow!(describe(&e)))?;
        let problems: Vec<String> = (entry.info.check)(&resolved).iter().map(describe).collect();
        if !problems.is_empty() {
            bail!("{}", problems.join("\nerror: "));
        }
        Ok(resolved)
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };

    let device = if entry.needs_gradients { Device::flex().autodiff() } else { Device::flex() };
    let mut options = LoadOptions::default();
    args.head.apply(&mut options);
    let model = HfModel::load(&args.model_dir, &options, &device)?;
    args.head.check(&model, &args.model_dir, "explain")?;
    let mut segments = vec![args.text.clone()];
    segments.extend(args.pair.clone());
    let engine = ExampleEngine::new(&model, "input", segments.clone())?;
    let probs = engine.original(&mut EvalCounts::default())?;
    if probs.iter().any(|p| !p.is_finite()) {
        bail!(
            "{}: the model's probabilities are not finite numbers: its weights hold NaN or infinite values (a \
             diverged training run or a damaged file); retrain or re-export the model",
            args.model_dir.display()
        );
    }
    let predicted = argmax(&probs);
    let class = match &args.class {
        None => predicted,
        Some(c) => class_index(c, model.label_names())?,
    };
    let gradients: Option<&dyn GradientClassifier> = entry.needs_gradients.then_some(&model as _);
    let input = ExplainInput { engine: &engine, class, gradients };
    let mut rng = super::rng_for(args.seed, "input");
    let explanation = entry.explain(&resolved, &input, &mut rng)?;
    let attribution = &explanation.attribution;
    let seed = entry.row_seed(args.seed);
    let labels = model.label_names();
    let ranked = attribution.ranked(FeatureKey::Position);

    if args.json {
        let top: Vec<Value> = ranked
            .iter()
            .take(args.top)
            .filter_map(|(key, w)| {
                let i = position_index(attribution, key)?;
                let f = &attribution.features[i];
                Some(json!({"feature": f.text, "segment": f.segment, "position": f.position, "weight": w}))
            })
            .collect();
        let out = json!({
            "model": args.model_dir.display().to_string(),
            "segments": segments,
            "labels": labels,
            "head": args.head.describe(),
            "probabilities": probs.to_vec(),
            "predicted": predicted,
            "class": class,
            "explainer": entry.info.name,
            "version": entry.info.version,
            "deterministic": entry.deterministic,
            "settings": resolved,
            "seed": seed,
            "top": top,
            "attributions": explanation.rows(seed),
            "counts": explanation.counts,
            "engine_totals": engine.totals(),
            "diagnostics": explanation.diagnostics,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }

    // Label names and words come from the user's files: control characters are escaped.
    let name = |c: usize| labels.get(c).map(|l| printable(l)).unwrap_or_else(|| c.to_string());
    println!("model       {} ({} classes)", args.model_dir.display(), labels.len());
    if args.head.random_head {
        println!("head        {}: the prediction says nothing about any task", args.head.describe());
    }
    println!("prediction  {} (p = {:.4})", name(predicted), probs[predicted]);
    let seed_note = if entry.deterministic { String::from("deterministic") } else { format!("seed {}", args.seed) };
    println!("explaining  {} (p = {:.4}) with `{}` ({seed_note})", name(class), probs[class], entry.info.name);
    println!();
    println!("{:>4}  {:>10}  {:<10}  word", "rank", "weight", "segment");
    let segment_name = |s: usize| match (segments.len(), s) {
        (1, _) => "text",
        (_, 0) => "premise",
        _ => "hypothesis",
    };
    for (rank, (key, w)) in ranked.iter().take(args.top).enumerate() {
        if let Some(i) = position_index(attribution, key) {
            let f = &attribution.features[i];
            println!("{:>4}  {:>+10.5}  {:<10}  {}", rank + 1, w, segment_name(f.segment), printable(&f.text));
        }
    }
    if ranked.is_empty() {
        println!("      (no word has a non-zero weight)");
    }
    if std::io::stdout().is_terminal() {
        println!();
        for line in coloured(&resolved, &segments, &attribution.weights)? {
            println!("{line}");
        }
    }
    println!();
    let c = explanation.counts;
    let t = engine.totals();
    println!(
        "evaluations requested {}, distinct {}, run {} (engine total: {} requested, {} run)",
        c.requested, c.distinct, c.run, t.requested, t.run
    );
    if !explanation.diagnostics.is_empty() {
        let d: Vec<String> = explanation.diagnostics.iter().map(|(k, v)| format!("{k} = {v:.6}")).collect();
        println!("diagnostics {}", d.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The feature index of a `segment:position` key.
fn position_index(a: &super::Attribution, key: &str) -> Option<usize> {
    (0..a.features.len()).find(|&i| a.key(i, FeatureKey::Position) == key)
}

fn argmax(row: &[f64]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// A class given as an index or a label name.
fn class_index(c: &str, labels: &[String]) -> Result<usize> {
    if let Ok(i) = c.parse::<usize>() {
        if i < labels.len() {
            return Ok(i);
        }
        bail!("--class {i}: the model has {} classes", labels.len());
    }
    labels.iter().position(|l| l == c).with_context(|| format!("--class {c:?}: labels are {}", labels.join(", ")))
}

/// Each segment with its words coloured by the weight of their feature (ANSI).
fn coloured(settings: &Value, segments: &[String], weights: &[f64]) -> Result<Vec<String>> {
    let pattern = settings.get("token_pattern").and_then(Value::as_str).unwrap_or(DEFAULT_WORD_PATTERN);
    let bow = settings.get("bow").and_then(Value::as_bool).unwrap_or(false);
    let features = Features::new(segments, &WordSplitter::new(pattern)?, bow)?;
    if features.len() != weights.len() {
        return Ok(segments.iter().map(|s| printable(s)).collect());
    }
    let max = weights.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    let mut lines = vec![String::new(); segments.len()];
    let mut last_end = vec![0usize; segments.len()];
    for w in features.words() {
        let text = &segments[w.segment];
        let line = &mut lines[w.segment];
        line.push_str(&printable(&text[last_end[w.segment]..w.start]));
        let weight = weights[w.feature];
        let word = &text[w.start..w.end];
        let word = &printable(word);
        if weight == 0.0 || max == 0.0 {
            line.push_str(word);
        } else {
            let colour = if weight > 0.0 { 32 } else { 31 };
            let bold = if weight.abs() >= 0.5 * max { "1;" } else { "" };
            line.push_str(&format!("\x1b[{bold}{colour}m{word}\x1b[0m"));
        }
        last_end[w.segment] = w.end;
    }
    for (s, line) in lines.iter_mut().enumerate() {
        line.push_str(&printable(&segments[s][last_end[s]..]));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_toml_or_strings() {
        let v = parse_sets(&["num_samples=100".into(), "bow=false".into(), "masking=remove".into(), "p=0.5".into()])
            .unwrap();
        assert_eq!(v, json!({"num_samples": 100, "bow": false, "masking": "remove", "p": 0.5}));
        assert!(parse_sets(&["novalue".into()]).is_err());
        assert!(parse_sets(&["=3".into()]).is_err());
    }

    #[test]
    fn classes_and_colours() {
        let labels = vec!["neg".to_string(), "pos".to_string()];
        assert_eq!(class_index("pos", &labels).unwrap(), 1);
        assert_eq!(class_index("0", &labels).unwrap(), 0);
        assert!(class_index("2", &labels).is_err() && class_index("x", &labels).is_err());
        let lines = coloured(&json!({}), &["a good day".to_string()], &[0.0, 1.0, -0.2]).unwrap();
        assert_eq!(lines, ["a \x1b[1;32mgood\x1b[0m \x1b[31mday\x1b[0m"]);
    }
}
