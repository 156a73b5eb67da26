//! Equal-width confidence bins and the reliability curve built on them.
//!
//! Convention (written in the report): `B` bins over [0, 1]; bin `i` is `(i/B, (i+1)/B]`,
//! except the first, which is closed at 0: `[0, 1/B]`. Edges are computed as `i as f64 / B`,
//! so a confidence written as `0.3` lies on the edge between bins 2 and 3 and goes to bin 2.

use crate::plugin::metric::MetricInput;
use serde::{Deserialize, Serialize};

/// The bin of `value` among `bins` equal-width bins over [0, 1] (values outside are clamped).
pub fn bin_index(value: f64, bins: usize) -> usize {
    assert!(bins > 0, "bin count must be positive");
    let b = bins as f64;
    let upper = |i: usize| (i + 1) as f64 / b;
    let mut i = ((value * b).ceil() as isize - 1).clamp(0, bins as isize - 1) as usize;
    // The float product may land one bin off an exact edge: settle against the edges.
    while i > 0 && value <= i as f64 / b {
        i -= 1;
    }
    while i + 1 < bins && value > upper(i) {
        i += 1;
    }
    i
}

/// One bin of a reliability curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge (exclusive, except for the first bin).
    pub lower: f64,
    /// Upper edge (inclusive).
    pub upper: f64,
    /// Number of examples whose confidence falls in the bin.
    pub count: usize,
    /// Mean confidence in the bin (`None` when empty).
    pub confidence: Option<f64>,
    /// Fraction correct in the bin (`None` when empty).
    pub accuracy: Option<f64>,
}

/// Top-label reliability curve: one [`Bin`] per equal-width bin, and the total count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityCurve {
    /// The bins, lowest first.
    pub bins: Vec<Bin>,
    /// Number of examples.
    pub total: usize,
}

impl ReliabilityCurve {
    /// The share of examples in each bin (the normalised confidence histogram).
    pub fn histogram(&self) -> Vec<f64> {
        self.bins.iter().map(|b| b.count as f64 / self.total.max(1) as f64).collect()
    }
}

/// Bins `(confidence, correct)` pairs; the generic core of every binned statistic.
pub fn bin_pairs(pairs: impl Iterator<Item = (f64, f64)>, bins: usize) -> ReliabilityCurve {
    let mut count = vec![0usize; bins];
    let mut conf = vec![0f64; bins];
    let mut hits = vec![0f64; bins];
    let mut total = 0;
    for (c, y) in pairs {
        let i = bin_index(c, bins);
        count[i] += 1;
        conf[i] += c;
        hits[i] += y;
        total += 1;
    }
    let bins_out = (0..bins)
        .map(|i| Bin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            count: count[i],
            confidence: (count[i] > 0).then(|| conf[i] / count[i] as f64),
            accuracy: (count[i] > 0).then(|| hits[i] / count[i] as f64),
        })
        .collect();
    ReliabilityCurve { bins: bins_out, total }
}

/// The top-label reliability curve of the rows of `input` with `bins` bins.
pub fn reliability_curve(input: &MetricInput, bins: usize) -> ReliabilityCurve {
    let p = input.preds;
    bin_pairs(input.rows.iter().map(|&i| (p.confidence(i), if p.correct(i) { 1.0 } else { 0.0 })), bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_belong_to_the_lower_bin_and_zero_to_the_first() {
        assert_eq!(bin_index(0.0, 10), 0);
        assert_eq!(bin_index(0.1, 10), 0);
        assert_eq!(bin_index(0.100001, 10), 1);
        assert_eq!(bin_index(0.3, 10), 2);
        assert_eq!(bin_index(0.7, 10), 6);
        assert_eq!(bin_index(0.9, 10), 8);
        assert_eq!(bin_index(1.0, 10), 9);
        assert_eq!(bin_index(0.5, 1), 0);
        for i in 1..=15 {
            let edge = i as f64 / 15.0;
            assert_eq!(bin_index(edge, 15), i - 1, "edge {i}/15");
        }
    }

    #[test]
    fn curve_counts_and_means() {
        let c = bin_pairs([(0.95, 1.0), (0.92, 0.0), (0.55, 1.0)].into_iter(), 10);
        assert_eq!(c.total, 3);
        assert_eq!(c.bins[9].count, 2);
        assert!((c.bins[9].confidence.unwrap() - 0.935).abs() < 1e-15);
        assert_eq!(c.bins[9].accuracy, Some(0.5));
        assert_eq!(c.bins[5].count, 1);
        assert_eq!(c.bins[0].confidence, None);
        let h = c.histogram();
        assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }
}
