//! `kernel-shap`: Shapley values as the solution of a weighted least-squares problem over
//! sampled coalitions (Lundberg & Lee 2017), with the sampling scheme of shap's
//! `KernelExplainer`.
//!
//! A coalition z ∈ {0,1}^M of size s (0 < s < M) has Shapley-kernel weight
//! π(s) = (M − 1) / (C(M, s) · s · (M − s)). With e₀ = F(∅), Δ = F(N) − e₀, the values φ
//! minimise Σ_z π(z) (F(z) − e₀ − z·φ)² subject to the efficiency constraint Σ φ_i = Δ.
//! The constraint is eliminated by substituting φ_M = Δ − Σ_{i<M} φ_i, which leaves an
//! unconstrained weighted least-squares problem in M − 1 unknowns, solved through its normal
//! equations. With every coalition present the solution is the exact Shapley value.
//!
//! Coalitions (budget `nsamples`, `auto` = 2M + 2048, ∅ and N not counted):
//! - if 2^M − 2 fits the budget, every coalition is enumerated with weight π: exact;
//! - otherwise sizes are taken in pairs (s, M − s) from the smallest: a size pair whose
//!   every coalition fits its share of the remaining budget (share ∝ total kernel weight
//!   of the pair) is enumerated, each coalition weighted by the pair's kernel share divided
//!   by its count; the first pair that does not fit ends enumeration, and the remaining
//!   budget is spent on random draws: a size from the remaining pairs in proportion to
//!   their kernel weight, a uniform subset of that size, and (paired sampling) its
//!   complement. Repeated draws add weight to one row; sampled rows share the kernel
//!   weight not enumerated, in proportion to their draw counts.
//!
//! Efficiency holds exactly whatever the samples. Random: depends on the seed unless the
//! enumeration is complete.

use super::{mask_token, prepare, view};
use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use trustx_framework::anyhow::{Result, bail};
use trustx_framework::explain::budget;
use trustx_framework::explain::linalg::solve_spd;
use trustx_framework::explain::{Attribution, ExplainRng, Mask, MaskMode, Output};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::explainer::{
    ExplainInput, Explainer, ExplainerEntry, Explanation, default_token_pattern,
};

/// Settings of `kernel-shap`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KernelShapSettings {
    /// Coalitions evaluated besides the empty and full ones; unset (`auto`): 2M + 2048.
    #[serde(default)]
    pub nsamples: Option<usize>,
    /// Regex that splits each segment into words.
    #[serde(default = "default_token_pattern")]
    pub token_pattern: String,
    /// One feature per distinct word of a segment (true) or per word position (false).
    #[serde(default)]
    pub bow: bool,
    /// What happens to an absent word: `remove` or `mask_token`.
    #[serde(default = "mask_token")]
    pub masking: MaskMode,
    /// Attributed quantity: `probability` of the explained class or its `log-odds`.
    #[serde(default)]
    pub output: Output,
}

impl Default for KernelShapSettings {
    fn default() -> Self {
        Self {
            nsamples: None,
            token_pattern: default_token_pattern(),
            bow: false,
            masking: mask_token(),
            output: Output::default(),
        }
    }
}

/// The `kernel-shap` explainer.
pub struct KernelShap;

