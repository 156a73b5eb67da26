//! `rank-agreement` (Krishna et al. 2022): the fraction of the top-K ranks at which both
//! lists hold the same feature, |{r ≤ K : A_r = B_r}| / D with D = max(|A|, |B|) (K unless
//! fewer features have a non-zero weight). Both empty: 1.

use super::{TopKSettings, top_lists};
use trustx_framework::explain::Attribution;
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

/// The fraction of ranks with the same feature in both lists, optionally with the same sign.
pub(crate) fn same_rank(s: &TopKSettings, a: &Attribution, b: &Attribution, signed: bool) -> f64 {
    let [la, lb] = top_lists(a, b, s.k.get(), s.on);
    let d = la.len().max(lb.len());
    if d == 0 {
        return 1.0;
    }
    let hits = la.iter().zip(&lb).filter(|(x, y)| x.0 == y.0 && (!signed || x.1.signum() == y.1.signum())).count();
    hits as f64 / d as f64
}

/// The `rank-agreement` metric.
pub struct RankAgreement;

impl AlignmentMetric for RankAgreement {
    type Settings = TopKSettings;
    const NAME: &'static str = "rank-agreement";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of top-K ranks holding the same feature (Krishna et al.)";
    const DEFAULT_RANK: Option<u8> = Some(2);
    const DEFINITION: &'static str = "|{r ≤ K : A_r = B_r}| / max(|A|, |B|) for the top-K lists A, B ranked by \
        |weight| (ties in feature order, zero weights excluded); 1 when both are empty.";

    fn compute(s: &TopKSettings, a: &Attribution, b: &Attribution) -> f64 {
        same_rank(s, a, b, false)
    }
}

inventory::submit! { AlignmentMetricEntry::of::<RankAgreement>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::*;
    use std::num::NonZeroUsize;

    #[test]
    fn hand_computed() {
        let a = attr(&["a", "b", "c", "d"], &[0.9, -0.8, 0.5, 0.1]);
        let b = attr(&["a", "b", "c", "d"], &[0.9, 0.2, -0.5, 0.0]);
        // A = [a, b, c, d], B = [a, c, b]: rank 1 agrees → 1/4 with K = 4; K = 1 → 1.
        let s = |k| TopKSettings { k: NonZeroUsize::new(k).unwrap(), ..TopKSettings::default() };
        close(RankAgreement::compute(&s(4), &a, &b), 0.25);
        close(RankAgreement::compute(&s(1), &a, &b), 1.0);
        close(RankAgreement::compute(&s(3), &a, &b), 1.0 / 3.0);
    }
}
