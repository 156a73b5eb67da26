//! [`HfModel`] as a [`Classifier`] (texts → probabilities through `forward_batch`, which
//! deduplicates encodings and sorts them by length) and as a [`GradientClassifier`]
//! (gradients with respect to the word embeddings through burn autodiff).
//!
//! For gradients the input is encoded word by word, so every token belongs to exactly one
//! word: `[CLS] tokens(w₁) … tokens(wₙ) [SEP]` (and `tokens(hypothesis words) [SEP]` for a
//! pair, with token type 1), the special tokens taken from the tokenizer's own encoding of
//! an empty text (or pair). With the default word pattern this is the tokenization of the
//! whole text for BERT's WordPiece, whose pre-tokenizer splits on spaces and punctuation
//! the same way; with another pattern it may differ slightly. The model must have been
//! loaded on an autodiff device (`Device::flex().autodiff()`).

use super::engine::{Classifier, Output};
use super::gradient::{Baseline, GradientClassifier, PathGradients, PathRequest};
use crate::model::{HfModel, ModelType};
use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor, TensorData};

/// Path points per forward/backward pass in [`HfModel::path_gradients`].
const ALPHA_CHUNK: usize = 16;

impl Classifier for HfModel {
    fn num_classes(&self) -> usize {
        self.num_labels()
    }

    fn mask_token(&self) -> &str {
        // What the tokenizer reads as the mask token (a placeholder when literal special
        // tokens in texts are escaped).
        self.tokenizer().mask_placeholder()
    }

    fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
        let encoded = inputs
            .iter()
            .map(|segments| match segments.as_slice() {
                [text] => self.tokenize(text, None),
                [text, pair] => self.tokenize(text, Some(pair)),
                _ => bail!("{} segments: a model reads one text or a pair", segments.len()),
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self.forward_batch(&encoded)?;
        Ok(out.probs.into_iter().map(|row| row.into_iter().map(f64::from).collect()).collect())
    }

    fn special_words(&self) -> Vec<String> {
        self.tokenizer().kept_special_words()
    }

    fn visible_bytes(&self, segments: &[String]) -> Result<Option<Vec<usize>>> {
        match segments {
            [text] => self.tokenizer().visible_bytes(text, None).map(Some),
            [text, pair] => self.tokenizer().visible_bytes(text, Some(pair)).map(Some),
            _ => bail!("{} segments: a model reads one text or a pair", segments.len()),
        }
    }
}

/// Token ids, token types and, per token, the word it belongs to (`None` for specials).
struct WordEncoding {
    ids: Vec<i64>,
    types: Vec<i64>,
    word_of: Vec<Option<usize>>,
}

fn encode_words(model: &HfModel, req: &PathRequest) -> Result<WordEncoding> {
    let f = req.features;
    let segments = f.segments().len();
    if segments > 2 {
        bail!("{segments} segments: a model reads one text or a pair");
    }
    let skeleton = model.tokenize("", (segments == 2).then_some(""))?;
    let expected = if segments == 2 { 3 } else { 2 };
    if skeleton.ids.len() != expected {
        bail!("the tokenizer encodes an empty input as {:?}, not [CLS] [SEP] ([SEP])", skeleton.tokens);
    }
    let mut enc = WordEncoding { ids: Vec::new(), types: Vec::new(), word_of: Vec::new() };
    let special = |enc: &mut WordEncoding, k: usize| {
        enc.ids.push(skeleton.ids[k] as i64);
        enc.types.push(skeleton.type_ids[k] as i64);
        enc.word_of.push(None);
    };
    special(&mut enc, 0);
    for segment in 0..segments {
        let type_id = skeleton.type_ids[segment + 1] as i64;
        for (w, word) in f.words().iter().enumerate().filter(|(_, w)| w.segment == segment) {
            let text = f.word_text(word);
            let tokens =
                model.tokenizer().inner().encode(text, false).map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?;
            for &id in tokens.get_ids() {
                enc.ids.push(id as i64);
                enc.types.push(type_id);
                enc.word_of.push(Some(w));
            }
        }
        special(&mut enc, segment + 1);
    }
    let max = model.spec().max_positions.min(model.tokenizer().max_len());
    if enc.ids.len() > max {
        bail!("{} tokens word by word: longer than the model's {max}", enc.ids.len());
    }
    Ok(enc)
}

/// F per row of `logits` `[n, C]` as `[n, 1]`.
fn output_of(logits: Tensor<2>, class: usize, output: Output) -> Tensor<2> {
    match output {
        Output::Probability => softmax(logits, 1).narrow(1, class, 1),
        Output::LogOdds => {
            let log_p = log_softmax(logits, 1).narrow(1, class, 1);
            let p = log_p.clone().exp().clamp(1e-15, 1.0 - 1e-15);
            log_p - (p.neg() + 1.0).log()
        }
    }
}

fn read(t: Tensor<2>) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| anyhow!("cannot read a tensor from the device: {e:?}"))
}

