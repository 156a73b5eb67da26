//! Validation of `[calibration.tolerances]`: every key names a registered calibration or
//! similarity metric (or `faithfulness-gap`), once, with a margin in [0, 1].

use super::Checker;
use crate::manifest::schema::{FAITHFULNESS_GAP, Tolerances, canonical_key};
use crate::plugin::metric::CalibrationMetricEntry;
use crate::plugin::similarity::SimilarityMetricEntry;
use std::collections::BTreeMap;

/// Reports every bad key or value of `[calibration.tolerances]`.
pub(super) fn check(t: &Tolerances, c: &mut Checker) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (key, &value) in &t.0 {
        let name = canonical_key(key);
        let known = name == FAITHFULNESS_GAP
            || CalibrationMetricEntry::find(&name).is_some()
            || SimilarityMetricEntry::find(&name).is_some();
        if !known {
            c.error(
                &["calibration", "tolerances", key],
                format!(
                    "no calibration or similarity metric is called `{name}`; a key is a metric's name \
                     (`trustx plugins --kind metric`, `--kind similarity`) or `{FAITHFULNESS_GAP}`"
                ),
            );
        }
        if let Some(first) = seen.insert(name.clone(), key) {
            c.error(&["calibration", "tolerances", key], format!("`{first}` already sets the margin of `{name}`"));
        }
        if !(0.0..=1.0).contains(&value) {
            c.error(
                &["calibration", "tolerances", key],
                format!("a tolerance lies in [0, 1], got {value} (a negative one would make every variant fail)"),
            );
        }
    }
}
