//! The prediction engine every explainer goes through.
//!
//! A [`Classifier`] turns texts (one string per segment) into probability rows. An
//! [`ExampleEngine`] wraps a classifier for one example: it renders the masks an explainer
//! asks for, deduplicates them, looks the rendered texts up in a cache shared by every
//! explainer and every seed that uses this engine, sorts the texts still unknown by length
//! and runs the classifier once per distinct text, in chunks. Because the cache is keyed by
//! the rendered text, explainers with different features or masking modes share whatever
//! they have in common (the original text, for a start).
//!
//! [`MaskedModel`] is what an explainer holds: the engine seen through one feature set,
//! one masking mode, one explained class and one [`Output`], counting the evaluations it
//! asked for ([`EvalCounts`]).
//!
//! Determinism: the classifier is assumed to give a text the same row whichever batch it
//! runs in. HfModel pads within a batch; padded and unpadded rows agree to ~1e-6, so an
//! explanation computed after another explainer filled the cache can differ at that level.

use super::features::Features;
use super::mask::Mask;
use super::render::{MaskMode, render_into};
use anyhow::{Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A black-box classifier: texts in, one probability row per text out.
pub trait Classifier: Send + Sync {
    /// Number of classes (length of every probability row).
    fn num_classes(&self) -> usize;
    /// The token that [`MaskMode::MaskToken`] puts in place of a word.
    fn mask_token(&self) -> &str {
        "[MASK]"
    }
    /// Probabilities for each input; an input is one string per segment (one, or a pair).
    fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>>;
    /// For each segment, the byte offset up to which the model reads it (a model that
    /// truncates its input to a token window never sees the rest), or `None` when unknown
    /// (a served model: every word is assumed seen). Explainers do not perturb the words
    /// past it: doing so costs evaluations and changes nothing the model sees.
    fn visible_bytes(&self, _segments: &[String]) -> Result<Option<Vec<usize>>> {
        Ok(None)
    }
    /// Strings the model reads as one special token when they appear in a text (none by
    /// default: trustx's own models read a special token's text as ordinary text unless
    /// told to keep transformers' behaviour). Explainers keep each whole: one word, never
    /// split into `[`, `SEP`, `]`.
    fn special_words(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The quantity an explainer attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// The probability of the explained class (lime's and shap's default for text).
    #[default]
    Probability,
    /// ln(p / (1 − p)) of the explained class, p clamped to [1e-15, 1 − 1e-15]; additive
    /// for a two-class model that is linear in logit space.
    LogOdds,
}

impl Output {
    /// The attributed value of a probability row for `class`.
    pub fn of(self, row: &[f64], class: usize) -> f64 {
        let p = row[class];
        match self {
            Output::Probability => p,
            Output::LogOdds => {
                let p = p.clamp(1e-15, 1.0 - 1e-15);
                (p / (1.0 - p)).ln()
            }
        }
    }
}

/// How many model evaluations were asked for and how many were run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalCounts {
    /// Masks (or texts) asked for, repeats included.
    pub requested: u64,
    /// Distinct rendered texts among them.
    pub distinct: u64,
    /// Texts actually run through the model (distinct and not already cached).
    pub run: u64,
}

impl EvalCounts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &EvalCounts) {
        self.requested += other.requested;
        self.distinct += other.distinct;
        self.run += other.run;
    }

    /// requested / run (how many requests each model run served); infinite when nothing ran.
    pub fn dedup_ratio(&self) -> f64 {
        self.requested as f64 / self.run as f64
    }
}

/// The most memory the texts and rows of one example's cache may hold: once full, new texts
/// are still evaluated (and deduplicated within a request) but not kept, so a sampling
/// explainer with a huge `num_samples` runs in bounded memory.
pub const CACHE_BYTES: usize = 4 << 20;

/// Rendered texts → probability rows, with the bytes they hold.
#[derive(Default)]
struct TextCache {
    map: HashMap<Vec<String>, Arc<[f64]>>,
    bytes: usize,
}

