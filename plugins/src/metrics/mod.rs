//! Calibration and calibration-similarity metric plugins, one file each.
//!
//! Calibration metrics ([`CalibrationMetric`](trustx_framework::plugin::metric::CalibrationMetric)):
//! `accuracy`, `macro-f1`, `ece`, `mce`, `ace`, `classwise-ece`, `brier`, `positive-brier`, `nll`,
//! and the estimators with known small-sample behaviour `smooth-ece` (relplot) and
//! `debiased-ece` (uncertainty-calibration), both checked against their libraries' values in
//! `scripts/reference/calibration.json`.
//! Similarity metrics ([`SimilarityMetric`](trustx_framework::plugin::similarity::SimilarityMetric)):
//! `agreement`, `confidence-tv`, `reliability-distance`, and the prediction shift
//! ([`shift`]): `flips-correct-to-wrong`, `flips-wrong-to-correct`, `kl-divergence`,
//! `kl-divergence-p95`, `js-divergence`, `js-divergence-p95`. Every equal-width binning goes through
//! [`trustx_framework::calibration::binning`], the project's single (a, b] convention.

pub mod accuracy;
pub mod ace;
pub mod agreement;
pub mod bins;
pub mod brier;
pub mod classwise_ece;
pub mod confidence_tv;
pub mod debiased_ece;
pub mod ece;
pub mod flips_correct_to_wrong;
pub mod flips_wrong_to_correct;
pub mod js_divergence;
pub mod js_divergence_p95;
pub mod kl_divergence;
pub mod kl_divergence_p95;
pub mod macro_f1;
pub mod mce;
pub mod nll;
pub mod positive_brier;
pub mod reliability_distance;
pub mod shift;
pub mod smooth_ece;

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod verdict_defaults;

#[cfg(test)]
mod tests {
    use super::testing::*;
    use serde_json::json;
    use trustx_framework::plugin::PluginKind;
    use trustx_framework::plugin::metric::{CalibrationMetricEntry, MetricInput};
    use trustx_framework::plugin::similarity::{PairInput, SimilarityMetricEntry};

    /// Calibration metrics of this module: name, lower is better, binned.
    const METRICS: [(&str, bool, bool); 9] = [
        ("accuracy", false, false),
        ("macro-f1", false, false),
        ("ece", true, true),
        ("mce", true, true),
        ("ace", true, true),
        ("classwise-ece", true, true),
        ("brier", true, false),
        ("positive-brier", true, false),
        ("nll", true, false),
    ];

    /// Similarity metrics of this module: name, lower is closer, binned.
    const SIMILARITIES: [(&str, bool, bool); 3] =
        [("agreement", false, false), ("confidence-tv", true, true), ("reliability-distance", true, true)];

    /// Registered metrics whose settings differ from the table above (a bandwidth, a norm, or
    /// none of `bins`): their files test their settings; the checks below hold for them too.
    const OWN_SETTINGS: [&str; 8] = [
        "smooth-ece",
        "debiased-ece",
        "flips-correct-to-wrong",
        "flips-wrong-to-correct",
        "kl-divergence",
        "kl-divergence-p95",
        "js-divergence",
        "js-divergence-p95",
    ];

    #[test]
    fn every_registered_metric_is_in_the_contract() {
        let mut seen = 0;
        for e in trustx_framework::inventory::iter::<CalibrationMetricEntry>() {
            let name = e.info.name;
            assert!(
                METRICS.iter().any(|(n, _, _)| *n == name) || OWN_SETTINGS.contains(&name),
                "metric `{name}` is in no contract table"
            );
            assert_eq!(e.info.kind, PluginKind::Metric, "{name}");
            assert!(!e.info.summary.is_empty() && e.definition.len() > 40, "{name}");
            assert!((e.info.resolve)(&json!({"bogus": 1})).is_err(), "{name}: unknown key");
            seen += 1;
        }
        for e in trustx_framework::inventory::iter::<SimilarityMetricEntry>() {
            let name = e.info.name;
            assert!(
                SIMILARITIES.iter().any(|(n, _, _)| *n == name) || OWN_SETTINGS.contains(&name),
                "similarity `{name}` is in no contract table"
            );
            assert_eq!(e.info.kind, PluginKind::Similarity, "{name}");
            assert!(!e.info.summary.is_empty() && e.definition.len() > 40, "{name}");
            assert!((e.info.resolve)(&json!({"bogus": 1})).is_err(), "{name}: unknown key");
            seen += 1;
        }
        assert_eq!(
            seen,
            METRICS.len() + SIMILARITIES.len() + OWN_SETTINGS.len(),
            "a contract names a metric not registered"
        );
    }