/// C(n, k) as a float.
fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `visit` with every subset of size `s` of 0..m (as sorted indices), in lexicographic order.
fn for_each_subset(m: usize, s: usize, mut visit: impl FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..s).collect();
    loop {
        visit(&idx);
        // Advance to the next combination.
        let Some(i) = (0..s).rev().find(|&i| idx[i] < m - s + i) else { return };
        idx[i] += 1;
        for j in i + 1..s {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// The coalitions and their weights (before evaluation).
struct Design {
    masks: Vec<Mask>,
    weights: Vec<f64>,
    exact: bool,
}

fn design(m: usize, budget: usize, rng: &mut ExplainRng) -> Design {
    let mut masks = Vec::new();
    let mut weights = Vec::new();
    let subset_mask = |idx: &[usize]| {
        let mut k = Mask::empty(m);
        for &i in idx {
            k.set(i, true);
        }
        k
    };
    if m < 63 && (1u64 << m) - 2 <= budget as u64 {
        for s in 1..m {
            let w = (m - 1) as f64 / (binom(m, s) * s as f64 * (m - s) as f64);
            for_each_subset(m, s, |idx| {
                masks.push(subset_mask(idx));
                weights.push(w);
            });
        }
        return Design { masks, weights, exact: true };
    }
    // Size pairs (s, M − s) for s = 1..=⌈(M−1)/2⌉, with their total kernel weight.
    let pairs = (m - 1).div_ceil(2);
    let paired = |s: usize| s != m - s;
    let mut share: Vec<f64> =
        (1..=pairs).map(|s| (m - 1) as f64 / (s * (m - s)) as f64 * if paired(s) { 2.0 } else { 1.0 }).collect();
    let total: f64 = share.iter().sum();
    share.iter_mut().for_each(|w| *w /= total);
    let mut left = budget as f64;
    let mut weight_left = 1.0;
    let mut first_sampled = pairs + 1;
    for s in 1..=pairs {
        let count = binom(m, s) * if paired(s) { 2.0 } else { 1.0 };
        if left * share[s - 1] / weight_left < count - 1e-8 {
            first_sampled = s;
            break;
        }
        let w = share[s - 1] / count;
        for_each_subset(m, s, |idx| {
            let k = subset_mask(idx);
            if paired(s) {
                masks.push(k.complement());
                weights.push(w);
            }
            masks.push(k);
            weights.push(w);
        });
        left -= count;
        weight_left -= share[s - 1];
    }
    if first_sampled > pairs || left < 1.0 {
        return Design { masks, weights, exact: false };
    }
    // Random draws from the remaining sizes, paired.
    let sizes: Vec<usize> = (first_sampled..=pairs).collect();
    let cumulative: Vec<f64> = sizes
        .iter()
        .scan(0.0, |acc, &s| {
            *acc += share[s - 1];
            Some(*acc)
        })
        .collect();
    let total_left = cumulative.last().copied().unwrap_or(1.0);
    let mut counts: HashMap<Mask, f64> = HashMap::new();
    let mut order: Vec<Mask> = Vec::new();
    let mut pool: Vec<usize> = (0..m).collect();
    let mut draws = 0usize;
    let budget_left = left as usize;
    let add = |k: Mask, counts: &mut HashMap<Mask, f64>, order: &mut Vec<Mask>| {
        let c = counts.entry(k.clone()).or_insert(0.0);
        if *c == 0.0 {
            order.push(k);
        }
        *c += 1.0;
    };
    while draws < budget_left {
        let u: f64 = rng.random::<f64>() * total_left;
        let s = sizes[cumulative.iter().position(|&c| u < c).unwrap_or(sizes.len() - 1)];
        // Partial Fisher–Yates: the first s entries of `pool` become a uniform subset.
        for i in 0..s {
            let j = rng.random_range(i..m);
            pool.swap(i, j);
        }
        let k = subset_mask(&pool[..s]);
        draws += 1;
        if paired(s) && draws < budget_left {
            add(k.complement(), &mut counts, &mut order);
            draws += 1;
        }
        add(k, &mut counts, &mut order);
    }
    let drawn: f64 = counts.values().sum();
    for k in order {
        let c = counts[&k];
        weights.push(weight_left * c / drawn);
        masks.push(k);
    }
    Design { masks, weights, exact: false }
}

/// Solves the constrained weighted least squares for φ.
fn solve(design: &Design, values: &[f64], e0: f64, fx: f64, m: usize) -> Result<Vec<f64>> {
    let delta = fx - e0;
    if m == 1 {
        return Ok(vec![delta]);
    }
    let n = m - 1;
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    let mut x = vec![0.0; n];
    for ((k, &w), &y) in design.masks.iter().zip(&design.weights).zip(values) {
        let last = if k.get(m - 1) { 1.0 } else { 0.0 };
        for (i, xi) in x.iter_mut().enumerate() {
            *xi = if k.get(i) { 1.0 } else { 0.0 } - last;
        }
        let target = y - e0 - last * delta;
        for i in 0..n {
            if x[i] == 0.0 {
                continue;
            }
            b[i] += w * x[i] * target;
            for j in i..n {
                a[i * n + j] += w * x[i] * x[j];
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            a[i * n + j] = a[j * n + i];
        }
    }
    let mut phi = solve_spd(&a, &b, n)?;
    let rest: f64 = phi.iter().sum();
    phi.push(delta - rest);
    Ok(phi)
}

impl Explainer for KernelShap {
    type Settings = KernelShapSettings;
    const NAME: &'static str = "kernel-shap";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Kernel SHAP: Shapley-kernel weighted least squares with the efficiency constraint";
    const DETERMINISTIC: bool = false;

    fn check(s: &KernelShapSettings) -> Vec<SettingsError> {
        let Some(n) = s.nsamples else { return Vec::new() };
        if n == 0 {
            return vec![SettingsError::at("nsamples", "must be at least 1; remove it for shap's `auto` (2M + 2048)")];
        }
        let n = n as u64;
        budget::check("nsamples", n, n, n, budget::MAX_FEATURES * 8 + budget::SAMPLE_OVERHEAD_BYTES)
            .into_iter()
            .collect()
    }

    fn explain(s: &KernelShapSettings, input: &ExplainInput, rng: &mut ExplainRng) -> Result<Explanation> {
        let features = prepare(input, &s.token_pattern, s.bow)?;
        let m = features.len();
        let budget = s.nsamples.unwrap_or(2 * m + 2048);
        if budget == 0 {
            bail!("setting `nsamples` must be at least 1");
        }
        let mut model = view(input, &features, s.masking, s.output)?;
        let ends = model.eval(&[Mask::empty(m), Mask::full(m)])?;
        let (e0, fx) = (ends[0], ends[1]);
        let (weights, exact) = if m == 0 {
            (Vec::new(), true)
        } else {
            let d = design(m, budget, rng);
            let values = model.eval(&d.masks)?;
            match solve(&d, &values, e0, fx, m) {
                Ok(phi) => (phi, d.exact),
                Err(e) => bail!("{e}: {} coalitions do not determine {m} values; raise `nsamples`", d.masks.len()),
            }
        };
        let attribution = Attribution::new(input.engine.example_id(), input.class, &features, weights)?;
        let diagnostics = BTreeMap::from([
            ("base_value".to_string(), e0),
            ("output".to_string(), fx),
            ("exact".to_string(), if exact { 1.0 } else { 0.0 }),
        ]);
        Ok(Explanation { attribution, counts: model.counts, diagnostics })
    }
}

inventory::submit! { ExplainerEntry::of::<KernelShap>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explainers::exact_shapley::{ExactShapley, ExactShapleySettings};
    use crate::explainers::testing::*;
    use rand::SeedableRng;

    #[test]
    fn enumeration_is_exact() {
        let (model, text, want) = five_words();
        let s = settings::<KernelShap>(serde_json::json!({"output": "log-odds"}));
        let e = explain::<KernelShap>(&model, &[text], &s, 1);
        assert_eq!(e.diagnostics["exact"], 1.0);
        assert_close(&e.attribution.weights, &want, 1e-9, "kernel enumerated");
        // In probability too, enumerated kernel SHAP is the exact Shapley value.
        let k = explain::<KernelShap>(&model, &[text], &KernelShapSettings::default(), 1);
        let x = explain::<ExactShapley>(&model, &[text], &ExactShapleySettings::default(), 0);
        assert_close(&k.attribution.weights, &x.attribution.weights, 1e-9, "kernel vs exact");
    }

    #[test]
    fn sampled_satisfies_efficiency_and_is_seeded() {
        let (model, _, _) = five_words();
        let text = "truly great film , boring plot and truly great cast , boring score";
        let s = settings::<KernelShap>(serde_json::json!({"nsamples": 300}));
        let a = explain::<KernelShap>(&model, &[text], &s, 5);
        assert_eq!(a.diagnostics["exact"], 0.0);
        let sum: f64 = a.attribution.weights.iter().sum();
        assert!((sum - (a.diagnostics["output"] - a.diagnostics["base_value"])).abs() < 1e-9);
        let b = explain::<KernelShap>(&model, &[text], &s, 5);
        assert_eq!(a.attribution, b.attribution);
        let c = explain::<KernelShap>(&model, &[text], &s, 6);
        assert_ne!(a.attribution, c.attribution);
        // Additive in log-odds: the regression is exact whatever the sample.
        let s = settings::<KernelShap>(serde_json::json!({"nsamples": 300, "output": "log-odds"}));
        let e = explain::<KernelShap>(&model, &[text], &s, 5);
        let w = |t: &str| model.weights.get(t).copied().unwrap_or(0.0);
        let want: Vec<f64> = text.split(' ').map(w).collect();
        assert_close(&e.attribution.weights, &want, 1e-9, "sampled additive");
        assert!(e.counts.requested <= 302);
    }

    #[test]
    fn design_counts() {
        let mut rng = ExplainRng::seed_from_u64(0);
        let d = design(4, 100, &mut rng);
        assert!(d.exact && d.masks.len() == 14);
        // M = 12, budget 2M + 2048 = 2072 < 4094: sizes 1/11, 2/10 … enumerated, rest sampled.
        let d = design(12, 2072, &mut rng);
        assert!(!d.exact);
        assert!(d.masks.len() <= 2072);
        assert_eq!(d.masks.iter().filter(|k| k.count() == 1).count(), 12);
        let total: f64 = d.weights.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let mut n = 0;
        for_each_subset(5, 2, |_| n += 1);
        assert_eq!(n, 10);
    }
}
