//! Which eval examples an explain node explains: the first `[alignment] examples` in dataset
//! order and, with `[alignment] include_flips`, the compression-identified examples beyond
//! them (those whose label a compared model changes in most seeds, as
//! [`super::flipped_examples`] finds them), in dataset order. Every explain node of a run
//! reads the same similarity nodes, so every one explains the same examples and the alignment
//! and floor nodes compare like with like.

use super::RunContext;
use crate::data::{Dataset, Example};
use crate::plan::Task;
use crate::predictions::Predictions;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// The examples node `i` explains: the first `first`, then (with similarity inputs) every
/// later example some compared model flips.
pub fn explained_examples(ctx: &RunContext, i: usize, dataset: &Dataset, first: usize) -> Result<Vec<Example>> {
    let all = &dataset.eval.examples;
    let first = first.min(all.len());
    let mut out: Vec<Example> = all[..first].to_vec();
    let flipped = flipped_ids(ctx, i, dataset)?;
    out.extend(all[first..].iter().filter(|e| flipped.contains(&e.id)).cloned());
    Ok(out)
}

/// The model a predict node's config names (every predict config has `model`).
#[derive(serde::Deserialize)]
struct Named {
    model: String,
}

/// The ids of the examples some compared model flips, from node `i`'s similarity inputs.
fn flipped_ids(ctx: &RunContext, i: usize, dataset: &Dataset) -> Result<BTreeSet<String>> {
    // model → (reference predictions, model predictions) per similarity node
    // model name (its predict nodes' configs name it) → prediction pairs
    let mut pairs: BTreeMap<String, Vec<(Predictions, Predictions)>> = BTreeMap::new();
    for &k in &ctx.plan.nodes[i].inputs {
        let node = &ctx.plan.nodes[k];
        if !matches!(node.task, Task::Similarity { .. }) {
            continue;
        }
        let read = |j: usize| super::predict::read(ctx.store, &ctx.plan.nodes[node.inputs[j]].key);
        let model: Named = ctx.plan.nodes[node.inputs[1]].config_as()?;
        pairs.entry(model.model).or_default().push((read(0)?, read(1)?));
    }
    let mut ids = BTreeSet::new();
    for (name, list) in &pairs {
        let refs: Vec<(&Predictions, &Predictions)> = list.iter().map(|(a, b)| (a, b)).collect();
        let found = super::flipped_examples::find(name, &refs, &dataset.eval.examples, &dataset.label_names);
        ids.extend(found.into_iter().map(|f| f.example));
    }
    Ok(ids)
}
