//! `lime`: lime 0.2.0.1's `LimeTextExplainer` (Ribeiro et al. 2016) with its defaults.
//! Each choice, with the line of lime 0.2.0.1 it follows (`lime/lime_text.py`,
//! `lime/lime_base.py`):
//!
//! - **Words**: `split_expression=r"\W+"` (lime_text.py 312) splits with `re.split` and every
//!   piece not starting with a non-word character is a word (113–115): the words are the
//!   runs of `\w`, so `token_pattern` defaults to `\w+` and punctuation is never a feature.
//! - **Features**: `bow=True` (313): one feature per distinct word text, case-sensitive,
//!   covering every occurrence (132), in order of first occurrence. trustx keeps the
//!   segments of a pair apart (a word of the premise and the same word in the hypothesis are
//!   two features), so the pair separator is never a feature: lime would see one string.
//! - **Removal**: `inverse_removing` (181) deletes the removed words' characters and keeps
//!   every other character (`masking = "delete"`).
//! - **Samples**: `num_samples=5000` (374) rows; the first is the original; each other
//!   removes k distinct features, k uniform in 1..=d (`randint(1, doc_size + 1)`, 472, so a
//!   sample can remove every word), the features uniform without replacement (478).
//! - **Distance**: cosine distance between the 0/1 rows and the all-ones row, × 100 (468):
//!   with m features kept, 100 (1 − √(m/d)), and 100 when m = 0 (sklearn's cosine of a zero
//!   row is 0).
//! - **Kernel**: √(exp(−dist² / w²)) (353), `kernel_width=25` (307).
//! - **Label**: the explained class's probability column (lime_base.py 182); lime explains
//!   `labels=(1,)` by default (371), trustx the class the manifest picks, as `labels=(c,)`.
//! - **Feature selection**: `feature_selection='auto'` (311): `forward_selection` when
//!   `num_features` ≤ 6, else `highest_weights` (lime_base.py 129–133). `highest_weights`
//!   fits `Ridge(alpha=0.01, fit_intercept=True)` with the kernel weights on all features
//!   (78) and keeps the `num_features` largest |coef × original row| = |coef| (109; ties:
//!   feature order, Python's stable sort). `forward_selection` adds, `num_features` times,
//!   the feature whose `Ridge(alpha=0)` fit has the best weighted R², the lowest index on
//!   ties (51–66). `none` keeps every feature; `lasso_path` is not implemented.
//! - **Surrogate**: `Ridge(alpha=1, fit_intercept=True)` on the selected features with the
//!   kernel weights (189–192); its coefficients are the weights, every other feature gets 0;
//!   `num_features=10` (373). The intercept, the weighted R² (`score`, 194) and the
//!   surrogate at the original (`local_pred`, 198) are diagnostics.
//!
//! lime draws from numpy's Mersenne Twister, trustx from ChaCha8 seeded per (seed,
//! example), so runs agree in distribution, not draw by draw; the test
//! `agrees_with_lime_as_lime_agrees_with_itself` holds trustx to lime's own seed-to-seed
//! agreement on the reference model (`scripts/reference/explainers.py`).
//!
//! Version 3 streams the same samples in batches of [`BATCH`] and fits from running sums
//! ([`RidgeMoments`]): peak memory no longer grows with `num_samples`; the weights equal
//! version 2's up to floating-point rounding. trustx's `lime` before version 2 is `token_pattern = "\\w+|[^\\w\\s]"`, `masking =
//! "remove"`, `max_removed = "all_but_one"` (forward selection then used α = 0.01).

use super::{prepare, view, yes};
use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::budget;
use trustx_framework::explain::linalg::RidgeFit;
use trustx_framework::explain::moments::RidgeMoments;
use trustx_framework::explain::{Attribution, ExplainRng, Mask, MaskMode, Output};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::explainer::{ExplainInput, Explainer, ExplainerEntry, Explanation};

/// How lime picks the features of its surrogate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSelection {
    /// `forward_selection` when `num_features` ≤ 6, otherwise `highest_weights`.
    #[default]
    Auto,
    /// The largest |coefficients| of a ridge on all features.
    HighestWeights,
    /// Greedy forward selection on weighted R².
    ForwardSelection,
    /// Every feature.
    None,
}

/// How many features a sample may remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaxRemoved {
    /// k uniform in 1..=d: a sample may remove every feature (lime 0.2.0.1).
    #[default]
    All,
    /// k uniform in 1..d: every sample keeps a feature (trustx `lime` version 1).
    AllButOne,
}

