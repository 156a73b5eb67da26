//! `rbo`: rank-biased overlap of the two top-K lists (Webber, Moffat & Zobel 2010), the
//! extrapolated form for lists of possibly different lengths (their eq. 32).
//!
//! With S the shorter list (length s), L the longer (length l), X_d the size of the overlap
//! of the two prefixes of depth d (a list shorter than d counts whole), and persistence p:
//! RBO = (1 − p)/p · [Σ_{d=1}^{l} X_d/d · p^d + Σ_{d=s+1}^{l} X_s (d − s)/(s d) · p^d]
//!       + [(X_l − X_s)/l + X_s/s] · p^l.
//! Identical lists give 1, disjoint lists 0. Both empty: 1; one empty: 0.

use super::top_lists;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::num::NonZeroUsize;
use trustx_framework::explain::{Attribution, FeatureKey};
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};
use trustx_framework::plugin::settings::SettingsError;

/// Settings of `rbo`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RboSettings {
    /// List length K (at least 1).
    #[serde(default = "super::default_k")]
    pub k: NonZeroUsize,
    /// Persistence p in (0, 1): the weight of depth d decays as p^d (0.9 puts ~86% on the top 10).
    #[serde(default = "default_p")]
    pub p: f64,
    /// Compare features by `word` text (the paper) or by `position`.
    #[serde(default)]
    pub on: FeatureKey,
}

fn default_p() -> f64 {
    0.9
}

/// Extrapolated RBO of two ranked lists of distinct keys.
pub fn rbo(a: &[String], b: &[String], p: f64) -> f64 {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let (s, l) = (short.len(), long.len());
    if l == 0 {
        return 1.0;
    }
    if s == 0 {
        return 0.0;
    }
    let (mut seen_s, mut seen_l) = (HashSet::new(), HashSet::new());
    let mut x = vec![0usize; l + 1];
    let mut overlap = 0usize;
    for d in 1..=l {
        let from_long = &long[d - 1];
        if seen_s.contains(from_long) {
            overlap += 1;
        }
        seen_l.insert(from_long);
        if d <= s {
            let from_short = &short[d - 1];
            if seen_l.contains(from_short) {
                overlap += 1;
            }
            seen_s.insert(from_short);
        }
        x[d] = overlap;
    }
    let mut sum = 0.0;
    for d in 1..=l {
        let pd = p.powi(d as i32);
        sum += x[d] as f64 / d as f64 * pd;
        if d > s {
            sum += x[s] as f64 * (d - s) as f64 / (s * d) as f64 * pd;
        }
    }
    (1.0 - p) / p * sum + ((x[l] - x[s]) as f64 / l as f64 + x[s] as f64 / s as f64) * p.powi(l as i32)
}

/// The `rbo` metric.
pub struct Rbo;

impl AlignmentMetric for Rbo {
    type Settings = RboSettings;
    const NAME: &'static str = "rbo";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Rank-biased overlap of the two top-K lists (extrapolated)";
    const DEFAULT_RANK: Option<u8> = Some(1);
    const DEFINITION: &'static str = "Extrapolated rank-biased overlap (Webber et al. 2010, eq. 32) of the top-K \
        lists ranked by |weight|, persistence p: a top-weighted overlap in [0, 1], 1 for identical lists; both \
        empty is 1. p lies strictly between 0 and 1 (checked at validate).";

    fn compute(s: &RboSettings, a: &Attribution, b: &Attribution) -> f64 {
        if !(s.p > 0.0 && s.p < 1.0) {
            return f64::NAN;
        }
        let [la, lb] = top_lists(a, b, s.k.get(), s.on);
        let ka: Vec<String> = la.into_iter().map(|(k, _)| k).collect();
        let kb: Vec<String> = lb.into_iter().map(|(k, _)| k).collect();
        rbo(&ka, &kb, s.p)
    }

    fn check(s: &RboSettings) -> Vec<SettingsError> {
        if s.p > 0.0 && s.p < 1.0 {
            return Vec::new();
        }
        vec![SettingsError::at(
            "p",
            format!("the persistence p lies strictly between 0 and 1 (0.9 weighs about the top 10), got {}", s.p),
        )]
    }
}

inventory::submit! { AlignmentMetricEntry::of::<Rbo>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::close;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn hand_computed() {
        let p = 0.5;
        close(rbo(&v(&["a", "b", "c"]), &v(&["a", "b", "c"]), p), 1.0);
        close(rbo(&v(&["a", "b"]), &v(&["c", "d"]), p), 0.0);
        // [a, b] vs [b, a]: X1 = 0, X2 = 2: (1−p)/p · (2/2 · p²) + (2/2) p² = 0.25 + 0.25 = 0.5.
        close(rbo(&v(&["a", "b"]), &v(&["b", "a"]), p), 0.5);
        // [a] vs [a, b], p = 0.5: s = 1, l = 2, X1 = 1, X2 = 1.
        // sum = 1/1·0.5 + 1/2·0.25 + X1·(2−1)/(1·2)·0.25 = 0.5 + 0.125 + 0.125 = 0.75
        // RBO = 1 · 0.75 + ((1 − 1)/2 + 1/1) · 0.25 = 1.0 (S is a prefix of L: full agreement).
        close(rbo(&v(&["a"]), &v(&["a", "b"]), p), 1.0);
        // [b] vs [a, b]: X1 = 0, X2 = 1: sum = 0 + 1/2·0.25 + 0 = 0.125;
        // RBO = 0.125 + ((1 − 0)/2 + 0) · 0.25 = 0.25.
        close(rbo(&v(&["b"]), &v(&["a", "b"]), p), 0.25);
        close(rbo(&[], &[], p), 1.0);
        close(rbo(&v(&["a"]), &[], p), 0.0);
    }
}
