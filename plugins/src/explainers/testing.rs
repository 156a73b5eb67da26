//! Test models whose explanations are known: an additive bag-of-words classifier (linear
//! in logit space) and a pair classifier that checks it always receives two segments.

use rand::SeedableRng;
use std::collections::HashMap;
use std::sync::Mutex;
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::{ExampleEngine, ExplainRng, WordSplitter};
use trustx_framework::plugin::explainer::{ExplainInput, Explainer, Explanation};

/// Two classes; logit(class 1) − logit(class 0) = bias + Σ over words present of their weight
/// (words found with the default pattern in every segment, unknown words weigh 0).
pub struct Additive {
    pub bias: f64,
    pub weights: HashMap<String, f64>,
    /// When set, every input must have exactly this many segments.
    pub segments: Option<usize>,
    /// Every input seen, for inspection.
    pub seen: Mutex<Vec<Vec<String>>>,
    split: WordSplitter,
}

impl Additive {
    pub fn new(bias: f64, weights: &[(&str, f64)]) -> Self {
        Self {
            bias,
            weights: weights.iter().map(|(w, v)| (w.to_string(), *v)).collect(),
            segments: None,
            seen: Mutex::new(Vec::new()),
            split: WordSplitter::default(),
        }
    }

    /// The log-odds of class 1 for some segments.
    pub fn log_odds(&self, segments: &[String]) -> f64 {
        let mut z = self.bias;
        for s in segments {
            for (a, b) in self.split.spans(s) {
                z += self.weights.get(&s[a..b]).copied().unwrap_or(0.0);
            }
        }
        z
    }
}

impl trustx_framework::explain::Classifier for Additive {
    fn num_classes(&self) -> usize {
        2
    }
    fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(inputs.len());
        for t in inputs {
            if let Some(n) = self.segments
                && t.len() != n
            {
                bail!("expected {n} segments, got {t:?}");
            }
            self.seen.lock().unwrap().push(t.clone());
            let p = 1.0 / (1.0 + (-self.log_odds(t)).exp());
            out.push(vec![1.0 - p, p]);
        }
        Ok(out)
    }
}

/// Runs explainer `E` on `segments` for class 1 with seed `seed`.
pub fn explain<E: Explainer>(model: &Additive, segments: &[&str], settings: &E::Settings, seed: u64) -> Explanation {
    let engine = ExampleEngine::new(model, "ex", segments.iter().map(|s| s.to_string()).collect()).unwrap();
    let input = ExplainInput { engine: &engine, class: 1, gradients: None };
    let mut rng = ExplainRng::seed_from_u64(seed);
    E::explain(settings, &input, &mut rng).unwrap()
}

/// Settings of `E` from JSON.
pub fn settings<E: Explainer>(v: serde_json::Value) -> E::Settings {
    serde_json::from_value(v).unwrap()
}

/// A model of five weighted words (and a comma of weight 0) with well separated
/// contributions in log-odds; returns the model, the text and each position's contribution.
pub fn five_words() -> (Additive, &'static str, Vec<f64>) {
    let m = Additive::new(0.3, &[("great", 2.0), ("film", -1.2), ("truly", 0.7), ("boring", -0.35), ("plot", 0.15)]);
    (m, "truly great film , boring plot", vec![0.7, 2.0, -1.2, 0.0, -0.35, 0.15])
}

/// Asserts two slices agree to `tol`.
pub fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}: [{i}] {g} vs {w} (all: {got:?} vs {want:?})");
    }
}

/// Runs explainer `E` on `segments` for class `class` with seed `seed`.
pub fn explain_class<E: Explainer>(
    model: &dyn trustx_framework::explain::Classifier,
    segments: &[&str],
    settings: &E::Settings,
    seed: u64,
    class: usize,
) -> Explanation {
    let engine = ExampleEngine::new(model, "ex", segments.iter().map(|s| s.to_string()).collect()).unwrap();
    let input = ExplainInput { engine: &engine, class, gradients: None };
    let mut rng = ExplainRng::seed_from_u64(seed);
    E::explain(settings, &input, &mut rng).unwrap()
}

/// The reference model of `tests/reference/explainers.json`: softmax(tanh(x W1 + b1) W2 + b2)
/// over the counts x of the lower-cased `\w+` words in its vocabulary.
#[derive(serde::Deserialize)]
pub struct ReferenceMlp {
    pub vocab: Vec<String>,
    pub w1: Vec<Vec<f64>>,
    pub b1: Vec<f64>,
    pub w2: Vec<Vec<f64>>,
    pub b2: Vec<f64>,
}

impl ReferenceMlp {
    fn probs(&self, text: &str) -> Vec<f64> {
        static WORDS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let words = WORDS.get_or_init(|| regex::Regex::new(r"\w+").unwrap());
        let lower = text.to_lowercase();
        let mut hidden = self.b1.clone();
        for m in words.find_iter(&lower) {
            if let Ok(i) = self.vocab.binary_search_by(|v| v.as_str().cmp(m.as_str())) {
                for (h, w) in hidden.iter_mut().zip(&self.w1[i]) {
                    *h += w;
                }
            }
        }
        let mut z = self.b2.clone();
        for (h, row) in hidden.iter().zip(&self.w2) {
            for (zc, w) in z.iter_mut().zip(row) {
                *zc += h.tanh() * w;
            }
        }
        let top = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - top).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.into_iter().map(|v| v / sum).collect()
    }
}

impl trustx_framework::explain::Classifier for ReferenceMlp {
    fn num_classes(&self) -> usize {
        self.b2.len()
    }
    fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
        Ok(inputs.iter().map(|t| self.probs(&t.join(" "))).collect())
    }
}

/// One lime run of the reference: its top words and weights.
#[derive(serde::Deserialize)]
pub struct LimeRun {
    pub seed: u64,
    pub top: Vec<(String, f64)>,
}

/// One shap case of the reference: tokenizer, budget, tokens and values.
#[derive(serde::Deserialize)]
pub struct ShapCase {
    pub tokenizer: String,
    pub max_evals: usize,
    pub tokens: Vec<String>,
    pub values: Vec<f64>,
    pub base_value: f64,
}

/// One sentence of the reference.
#[derive(serde::Deserialize)]
pub struct ReferenceExample {
    pub id: String,
    pub text: String,
    pub class: usize,
    pub probs: Vec<f64>,
    pub lime: Vec<LimeRun>,
    pub shap: Vec<ShapCase>,
}

/// `tests/reference/explainers.json`, written by `scripts/reference/explainers.py`.
#[derive(serde::Deserialize)]
pub struct Reference {
    pub model: ReferenceMlp,
    pub examples: Vec<ReferenceExample>,
}

impl Reference {
    /// Loads the committed reference and checks the Rust model reproduces its probabilities.
    pub fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/reference/explainers.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let r: Reference = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(r.model.vocab.windows(2).all(|w| w[0] < w[1]), "the vocabulary is sorted");
        for ex in &r.examples {
            assert_close(&r.model.probs(&ex.text), &ex.probs, 1e-12, &ex.id);
        }
        r
    }
}

/// |A ∩ B| / |A ∪ B| of two word lists (1 when both are empty).
pub fn jaccard(a: &[String], b: &[String]) -> f64 {
    use std::collections::HashSet;
    let (a, b): (HashSet<&String>, HashSet<&String>) = (a.iter().collect(), b.iter().collect());
    let union = a.union(&b).count();
    if union == 0 { 1.0 } else { a.intersection(&b).count() as f64 / union as f64 }
}
