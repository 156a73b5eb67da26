//! `partition-shap`: shap's `Partition` explainer on a `Text` masker (shap 0.51.0,
//! `shap/explainers/_partition.py`, `shap/maskers/_text.py`), the paper's SHAP.
//!
//! **Tokens, tree, masking** are those of shap's Text masker, as
//! [`text_masker`](trustx_framework::explain::text_masker) implements them: shap's
//! `SimpleTokenizer` with `split_pattern` (shap's default `\W+`: a token is the text between
//! separators, and the last token's trailing separator is never shown to the model), the
//! tree shap's `partition_tree` merges from those tokens, and absent tokens replaced by
//! `" " + mask_token`, collapsed over runs (`Text`'s defaults without a tokenizer mask token:
//! `mask_token = "..."`, `collapse_mask_token = True`), white space normalised.
//!
//! **The values** follow `PartitionExplainer.owen` with `fixed_context = None` (the default,
//! `explain_row`): F(∅) and F(N) are evaluated first and `max_evals − 2` is the budget of
//! the loop. A priority queue holds (node, context m, f00 = F(m), f11 = F(m ∪ node), weight
//! ω), the root first. While the queue is not empty and fewer than `batch_size` masks are
//! batched and the evaluations so far plus the batch stay under the budget, the best item
//! is popped: a leaf adds ω (f11 − f00) to its node's credit; an internal node with
//! children L, R adds the masks m ∪ L and m ∪ R to the batch. After the batch runs, each
//! expansion queues, with weight ω/2 and priority |Δ|·ω/2 (largest first), L in context m
//! (f00 → f10), R in context m (f00 → f01), L in context m ∪ R (f01 → f11) and R in context
//! m ∪ L (f10 → f11). Once the evaluations reach the budget, every queued item leaves
//! ω (f11 − f00) on its node. Finally the credit of each internal node is passed down to
//! its children in proportion to their sizes (`lower_credit`), so the values always sum to
//! F(N) − F(∅).
//!
//! **Where trustx differs, on purpose or by necessity.**
//! - shap breaks ties between equal priorities with `np.random.randn()`; trustx takes the
//!   first queued, so it is deterministic (the reference, `scripts/reference/explainers.py`,
//!   records that ties changed no value on its sentences).
//! - The priority is that of the explained class alone: this is shap called with
//!   `outputs=[class]`. shap's default explains every output and ranks by the largest change
//!   over them; for two classes and probabilities that is the same order.
//! - A pair: each segment is tokenized and masked on its own and the segments' trees are
//!   joined last, so the separator is never a token (shap would see one string).
//! - shap's `batch_size` ("auto" = the Text masker's `default_batch_size`, 5) only sets how
//!   many masks are gathered before the queue is read again; it changes the order of
//!   expansion under a budget, so it is a setting with shap's default.
//!
//! Checked against shap itself: `tests/explainers_reference.rs` (values within 1e-6 on the
//! reference model, 22 sentences, three tokenizers, `max_evals` 100, 500 and 10000).

use super::yes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::budget;
use trustx_framework::explain::text_masker::{TextTokens, TreeNode};
use trustx_framework::explain::{Attribution, EvalCounts, ExplainRng, Mask, Output};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::explainer::{ExplainInput, Explainer, ExplainerEntry, Explanation};

/// Settings of `partition-shap`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionShapSettings {
    /// Model evaluations at most, F(∅) and F(N) included (shap's `max_evals`, default 500;
    /// at least 2). shap may go one evaluation over it, and so does this.
    #[serde(default = "default_max_evals")]
    pub max_evals: usize,
    /// shap's `SimpleTokenizer` split pattern: tokens are the text between its matches.
    #[serde(default = "default_split_pattern")]
    pub split_pattern: String,
    /// What replaces an absent token (shap's `...` for a tokenizer without a mask token).
    #[serde(default = "default_mask_token")]
    pub mask_token: String,
    /// One mask token for a run of absent tokens (shap's `collapse_mask_token`, "auto" is
    /// true without a tokenizer mask token).
    #[serde(default = "yes")]
    pub collapse_mask_token: bool,
    /// Masks gathered before the queue is read again (shap's Text masker's
    /// `default_batch_size`, 5).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

