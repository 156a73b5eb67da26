//! `sign-agreement` (Krishna et al. 2022): the fraction of top-K features present in both
//! lists with the same sign of weight, |{f ∈ A ∩ B : sign a_f = sign b_f}| / max(|A|, |B|).
//! Both empty: 1.

use super::{TopKSettings, top_lists};
use std::collections::HashMap;
use trustx_framework::explain::Attribution;
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

/// The `sign-agreement` metric.
pub struct SignAgreement;

impl AlignmentMetric for SignAgreement {
    type Settings = TopKSettings;
    const NAME: &'static str = "sign-agreement";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of shared top-K features with the same sign (Krishna et al.)";
    const DEFAULT_RANK: Option<u8> = Some(3);
    const DEFINITION: &'static str = "|{f ∈ A ∩ B : sign(a_f) = sign(b_f)}| / max(|A|, |B|) for the top-K sets \
        A, B by |weight| (ties in feature order, zero weights excluded); 1 when both are empty.";

    fn compute(s: &TopKSettings, a: &Attribution, b: &Attribution) -> f64 {
        let [la, lb] = top_lists(a, b, s.k.get(), s.on);
        let d = la.len().max(lb.len());
        if d == 0 {
            return 1.0;
        }
        let wb: HashMap<&String, f64> = lb.iter().map(|(k, w)| (k, *w)).collect();
        let hits = la.iter().filter(|(k, w)| wb.get(k).is_some_and(|v| v.signum() == w.signum())).count();
        hits as f64 / d as f64
    }
}

inventory::submit! { AlignmentMetricEntry::of::<SignAgreement>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::*;
    use std::num::NonZeroUsize;

    #[test]
    fn hand_computed() {
        // K = 3: A = [a+, b−, c+], B = [d+, c+, b+]: shared {b, c}; c agrees, b does not → 1/3.
        let a = attr(&["a", "b", "c", "d"], &[0.9, -0.8, 0.5, 0.1]);
        let b = attr(&["a", "b", "c", "d"], &[0.0, 0.3, 0.5, 0.9]);
        let s = TopKSettings { k: NonZeroUsize::new(3).unwrap(), ..TopKSettings::default() };
        close(SignAgreement::compute(&s, &a, &b), 1.0 / 3.0);
    }
}
