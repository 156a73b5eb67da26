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
use crate::plugin::alignment::AlignmentMetricEntry;
use crate::predictions::Predictions;
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;

/// How many lowest and how many highest examples are shown.
pub const EACH_END: usize = 2;

/// The predictions of every model instance: model index → (seed, node, predictions).
pub type PredictionsByModel = BTreeMap<usize, Vec<(Option<u64>, usize, Predictions)>>;

/// The highlighted examples of aggregate node `i` (empty without explainers or without a
/// compared model that was explained).
pub fn build(
    ctx: &RunContext,
    i: usize,
    dataset: &Dataset,
    preds: &PredictionsByModel,
) -> Result<Vec<ExampleHighlight>> {
    let r = ctx.resolved;
    let (Some(explainer), Some(&k), Some(jaccard)) =
        (r.explainers.first(), r.manifest.alignment.k.first(), AlignmentMetricEntry::find("top-k-jaccard"))
    else {
        return Ok(Vec::new());
    };
    let on = match r.manifest.alignment.features {
        FeatureIdentity::Words => FeatureKey::Word,
        FeatureIdentity::Positions => FeatureKey::Position,
    };
    let settings = json!({"k": k, "on": on});
    let mut runs: BTreeMap<usize, Vec<Run>> = BTreeMap::new();
    for &n in &ctx.plan.nodes[i].inputs {
        if let Task::Explain { model, explainer: 0 } = ctx.plan.nodes[n].task {
            runs.entry(model).or_default().extend(runs_of(ctx, n)?);
        }
    }
    for list in runs.values_mut() {
        list.sort_by_key(|r| r.seed);
    }
    let Some(reference) = runs.get(&0).and_then(|l| l.first()) else { return Ok(Vec::new()) };
    let mut compared: Vec<(usize, &Run)> = Vec::new();
    for (&mi, list) in runs.iter().filter(|(m, _)| **m > 0) {
        let paired = list.iter().find(|x| x.seed == reference.seed || x.seed.is_none() || reference.seed.is_none());
        if let Some(run) = paired {
            compared.push((mi, run));
        }
    }
    if compared.is_empty() {
        return Ok(Vec::new());
    }

    // Jaccard per example and compared model.
    let n = reference.attributions.len();
    let mut jac: Vec<Vec<f64>> = Vec::with_capacity(n);
    for e in 0..n {
        let a = &reference.attributions[e];
        let row = compared
            .iter()
            .map(|(_, run)| match run.attributions.get(e) {
                Some(b) => (jaccard.compute)(&settings, a, b),
                None => Ok(f64::NAN),
            })
            .collect::<Result<Vec<f64>>>()?;
        jac.push(row);
    }
    let mean = |e: usize| jac[e].iter().sum::<f64>() / jac[e].len() as f64;
    let chosen = pick_extremes(&(0..n).map(mean).collect::<Vec<_>>(), EACH_END);

    let label = |c: usize| dataset.label_names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let predicted = |mi: usize, seed: Option<u64>, id: &str| -> String {
        let list = preds.get(&mi).map(Vec::as_slice).unwrap_or_default();
        let p = list.iter().find(|(s, _, _)| *s == seed).or_else(|| list.iter().find(|(s, _, _)| s.is_none()));
        p.and_then(|(_, _, p)| p.ids.iter().position(|x| x == id).map(|j| label(p.pred(j)))).unwrap_or_default()
    };
    let mut out = Vec::new();
    for e in chosen {
        let a = &reference.attributions[e];
        let Some(example) = dataset.eval.examples.iter().find(|x| x.id == a.example_id) else { continue };
        let mut models = vec![ModelHighlight {
            model: r.models[0].name.clone(),
            predicted: predicted(0, reference.seed, &a.example_id),
            words: words(a, k, on),
            jaccard: None,
        }];
        for (c, (mi, run)) in compared.iter().enumerate() {
            if let Some(b) = run.attributions.get(e) {
                models.push(ModelHighlight {
                    model: r.models[*mi].name.clone(),
                    predicted: predicted(*mi, run.seed, &b.example_id),
                    words: words(b, k, on),
                    jaccard: Some(jac[e][c]),
                });
            }
        }
        out.push(ExampleHighlight {
            example_id: a.example_id.clone(),
            segments: example.segments.clone(),
            label: label(example.label),
            explainer: explainer.label.clone(),
            seed: reference.seed,
            k,
            models,
        });
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
