//! Faithfulness of an explanation to the model it explains: ERASER's comprehensiveness and
//! sufficiency (DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP
//! Models", §4), as ferret computes them, aggregated as AOPC over ERASER's bins.
//!
//! For an example x, the explained class c and the model's probability p(c | ·):
//! - the explanation's features are ranked by weight, highest first (most support for c;
//!   ties by feature order); r_k is the top ⌈k% · d⌉ of the d features (at least one);
//! - **comprehensiveness** at k = p(c | x) − p(c | x without the words of r_k): high when the
//!   words the explanation names matter;
//! - **sufficiency** at k = p(c | x) − p(c | only the words of r_k): low when they suffice;
//! - **AOPC** over the bins B = {1, 5, 10, 20, 50} % = 1/(|B| + 1) · Σ_{k ∈ B} value(k) (ERASER
//!   eq. 1–2 count the empty rationale r₀, whose value is 0, in the |B| + 1).
//!
//! Removal follows the explainer's masking (`masking` in its settings: `remove`, the default,
//! `mask_token` or `delete`), on word features of the default pattern: a ranked feature stands
//! for every word of its segment with its text (the paper's word key). Words past the model's
//! window stay as they are (see [`Features::within`]). The probabilities go through the
//! example's engine, so a text an explainer already ran is not run again.

use super::Attribution;
use super::engine::{EvalCounts, ExampleEngine};
use super::features::{Features, WordSplitter};
use super::mask::Mask;
use super::render::{MaskMode, render};
use anyhow::Result;

/// ERASER's bins: percentages of the features kept as the rationale.
pub const BINS: [f64; 5] = [1.0, 5.0, 10.0, 20.0, 50.0];

/// Comprehensiveness and sufficiency AOPC of one explanation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faithfulness {
    /// Comprehensiveness AOPC (higher: more faithful).
    pub comprehensiveness: f64,
    /// Sufficiency AOPC (lower: more faithful).
    pub sufficiency: f64,
}

/// The faithfulness of `attribution` (of class `class`) to the engine's model, removing words
/// by `mode`.
pub fn faithfulness(
    engine: &ExampleEngine,
    attribution: &Attribution,
    mode: MaskMode,
    counts: &mut EvalCounts,
) -> Result<Faithfulness> {
    let class = attribution.class;
    let d = attribution.features.len();
    if d == 0 {
        return Ok(Faithfulness { comprehensiveness: 0.0, sufficiency: 0.0 });
    }
    let splitter = WordSplitter::default().keeping(&engine.classifier().special_words());
    let words = Features::within(engine.segments(), &splitter, false, engine.visible_bytes())?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| attribution.weights[b].total_cmp(&attribution.weights[a]).then(a.cmp(&b)));
    let mask_token = engine.classifier().mask_token().to_string();
    let mut texts = vec![engine.segments().to_vec()];
    for pct in BINS {
        let k = ((pct / 100.0 * d as f64).ceil() as usize).clamp(1, d);
        let chosen: Vec<(usize, &str)> = order[..k]
            .iter()
            .map(|&f| (attribution.features[f].segment, attribution.features[f].text.as_str()))
            .collect();
        let in_rationale =
            |i: usize| chosen.iter().any(|&(s, t)| words.features()[i].segment == s && words.features()[i].text == t);
        let without = Mask::from_fn(words.len(), |i| !in_rationale(i));
        let only = Mask::from_fn(words.len(), in_rationale);
        texts.push(render(&words, &without, mode, &mask_token));
        texts.push(render(&words, &only, mode, &mask_token));
    }
    let rows = engine.predict_texts(&texts, counts)?;
    let full = rows[0][class];
    let (mut comprehensiveness, mut sufficiency) = (0.0, 0.0);
    for b in 0..BINS.len() {
        comprehensiveness += full - rows[1 + 2 * b][class];
        sufficiency += full - rows[2 + 2 * b][class];
    }
    let n = (BINS.len() + 1) as f64;
    Ok(Faithfulness { comprehensiveness: comprehensiveness / n, sufficiency: sufficiency / n })
}

/// The masking mode an explainer's resolved settings name (`masking`), `remove` when none.
pub fn masking_of(settings: &serde_json::Value) -> MaskMode {
    settings.get("masking").and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or(MaskMode::Remove)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::Classifier;

    /// p(positive) rises by 0.2 for every "good" present and falls by 0.1 for every "bad".
    struct Words;
    impl Classifier for Words {
        fn num_classes(&self) -> usize {
            2
        }
        fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
            Ok(inputs
                .iter()
                .map(|s| {
                    let t = s.join(" ");
                    let good = t.matches("good").count() as f64;
                    let bad = t.matches("bad").count() as f64;
                    let p = (0.5 + 0.2 * good - 0.1 * bad).clamp(0.0, 1.0);
                    vec![1.0 - p, p]
                })
                .collect())
        }
    }

    #[test]
    fn a_faithful_explanation_beats_a_reversed_one() {
        let engine = ExampleEngine::new(&Words, "e", vec!["a good film , not bad".into()]).unwrap();
        let features = Features::new(engine.segments(), &WordSplitter::default(), false).unwrap();
        // Words: a good film , not bad (6 features with the default pattern).
        let names: Vec<&str> = features.features().iter().map(|f| f.text.as_str()).collect();
        let good = names.iter().position(|&w| w == "good").unwrap();
        let mut right = vec![0.0; features.len()];
        right[good] = 1.0;
        let mut wrong = vec![0.0; features.len()];
        wrong[good] = -1.0;
        let a = Attribution::new("e", 1, &features, right).unwrap();
        let b = Attribution::new("e", 1, &features, wrong).unwrap();
        let mut counts = EvalCounts::default();
        let fa = faithfulness(&engine, &a, MaskMode::Remove, &mut counts).unwrap();
        let fb = faithfulness(&engine, &b, MaskMode::Remove, &mut counts).unwrap();
        // p(x) = 0.6. Every bin removes "good" first for `a` (k = 1, 1, 1, 1, 3 of 6): p drops to
        // 0.4 at every bin → comprehensiveness AOPC = 5 · 0.2 / 6.
        assert!((fa.comprehensiveness - 5.0 * 0.2 / 6.0).abs() < 1e-12, "{fa:?}");
        assert!(fa.comprehensiveness > fb.comprehensiveness, "{fa:?} vs {fb:?}");
        assert!(fa.sufficiency < fb.sufficiency, "{fa:?} vs {fb:?}");
    }

    #[test]
    fn masking_comes_from_the_settings() {
        assert_eq!(masking_of(&serde_json::json!({"masking": "mask_token"})), MaskMode::MaskToken);
        assert_eq!(masking_of(&serde_json::json!({})), MaskMode::Remove);
    }
}