/// Settings of `lime`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimeSettings {
    /// Perturbed samples, the original included (the paper's NLI runs used 1000).
    #[serde(default = "default_samples")]
    pub num_samples: usize,
    /// Features given a non-zero weight.
    #[serde(default = "default_features")]
    pub num_features: usize,
    /// `auto`, `highest_weights`, `forward_selection` or `none`.
    #[serde(default)]
    pub feature_selection: FeatureSelection,
    /// Width w of the kernel √(exp(−d²/w²)) on the cosine distance × 100.
    #[serde(default = "default_width")]
    pub kernel_width: f64,
    /// Ridge penalty of the surrogate (sklearn's `Ridge(alpha=1)`).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Regex whose matches are the words (lime's `\W+` split leaves the runs of `\w`).
    #[serde(default = "default_lime_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true, lime's default) or per position.
    #[serde(default = "yes")]
    pub bow: bool,
    /// What happens to an absent word: `delete` (lime: its characters go, all other text
    /// stays), `remove` or `mask_token`.
    #[serde(default = "delete")]
    pub masking: MaskMode,
    /// How many features a sample may remove: `all` (lime) or `all_but_one`.
    #[serde(default)]
    pub max_removed: MaxRemoved,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

fn default_samples() -> usize {
    5000
}
fn default_features() -> usize {
    10
}
fn default_width() -> f64 {
    25.0
}
fn default_alpha() -> f64 {
    1.0
}
fn default_lime_pattern() -> String {
    r"\w+".to_string()
}
fn delete() -> MaskMode {
    MaskMode::Delete
}

impl Default for LimeSettings {
    fn default() -> Self {
        Self {
            num_samples: default_samples(),
            num_features: default_features(),
            feature_selection: FeatureSelection::Auto,
            kernel_width: default_width(),
            alpha: default_alpha(),
            token_pattern: default_lime_pattern(),
            bow: true,
            masking: delete(),
            max_removed: MaxRemoved::All,
            output: Output::default(),
        }
    }
}

/// The `lime` explainer.
pub struct Lime;

/// Samples evaluated per batch: the neighbourhood is streamed, so memory is bounded by one
/// batch of masks and texts plus the O(d²) sums of [`RidgeMoments`], whatever `num_samples`.
pub const BATCH: usize = 1024;

/// lime's sampler: the original first, then samples that remove k distinct features.
struct Sampler {
    d: usize,
    width: f64,
    max_removed: MaxRemoved,
    pool: Vec<usize>,
    drawn: usize,
}

impl Sampler {
    fn new(d: usize, width: f64, max_removed: MaxRemoved) -> Self {
        Self { d, width, max_removed, pool: (0..d).collect(), drawn: 0 }
    }

    /// The kernel weight of a sample keeping `kept` of the d features.
    fn kernel(&self, kept: usize) -> f64 {
        let d = self.d;
        let dist = if kept == 0 { 100.0 } else { 100.0 * (1.0 - (kept as f64 / d as f64).sqrt()) };
        (-(dist * dist) / (self.width * self.width)).exp().sqrt()
    }

    /// The next sample's mask and kernel weight (the same draws, in the same order, as
    /// lime's `__data_labels_distances`).
    fn next(&mut self, rng: &mut ExplainRng) -> (Mask, f64) {
        let d = self.d;
        self.drawn += 1;
        if self.drawn == 1 {
            return (Mask::full(d), self.kernel(d));
        }
        let k = match self.max_removed {
            MaxRemoved::All => rng.random_range(1..=d),
            MaxRemoved::AllButOne if d > 1 => rng.random_range(1..d),
            MaxRemoved::AllButOne => 1,
        };
        let mut mask = Mask::full(d);
        for i in 0..k {
            let j = rng.random_range(i..d);
            self.pool.swap(i, j);
            mask.set(self.pool[i], false);
        }
        (mask, self.kernel(d - k))
    }
}

/// Draws `n` samples in batches of [`BATCH`], evaluates each batch and adds it to the sums;
/// returns them with the output at the original.
fn stream(
    model: &mut trustx_framework::explain::engine::MaskedModel,
    d: usize,
    s: &LimeSettings,
    rng: &mut ExplainRng,
) -> Result<(RidgeMoments, f64)> {
    let mut sampler = Sampler::new(d, s.kernel_width, s.max_removed);
    let mut sums = RidgeMoments::new(d);
    let mut original = None;
    let mut ones = Vec::with_capacity(d);
    let mut left = s.num_samples;
    while left > 0 {
        let take = left.min(BATCH);
        let (masks, weights): (Vec<Mask>, Vec<f64>) = (0..take).map(|_| sampler.next(rng)).unzip();
        let y = model.eval(&masks)?;
        original.get_or_insert(y[0]);
        for ((mask, w), y) in masks.iter().zip(weights).zip(y) {
            ones.clear();
            ones.extend(mask.ones());
            sums.add_binary(&ones, y, w);
        }
        left -= take;
    }
    Ok((sums, original.unwrap_or(0.0)))
}