fn default_max_evals() -> usize {
    500
}
fn default_split_pattern() -> String {
    r"\W+".to_string()
}
fn default_mask_token() -> String {
    "...".to_string()
}
fn default_batch_size() -> usize {
    5
}

impl Default for PartitionShapSettings {
    fn default() -> Self {
        Self {
            max_evals: default_max_evals(),
            split_pattern: default_split_pattern(),
            mask_token: default_mask_token(),
            collapse_mask_token: true,
            batch_size: default_batch_size(),
            output: Output::default(),
        }
    }
}

/// A queued node: shap's `(m00, f00, f11, ind, weight)` with its priority and queue order.
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
    /// The heap's greatest is shap's smallest `(−|Δ|·ω, order)`.
    fn cmp(&self, other: &Self) -> Ordering {
        let by_priority = other.priority.partial_cmp(&self.priority).unwrap_or(Ordering::Equal);
        by_priority.then(other.order.cmp(&self.order))
    }
}

/// The queue of `owen`, with shap's priorities and first-queued tie-break.
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Item>,
    order: u64,
}

impl Queue {
    fn push(&mut self, node: usize, context: Mask, f00: f64, f11: f64, weight: f64) {
        // shap: `-np.max(np.abs(f11 - f00)) * weight` (the root gets 0).
        let priority = if self.order == 0 { 0.0 } else { -(f11 - f00).abs() * weight };
        self.order += 1;
        self.heap.push(Item { priority, order: self.order, node, context, f00, f11, weight });
    }
}

/// The node's features added to `mask`.
fn with_node(mask: &Mask, node: &TreeNode) -> Mask {
    let mut out = mask.clone();
    for i in node.lo..node.hi {
        out.set(i, true);
    }
    out
}

/// An expansion waiting for its two evaluations.
struct Expansion {
    item: Item,
    left: usize,
    right: usize,
    m10: Mask,
    m01: Mask,
}

/// shap's `owen` with `fixed_context = None` on `tree` (leaves 0..m, root last) and its
/// `lower_credit`: returns (values, F(∅), F(N)). `eval` gives the attributed output of each
/// mask; `max_evals` counts F(∅) and F(N).
pub fn owen_values(
    tree: &[TreeNode],
    m: usize,
    max_evals: usize,
    batch_size: usize,
    mut eval: impl FnMut(&[Mask]) -> Result<Vec<f64>>,
) -> Result<(Vec<f64>, f64, f64)> {
    let ends = eval(&[Mask::empty(m), Mask::full(m)])?;
    let (e0, fx) = (ends[0], ends[1]);
    let Some(root) = tree.len().checked_sub(1) else { return Ok((vec![0.0; m], e0, fx)) };
    let budget = max_evals.saturating_sub(2);
    let mut dvalues = vec![0.0; tree.len()];
    let mut queue = Queue::default();
    queue.push(root, Mask::empty(m), e0, fx, 1.0);
    let mut evals = 0;
    while !queue.heap.is_empty() {
        if evals >= budget {
            for item in queue.heap.drain() {
                dvalues[item.node] += (item.f11 - item.f00) * item.weight;
            }
            break;
        }
        let mut batch: Vec<Expansion> = Vec::new();
        while 2 * batch.len() < batch_size && evals + 2 * batch.len() < budget {
            let Some(item) = queue.heap.pop() else { break };
            let Some((left, right)) = tree[item.node].children else {
                dvalues[item.node] += (item.f11 - item.f00) * item.weight;
                continue;
            };
            let m10 = with_node(&item.context, &tree[left]);
            let m01 = with_node(&item.context, &tree[right]);
            batch.push(Expansion { item, left, right, m10, m01 });
        }
        if batch.is_empty() {
            continue;
        }
        let masks: Vec<Mask> = batch.iter().flat_map(|x| [x.m10.clone(), x.m01.clone()]).collect();
        let f = eval(&masks)?;
        if f.len() != masks.len() {
            bail!("internal: {} outputs for {} masks", f.len(), masks.len());
        }
        evals += masks.len();
        for (k, x) in batch.into_iter().enumerate() {
            let (f10, f01) = (f[2 * k], f[2 * k + 1]);
            let Item { context, f00, f11, weight, .. } = x.item;
            let w = weight / 2.0;
            queue.push(x.left, context.clone(), f00, f10, w);
            queue.push(x.right, context, f00, f01, w);
            queue.push(x.left, x.m01, f01, f11, w);
            queue.push(x.right, x.m10, f10, f11, w);
        }
    }
    Ok((lower_credit(tree, &dvalues, m), e0, fx))
}

