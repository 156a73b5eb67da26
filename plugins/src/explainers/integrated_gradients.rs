//! `integrated-gradients`: Sundararajan et al. (2017) on the input word embeddings.
//!
//! With x the word embeddings of the input and x' the baseline (every word token's
//! embedding replaced by `[PAD]`'s by default; `[CLS]`/`[SEP]` kept), the attribution of
//! word w is IG_w = Σ over its tokens t of (x_t − x'_t) · ∫₀¹ ∂F/∂x_t (x' + α (x − x')) dα,
//! and a feature's attribution is the sum over its words. The integral is a quadrature of
//! `steps` points: Gauss–Legendre (default, as captum) or a Riemann sum (left, right,
//! middle, trapezoid). Completeness says Σ IG = F(x) − F(x'); the difference is reported as
//! `completeness_error` (it shrinks with more steps). Needs a gradient-capable model.
//! Deterministic.

use super::prepare;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustx_framework::anyhow::{Context, Result, bail};
use trustx_framework::explain::budget;
use trustx_framework::explain::{Attribution, Baseline, ExplainRng, Output, PathRequest};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::explainer::{
    ExplainInput, Explainer, ExplainerEntry, Explanation, default_token_pattern,
};

/// The quadrature of the path integral.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Gauss–Legendre nodes and weights on [0, 1].
    #[default]
    GaussLegendre,
    /// α = k/n, k = 0..n−1.
    RiemannLeft,
    /// α = k/n, k = 1..n.
    RiemannRight,
    /// α = (k + ½)/n.
    RiemannMiddle,
    /// α = k/(n − 1), end points weighted ½.
    RiemannTrapezoid,
}

/// Settings of `integrated-gradients`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegratedGradientsSettings {
    /// Quadrature points on the path (at least 1; 2 for the trapezoid).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// `gauss_legendre`, `riemann_left`, `riemann_right`, `riemann_middle` or `riemann_trapezoid`.
    #[serde(default)]
    pub method: Method,
    /// Path start for word tokens: `pad`, `mask` or `zero`.
    #[serde(default)]
    pub baseline: Baseline,
    /// Regex that splits each segment into words.
    #[serde(default = "default_token_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true, its words' attributions summed)
    /// or per word position (false).
    #[serde(default)]
    pub bow: bool,
    /// Differentiated quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

fn default_steps() -> usize {
    50
}

impl Default for IntegratedGradientsSettings {
    fn default() -> Self {
        Self {
            steps: default_steps(),
            method: Method::GaussLegendre,
            baseline: Baseline::Pad,
            token_pattern: default_token_pattern(),
            bow: false,
            output: Output::default(),
        }
    }
}

/// Points α and weights of the quadrature on [0, 1].
pub fn quadrature(method: Method, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 0 || (method == Method::RiemannTrapezoid && n < 2) {
        bail!("setting `steps`: {n} is too few for {method:?}");
    }
    let nf = n as f64;
    Ok(match method {
        Method::RiemannLeft => ((0..n).map(|k| k as f64 / nf).collect(), vec![1.0 / nf; n]),
        Method::RiemannRight => ((1..=n).map(|k| k as f64 / nf).collect(), vec![1.0 / nf; n]),
        Method::RiemannMiddle => ((0..n).map(|k| (k as f64 + 0.5) / nf).collect(), vec![1.0 / nf; n]),
        Method::RiemannTrapezoid => {
            let h = 1.0 / (nf - 1.0);
            let w = (0..n).map(|k| if k == 0 || k == n - 1 { h / 2.0 } else { h }).collect();
            ((0..n).map(|k| k as f64 * h).collect(), w)
        }
        Method::GaussLegendre => gauss_legendre(n),
    })
}

/// Gauss–Legendre nodes on [0, 1] (ascending) and weights: roots of P_n by Newton's method
/// from Tricomi's initial guesses, weights 2 / ((1 − x²) P'_n(x)²), mapped from [−1, 1].
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // P_n(x) and P_{n−1}(x) by the three-term recurrence.
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let (pn, pn1) = if n == 1 { (x, 1.0) } else { (p1, p0) };
            dp = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let step = pn / dp;
            x -= step;
            if step.abs() < 1e-15 {
                break;
            }
        }
        nodes.push((1.0 - x) / 2.0);
        weights.push(1.0 / ((1.0 - x * x) * dp * dp));
    }
    (nodes, weights)
}

/// The `integrated-gradients` explainer.
pub struct IntegratedGradients;

impl Explainer for IntegratedGradients {
    type Settings = IntegratedGradientsSettings;
    const NAME: &'static str = "integrated-gradients";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Integrated gradients on the word embeddings ([PAD] baseline, Gauss–Legendre)";
    const DETERMINISTIC: bool = true;
    const NEEDS_GRADIENTS: bool = true;

    fn check(s: &IntegratedGradientsSettings) -> Vec<SettingsError> {
        let mut out = Vec::new();
        if let Err(e) = quadrature(s.method, s.steps.min(2)) {
            out.push(SettingsError::at("steps", e.to_string()));
        }
        let n = s.steps as u64;
        // A step keeps one embedding-sized gradient (at most 512 tokens × 1024 dimensions × 4 bytes).
        out.extend(budget::check("steps", n, n, n, budget::MAX_FEATURES * 1024 * 4));
        out
    }

