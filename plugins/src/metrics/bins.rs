//! The settings of the metrics whose only setting is their number of bins (`ece`, `mce`,
//! `ace`, `classwise-ece`, `confidence-tv`, `reliability-distance`): one struct for all, so
//! that every binned metric reads `{ metric = "ece", bins = 15 }` the same way.

use std::num::NonZeroUsize;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `bins`: the metric's own number of bins (equal-width or equal-mass as the metric says).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BinSettings {
    /// Number of bins B (at least 1); unset: the manifest's `[calibration] bins` (default 10).
    #[serde(default)]
    pub bins: Option<NonZeroUsize>,
}

impl BinSettings {
    /// The bins to use: this setting, else `default` (the manifest's `[calibration] bins`).
    pub fn bins_or(&self, default: usize) -> usize {
        self.bins.map_or(default, NonZeroUsize::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_bins_win_over_the_default() {
        assert_eq!(BinSettings { bins: NonZeroUsize::new(15) }.bins_or(10), 15);
        assert_eq!(BinSettings::default().bins_or(10), 10);
        assert!(serde_json::from_value::<BinSettings>(serde_json::json!({"bins": 0})).is_err());
        assert!(serde_json::from_value::<BinSettings>(serde_json::json!({"bin": 5})).is_err());
    }
}
