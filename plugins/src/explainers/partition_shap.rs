//! `partition-shap`: Owen values on a binary partition of the words, as shap's `Partition`
//! explainer computes them for text (the paper's SHAP).
//!
//! **The partition.** shap's text masker clusters tokens bottom-up, merging only adjacent
//! groups, preferring small groups, ending a group at punctuation, and joining the segments
//! of a pair last. We build the same kind of tree on our words, deterministically: within
//! each segment start from one group per feature (in feature order) and repeatedly merge
//! the adjacent pair with the smallest combined size, leftmost on ties, where a pair whose
//! left group ends with a punctuation word (`. , ; : ! ?`) is merged only when no other pair
//! is left; then the segment trees are joined left to right. Every node is a contiguous
//! range of features.
//!
//! **The values.** For a node with children L and R, a context mask m (features outside the
//! node fixed) and weight ω, with f₀₀ = F(m), f₁₀ = F(m ∪ L), f₀₁ = F(m ∪ R), f₁₁ = F(m ∪ L ∪ R),
//! the node's credit ω (f₁₁ − f₀₀) is passed to four children with weight ω/2:
//! L in context m (f₀₀ → f₁₀), L in context m ∪ R (f₀₁ → f₁₁), R in context m (f₀₀ → f₀₁)
//! and R in context m ∪ L (f₁₀ → f₁₁). A leaf keeps its credit. Fully expanded, this gives
//! the Owen values of the tree, which are the Shapley values for an additive model.
//!
//! **The budget.** Nodes are expanded best-first by credit at stake |f₁₁ − f₀₀|·ω (ties:
//! first queued), up to 64 at a time, each expansion costing two evaluations, until
//! `max_evals` (counting F(∅) and F(N)) would be exceeded; the credit of every unexpanded
//! node is then split equally among its leaves. The credits always sum to F(N) − F(∅)
//! (efficiency). Deterministic: no randomness is involved.

use super::{mask_token, prepare, view};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::{Attribution, ExplainRng, Features, Mask, MaskMode, Output};
use trustx_framework::plugin::explainer::{
    ExplainInput, Explainer, ExplainerEntry, Explanation, default_token_pattern,
};

/// Node expansions evaluated together.
const BATCH: usize = 64;

/// Settings of `partition-shap`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionShapSettings {
    /// Model evaluations at most, F(∅) and F(N) included (at least 2).
    #[serde(default = "default_max_evals")]
    pub max_evals: usize,
    /// Regex that splits each segment into words.
    #[serde(default = "default_token_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true) or per word position (false).
    #[serde(default)]
    pub bow: bool,
    /// What happens to an absent word: `remove` or `mask_token` (shap's text masker).
    #[serde(default = "mask_token")]
    pub masking: MaskMode,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

fn default_max_evals() -> usize {
    500
}

impl Default for PartitionShapSettings {
    fn default() -> Self {
        Self {
            max_evals: default_max_evals(),
            token_pattern: default_token_pattern(),
            bow: false,
            masking: mask_token(),
            output: Output::default(),
        }
    }
}

/// A node of the partition tree: the features `lo..hi` and its children (None for a leaf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// First feature.
    pub lo: usize,
    /// One past the last feature.
    pub hi: usize,
    /// Left and right child (node indices).
    pub children: Option<(usize, usize)>,
}

/// The partition tree: leaves 0..M are the features, the last node is the root.
pub fn partition_tree(features: &Features) -> Vec<Node> {
    let m = features.len();
    let mut nodes: Vec<Node> = (0..m).map(|i| Node { lo: i, hi: i + 1, children: None }).collect();
    let is_punct = |i: usize| {
        let t = &features.features()[i].text;
        !t.is_empty() && t.chars().all(|c| ".,;:!?".contains(c))
    };
    let mut roots = Vec::new();
    let mut start = 0;
    while start < m {
        let segment = features.features()[start].segment;
        let end = (start..m).find(|&i| features.features()[i].segment != segment).unwrap_or(m);
        let mut groups: Vec<usize> = (start..end).collect();
        while groups.len() > 1 {
            let cost = |k: usize| {
                let (a, b) = (nodes[groups[k]], nodes[groups[k + 1]]);
                (is_punct(a.hi - 1), a.hi - a.lo + b.hi - b.lo)
            };
            let k = (0..groups.len() - 1).min_by_key(|&k| (cost(k), k)).unwrap_or(0);
            let (a, b) = (groups[k], groups[k + 1]);
            nodes.push(Node { lo: nodes[a].lo, hi: nodes[b].hi, children: Some((a, b)) });
            groups[k] = nodes.len() - 1;
            groups.remove(k + 1);
        }
        roots.extend(groups);
        start = end;
    }
    while roots.len() > 1 {
        let (a, b) = (roots[0], roots[1]);
        nodes.push(Node { lo: nodes[a].lo, hi: nodes[b].hi, children: Some((a, b)) });
        roots[0] = nodes.len() - 1;
        roots.remove(1);
    }
    nodes
}

