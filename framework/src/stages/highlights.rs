//! The examples the report shows side by side (the paper's Table 2): for the first
//! explainer and the first K, the examples whose Jaccard@K between the reference and the
//! compared models (mean over those models) is lowest and highest — two of each (ties: the
//! earlier example) — with every model's words, weights and top-K ranks, from the
//! reference's first run (lowest seed) and each model's run paired with it.

use super::RunContext;
use super::alignment::{Run, runs_of};
use super::alignment_summary::{ExampleHighlight, HighlightedWord, ModelHighlight};
use crate::data::Dataset;
use crate::explain::{Attribution, FeatureKey};
use crate::manifest::schema::FeatureIdentity;
use crate::plan::Task;
use crate::plan::node_config::AggregateConfig;
use crate::plugin::alignment::{AlignmentMetricEntry, PreparedAlignment};
use crate::predictions::Predictions;
use crate::tables::summary::FlippedExample;
use anyhow::Result;
use std::collections::BTreeMap;

/// How many lowest and how many highest examples are shown.
pub const EACH_END: usize = 2;

/// The predictions of every model instance: model index → (seed, node, predictions).
pub type PredictionsByModel = BTreeMap<usize, Vec<(Option<u64>, usize, Predictions)>>;

/// The explanations the highlights are drawn from: the first explainer's runs of every
/// model, the reference's first run (lowest seed) and each compared model's run paired with it.
struct Drawn<'a> {
    agg: &'a AggregateConfig,
    dataset: &'a Dataset,
    preds: &'a PredictionsByModel,
    explainer: String,
    k: usize,
    on: FeatureKey,
    jaccard: PreparedAlignment,
    reference: Run,
    /// (model index, its run paired with the reference's).
    compared: Vec<(usize, Run)>,
}

impl<'a> Drawn<'a> {
    /// `None` without explainers, K, the Jaccard plugin, or a reference run.
    fn load(
        ctx: &'a RunContext<'a>,
        i: usize,
        agg: &'a AggregateConfig,
        dataset: &'a Dataset,
        preds: &'a PredictionsByModel,
    ) -> Result<Option<Self>> {
        let (Some(explainer), Some(metric)) = (agg.explainers.first(), agg.alignment.verdict_metric.as_ref()) else {
            return Ok(None);
        };
        let k = metric.k.unwrap_or(crate::plugin::alignment::DEFAULT_K);
        let entry = AlignmentMetricEntry::find(&metric.name)
            .ok_or_else(|| anyhow::anyhow!("alignment metric `{}` is not registered in this build", metric.name))?;
        let jaccard = (entry.prepare)(&metric.settings)?;
        let on = match agg.alignment.features {
            FeatureIdentity::Words => FeatureKey::Word,
            FeatureIdentity::Positions => FeatureKey::Position,
        };
        let mut runs: BTreeMap<usize, Vec<Run>> = BTreeMap::new();
        for &n in &ctx.plan.nodes[i].inputs {
            if let Task::Explain { model, explainer: 0 } = ctx.plan.nodes[n].task {
                runs.entry(model).or_default().extend(runs_of(ctx, n)?);
            }
        }
        for list in runs.values_mut() {
            list.sort_by_key(|r| r.seed);
        }
        let Some(reference) = runs.get(&0).and_then(|l| l.first()).cloned() else { return Ok(None) };
        let mut compared = Vec::new();
        for (&mi, list) in runs.iter().filter(|(m, _)| **m > 0) {
            let paired = list.iter().find(|x| x.seed == reference.seed || x.seed.is_none() || reference.seed.is_none());
            if let Some(run) = paired {
                compared.push((mi, run.clone()));
            }
        }
        Ok(Some(Drawn { agg, dataset, preds, explainer: explainer.clone(), k, on, jaccard, reference, compared }))
    }

    /// Jaccard@K of compared model `c`'s explanation of example `e` with the reference's.
    fn jaccard_of(&self, e: usize, c: usize) -> Result<f64> {
        match self.compared[c].1.attributions.get(e) {
            Some(b) => (self.jaccard)(&self.reference.attributions[e], b),
            None => Ok(f64::NAN),
        }
    }

    fn predicted(&self, mi: usize, seed: Option<u64>, id: &str) -> String {
        let list = self.preds.get(&mi).map(Vec::as_slice).unwrap_or_default();
        let p = list.iter().find(|(s, _, _)| *s == seed).or_else(|| list.iter().find(|(s, _, _)| s.is_none()));
        p.and_then(|(_, _, p)| p.ids.iter().position(|x| x == id).map(|j| self.label(p.pred(j)))).unwrap_or_default()
    }

    fn label(&self, c: usize) -> String {
        self.dataset.label_names.get(c).cloned().unwrap_or_else(|| c.to_string())
    }

    /// Example `e` (index into the reference's run) with the reference's words and those of
    /// the compared models `which` (indices into `compared`).
    fn highlight(&self, e: usize, which: &[usize]) -> Result<Option<ExampleHighlight>> {
        let models_of = &self.agg.models;
        let a = &self.reference.attributions[e];
        let Some(example) = self.dataset.eval.examples.iter().find(|x| x.id == a.example_id) else { return Ok(None) };
        let mut models = vec![ModelHighlight {
            model: models_of[0].name.clone(),
            predicted: self.predicted(0, self.reference.seed, &a.example_id),
            words: words(a, self.k, self.on),
            jaccard: None,
        }];
        for &c in which {
            let (mi, run) = &self.compared[c];
            if let Some(b) = run.attributions.get(e) {
                models.push(ModelHighlight {
                    model: models_of[*mi].name.clone(),
                    predicted: self.predicted(*mi, run.seed, &b.example_id),
                    words: words(b, self.k, self.on),
                    jaccard: Some(self.jaccard_of(e, c)?),
                });
            }
        }
        Ok(Some(ExampleHighlight {
            example_id: a.example_id.clone(),
            segments: example.segments.clone(),
            label: self.label(example.label),
            explainer: self.explainer.clone(),
            seed: self.reference.seed,
            k: self.k,
            models,
        }))
    }
}

