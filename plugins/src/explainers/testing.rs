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
