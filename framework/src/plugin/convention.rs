//! The conventions a calibration number depends on. ECE from netcal, torchmetrics, sklearn-based
//! code and relplot differ for the same predictions because they bin differently (equal-width or
//! equal-mass, which edge is closed), take a different norm (L1, L2, L∞), look at the top label
//! or every class, and estimate differently (plug-in, debiased, kernel-smoothed). Each metric
//! plugin states its own; the calibration and similarity tables carry them as columns
//! (`binning`, `norm`, `mode`, `estimator`) and the report's definitions repeat them.

/// How a metric's number is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Convention {
    /// Binning; `{bins}` is replaced by the number of bins the metric used.
    pub binning: &'static str,
    /// The norm of the gaps (`L1`, `L2`, `L∞`), or what the number is instead.
    pub norm: &'static str,
    /// `top-label`, `classwise`, `positive class`, `all classes`.
    pub mode: &'static str,
    /// `plug-in`, `debiased`, `kernel-smoothed`.
    pub estimator: &'static str,
}

impl Convention {
    /// For a number with no binning, norm or estimator to choose (accuracy, agreement).
    pub const NONE: Convention = Convention { binning: "none", norm: "—", mode: "—", estimator: "plug-in" };

    /// trustx's equal-width binning of the top-label confidence, with the L1 norm: `ece`.
    pub const TOP_LABEL_BINNED: Convention = Convention {
        binning: "equal-width, {bins} bins (i/B, (i+1)/B]",
        norm: "L1",
        mode: "top-label",
        estimator: "plug-in",
    };

    /// The four strings with the metric's own settings filled in: `{bins}` by its `bins`
    /// setting (else `default_bins`, the manifest's `[calibration] bins`), `{mode}` by its
    /// `mode` setting.
    pub fn filled(&self, settings: &serde_json::Value, default_bins: usize) -> [String; 4] {
        let bins = settings.get("bins").and_then(serde_json::Value::as_u64).map_or(default_bins, |b| b as usize);
        let mode = settings.get("mode").and_then(serde_json::Value::as_str).unwrap_or("top-label").replace('_', "-");
        let fill = |s: &str| s.replace("{bins}", &bins.to_string()).replace("{mode}", &mode);
        [fill(self.binning), fill(self.norm), fill(self.mode), fill(self.estimator)]
    }

    /// One sentence for the report's definitions.
    pub fn sentence(&self, settings: &serde_json::Value, default_bins: usize) -> String {
        let [binning, norm, mode, estimator] = self.filled(settings, default_bins);
        format!("Convention: binning {binning}; norm {norm}; mode {mode}; estimator {estimator}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_filled_in() {
        let [binning, ..] = Convention::TOP_LABEL_BINNED.filled(&serde_json::json!({"bins": 15}), 10);
        assert_eq!(binning, "equal-width, 15 bins (i/B, (i+1)/B]");
        let [binning, ..] = Convention::TOP_LABEL_BINNED.filled(&serde_json::json!({"bins": null}), 10);
        assert!(binning.starts_with("equal-width, 10 bins"));
        let c = Convention { mode: "{mode}", ..Convention::NONE };
        assert_eq!(c.filled(&serde_json::json!({"mode": "classwise"}), 10)[2], "classwise");
        assert!(Convention::NONE.sentence(&serde_json::json!({}), 10).contains("binning none"));
    }
}
