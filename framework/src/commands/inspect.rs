//! `trustx model inspect DIR --text T [--pair P] [--json]`: what a checkpoint folder does
//! with one input — tokens, ids, the `[CLS]` vector and the mean-pooled last hidden state,
//! the pooler output, logits and probabilities, parameters and size. A folder without a
//! classification head is refused (its logits would be random) unless `--random-head
//! --labels N` asks for a random head or `--encoder-only` leaves the logits out.
//!
//! Logits and probabilities come from the path predictions take ([`HfModel::forward_batch`]:
//! on the CPU the packed path, which runs a `dynamic-int8` folder in int8 as PyTorch's
//! `quantize_dynamic` does); the hidden vectors and the pooler output come from burn's
//! forward, which computes a quantised folder with its dequantised weights in f32
//! (`quantization` says which scheme the folder holds).

use super::head::HeadArgs;
use crate::model::{HfModel, LoadOptions, TokenizerChoice, loader};
use anyhow::{Context, Result};
use burn::tensor::{Device, Tensor};
use serde::Serialize;
use std::path::Path;

/// Options of `model inspect`.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// Longest encoding in tokens.
    pub max_len: usize,
    /// Use `vocab.txt` even when `tokenizer.json` exists.
    pub vocab_txt: bool,
    /// Accept a tokenizer whose vocabulary disagrees with the model.
    pub allow_vocab_mismatch: bool,
    /// A random head on purpose (`--random-head --labels N`).
    pub head: HeadArgs,
    /// Show the encoder's outputs only, with no logits: for a folder without a head.
    pub encoder_only: bool,
}

/// Everything `inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The folder.
    pub folder: String,
    /// `bert` or `distilbert`.
    pub model_type: String,
    /// Encoder layers, hidden size, heads.
    pub layers: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// Parameters (all tensors).
    pub parameters: usize,
    /// Weights file and its size in bytes.
    pub weights_file: String,
    /// Size of the weights file in bytes.
    pub size_bytes: u64,
    /// The int8 scheme and weight granularity of a quantised folder
    /// (`dynamic-int8 per-tensor`), `None` for a float one.
    pub quantization: Option<String>,
    /// Token strings.
    pub tokens: Vec<String>,
    /// Token ids.
    pub ids: Vec<u32>,
    /// Segment ids (BERT).
    pub token_type_ids: Vec<u32>,
    /// Last hidden state of `[CLS]`.
    pub cls_last_hidden: Vec<f32>,
    /// Mean over tokens of the last hidden state.
    pub mean_pooled_last_hidden: Vec<f32>,
    /// BERT's pooler output.
    pub pooler_output: Option<Vec<f32>>,
    /// Where the head comes from: `checkpoint`, `random (seed 0, --random-head)`, or
    /// `none (--encoder-only)`.
    pub head: String,
    /// Class names, when the checkpoint has a head.
    pub labels: Option<Vec<String>>,
    /// Logits, when the checkpoint has a head.
    pub logits: Option<Vec<f32>>,
    /// Softmax probabilities, when the checkpoint has a head.
    pub probabilities: Option<Vec<f32>>,
}

