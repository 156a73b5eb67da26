//! Pooling a model's per-seed reliability curves into one curve for its charts: counts are
//! summed over seeds, mean confidence and accuracy are count-weighted.

use crate::calibration::binning::ReliabilityCurve;

/// One pooled bin.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledBin {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Examples in the bin, summed over seeds.
    pub count: usize,
    /// Count-weighted mean confidence (`None` when empty).
    pub confidence: Option<f64>,
    /// Count-weighted accuracy (`None` when empty).
    pub accuracy: Option<f64>,
}

/// A model's curve pooled over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooled {
    /// The bins, lowest first.
    pub bins: Vec<PooledBin>,
    /// Examples over all seeds.
    pub total: usize,
    /// Seeds pooled.
    pub seeds: usize,
}

impl Pooled {
    /// The share of examples in each bin.
    pub fn shares(&self) -> Vec<f64> {
        self.bins.iter().map(|b| b.count as f64 / self.total.max(1) as f64).collect()
    }
}

/// Pools `curves` (all with the same bins); `None` when there is none.
pub fn pool<'a>(curves: impl IntoIterator<Item = &'a ReliabilityCurve>) -> Option<Pooled> {
    let curves: Vec<&ReliabilityCurve> = curves.into_iter().collect();
    let first = curves.first()?;
    let bins = (0..first.bins.len())
        .map(|i| {
            let mut count = 0;
            let (mut conf, mut acc) = (0.0, 0.0);
            for cv in &curves {
                if let Some(b) = cv.bins.get(i) {
                    count += b.count;
                    conf += b.confidence.unwrap_or(0.0) * b.count as f64;
                    acc += b.accuracy.unwrap_or(0.0) * b.count as f64;
                }
            }
            let n = count as f64;
            PooledBin {
                lower: first.bins[i].lower,
                upper: first.bins[i].upper,
                count,
                confidence: (count > 0).then(|| conf / n),
                accuracy: (count > 0).then(|| acc / n),
            }
        })
        .collect();
    Some(Pooled { bins, total: curves.iter().map(|c| c.total).sum(), seeds: curves.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::binning::bin_pairs;

    #[test]
    fn pooling_weights_by_count() {
        let a = bin_pairs([(0.95, 1.0), (0.95, 0.0)].into_iter(), 10);
        let b = bin_pairs([(0.91, 1.0), (0.55, 1.0)].into_iter(), 10);
        let p = pool([&a, &b]).unwrap();
        assert_eq!((p.total, p.seeds), (4, 2));
        assert_eq!(p.bins[9].count, 3);
        assert!((p.bins[9].accuracy.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((p.bins[9].confidence.unwrap() - (0.95 + 0.95 + 0.91) / 3.0).abs() < 1e-12);
        assert_eq!(p.bins[5].count, 1);
        assert_eq!(p.bins[0].accuracy, None);
        assert!((p.shares()[9] - 0.75).abs() < 1e-12);
        assert!(pool(std::iter::empty()).is_none());
    }
}