/// shap's `lower_credit`: each node's credit plus what it inherited goes to its children in
/// proportion to their sizes; the leaves' totals are the values.
fn lower_credit(tree: &[TreeNode], dvalues: &[f64], m: usize) -> Vec<f64> {
    let mut values = vec![0.0; m];
    let mut stack = vec![(tree.len() - 1, 0.0)];
    while let Some((i, inherited)) = stack.pop() {
        let total = dvalues[i] + inherited;
        match tree[i].children {
            None => values[tree[i].lo] += total,
            Some((l, r)) => {
                let size = tree[i].size() as f64;
                stack.push((l, total * tree[l].size() as f64 / size));
                stack.push((r, total * tree[r].size() as f64 / size));
            }
        }
    }
    values
}

/// The `partition-shap` explainer.
pub struct PartitionShap;

impl Explainer for PartitionShap {
    type Settings = PartitionShapSettings;
    const NAME: &'static str = "partition-shap";
    const VERSION: &'static str = "2";
    const SUMMARY: &'static str = "shap's Partition explainer on its Text masker: Owen values on shap's token tree";
    const DETERMINISTIC: bool = true;

    fn check(s: &PartitionShapSettings) -> Vec<SettingsError> {
        let mut out = Vec::new();
        if s.max_evals < 2 {
            out.push(SettingsError::at(
                "max_evals",
                format!("must be at least 2 (F(∅) and F(N)), got {}", s.max_evals),
            ));
        }
        let n = s.max_evals as u64;
        out.extend(budget::check("max_evals", n, n, n, budget::MAX_FEATURES + budget::SAMPLE_OVERHEAD_BYTES));
        if s.batch_size == 0 {
            out.push(SettingsError::at("batch_size", "must be at least 1 (shap's default is 5)"));
        }
        out
    }