/// Runs the model in `dir` on one input.
pub fn inspect(dir: &Path, text: &str, pair: Option<&str>, opts: &InspectOptions) -> Result<Inspection> {
    let options = LoadOptions {
        max_len: opts.max_len,
        tokenizer: if opts.vocab_txt { TokenizerChoice::VocabTxt } else { TokenizerChoice::Auto },
        allow_vocab_mismatch: opts.allow_vocab_mismatch,
        ..LoadOptions::default()
    };
    let mut options = options;
    opts.head.apply(&mut options);
    let device = Device::flex();
    let model = HfModel::load(dir, &options, &device)?;
    if !opts.encoder_only {
        opts.head
            .check(&model, dir, "inspect")
            .map_err(|e| anyhow::anyhow!("{e}; or --encoder-only to see the encoder's outputs without logits"))?;
    }
    let enc = model.tokenize(text, pair)?;
    model.check_input(&enc)?;
    let out = model.forward(&model.batch(&[&enc]));
    let hidden_size = model.spec().hidden_size;
    let h = to_vec(out.last_hidden_state);
    let len = enc.len();
    let mean = (0..hidden_size).map(|k| (0..len).map(|t| h[t * hidden_size + k]).sum::<f32>() / len as f32).collect();
    let has_head = !opts.encoder_only;
    let logits = if has_head {
        model.forward_batch(std::slice::from_ref(&enc))?.logits.swap_remove(0)
    } else {
        to_vec(out.logits)
    };
    let weights = loader::weights_file(dir)?;
    let (outputs, values) = if has_head { ("logits", &logits) } else { ("encoder outputs", &h) };
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        anyhow::bail!(
            "{}: the model's {outputs} hold {bad}: the weights in {} hold NaN or infinite values (a \
             diverged training run or a damaged file); retrain or re-export the model",
            dir.display(),
            weights.display()
        );
    }
    let size_bytes = std::fs::metadata(&weights).with_context(|| format!("reading {}", weights.display()))?.len();
    let spec = model.spec();
    Ok(Inspection {
        folder: dir.display().to_string(),
        model_type: spec.model_type.as_str().into(),
        layers: spec.num_layers,
        hidden: spec.hidden_size,
        heads: spec.num_heads,
        parameters: model.num_parameters(),
        weights_file: weights.display().to_string(),
        size_bytes,
        quantization: model.quantization().map(|q| {
            let embeddings = if q.embeddings.is_empty() { "" } else { ", int8 embeddings" };
            format!("{} {}{embeddings}", q.scheme.as_str(), q.granularity.as_str())
        }),
        tokens: enc.tokens.clone(),
        ids: enc.ids.clone(),
        token_type_ids: enc.type_ids.clone(),
        cls_last_hidden: h[..hidden_size].to_vec(),
        mean_pooled_last_hidden: mean,
        pooler_output: out.pooler_output.map(to_vec),
        head: if opts.encoder_only { "none (--encoder-only)".into() } else { opts.head.describe() },
        labels: has_head.then(|| model.label_names().to_vec()),
        probabilities: has_head.then(|| crate::model::softmax(&logits)),
        logits: has_head.then_some(logits),
    })
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

/// The human-readable rendering: vectors shortened to their first values and norm.
pub fn render(i: &Inspection) -> String {
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| s.push_str(&format!("{k:<24} {v}\n"));
    line(&mut s, "folder", i.folder.clone());
    line(&mut s, "model", format!("{} · {} layers · hidden {} · {} heads", i.model_type, i.layers, i.hidden, i.heads));
    line(&mut s, "parameters", format!("{} ({:.1} M)", i.parameters, i.parameters as f64 / 1e6));
    line(&mut s, "size on disk", format!("{:.1} MB ({})", i.size_bytes as f64 / 1e6, i.weights_file));
    if let Some(q) = &i.quantization {
        line(&mut s, "quantization", format!("{q} (logits in int8; hidden vectors from dequantised weights)"));
    }
    line(&mut s, "tokens", format!("{} {:?}", i.tokens.len(), i.tokens));
    line(&mut s, "ids", format!("{:?}", i.ids));
    if i.model_type == "bert" {
        line(&mut s, "token type ids", format!("{:?}", i.token_type_ids));
    }
    line(&mut s, "[CLS] last hidden", short(&i.cls_last_hidden));
    line(&mut s, "mean-pooled last hidden", short(&i.mean_pooled_last_hidden));
    if let Some(p) = &i.pooler_output {
        line(&mut s, "pooler output", short(p));
    }
    if let (Some(labels), Some(logits), Some(probs)) = (&i.labels, &i.logits, &i.probabilities) {
        for ((l, z), p) in labels.iter().zip(logits).zip(probs) {
            line(&mut s, &format!("class {l}"), format!("logit {z:>9.4}   probability {p:.4}"));
        }
    }
    line(&mut s, "head", i.head.clone());
    s
}

fn short(v: &[f32]) -> String {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let head: Vec<String> = v.iter().take(6).map(|x| format!("{x:.5}")).collect();
    format!("[{}, …] (dim {}, L2 norm {norm:.4}; --json prints all)", head.join(", "), v.len())
}