/// The highlighted examples of aggregate node `i` (empty without explainers or without a
/// compared model that was explained).
pub fn build(
    ctx: &RunContext,
    i: usize,
    agg: &AggregateConfig,
    dataset: &Dataset,
    preds: &PredictionsByModel,
) -> Result<Vec<ExampleHighlight>> {
    let Some(d) = Drawn::load(ctx, i, agg, dataset, preds)? else { return Ok(Vec::new()) };
    if d.compared.is_empty() {
        return Ok(Vec::new());
    }
    // Jaccard per example, mean over the compared models.
    let n = d.reference.attributions.len();
    let mut mean = Vec::with_capacity(n);
    for e in 0..n {
        let row = (0..d.compared.len()).map(|c| d.jaccard_of(e, c)).collect::<Result<Vec<f64>>>()?;
        mean.push(row.iter().sum::<f64>() / row.len() as f64);
    }
    let all: Vec<usize> = (0..d.compared.len()).collect();
    let mut out = Vec::new();
    for e in pick_extremes(&mean, EACH_END) {
        out.extend(d.highlight(e, &all)?);
    }
    Ok(out)
}

/// For each compression-identified example that was explained (`[alignment] include_flips`,
/// or among the first examples anyway), the reference's and the flipping model's explanations
/// side by side, in the order of `flipped`.
pub fn for_flips(
    ctx: &RunContext,
    i: usize,
    agg: &AggregateConfig,
    dataset: &Dataset,
    preds: &PredictionsByModel,
    flipped: &[FlippedExample],
) -> Result<Vec<ExampleHighlight>> {
    let Some(d) = Drawn::load(ctx, i, agg, dataset, preds)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for f in flipped {
        let Some(c) = d.compared.iter().position(|(mi, _)| agg.models[*mi].name == f.model) else { continue };
        let Some(e) = d.reference.attributions.iter().position(|a| a.example_id == f.example) else { continue };
        out.extend(d.highlight(e, &[c])?);
    }
    Ok(out)
}

/// Indices of the `each` lowest then the `each` highest values (NaN last; ties: the
/// earlier index), without repeats, lowest first.
pub fn pick_extremes(values: &[f64], each: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut picked: Vec<usize> = order.iter().take(each).copied().collect();
    let mut high: Vec<usize> = order.iter().rev().filter(|i| !picked.contains(i)).take(each).copied().collect();
    high.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    picked.extend(high);
    picked
}

/// Every feature in reading order with its weight and its 1-based top-K rank (on words,
/// only the highest ranked occurrence of a word carries the rank, as in the top-K list).
fn words(a: &Attribution, k: usize, on: FeatureKey) -> Vec<HighlightedWord> {
    let mut by_weight: Vec<usize> = (0..a.weights.len()).filter(|&j| a.weights[j] != 0.0).collect();
    by_weight.sort_by(|&x, &y| a.weights[y].abs().total_cmp(&a.weights[x].abs()).then(x.cmp(&y)));
    let mut rank = vec![None; a.weights.len()];
    let mut seen = std::collections::HashSet::new();
    for j in by_weight {
        if seen.len() == k {
            break;
        }
        if seen.insert(a.key(j, on)) {
            rank[j] = Some(seen.len());
        }
    }
    let mut order: Vec<usize> = (0..a.features.len()).collect();
    order.sort_by_key(|&j| (a.features[j].segment, a.features[j].position));
    order
        .into_iter()
        .map(|j| HighlightedWord {
            segment: a.features[j].segment,
            text: a.features[j].text.clone(),
            weight: a.weights[j],
            rank: rank[j],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::FeatureRef;

    #[test]
    fn extremes_lowest_then_highest() {
        assert_eq!(pick_extremes(&[0.5, 0.1, 0.9, 0.1, 0.7], 2), vec![1, 3, 4, 2]);
        assert_eq!(pick_extremes(&[0.3, 0.2], 2), vec![1, 0]);
        assert!(pick_extremes(&[], 2).is_empty());
    }

    #[test]
    fn words_in_reading_order_with_ranks() {
        let f = |s, p, t: &str| FeatureRef { segment: s, position: p, text: t.into() };
        let a = Attribution {
            example_id: "e".into(),
            class: 0,
            features: vec![f(1, 0, "dog"), f(0, 1, "cat"), f(0, 0, "a"), f(1, 1, "cat")],
            weights: vec![0.2, -0.9, 0.0, 0.5],
        };
        let w = words(&a, 1, FeatureKey::Word);
        assert_eq!(w.iter().map(|x| x.text.as_str()).collect::<Vec<_>>(), ["a", "cat", "dog", "cat"]);
        assert_eq!(w.iter().map(|x| x.rank).collect::<Vec<_>>(), [None, Some(1), None, None]);
        // K = 2 on words: the second "cat" is a repeat, so "dog" is second.
        let w = words(&a, 2, FeatureKey::Word);
        assert_eq!(w.iter().map(|x| x.rank).collect::<Vec<_>>(), [None, Some(1), Some(2), None]);
        let w = words(&a, 2, FeatureKey::Position);
        assert_eq!(w.iter().map(|x| x.rank).collect::<Vec<_>>(), [None, Some(1), None, Some(2)]);
    }
}