    fn explain(s: &PartitionShapSettings, input: &ExplainInput, _rng: &mut ExplainRng) -> Result<Explanation> {
        if s.max_evals < 2 {
            bail!("setting `max_evals` must be at least 2, not {}", s.max_evals);
        }
        if s.batch_size == 0 {
            bail!("setting `batch_size` must be at least 1");
        }
        let engine = input.engine;
        if input.class >= engine.num_classes() {
            bail!("class {} does not exist (the model has {} classes)", input.class, engine.num_classes());
        }
        let tokens =
            TextTokens::regex_keeping(engine.segments(), &s.split_pattern, &engine.classifier().special_words())
                .map_err(|e| e.context("setting `split_pattern`"))?;
        let features = tokens.features()?;
        let tree = tokens.partition_tree();
        let mut counts = EvalCounts::default();
        let eval = |masks: &[Mask]| -> Result<Vec<f64>> {
            let texts: Vec<Vec<String>> =
                masks.iter().map(|m| tokens.render(m, &s.mask_token, s.collapse_mask_token)).collect();
            let rows = engine.predict_texts(&texts, &mut counts)?;
            Ok(rows.iter().map(|r| s.output.of(r, input.class)).collect())
        };
        let (weights, e0, fx) = owen_values(&tree, tokens.len(), s.max_evals, s.batch_size, eval)?;
        let attribution = Attribution::new(engine.example_id(), input.class, &features, weights)?;
        let diagnostics = BTreeMap::from([("base_value".to_string(), e0), ("output".to_string(), fx)]);
        Ok(Explanation { attribution, counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<PartitionShap>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::exact_shapley::shapley_from_table;
    use crate::explainers::testing::*;

    fn tree(s: &str) -> Vec<TreeNode> {
        TextTokens::regex(&[s.to_string()], r"\W+").unwrap().partition_tree()
    }

    fn table_eval(table: &[f64]) -> impl FnMut(&[Mask]) -> Result<Vec<f64>> + '_ {
        |ms: &[Mask]| Ok(ms.iter().map(|m| table[m.ones().map(|i| 1 << i).sum::<usize>()]).collect())
    }

    #[test]
    fn owen_values_by_hand() {
        // Two features, one node: φ_a = (f10 − f00 + f11 − f01)/2, the Shapley value.
        let table = [0.0, 1.0, 2.0, 5.0];
        let (v, e0, fx) = owen_values(&tree("a b"), 2, 500, 5, table_eval(&table)).unwrap();
        assert_eq!((v, e0, fx), (vec![2.0, 3.0], 0.0, 5.0));
        // A budget of 2: no expansion, the credit is split by size.
        let (v, _, _) = owen_values(&tree("a b"), 2, 2, 5, table_eval(&table)).unwrap();
        assert_eq!(v, [2.5, 2.5]);
        // Three words; shap's tree is ((a b) c); an interaction between b and c.
        let game = |bits: usize| (bits & 1) as f64 + if bits & 6 == 6 { 4.0 } else { 0.0 };
        let table: Vec<f64> = (0..8).map(game).collect();
        let (v, _, _) = owen_values(&tree("a b c"), 3, 500, 5, table_eval(&table)).unwrap();
        // Root (ab | c): the 4 of b·c goes half to (ab), half to c; within (ab), b takes it all.
        assert_close(&v, &[1.0, 2.0, 2.0], 1e-12, "owen");
        assert_close(&shapley_from_table(&table, 3), &[1.0, 2.0, 2.0], 1e-12, "shapley");
    }

    #[test]
    fn additive_exact_and_efficiency_under_budget() {
        let (model, text, want) = five_words();
        // shap's `\W+` drops the `,`: five tokens, the comma (weight 0) is not one of them.
        let want: Vec<f64> = want.into_iter().filter(|w| *w != 0.0).collect();
        let s = settings::<PartitionShap>(serde_json::json!({"output": "log-odds", "max_evals": 5000}));
        let e = explain::<PartitionShap>(&model, &[text], &s, 0);
        assert_close(&e.attribution.weights, &want, 1e-9, "partition additive");
        let long = "truly great film , boring plot and truly great cast , boring score but a great ending";
        for max_evals in [2, 10, 40, 500] {
            let s = settings::<PartitionShap>(serde_json::json!({"max_evals": max_evals}));
            let e = explain::<PartitionShap>(&model, &[long], &s, 0);
            let sum: f64 = e.attribution.weights.iter().sum();
            let gap = e.diagnostics["output"] - e.diagnostics["base_value"];
            assert!((sum - gap).abs() < 1e-12, "max_evals {max_evals}: {sum} vs {gap}");
            assert!(e.counts.requested as usize <= max_evals + 1, "{:?}", e.counts);
        }
    }

    /// shap 0.51.0's values on the reference model (`tests/reference/explainers.json`, made
    /// by `scripts/reference/explainers.py`), every sentence, tokenizer and budget.
    #[test]
    fn equals_shap_on_the_reference_model() {
        let reference = Reference::load();
        let mut cases = 0;
        for ex in &reference.examples {
            for case in &ex.shap {
                let pattern = match case.tokenizer.as_str() {
                    "default" => r"\W+",
                    other => other,
                };
                let s = settings::<PartitionShap>(serde_json::json!({
                    "max_evals": case.max_evals, "split_pattern": pattern,
                }));
                let e = explain_class::<PartitionShap>(&reference.model, &[&ex.text], &s, 0, ex.class);
                let what = format!("{} {} max_evals {}", ex.id, case.tokenizer, case.max_evals);
                let texts: Vec<&str> = e.attribution.features.iter().map(|f| f.text.as_str()).collect();
                assert_eq!(texts.len(), case.tokens.len(), "{what}: {texts:?} vs {:?}", case.tokens);
                for (t, r) in texts.iter().zip(&case.tokens) {
                    assert!(r.starts_with(t), "{what}: token {t:?} vs shap's {r:?}");
                }
                assert!((e.diagnostics["base_value"] - case.base_value).abs() < 1e-9, "{what}: base value");
                assert_close(&e.attribution.weights, &case.values, 1e-6, &what);
                cases += 1;
            }
        }
        assert!(cases >= 22 * 9, "only {cases} cases in the reference");
    }
}