impl TextCache {
    /// Keeps `row` for `text` unless the cache is full.
    fn insert(&mut self, text: Vec<String>, row: Arc<[f64]>) {
        let size = text.iter().map(|s| s.len() + 24).sum::<usize>() + row.len() * 8 + 64;
        if self.bytes + size <= CACHE_BYTES {
            self.bytes += size;
            self.map.insert(text, row);
        }
    }
}

/// The cached, deduplicating predictor for one (model, example).
pub struct ExampleEngine<'a> {
    classifier: &'a dyn Classifier,
    example_id: String,
    segments: Vec<String>,
    /// Where the model stops reading each segment, when it does not read all of it.
    visible: Option<Vec<usize>>,
    cache: Mutex<TextCache>,
    totals: Mutex<EvalCounts>,
    chunk: usize,
}

impl<'a> ExampleEngine<'a> {
    /// Texts handed to the classifier per call (it may batch further).
    pub const DEFAULT_CHUNK: usize = 256;

    /// An engine for example `example_id` with `segments` (one, or a pair).
    pub fn new(classifier: &'a dyn Classifier, example_id: impl Into<String>, segments: Vec<String>) -> Result<Self> {
        let example_id = example_id.into();
        if segments.is_empty() {
            bail!("example {example_id}: no segment to explain");
        }
        if classifier.num_classes() == 0 {
            bail!("example {example_id}: the classifier has no class");
        }
        let visible = classifier
            .visible_bytes(&segments)
            .map_err(|e| anyhow::anyhow!("example {example_id}: {e:#}"))?
            .filter(|v| v.len() == segments.len() && v.iter().zip(&segments).any(|(&b, s)| b < s.len()));
        Ok(Self {
            classifier,
            example_id,
            visible,
            segments,
            cache: Mutex::new(TextCache::default()),
            totals: Mutex::new(EvalCounts::default()),
            chunk: Self::DEFAULT_CHUNK,
        })
    }

    /// For each segment, the byte offset where the model stops reading it, when the model
    /// truncates this example (`None`: it reads every segment whole, or cannot say).
    pub fn visible_bytes(&self) -> Option<&[usize]> {
        self.visible.as_deref()
    }

    /// The example's id.
    pub fn example_id(&self) -> &str {
        &self.example_id
    }

    /// The example's segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The classifier.
    pub fn classifier(&self) -> &dyn Classifier {
        self.classifier
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classifier.num_classes()
    }