    fn explain(s: &IntegratedGradientsSettings, input: &ExplainInput, _rng: &mut ExplainRng) -> Result<Explanation> {
        let gradients = input.gradients.context("a gradient-capable model is needed")?;
        let (alphas, weights) = quadrature(s.method, s.steps)?;
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let req = PathRequest {
            features: &features,
            class: input.class,
            output: s.output,
            baseline: s.baseline,
            alphas: &alphas,
        };
        let path = gradients.path_gradients(&req)?;
        if path.word_grads.len() != alphas.len() {
            bail!("the model returned gradients at {} points for {}", path.word_grads.len(), alphas.len());
        }
        let mut per_word = vec![0.0; features.words().len()];
        for (row, w) in path.word_grads.iter().zip(&weights) {
            for (acc, g) in per_word.iter_mut().zip(row) {
                *acc += w * g;
            }
        }
        let attributions: Vec<f64> =
            features.features().iter().map(|f| f.words.iter().map(|&w| per_word[w]).sum()).collect();
        let total: f64 = attributions.iter().sum();
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, attributions)?;
        let diagnostics = BTreeMap::from([
            ("output".to_string(), path.at_input),
            ("base_value".to_string(), path.at_baseline),
            ("completeness_error".to_string(), total - (path.at_input - path.at_baseline)),
        ]);
        Ok(Explanation { attribution, counts: Default::default(), diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<IntegratedGradients>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::testing::*;
    use rand::SeedableRng;
    use trustx_framework::explain::{ExampleEngine, GradientClassifier, PathGradients};

    /// F(α) = σ(b + α Σ w_i) along the path: word i's embedding moves from 0 to 1 and
    /// enters the logit with weight w_i, so ∂F/∂e_i = w_i σ'(·) and x − x' = 1.
    struct Logistic<'m>(&'m Additive);
    impl GradientClassifier for Logistic<'_> {
        fn path_gradients(&self, req: &PathRequest) -> Result<PathGradients> {
            let f = req.features;
            let w: Vec<f64> =
                f.words().iter().map(|x| self.0.weights.get(f.word_text(x)).copied().unwrap_or(0.0)).collect();
            let total: f64 = w.iter().sum();
            let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
            let word_grads = req
                .alphas
                .iter()
                .map(|a| {
                    let p = sig(self.0.bias + a * total);
                    w.iter().map(|wi| wi * p * (1.0 - p)).collect()
                })
                .collect();
            Ok(PathGradients { word_grads, at_input: sig(self.0.bias + total), at_baseline: sig(self.0.bias) })
        }
    }

    fn run(s: &IntegratedGradientsSettings) -> Explanation {
        let (model, text, _) = five_words();
        let engine = ExampleEngine::new(&model, "ex", vec![text.to_string()]).unwrap();
        let g = Logistic(&model);
        let input = ExplainInput { engine: &engine, class: 1, gradients: Some(&g) };
        IntegratedGradients::explain(s, &input, &mut ExplainRng::seed_from_u64(0)).unwrap()
    }

    #[test]
    fn quadratures_integrate_polynomials() {
        // ∫₀¹ x³ dx = 1/4: Gauss–Legendre with 2 points is exact for cubics.
        for (method, n, tol) in [
            (Method::GaussLegendre, 2, 1e-14),
            (Method::GaussLegendre, 50, 1e-13),
            (Method::RiemannMiddle, 200, 1e-5),
            (Method::RiemannTrapezoid, 200, 1e-4),
            (Method::RiemannLeft, 2000, 1e-3),
            (Method::RiemannRight, 2000, 1e-3),
        ] {
            let (x, w) = quadrature(method, n).unwrap();
            let v: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(3)).sum();
            assert!((v - 0.25).abs() < tol, "{method:?} {n}: {v}");
            assert!(x.iter().all(|a| (0.0..=1.0).contains(a)));
        }
        assert!(quadrature(Method::RiemannTrapezoid, 1).is_err());
        assert!(quadrature(Method::GaussLegendre, 0).is_err());
    }

    #[test]
    fn completeness_and_closed_form() {
        let e = run(&IntegratedGradientsSettings::default());
        assert!(e.diagnostics["completeness_error"].abs() < 1e-12, "{:?}", e.diagnostics);
        // IG_i = w_i (σ(b + S) − σ(b)) / S.
        let (model, _, want) = five_words();
        let s: f64 = want.iter().sum();
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let scale = (sig(model.bias + s) - sig(model.bias)) / s;
        let want: Vec<f64> = want.iter().map(|w| w * scale).collect();
        assert_close(&e.attribution.weights, &want, 1e-12, "closed form");
        let coarse = run(&settings::<IntegratedGradients>(serde_json::json!({"steps": 4, "method": "riemann_left"})));
        assert!(coarse.diagnostics["completeness_error"].abs() > 1e-4);
    }

    #[test]
    fn refuses_a_black_box() {
        let (model, text, _) = five_words();
        let engine = ExampleEngine::new(&model, "ex", vec![text.to_string()]).unwrap();
        let input = ExplainInput { engine: &engine, class: 1, gradients: None };
        let entry = trustx_framework::plugin::explainer::ExplainerEntry::find("integrated-gradients").unwrap();
        let err = entry.explain(&serde_json::json!({}), &input, &mut ExplainRng::seed_from_u64(0)).unwrap_err();
        assert!(err.to_string().contains("gradient"), "{err}");
    }
}
