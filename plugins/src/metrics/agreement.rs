//! `agreement`: how often the model predicts the same top label as the reference.
//!
//! Agreement = (1/N) Σ_r 1[argmax p^ref_r = argmax p^model_r] over the N rows evaluated (repeats
//! counted), each arg max taking the lowest class index on ties. The gold labels play no part:
//! two models can agree on a wrong answer. 1 means identical decisions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::overview_column::OverviewColumn;
use trustx_framework::plugin::similarity::{PairInput, SimilarityMetric, SimilarityMetricEntry};

/// Settings of `agreement`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementSettings {}

/// The `agreement` similarity.
pub struct Agreement;

impl SimilarityMetric for Agreement {
    type Settings = AgreementSettings;
    const NAME: &'static str = "agreement";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Fraction of examples where the model's top label equals the reference's";
    const DEFINITION: &'static str = "Agreement = (1/N) Σ_r 1[argmax p^ref_r = argmax p^model_r] over the N \
        rows (repeats counted), each arg max taking the lowest class index on ties; labels are not used.";
    const LOWER_IS_CLOSER: bool = false;
    const DEFAULT_RANK: Option<u8> = Some(0);
    const OVERVIEW: Option<OverviewColumn> = Some(OverviewColumn { order: 1, heading: "agreement" });
    const TOLERANCE: Option<f64> = Some(0.95);

    fn compute(_settings: &AgreementSettings, input: &PairInput) -> f64 {
        let same = input.rows.iter().filter(|&&r| input.reference.pred(r) == input.model.pred(r)).count();
        same as f64 / input.rows.len() as f64
    }
}

inventory::submit! { SimilarityMetricEntry::of::<Agreement>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn agreement(reference: &Predictions, model: &Predictions, rows: &[usize]) -> f64 {
        Agreement::compute(&AgreementSettings::default(), &PairInput { reference, model, rows, bins: 10 })
    }

    /// Bootstrap multiplicities, top labels by first-maximum scan.
    fn oracle(reference: &Predictions, model: &Predictions, rows: &[usize]) -> f64 {
        let m = multiplicities(reference.len(), rows);
        let same: usize = (0..reference.len())
            .filter(|&i| oracle_top(reference.row(i)).0 == oracle_top(model.row(i)).0)
            .map(|i| m[i])
            .sum();
        same as f64 / rows.len() as f64
    }

    #[test]
    fn hand_computed() {
        // ref preds 1, 0 (tie), 2, 0; model preds 1, 0, 0, 2 → agree on rows 0 and 1 → 1/2.
        let r = preds(3, &[0.1, 0.8, 0.1, 0.4, 0.4, 0.2, 0.2, 0.2, 0.6, 0.5, 0.3, 0.2], &[1, 1, 2, 2]);
        let m = preds(3, &[0.3, 0.4, 0.3, 0.9, 0.1, 0.0, 0.5, 0.2, 0.3, 0.2, 0.3, 0.5], &[1, 1, 2, 2]);
        assert_close(agreement(&r, &m, &all_rows(&r)), 0.5, "all rows");
        // Rows [0, 3, 3]: agree, disagree, disagree → 1/3.
        assert_close(agreement(&r, &m, &[0, 3, 3]), 1.0 / 3.0, "bootstrap rows");
        assert_eq!(agreement(&r, &r, &[2, 1, 1]), 1.0, "a model agrees with itself");
        assert_eq!(agreement(&r, &m, &[3]), 0.0, "one example, disagreeing");
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in pair_cases(21).iter().enumerate() {
            let got = agreement(&case.reference, &case.model, &case.rows);
            assert_close(got, oracle(&case.reference, &case.model, &case.rows), &format!("case {k}"));
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<AgreementSettings>();
    }
}
