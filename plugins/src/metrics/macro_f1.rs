//! `macro-f1`: the unweighted mean of per-class F1 scores of the top-label predictions.
//!
//! For each class k, over the N rows evaluated (repeats counted), TP_k counts rows with
//! prediction k and label k, FP_k prediction k and another label, FN_k label k and another
//! prediction; F1_k = 2TP_k / (2TP_k + FP_k + FN_k). The mean is over the classes that occur
//! among the labels or the predictions of the rows, which is sklearn's
//! `f1_score(y, pred, average="macro")` with its default `labels` (the union); classes in
//! neither contribute nothing (their F1 would be 0/0). Every averaged class has a positive
//! denominator, so there is no zero-division case.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `macro-f1`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroF1Settings {}

/// The `macro-f1` metric.
pub struct MacroF1;

impl CalibrationMetric for MacroF1 {
    type Settings = MacroF1Settings;
    const NAME: &'static str = "macro-f1";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Unweighted mean of per-class F1 of the top-label predictions";
    const DEFINITION: &'static str = "Macro-F1 = mean over the classes k occurring among the labels or \
        the predictions of the N rows of F1_k = 2TP_k / (2TP_k + FP_k + FN_k), prediction = arg max \
        (lowest class index on ties); sklearn's f1_score(average=\"macro\") with labels = the union.";
    const LOWER_IS_BETTER: bool = false;
    const DEFAULT_RANK: Option<u8> = Some(1);

    fn compute(_settings: &MacroF1Settings, input: &MetricInput) -> f64 {
        let c = input.preds.num_classes;
        let (mut tp, mut fp, mut fn_) = (vec![0usize; c], vec![0usize; c], vec![0usize; c]);
        for &r in input.rows {
            let (pred, label) = (input.preds.pred(r), input.preds.labels[r]);
            if pred == label {
                tp[pred] += 1;
            } else {
                fp[pred] += 1;
                fn_[label] += 1;
            }
        }
        let (mut sum, mut present) = (0.0, 0usize);
        for k in 0..c {
            let denominator = 2 * tp[k] + fp[k] + fn_[k];
            if denominator > 0 {
                sum += (2 * tp[k]) as f64 / denominator as f64;
                present += 1;
            }
        }
        sum / present as f64
    }
}

inventory::submit! { CalibrationMetricEntry::of::<MacroF1>() }

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use trustx_framework::predictions::Predictions;

    fn f1(p: &Predictions, rows: &[usize]) -> f64 {
        MacroF1::compute(&MacroF1Settings::default(), &MetricInput { preds: p, rows, bins: 10 })
    }

    /// Confusion matrix first (rows = label, columns = prediction), then per class
    /// precision and recall and F1 = 2PR / (P + R) (0 when P + R = 0), over the classes in the
    /// union of labels and predictions.
    fn oracle(p: &Predictions, rows: &[usize]) -> f64 {
        let c = p.num_classes;
        let mut cm = vec![vec![0.0f64; c]; c];
        for &r in rows {
            cm[p.labels[r]][oracle_top(p.row(r)).0] += 1.0;
        }
        let mut scores = Vec::new();
        for (k, by_prediction) in cm.iter().enumerate() {
            let predicted: f64 = cm.iter().map(|by_label| by_label[k]).sum();
            let actual: f64 = by_prediction.iter().sum();
            if predicted == 0.0 && actual == 0.0 {
                continue;
            }
            let precision = if predicted > 0.0 { by_prediction[k] / predicted } else { 0.0 };
            let recall = if actual > 0.0 { by_prediction[k] / actual } else { 0.0 };
            let f = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            scores.push(f);
        }
        scores.iter().sum::<f64>() / scores.len() as f64
    }

    /// Rows with the given top labels (one-hot) and labels.
    fn from_labels(c: usize, pred: &[usize], label: &[usize]) -> Predictions {
        let mut probs = vec![0.0; pred.len() * c];
        for (i, &k) in pred.iter().enumerate() {
            probs[i * c + k] = 1.0;
        }
        preds(c, &probs, label)
    }

    #[test]
    fn hand_computed() {
        // labels [0, 0, 1, 2, 2], preds [0, 1, 1, 2, 0].
        // class 0: TP 1, FP 1 (row 4), FN 1 (row 1) → 2/4 = 1/2
        // class 1: TP 1, FP 1 (row 1), FN 0        → 2/3
        // class 2: TP 1, FP 0, FN 1 (row 4)        → 2/3
        // macro = (1/2 + 2/3 + 2/3) / 3 = 11/18.
        let p = from_labels(3, &[0, 1, 1, 2, 0], &[0, 0, 1, 2, 2]);
        assert_close(f1(&p, &all_rows(&p)), 11.0 / 18.0, "3 classes");
        // Classes 3 and 4 occur nowhere: they are not averaged, the value stays 11/18.
        let p5 = from_labels(5, &[0, 1, 1, 2, 0], &[0, 0, 1, 2, 2]);
        assert_close(f1(&p5, &all_rows(&p5)), 11.0 / 18.0, "5 classes, 2 absent");
        // Rows [0, 0, 3]: class 0 TP 2 → 1; class 2 TP 1 → 1; classes 1 absent → 1.
        assert_close(f1(&p, &[0, 0, 3]), 1.0, "bootstrap rows");
        // Rows [1, 1, 4]: class 0: TP 0, FP 1, FN 2 → 0; class 1: FP 2 → 0; class 2: FN 1 → 0.
        assert_close(f1(&p, &[1, 1, 4]), 0.0, "all wrong");
    }

    #[test]
    fn same_label_everywhere_and_one_example() {
        // Every label 0, every prediction 0: only class 0 is present, F1 = 1.
        let p = from_labels(2, &[0, 0, 0], &[0, 0, 0]);
        assert_eq!(f1(&p, &all_rows(&p)), 1.0);
        // Every label 0, predictions [0, 1, 0]: class 0: TP 2, FN 1 → 4/5; class 1: FP 1 → 0.
        let p = from_labels(2, &[0, 1, 0], &[0, 0, 0]);
        assert_close(f1(&p, &all_rows(&p)), 0.4, "one wrong");
        // One example, correct → 1; wrong → both classes 0.
        assert_eq!(f1(&p, &[0]), 1.0);
        assert_eq!(f1(&p, &[1]), 0.0);
    }

    #[test]
    fn ties_predict_the_lowest_class() {
        // [0.5, 0.5] predicts 0: with label 0 it is correct.
        let p = preds(2, &[0.5, 0.5], &[0]);
        assert_eq!(f1(&p, &[0]), 1.0);
    }

    #[test]
    fn matches_oracle_on_random_inputs() {
        for (k, case) in cases(12).iter().enumerate() {
            assert_close(f1(&case.preds, &case.rows), oracle(&case.preds, &case.rows), &format!("case {k}"));
        }
    }

    #[test]
    fn settings() {
        assert_settings_basics::<MacroF1Settings>();
    }
}