    /// Evaluation counts summed over every request this engine served.
    pub fn totals(&self) -> EvalCounts {
        *self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of distinct texts in the cache.
    pub fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).map.len()
    }

    /// Probability rows of the unmasked example.
    pub fn original(&self, counts: &mut EvalCounts) -> Result<Arc<[f64]>> {
        let mut rows = self.predict_texts(std::slice::from_ref(&self.segments), counts)?;
        Ok(rows.swap_remove(0))
    }

    /// Probability rows for `texts`, in order, through the cache. Adds to `counts`.
    pub fn predict_texts(&self, texts: &[Vec<String>], counts: &mut EvalCounts) -> Result<Vec<Arc<[f64]>>> {
        let mut slot_of: HashMap<&[String], usize> = HashMap::new();
        let mut distinct: Vec<&Vec<String>> = Vec::new();
        let slots: Vec<usize> = texts
            .iter()
            .map(|t| {
                *slot_of.entry(t.as_slice()).or_insert_with(|| {
                    distinct.push(t);
                    distinct.len() - 1
                })
            })
            .collect();
        let mut rows: Vec<Option<Arc<[f64]>>> = {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            distinct.iter().map(|t| cache.map.get(t.as_slice()).cloned()).collect()
        };
        let mut missing: Vec<usize> = (0..distinct.len()).filter(|&i| rows[i].is_none()).collect();
        missing.sort_by_key(|&i| (distinct[i].iter().map(String::len).sum::<usize>(), i));
        let classes = self.num_classes();
        for chunk in missing.chunks(self.chunk) {
            let inputs: Vec<Vec<String>> = chunk.iter().map(|&i| distinct[i].clone()).collect();
            let out = self.classifier.predict(&inputs)?;
            if out.len() != inputs.len() {
                bail!(
                    "example {}: the classifier returned {} rows for {} texts",
                    self.example_id,
                    out.len(),
                    inputs.len()
                );
            }
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for ((&i, row), text) in chunk.iter().zip(out).zip(inputs) {
                if row.len() != classes {
                    bail!(
                        "example {}: the classifier returned {} probabilities, not {classes}, for {}",
                        self.example_id,
                        row.len(),
                        crate::snippet::snippet(&format!("{text:?}"), 200)
                    );
                }
                if row.iter().any(|p| !p.is_finite()) {
                    bail!(
                        "example {}: the classifier returned {row:?} for {}: not finite numbers; a model's weights \
                         that hold NaN or infinite values (a diverged training run, a damaged file) do this",
                        self.example_id,
                        crate::snippet::snippet(&format!("{text:?}"), 200)
                    );
                }
                let row: Arc<[f64]> = row.into();
                cache.insert(text, row.clone());
                rows[i] = Some(row);
            }
        }
        let tally =
            EvalCounts { requested: texts.len() as u64, distinct: distinct.len() as u64, run: missing.len() as u64 };
        counts.add(&tally);
        self.totals.lock().unwrap_or_else(PoisonError::into_inner).add(&tally);
        let rows: Vec<Arc<[f64]>> = rows.into_iter().map(|r| r.unwrap_or_else(|| Arc::from(Vec::new()))).collect();
        Ok(slots.into_iter().map(|s| rows[s].clone()).collect())
    }

    /// Probability rows for `masks` over `features`, rendered with `mode`. Equal masks are
    /// rendered once.
    pub fn predict_masks(
        &self,
        features: &Features,
        mode: MaskMode,
        masks: &[Mask],
        counts: &mut EvalCounts,
    ) -> Result<Vec<Arc<[f64]>>> {
        if features.segments() != self.segments.as_slice() {
            bail!("example {}: the features belong to another example", self.example_id);
        }
        if let Some(m) = masks.iter().find(|m| m.len() != features.len()) {
            bail!("example {}: a mask over {} features for {} features", self.example_id, m.len(), features.len());
        }
        let mut slot_of: HashMap<&Mask, usize> = HashMap::new();
        let mut texts: Vec<Vec<String>> = Vec::new();
        let slots: Vec<usize> = masks
            .iter()
            .map(|m| {
                *slot_of.entry(m).or_insert_with(|| {
                    let mut out = Vec::new();
                    render_into(features, m, mode, self.classifier.mask_token(), &mut out);
                    texts.push(out);
                    texts.len() - 1
                })
            })
            .collect();
        let mut local = EvalCounts::default();
        let rows = self.predict_texts(&texts, &mut local)?;
        // Report the request as the explainer made it: every mask, repeats included.
        counts.add(&EvalCounts { requested: masks.len() as u64, ..local });
        let extra = masks.len() as u64 - texts.len() as u64;
        self.totals.lock().unwrap_or_else(PoisonError::into_inner).requested += extra;
        Ok(slots.into_iter().map(|s| rows[s].clone()).collect())
    }
}

/// An engine seen by one explainer: its features, masking mode, class and output.
pub struct MaskedModel<'e, 'a> {
    engine: &'e ExampleEngine<'a>,
    features: &'e Features,
    mode: MaskMode,
    class: usize,
    output: Output,
    /// Evaluations this explainer asked for and caused.
    pub counts: EvalCounts,
}

