//! `top-k-jaccard`: |A ∩ B| / |A ∪ B| of the two top-K feature sets (the paper's alignment).
//! Both sets empty (no feature with a non-zero weight in either) is defined as 1.

use super::{TopKSettings, top_lists};
use std::collections::HashSet;
use trustx_framework::explain::Attribution;
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

/// The `top-k-jaccard` metric.
pub struct TopKJaccard;

impl AlignmentMetric for TopKJaccard {
    type Settings = TopKSettings;
    const NAME: &'static str = "top-k-jaccard";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Jaccard index of the two top-K feature sets";
    const TOP_K_SET: bool = true;
    const DEFAULT_RANK: Option<u8> = Some(0);
    const VERDICT: bool = true;
    const DEFINITION: &'static str = "J = |A ∩ B| / |A ∪ B| where A and B are the K features of largest |weight| \
        (ties in feature order, zero weights excluded), compared by word text or position; J = 1 when both are empty.";

    fn compute(s: &TopKSettings, a: &Attribution, b: &Attribution) -> f64 {
        let [la, lb] = top_lists(a, b, s.k.get(), s.on);
        let sa: HashSet<&String> = la.iter().map(|(k, _)| k).collect();
        let sb: HashSet<&String> = lb.iter().map(|(k, _)| k).collect();
        let union = sa.union(&sb).count();
        if union == 0 { 1.0 } else { sa.intersection(&sb).count() as f64 / union as f64 }
    }
}

inventory::submit! { AlignmentMetricEntry::of::<TopKJaccard>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::*;
    use std::num::NonZeroUsize;
    use trustx_framework::explain::FeatureKey;

    fn j(a: &Attribution, b: &Attribution, k: usize, on: FeatureKey) -> f64 {
        TopKJaccard::compute(&TopKSettings { k: NonZeroUsize::new(k).unwrap(), on }, a, b)
    }

    #[test]
    fn hand_computed() {
        let a = attr(&["a", "b", "c", "d"], &[0.9, -0.8, 0.1, 0.05]);
        let b = attr(&["a", "b", "c", "d"], &[0.1, 0.7, -0.6, 0.0]);
        // top-2: {a, b} vs {b, c} → 1/3; top-3: {a,b,c} vs {b,c,a} → 1; top-4: b has 3 → 3/4.
        close(j(&a, &b, 2, FeatureKey::Word), 1.0 / 3.0);
        close(j(&a, &b, 3, FeatureKey::Word), 1.0);
        close(j(&a, &b, 4, FeatureKey::Word), 0.75);
        // Words vs positions: the same word at another position.
        let c = attr(&["x", "a"], &[0.1, 0.9]);
        let d = attr(&["a", "x"], &[0.9, 0.1]);
        close(j(&c, &d, 1, FeatureKey::Word), 1.0);
        close(j(&c, &d, 1, FeatureKey::Position), 0.0);
        // Both empty → 1; one empty → 0.
        let z = attr(&["a"], &[0.0]);
        close(j(&z, &z, 10, FeatureKey::Word), 1.0);
        close(j(&z, &d, 10, FeatureKey::Word), 0.0);
    }
}