/// A queued node: its context, its end values and its weight.
struct Item {
    priority: f64,
    order: u64,
    node: usize,
    context: Mask,
    f00: f64,
    f11: f64,
    weight: f64,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    /// Larger credit first; among equals, the earlier queued.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.total_cmp(&other.priority).then(other.order.cmp(&self.order))
    }
}

/// The node's features added to `mask`.
fn with_node(mask: &Mask, node: &Node) -> Mask {
    let mut out = mask.clone();
    for i in node.lo..node.hi {
        out.set(i, true);
    }
    out
}

/// Owen values of `tree` for the evaluator `eval`, within `max_evals` evaluations (two of
/// which are F(∅), F(N)). Returns (values, F(∅), F(N)).
pub fn owen_values(
    tree: &[Node],
    m: usize,
    max_evals: usize,
    mut eval: impl FnMut(&[Mask]) -> Result<Vec<f64>>,
) -> Result<(Vec<f64>, f64, f64)> {
    let ends = eval(&[Mask::empty(m), Mask::full(m)])?;
    let (e0, fx) = (ends[0], ends[1]);
    let mut values = vec![0.0; m];
    let Some(root) = tree.len().checked_sub(1) else { return Ok((values, e0, fx)) };
    let mut evals = 2;
    let mut order = 0u64;
    let mut heap = BinaryHeap::new();
    let mut push = |heap: &mut BinaryHeap<Item>, node, context, f00: f64, f11: f64, weight: f64| {
        order += 1;
        heap.push(Item { priority: (f11 - f00).abs() * weight, order, node, context, f00, f11, weight });
    };
    push(&mut heap, root, Mask::empty(m), e0, fx, 1.0);
    loop {
        let mut batch: Vec<Item> = Vec::new();
        while batch.len() < BATCH {
            let Some(top) = heap.peek() else { break };
            if tree[top.node].children.is_none() {
                let leaf = heap.pop().unwrap_or_else(|| unreachable!());
                values[leaf.node] += (leaf.f11 - leaf.f00) * leaf.weight;
                continue;
            }
            if evals + 2 * (batch.len() + 1) > max_evals {
                break;
            }
            batch.extend(heap.pop());
        }
        if batch.is_empty() {
            break;
        }
        let mut masks = Vec::with_capacity(2 * batch.len());
        for item in &batch {
            let (l, r) = tree[item.node].children.unwrap_or((item.node, item.node));
            masks.push(with_node(&item.context, &tree[l]));
            masks.push(with_node(&item.context, &tree[r]));
        }
        let f = eval(&masks)?;
        evals += masks.len();
        let mut masks = masks.into_iter();
        for (k, item) in batch.into_iter().enumerate() {
            let (l, r) = tree[item.node].children.unwrap_or((item.node, item.node));
            let (m10, m01) = (masks.next(), masks.next());
            let (Some(m10), Some(m01)) = (m10, m01) else { bail!("internal: masks out of step") };
            let (f10, f01) = (f[2 * k], f[2 * k + 1]);
            let w = item.weight / 2.0;
            push(&mut heap, l, item.context.clone(), item.f00, f10, w);
            push(&mut heap, r, item.context, item.f00, f01, w);
            push(&mut heap, l, m01, f01, item.f11, w);
            push(&mut heap, r, m10, f10, item.f11, w);
        }
    }
    // Unexpanded nodes: their credit is split equally among their leaves.
    for item in heap.into_vec() {
        let node = tree[item.node];
        let share = (item.f11 - item.f00) * item.weight / (node.hi - node.lo) as f64;
        for v in &mut values[node.lo..node.hi] {
            *v += share;
        }
    }
    Ok((values, e0, fx))
}

/// The `partition-shap` explainer.
pub struct PartitionShap;