impl GradientClassifier for HfModel {
    fn path_gradients(&self, req: &PathRequest) -> Result<PathGradients> {
        if !self.device().is_autodiff() {
            bail!("gradients need the model loaded on an autodiff device (Device::flex().autodiff())");
        }
        if req.class >= self.num_labels() {
            bail!("class {} does not exist (the model has {} classes)", req.class, self.num_labels());
        }
        let enc = encode_words(self, req)?;
        let device = self.device();
        let seq = enc.ids.len();
        let ids = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [1, seq]), device);
        let x = self.network().embed_words(ids(enc.ids.clone())).detach();
        let base = match req.baseline {
            Baseline::Pad | Baseline::Mask => {
                let replacement = match req.baseline {
                    Baseline::Pad => self.spec().pad_token_id,
                    _ => {
                        let tok = self.tokenizer().mask_token();
                        self.tokenizer()
                            .token_to_id(tok)
                            .with_context(|| format!("mask token {tok:?} is not in the vocabulary"))?
                    }
                };
                let b: Vec<i64> = enc
                    .ids
                    .iter()
                    .zip(&enc.word_of)
                    .map(|(&id, w)| if w.is_some() { replacement as i64 } else { id })
                    .collect();
                self.network().embed_words(ids(b)).detach()
            }
            Baseline::Zero => {
                let keep: Vec<f32> = enc.word_of.iter().map(|w| if w.is_some() { 0.0 } else { 1.0 }).collect();
                x.clone() * Tensor::<3>::from_data(TensorData::new(keep, [1, seq, 1]), device)
            }
        };
        let diff = x.clone() - base.clone();
        let bert = self.spec().model_type == ModelType::Bert;
        let types = |n: usize| bert.then(|| ids(enc.types.clone()).repeat_dim(0, n));
        let ones = |n: usize| Tensor::<2>::ones([n, seq], device);

        // F at the baseline and the input, without gradients.
        let ends = Tensor::cat(vec![base.clone(), x.clone()], 0);
        let logits = self.network().forward_from_words(ends, types(2), ones(2)).logits;
        let ends = read(output_of(logits, req.class, req.output).detach())?;

        let words = req.features.words().len();
        let mut word_grads = Vec::with_capacity(req.alphas.len());
        for chunk in req.alphas.chunks(ALPHA_CHUNK) {
            let n = chunk.len();
            let a: Vec<f32> = chunk.iter().map(|&a| a as f32).collect();
            let a = Tensor::<3>::from_data(TensorData::new(a, [n, 1, 1]), device);
            let point = (base.clone().repeat_dim(0, n) + diff.clone().repeat_dim(0, n) * a).detach().require_grad();
            let logits = self.network().forward_from_words(point.clone(), types(n), ones(n)).logits;
            let grads = output_of(logits, req.class, req.output).sum().backward();
            let g = point.grad(&grads).context("no gradient reached the word embeddings")?;
            let dots = read((g * diff.clone().repeat_dim(0, n)).sum_dim(2).reshape([n, seq]))?;
            for row in dots.chunks(seq) {
                let mut per_word = vec![0.0; words];
                for (t, w) in enc.word_of.iter().enumerate() {
                    if let Some(w) = w {
                        per_word[*w] += f64::from(row[t]);
                    }
                }
                word_grads.push(per_word);
            }
        }
        Ok(PathGradients { word_grads, at_input: f64::from(ends[1]), at_baseline: f64::from(ends[0]) })
    }
}