    #[test]
    fn every_metric_is_registered_and_described() {
        for (name, lower, binned) in METRICS {
            let e = CalibrationMetricEntry::find(name).unwrap_or_else(|| panic!("{name} registered"));
            assert_eq!(e.info.kind, PluginKind::Metric);
            assert_eq!(e.info.version, "1", "{name}");
            assert_eq!(e.lower_is_better, lower, "{name}");
            assert!(!e.info.summary.is_empty() && e.definition.len() > 40, "{name}");
            let docs = e.info.settings();
            assert_eq!(
                docs.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
                if binned { vec!["bins"] } else { vec![] }
            );
            for d in &docs {
                assert!(!d.description.is_empty(), "{name}.{} documented", d.key);
                assert_eq!(d.default, Some(json!(null)), "{name}.{} defaults to the manifest's bins", d.key);
            }
            assert!((e.info.resolve)(&json!({"bogus": 1})).is_err(), "{name}: unknown key");
            if binned {
                assert!((e.info.resolve)(&json!({"bins": 0})).is_err(), "{name}: bins = 0");
                assert_eq!((e.info.resolve)(&json!({"bins": 7})).unwrap(), json!({"bins": 7}));
            }
            let applies_to: Vec<usize> = (1..=5).filter(|&c| (e.applies)(c)).collect();
            assert_eq!(applies_to, if name == "positive-brier" { vec![2] } else { vec![1, 2, 3, 4, 5] }, "{name}");
        }
        for (name, lower, binned) in SIMILARITIES {
            let e = SimilarityMetricEntry::find(name).unwrap_or_else(|| panic!("{name} registered"));
            assert_eq!(e.info.kind, PluginKind::Similarity);
            assert_eq!(e.info.version, "1", "{name}");
            assert_eq!(e.lower_is_closer, lower, "{name}");
            assert!(!e.info.summary.is_empty() && e.definition.len() > 40, "{name}");
            let keys: Vec<String> = e.info.settings().into_iter().map(|d| d.key).collect();
            assert_eq!(keys, if binned { vec!["bins".to_string()] } else { vec![] }, "{name}");
            assert!((e.info.resolve)(&json!({"bogus": 1})).is_err(), "{name}: unknown key");
            if binned {
                assert!((e.info.resolve)(&json!({"bins": 0})).is_err(), "{name}: bins = 0");
            }
        }
    }

    #[test]
    fn registry_entries_compute_with_json_settings() {
        // Confidences 0.8 ✓, 0.7 ✗, 0.95 ✓, 0.9 ✗, 0.75 ✓: ECE with 10 bins is 0.42, with 2 bins 0.22.
        let p = preds(2, &[0.2, 0.8, 0.3, 0.7, 0.05, 0.95, 0.9, 0.1, 0.75, 0.25], &[1, 0, 1, 1, 0]);
        let rows = all_rows(&p);
        let input = MetricInput { preds: &p, rows: &rows, bins: 10 };
        let ece = CalibrationMetricEntry::find("ece").unwrap();
        assert_close((ece.compute)(&json!({}), &input).unwrap(), 0.42, "default bins");
        assert_close((ece.compute)(&json!({"bins": 2}), &input).unwrap(), 0.22, "bins = 2");
        assert!((ece.compute)(&json!({"bins": 0}), &input).is_err());
        for (name, _, _) in METRICS {
            let v = (CalibrationMetricEntry::find(name).unwrap().compute)(&json!({}), &input).unwrap();
            assert!(v.is_finite() && v >= 0.0, "{name} = {v}");
        }
        let pair = PairInput { reference: &p, model: &p, rows: &rows, bins: 10 };
        for (name, lower, _) in SIMILARITIES {
            let v = (SimilarityMetricEntry::find(name).unwrap().compute)(&json!({}), &pair).unwrap();
            assert_eq!(v, if lower { 0.0 } else { 1.0 }, "{name} of a model with itself");
        }
    }

    /// Known bounds of every metric on random inputs.
    #[test]
    fn ranges_on_random_inputs() {
        for case in cases(31) {
            let input = MetricInput { preds: &case.preds, rows: &case.rows, bins: case.bins };
            for (name, _, _) in METRICS {
                let e = CalibrationMetricEntry::find(name).unwrap();
                if !(e.applies)(case.preds.num_classes) {
                    continue;
                }
                let v = (e.compute)(&json!({}), &input).unwrap();
                let max = match name {
                    "brier" => 2.0,
                    "nll" => 52.0 * std::f64::consts::LN_2 + 1e-12,
                    _ => 1.0,
                };
                assert!((0.0..=max).contains(&v), "{name} = {v}");
            }
            for name in ["smooth-ece", "debiased-ece"] {
                let v = (CalibrationMetricEntry::find(name).unwrap().compute)(&json!({}), &input).unwrap();
                assert!((0.0..=1.0).contains(&v), "{name} = {v}");
            }
        }
        for case in pair_cases(32) {
            let input = PairInput { reference: &case.reference, model: &case.model, rows: &case.rows, bins: case.bins };
            for (name, _, _) in SIMILARITIES {
                let v = (SimilarityMetricEntry::find(name).unwrap().compute)(&json!({}), &input).unwrap();
                assert!((0.0..=1.0).contains(&v), "{name} = {v}");
            }
        }
    }
}