fn select(s: &LimeSettings, sums: &RidgeMoments, d: usize) -> Result<Vec<usize>> {
    let k = s.num_features.min(d);
    let method = match s.feature_selection {
        FeatureSelection::Auto if s.num_features <= 6 => FeatureSelection::ForwardSelection,
        FeatureSelection::Auto => FeatureSelection::HighestWeights,
        other => other,
    };
    Ok(match method {
        FeatureSelection::None => (0..d).collect(),
        FeatureSelection::HighestWeights => {
            let all: Vec<usize> = (0..d).collect();
            let fit = sums.fit(&all, 0.01)?;
            let mut order: Vec<usize> = (0..d).collect();
            order.sort_by(|&a, &b| fit.coef[b].abs().total_cmp(&fit.coef[a].abs()).then(a.cmp(&b)));
            let mut chosen: Vec<usize> = order.into_iter().take(k).collect();
            chosen.sort_unstable();
            chosen
        }
        _ => {
            let mut chosen: Vec<usize> = Vec::with_capacity(k);
            for _ in 0..k {
                let mut best: Option<(f64, usize)> = None;
                for f in 0..d {
                    if chosen.contains(&f) {
                        continue;
                    }
                    chosen.push(f);
                    let r2 = sums.fit(&chosen, 0.0)?.r2;
                    chosen.pop();
                    if best.is_none_or(|(b, _)| r2 > b) {
                        best = Some((r2, f));
                    }
                }
                match best {
                    Some((_, f)) => chosen.push(f),
                    None => break,
                }
            }
            chosen.sort_unstable();
            chosen
        }
    })
}

impl Explainer for Lime {
    type Settings = LimeSettings;
    const NAME: &'static str = "lime";
    const VERSION: &'static str = "3";
    const SUMMARY: &'static str =
        "lime 0.2.0.1's LimeTextExplainer: word-removal samples, cosine kernel, ridge surrogate";
    const DETERMINISTIC: bool = false;

    fn check(s: &LimeSettings) -> Vec<SettingsError> {
        let mut out = Vec::new();
        if s.num_samples < 2 {
            out.push(SettingsError::at(
                "num_samples",
                format!("must be at least 2 (the original and one sample), got {}", s.num_samples),
            ));
        }
        let n = s.num_samples as u64;
        let mask_bytes = budget::MAX_FEATURES * 8;
        // Samples are streamed: one batch is kept at a time.
        let kept = n.min(BATCH as u64);
        out.extend(budget::check("num_samples", n, n, kept, mask_bytes + budget::SAMPLE_OVERHEAD_BYTES));
        if !(s.kernel_width > 0.0 && s.kernel_width.is_finite()) {
            out.push(SettingsError::at("kernel_width", format!("must be a positive number, got {}", s.kernel_width)));
        }
        if !(s.alpha >= 0.0 && s.alpha.is_finite()) {
            out.push(SettingsError::at("alpha", format!("the ridge penalty must be 0 or more, got {}", s.alpha)));
        }
        if s.num_features == 0 {
            out.push(SettingsError::at("num_features", "must be at least 1 (lime's default is 10)"));
        }
        out
    }