impl<'e, 'a> MaskedModel<'e, 'a> {
    /// A view of `engine` for explaining `class`; the class must exist.
    pub fn new(
        engine: &'e ExampleEngine<'a>,
        features: &'e Features,
        mode: MaskMode,
        class: usize,
        output: Output,
    ) -> Result<Self> {
        if class >= engine.num_classes() {
            bail!(
                "example {}: class {class} does not exist (the model has {} classes)",
                engine.example_id(),
                engine.num_classes()
            );
        }
        Ok(Self { engine, features, mode, class, output, counts: EvalCounts::default() })
    }

    /// The features masks range over.
    pub fn features(&self) -> &Features {
        self.features
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there is no feature.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The explained class.
    pub fn class(&self) -> usize {
        self.class
    }

    /// The attributed output for each mask, in order.
    pub fn eval(&mut self, masks: &[Mask]) -> Result<Vec<f64>> {
        let rows = self.engine.predict_masks(self.features, self.mode, masks, &mut self.counts)?;
        Ok(rows.iter().map(|r| self.output.of(r, self.class)).collect())
    }

    /// The attributed output for one mask.
    pub fn eval_one(&mut self, mask: &Mask) -> Result<f64> {
        Ok(self.eval(std::slice::from_ref(mask))?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::features::WordSplitter;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// p(class 1) = number of characters / 100.
    struct Len(AtomicUsize);
    impl Classifier for Len {
        fn num_classes(&self) -> usize {
            2
        }
        fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
            self.0.fetch_add(inputs.len(), Ordering::SeqCst);
            Ok(inputs
                .iter()
                .map(|t| {
                    let p = t.iter().map(String::len).sum::<usize>() as f64 / 100.0;
                    vec![1.0 - p, p]
                })
                .collect())
        }
    }

    #[test]
    fn deduplicates_and_caches_across_views() {
        let model = Len(AtomicUsize::new(0));
        let engine = ExampleEngine::new(&model, "ex1", vec!["a bb ccc".into()]).unwrap();
        let pos = Features::new(engine.segments(), &WordSplitter::default(), false).unwrap();
        let mut view = MaskedModel::new(&engine, &pos, MaskMode::Remove, 1, Output::Probability).unwrap();
        let masks = [Mask::full(3), Mask::from_bits(3, 0b011), Mask::full(3), Mask::from_bits(3, 0b011)];
        let v = view.eval(&masks).unwrap();
        assert_eq!(v, [0.08, 0.04, 0.08, 0.04]);
        assert_eq!(view.counts, EvalCounts { requested: 4, distinct: 2, run: 2 });
        // A second view (mask-token mode) shares the original text.
        let mut other = MaskedModel::new(&engine, &pos, MaskMode::MaskToken, 1, Output::Probability).unwrap();
        other.eval(&[Mask::full(3), Mask::from_bits(3, 0b110)]).unwrap();
        assert_eq!(other.counts, EvalCounts { requested: 2, distinct: 2, run: 1 });
        assert_eq!(model.0.load(Ordering::SeqCst), 3);
        assert_eq!(engine.totals(), EvalCounts { requested: 6, distinct: 4, run: 3 });
        assert_eq!(engine.cached(), 3);
    }

    #[test]
    fn errors_name_the_example() {
        let model = Len(AtomicUsize::new(0));
        let engine = ExampleEngine::new(&model, "ex7", vec!["a b".into()]).unwrap();
        let f = Features::new(engine.segments(), &WordSplitter::default(), false).unwrap();
        let e = MaskedModel::new(&engine, &f, MaskMode::Remove, 2, Output::Probability).err().unwrap();
        assert!(e.to_string().contains("ex7"), "{e}");
        let mut v = MaskedModel::new(&engine, &f, MaskMode::Remove, 0, Output::Probability).unwrap();
        assert!(v.eval(&[Mask::full(5)]).is_err());
        assert!(ExampleEngine::new(&model, "x", vec![]).is_err());
    }

    #[test]
    fn log_odds() {
        let v = Output::LogOdds.of(&[0.2, 0.8], 1);
        assert!((v - 4f64.ln()).abs() < 1e-12);
        assert!(Output::LogOdds.of(&[0.0, 1.0], 1).is_finite());
    }
}
