//! `signed-rank-agreement` (Krishna et al. 2022): the fraction of the top-K ranks at which
//! both lists hold the same feature with the same sign of weight,
//! |{r ≤ K : A_r = B_r, sign a_r = sign b_r}| / max(|A|, |B|). Both empty: 1.

use super::TopKSettings;
use super::rank_agreement::same_rank;
use trustx_framework::explain::Attribution;
use trustx_framework::plugin::alignment::{AlignmentMetric, AlignmentMetricEntry};

/// The `signed-rank-agreement` metric.
pub struct SignedRankAgreement;

impl AlignmentMetric for SignedRankAgreement {
    type Settings = TopKSettings;
    const NAME: &'static str = "signed-rank-agreement";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of top-K ranks with the same feature and sign (Krishna et al.)";
    const DEFAULT_RANK: Option<u8> = Some(4);
    const DEFINITION: &'static str = "|{r ≤ K : A_r = B_r and sign(a_r) = sign(b_r)}| / max(|A|, |B|) for the \
        top-K lists ranked by |weight| (ties in feature order, zero weights excluded); 1 when both are empty.";

    fn compute(s: &TopKSettings, a: &Attribution, b: &Attribution) -> f64 {
        same_rank(s, a, b, true)
    }
}

inventory::submit! { AlignmentMetricEntry::of::<SignedRankAgreement>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::testing::*;

    #[test]
    fn hand_computed() {
        // A = [a+, b−, c+], B = [a−, b−, c+]: ranks 1–3 agree on features, 2 of 3 on sign.
        let a = attr(&["a", "b", "c"], &[0.9, -0.8, 0.5]);
        let b = attr(&["a", "b", "c"], &[-0.9, -0.8, 0.5]);
        close(SignedRankAgreement::compute(&TopKSettings::default(), &a, &b), 2.0 / 3.0);
    }
}
