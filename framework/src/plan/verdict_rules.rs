//! What the verdict is decided against, resolved from the manifest and the plugins: the
//! alignment metric and threshold, and one margin per tested calibration or similarity
//! metric. Plugins declare their defaults (a metric's default margin, the alignment metric
//! with the verdict role); `[calibration.tolerances]` overrides them by metric name. The
//! rules are part of the report node's config, so the report never names a plugin.

use crate::manifest::Manifest;
use crate::manifest::schema::{FAITHFULNESS_GAP, VerdictRule};
use crate::plugin::alignment::AlignmentMetricEntry;
use crate::plugin::metric::CalibrationMetricEntry;
use crate::plugin::similarity::SimilarityMetricEntry;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// How a value is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// value ≥ threshold.
    AtLeast,
    /// value ≤ threshold.
    AtMost,
    /// |value| ≤ threshold.
    AbsAtMost,
}

impl Comparison {
    /// The symbol a passing value satisfies: `≥`, `≤`, `|x| ≤`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => "≥",
            Comparison::AtMost => "≤",
            Comparison::AbsAtMost => "|x| ≤",
        }
    }
}

/// One calibration or prediction test: a summary row against its margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Margin {
    /// The similarity-table metric tested: `delta-ece` (a calibration metric's difference
    /// from the reference), `agreement`, `confidence-tv`, …
    pub metric: String,
    /// The margin.
    pub threshold: f64,
    /// How the value is compared with it.
    pub comparison: Comparison,
    /// What to add to the manifest when the metric was not computed.
    pub missing: String,
}

/// What the verdict is decided against (part of the report node's config, hence its key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRules {
    /// Smallest value of the alignment metric a model must reach with every explainer.
    pub threshold: f64,
    /// The K whose alignment is tested (the first of `[alignment] k`).
    pub k: usize,
    /// The alignment metric tested (the plugin declaring the verdict role: `top-k-jaccard`).
    /// Empty in a `verdict.json` written before plugins declared it.
    #[serde(default)]
    pub alignment_metric: String,
    /// The calibration and prediction tests, in the manifest's metric order (empty in a
    /// `verdict.json` written before they were listed).
    #[serde(default)]
    pub margins: Vec<Margin>,
    /// Largest allowed faithfulness gap (`faithfulness-gap`); `None`: not tested.
    #[serde(default)]
    pub faithfulness_gap: Option<f64>,
    /// The explainers configured (`[[explainers]]`), in manifest order.
    pub explainers: Vec<String>,
    /// How each test decides (`[verdict] rule`).
    #[serde(default)]
    pub rule: VerdictRule,
    /// The equivalence test's α: the intervals are (1 − 2α) intervals.
    #[serde(default)]
    pub alpha: f64,
}

impl VerdictRules {
    /// The rules of a manifest; an error when no alignment metric plugin has the verdict role.
    pub fn from_manifest(m: &Manifest) -> Result<Self> {
        Ok(VerdictRules {
            threshold: m.alignment.threshold,
            k: m.alignment.k.first().copied().unwrap_or(crate::plugin::alignment::DEFAULT_K),
            alignment_metric: AlignmentMetricEntry::verdict()?.info.name.to_string(),
            margins: margins(m),
            faithfulness_gap: m.calibration.tolerances.get(FAITHFULNESS_GAP),
            explainers: m.explainers.iter().map(|e| e.explainer.clone()).collect(),
            rule: m.verdict.rule,
            // As written, or from the interval level (rounded: 0.025, not 0.025000000000000022).
            alpha: m.verdict.alpha.unwrap_or(((1.0 - m.calibration.confidence) / 2.0 * 1e12).round() / 1e12),
        })
    }

    /// The margin of `metric`, if it is tested.
    pub fn margin(&self, metric: &str) -> Option<&Margin> {
        self.margins.iter().find(|t| t.metric == metric)
    }
}

/// The tested margins: every calibration metric with a margin (the manifest's or its
/// plugin's default) as `delta-NAME` with `|x| ≤`, then every similarity metric with one,
/// `≤` for a distance and `≥` for an agreement. Listed metrics come in the manifest's order,
/// then registered ones it does not list (by name), whose tests then say what to add.
fn margins(m: &Manifest) -> Vec<Margin> {
    let tolerances = &m.calibration.tolerances;
    let mut out = Vec::new();
    let calibration = order(
        m.calibration.metrics.iter().map(|r| r.name().to_string()).collect(),
        inventory::iter::<CalibrationMetricEntry>().map(|e| e.info.name).collect(),
    );
    for name in calibration {
        let Some(entry) = CalibrationMetricEntry::find(&name) else { continue };
        if let Some(threshold) = tolerances.get(&name).or(entry.delta_tolerance) {
            out.push(Margin {
                metric: format!("delta-{name}"),
                threshold,
                comparison: Comparison::AbsAtMost,
                missing: format!("add `{name}` to [calibration] metrics"),
            });
        }
    }
    let similarity = order(
        m.calibration.similarity.iter().map(|r| r.name().to_string()).collect(),
        inventory::iter::<SimilarityMetricEntry>().map(|e| e.info.name).collect(),
    );
    for name in similarity {
        let Some(entry) = SimilarityMetricEntry::find(&name) else { continue };
        if let Some(threshold) = tolerances.get(&name).or(entry.tolerance) {
            out.push(Margin {
                comparison: if entry.lower_is_closer { Comparison::AtMost } else { Comparison::AtLeast },
                metric: name.clone(),
                threshold,
                missing: format!("add `{name}` to [calibration] similarity"),
            });
        }
    }
    out
}

/// `listed` in order, then the `registered` names it lacks, sorted.
fn order(listed: Vec<String>, mut registered: Vec<&'static str>) -> Vec<String> {
    registered.sort_unstable();
    let mut names = listed;
    for name in registered {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}