    fn explain(s: &LimeSettings, input: &ExplainInput, rng: &mut ExplainRng) -> Result<Explanation> {
        if s.num_samples < 2 {
            bail!("setting `num_samples` must be at least 2, not {}", s.num_samples);
        }
        if !(s.kernel_width > 0.0 && s.kernel_width.is_finite()) {
            bail!("setting `kernel_width` must be positive, not {}", s.kernel_width);
        }
        if !(s.alpha >= 0.0 && s.alpha.is_finite()) {
            bail!("setting `alpha` must be 0 or more, not {}", s.alpha);
        }
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let d = features.len();
        let mut model = view(input, &features, s.masking, s.output)?;
        let mut weights = vec![0.0; d];
        let mut diagnostics = BTreeMap::new();
        if d == 0 {
            diagnostics.insert("output".to_string(), model.eval_one(&Mask::full(0))?);
        } else {
            let (sums, original) = stream(&mut model, d, s, rng)?;
            let chosen = select(s, &sums, d)?;
            let RidgeFit { coef, intercept, r2 } = sums.fit(&chosen, s.alpha)?;
            for (&f, c) in chosen.iter().zip(&coef) {
                weights[f] = *c;
            }
            diagnostics.insert("intercept".to_string(), intercept);
            diagnostics.insert("score".to_string(), r2);
            diagnostics.insert("local_pred".to_string(), intercept + coef.iter().sum::<f64>());
            diagnostics.insert("output".to_string(), original);
        }
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, weights)?;
        Ok(Explanation { attribution, counts: model.counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<Lime>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::testing::*;
    use rand::SeedableRng;
    use trustx_framework::explain::FeatureKey;

    #[test]
    fn ranks_the_words_in_the_true_order() {
        // lime's words: the `,` is not a feature, so `boring` is feature 3.
        let (model, text, _) = five_words();
        for selection in ["auto", "highest_weights", "none", "forward_selection"] {
            let s = settings::<Lime>(serde_json::json!({"num_samples": 1000, "feature_selection": selection}));
            let e = explain::<Lime>(&model, &[text], &s, 3);
            let top = e.attribution.top_k(5, FeatureKey::Word);
            assert_eq!(top, ["great", "film", "truly", "boring", "plot"], "{selection}: {:?}", e.attribution.weights);
            let w = &e.attribution.weights;
            assert!(w[1] > 0.0 && w[2] < 0.0 && w[3] < 0.0, "{selection}: signs {w:?}");
        }
    }

    #[test]
    fn num_features_limits_the_nonzero_weights_and_seed_matters() {
        let (model, text, _) = five_words();
        let s = settings::<Lime>(serde_json::json!({"num_samples": 500, "num_features": 2}));
        let a = explain::<Lime>(&model, &[text], &s, 1);
        assert_eq!(a.attribution.weights.iter().filter(|w| **w != 0.0).count(), 2);
        assert_eq!(a.attribution.top_k(10, FeatureKey::Word), ["great", "film"]);
        assert_eq!(a.counts.requested, 500);
        assert!(a.counts.run < 500, "dedup: {:?}", a.counts);
        let b = explain::<Lime>(&model, &[text], &s, 1);
        assert_eq!(a, b);
        let c = explain::<Lime>(&model, &[text], &s, 2);
        assert_ne!(a.diagnostics["score"], c.diagnostics["score"]);
    }

    #[test]
    fn sampling_follows_lime() {
        let mut rng = ExplainRng::seed_from_u64(9);
        let mut sampler = Sampler::new(4, 25.0, MaxRemoved::AllButOne);
        let (first, w) = sampler.next(&mut rng);
        assert_eq!(first, Mask::full(4));
        assert!((w - 1.0).abs() < 1e-12);
        for r in 1..200 {
            let (m, w) = sampler.next(&mut rng);
            let kept = m.count();
            assert!((1..=3).contains(&kept), "row {r} keeps {kept}");
            let dist = 100.0 * (1.0 - (kept as f64 / 4.0).sqrt());
            assert!((w - (-dist * dist / 625.0).exp().sqrt()).abs() < 1e-12);
        }
    }

    /// Mean Jaccard@10 of trustx's top words against lime 0.2.0.1's (every trustx seed
    /// against every lime seed) is at least lime's own seed-to-seed mean minus 0.02, on the
    /// reference model and sentences of `tests/reference/explainers.json`.
    #[test]
    fn agrees_with_lime_as_lime_agrees_with_itself() {
        let reference = Reference::load();
        let s = LimeSettings::default();
        let (mut lime_lime, mut lime_trustx) = (Vec::new(), Vec::new());
        for ex in &reference.examples {
            let lime: Vec<Vec<String>> =
                ex.lime.iter().map(|run| run.top.iter().map(|(w, _)| w.clone()).collect()).collect();
            let ours: Vec<Vec<String>> = ex
                .lime
                .iter()
                .map(|run| {
                    let e = explain_class::<Lime>(&reference.model, &[&ex.text], &s, run.seed, ex.class);
                    e.attribution.top_k(10, FeatureKey::Word)
                })
                .collect();
            for (i, a) in lime.iter().enumerate() {
                for (j, b) in lime.iter().enumerate().skip(i + 1) {
                    assert_ne!(i, j);
                    lime_lime.push(jaccard(a, b));
                }
                for b in &ours {
                    lime_trustx.push(jaccard(a, b));
                }
            }
            // Same words: lime's vocabulary of the sentence is trustx's.
            let theirs: std::collections::HashSet<&String> = lime.iter().flatten().collect();
            assert!(ours.iter().flatten().all(|w| w.chars().all(|c| c.is_alphanumeric() || c == '_')), "{ours:?}");
            assert!(!theirs.is_empty(), "{}", ex.id);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (ll, lt) = (mean(&lime_lime), mean(&lime_trustx));
        eprintln!(
            "mean Jaccard@10: lime-lime {ll:.4} ({} pairs), lime-trustx {lt:.4} ({} pairs)",
            lime_lime.len(),
            lime_trustx.len()
        );
        assert!(lt >= ll - 0.02, "lime-trustx {lt:.4} < lime-lime {ll:.4} - 0.02");
    }
}
