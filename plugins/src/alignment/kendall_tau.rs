//! `kendall-tau`: Kendall's τ-b between the two importance orders on the union of the
//! top-K features (Krishna et al. 2022 use rank correlation on a feature set of interest).
//!
//! For each feature f in U = A ∪ B (the top-K sets), x_f = |weight of f in A| and
//! y_f = |weight of f in B|, 0 where the attribution gives f no weight (on words, a word's
//! highest ranked occurrence). Over the pairs of U, with C concordant, D discordant, and
//! T_x, T_y the pairs tied in x only / in y only counted as n₁, n₂ pairs tied in x / y:
//! τ-b = (C − D) / √((n₀ − n₁)(n₀ − n₂)), n₀ = |U|(|U| − 1)/2. Conventions: |U| ≤ 1 gives 1;
//! when every pair is tied in x or every pair in y, τ-b is 1 if both are fully tied and 0
//! otherwise.

use super::{TopKSettings, top_lists};
use std::collections::HashMap;
use trustx_framework::explain::Attribution;
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

/// Kendall's τ-b of two paired samples.
pub fn tau_b(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n <= 1 {
        return 1.0;
    }
    let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let sx = (x[i] - x[j]).signum() as i64 * i64::from(x[i] != x[j]);
            let sy = (y[i] - y[j]).signum() as i64 * i64::from(y[i] != y[j]);
            if sx == 0 {
                tx += 1;
            }
            if sy == 0 {
                ty += 1;
            }
            match sx * sy {
                1 => c += 1,
                -1 => d += 1,
                _ => {}
            }
        }
    }
    let n0 = (n * (n - 1) / 2) as i64;
    if tx == n0 || ty == n0 {
        return if tx == n0 && ty == n0 { 1.0 } else { 0.0 };
    }
    (c - d) as f64 / (((n0 - tx) * (n0 - ty)) as f64).sqrt()
}

/// The `kendall-tau` metric.
pub struct KendallTau;

impl AlignmentMetric for KendallTau {
    type Settings = TopKSettings;
    const NAME: &'static str = "kendall-tau";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Kendall's tau-b of |weights| on the union of the top-K features";
    const DEFAULT_RANK: Option<u8> = Some(5);
    const DEFINITION: &'static str = "Kendall's τ-b between |weight| in A and |weight| in B over U = union of the \
        two top-K sets (a feature without weight in one attribution counts 0 there); 1 when |U| ≤ 1; when one \
        side is fully tied, 1 if both are, else 0.";

    fn compute(s: &TopKSettings, a: &Attribution, b: &Attribution) -> f64 {
        let [la, lb] = top_lists(a, b, s.k.get(), s.on);
        let wa: HashMap<String, f64> = a.ranked(s.on).into_iter().collect();
        let wb: HashMap<String, f64> = b.ranked(s.on).into_iter().collect();
        let mut union: Vec<&String> = la.iter().map(|(k, _)| k).collect();
        for (k, _) in &lb {
            if !union.contains(&k) {
                union.push(k);
            }
        }
        let x: Vec<f64> = union.iter().map(|k| wa.get(*k).map_or(0.0, |w| w.abs())).collect();
        let y: Vec<f64> = union.iter().map(|k| wb.get(*k).map_or(0.0, |w| w.abs())).collect();
        tau_b(&x, &y)
    }
}

inventory::submit! { AlignmentMetricEntry::of::<KendallTau>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::*;
    use std::num::NonZeroUsize;

    #[test]
    fn hand_computed() {
        close(tau_b(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        close(tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // x = [1, 2, 3], y = [1, 3, 2]: C = 2, D = 1, no ties → 1/3.
        close(tau_b(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]), 1.0 / 3.0);
        // x = [1, 1, 2], y = [1, 2, 3]: pairs (12) tied in x, (13) C, (23) C → 2 / √(2·3).
        close(tau_b(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]), 2.0 / 6f64.sqrt());
        close(tau_b(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        // Attributions, K = 2: A top {a, b}, B top {c, a} → U = [a, b, c],
        // x = |A| = [0.9, 0.8, 0.1], y = |B| = [0.5, 0, 0.7]: (ab) C, (ac) D, (bc) D → −1/3.
        let a = attr(&["a", "b", "c"], &[0.9, -0.8, 0.1]);
        let b = attr(&["a", "b", "c"], &[0.5, 0.0, -0.7]);
        let s = TopKSettings { k: NonZeroUsize::new(2).unwrap(), ..TopKSettings::default() };
        close(KendallTau::compute(&s, &a, &b), -1.0 / 3.0);
    }
}