impl Explainer for PartitionShap {
    type Settings = PartitionShapSettings;
    const NAME: &'static str = "partition-shap";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Partition SHAP: Owen values on a binary word hierarchy (shap's text default)";
    const DETERMINISTIC: bool = true;

    fn explain(s: &PartitionShapSettings, input: &ExplainInput, _rng: &mut ExplainRng) -> Result<Explanation> {
        if s.max_evals < 2 {
            bail!("setting `max_evals` must be at least 2, not {}", s.max_evals);
        }
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let tree = partition_tree(&features);
        let mut model = view(input, &features, s.masking, s.output)?;
        let (weights, e0, fx) = owen_values(&tree, features.len(), s.max_evals, |masks| model.eval(masks))?;
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, weights)?;
        let diagnostics = BTreeMap::from([("base_value".to_string(), e0), ("output".to_string(), fx)]);
        Ok(Explanation { attribution, counts: model.counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<PartitionShap>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::exact_shapley::shapley_from_table;
    use crate::explainers::testing::*;
    use trustx_framework::explain::WordSplitter;

    fn feats(s: &[&str]) -> Features {
        let segs: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        Features::new(&segs, &WordSplitter::default(), false).unwrap()
    }

    #[test]
    fn tree_is_balanced_punctuation_closes_groups_segments_join_last() {
        let t = partition_tree(&feats(&["a b c d", "e f"]));
        let internal: Vec<(usize, usize)> = t.iter().filter(|n| n.children.is_some()).map(|n| (n.lo, n.hi)).collect();
        assert_eq!(internal, [(0, 2), (2, 4), (0, 4), (4, 6), (0, 6)]);
        // "a b . c d": `.` joins `b`, but `b .` is joined to `c d` last.
        let t = partition_tree(&feats(&["a b . c d"]));
        let internal: Vec<(usize, usize)> = t.iter().filter(|n| n.children.is_some()).map(|n| (n.lo, n.hi)).collect();
        assert_eq!(internal, [(0, 2), (3, 5), (0, 3), (0, 5)]);
        assert!(partition_tree(&feats(&[""])).is_empty());
    }

    #[test]
    fn owen_values_by_hand() {
        // Two features, one node: φ_a = (f10 − f00 + f11 − f01)/2, the Shapley value.
        let tree = partition_tree(&feats(&["a b"]));
        let table = [0.0, 1.0, 2.0, 5.0];
        let eval = |ms: &[Mask]| Ok(ms.iter().map(|m| table[m.ones().map(|i| 1 << i).sum::<usize>()]).collect());
        let (v, e0, fx) = owen_values(&tree, 2, 500, eval).unwrap();
        assert_eq!((v, e0, fx), (vec![2.0, 3.0], 0.0, 5.0));
        // A budget of 2: no expansion, the credit is split equally.
        let (v, _, _) = owen_values(&tree, 2, 3, eval).unwrap();
        assert_eq!(v, [2.5, 2.5]);
        // Three features ((a b) c) with an interaction between b and c (here Owen = Shapley).
        let tree = partition_tree(&feats(&["a b c"]));
        let game = |bits: usize| (bits & 1) as f64 + if bits & 6 == 6 { 4.0 } else { 0.0 };
        let table: Vec<f64> = (0..8).map(game).collect();
        let (v, _, _) = owen_values(&tree, 3, 500, |ms: &[Mask]| {
            Ok(ms.iter().map(|m| table[m.ones().map(|i| 1 << i).sum::<usize>()]).collect())
        })
        .unwrap();
        // Root (ab | c): the 4 of b·c goes half to (ab), half to c; within (ab), b takes it all.
        assert_close(&v, &[1.0, 2.0, 2.0], 1e-12, "owen");
        assert_close(&shapley_from_table(&table, 3), &[1.0, 2.0, 2.0], 1e-12, "shapley");
    }

    #[test]
    fn additive_exact_and_efficiency_under_budget() {
        let (model, text, want) = five_words();
        let s = settings::<PartitionShap>(serde_json::json!({"output": "log-odds"}));
        let e = explain::<PartitionShap>(&model, &[text], &s, 0);
        assert_close(&e.attribution.weights, &want, 1e-9, "partition additive");
        let long = "truly great film , boring plot and truly great cast , boring score but a great ending";
        for max_evals in [2, 10, 40, 500] {
            let s = settings::<PartitionShap>(serde_json::json!({"max_evals": max_evals}));
            let e = explain::<PartitionShap>(&model, &[long], &s, 0);
            let sum: f64 = e.attribution.weights.iter().sum();
            let gap = e.diagnostics["output"] - e.diagnostics["base_value"];
            assert!((sum - gap).abs() < 1e-12, "max_evals {max_evals}: {sum} vs {gap}");
            assert!(e.counts.requested as usize <= max_evals, "{:?}", e.counts);
        }
    }
}
