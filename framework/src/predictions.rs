//! A model's predicted class probabilities on the eval split, and their checks.

use serde::{Deserialize, Serialize};

/// Class probabilities of one model for every eval example, in dataset order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// Example ids, in the dataset's eval order.
    pub ids: Vec<String>,
    /// Gold labels.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub num_classes: usize,
    /// Probabilities, row-major: `probs[i * num_classes + c]`.
    pub probs: Vec<f64>,
}

/// Largest allowed |Σ p − 1| for a probability row.
pub const SUM_TOLERANCE: f64 = 1e-4;

impl Predictions {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The probability row of example `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.probs[i * self.num_classes..(i + 1) * self.num_classes]
    }

    /// Predicted class of example `i`: the arg max, the lowest class index on ties.
    pub fn pred(&self, i: usize) -> usize {
        argmax(self.row(i))
    }

    /// Confidence of example `i`: the largest probability.
    pub fn confidence(&self, i: usize) -> f64 {
        self.row(i)[self.pred(i)]
    }

    /// Whether example `i` is predicted correctly.
    pub fn correct(&self, i: usize) -> bool {
        self.pred(i) == self.labels[i]
    }

    /// Checks every row: right length, finite, non-negative, summing to 1 within
    /// [`SUM_TOLERANCE`]. The error names the example id and the row number (0-based).
    pub fn check(&self) -> Result<(), String> {
        if self.probs.len() != self.ids.len() * self.num_classes || self.labels.len() != self.ids.len() {
            return Err(format!(
                "{} ids, {} labels and {} probabilities do not make {} rows of {} classes",
                self.ids.len(),
                self.labels.len(),
                self.probs.len(),
                self.ids.len(),
                self.num_classes
            ));
        }
        for i in 0..self.len() {
            check_row(self.row(i)).map_err(|e| format!("row {i} (example id `{}`): {e}", self.ids[i]))?;
            if self.labels[i] >= self.num_classes {
                return Err(format!(
                    "row {i} (example id `{}`): label {} but only {} classes",
                    self.ids[i], self.labels[i], self.num_classes
                ));
            }
        }
        Ok(())
    }
}

/// Checks one probability row: finite, non-negative, summing to 1 within [`SUM_TOLERANCE`].
pub fn check_row(row: &[f64]) -> Result<(), String> {
    if let Some((c, p)) = row.iter().enumerate().find(|(_, p)| !p.is_finite()) {
        return Err(format!("probability of class {c} is {p}, not a finite number"));
    }
    if let Some((c, p)) = row.iter().enumerate().find(|(_, p)| **p < 0.0) {
        return Err(format!("probability of class {c} is negative ({p})"));
    }
    let sum: f64 = row.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(format!("probabilities sum to {sum}, not 1 (tolerance {SUM_TOLERANCE})"));
    }
    Ok(())
}

/// Index of the largest value; the lowest index wins ties.
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (c, &p) in row.iter().enumerate() {
        if p > row[best] {
            best = c;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(probs: Vec<f64>) -> Predictions {
        let n = probs.len() / 2;
        Predictions { ids: (0..n).map(|i| format!("e{i}")).collect(), labels: vec![0; n], num_classes: 2, probs }
    }

    #[test]
    fn argmax_ties_go_to_lowest_class() {
        assert_eq!(argmax(&[0.5, 0.5]), 0);
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
    }

    #[test]
    fn check_names_the_row() {
        assert!(preds(vec![0.3, 0.7, 1.0, 0.0]).check().is_ok());
        let e = preds(vec![0.3, 0.7, f64::NAN, 1.0]).check().unwrap_err();
        assert!(e.contains("row 1") && e.contains("e1") && e.contains("NaN"), "{e}");
        let e = preds(vec![-0.1, 1.1]).check().unwrap_err();
        assert!(e.contains("negative"), "{e}");
        let e = preds(vec![0.3, 0.6]).check().unwrap_err();
        assert!(e.contains("sum to"), "{e}");
    }
}
