//! The report node's config: what the report shows besides the tables (title, seeds, the
//! verdict's rules) and the fingerprint of the templates it renders. The plan writes it
//! from the manifest; the report stage reads it back, so a stored report can be rendered
//! again from the store alone.

pub use super::verdict_rules::VerdictRules;
use crate::manifest::Resolved;
use crate::manifest::schema::ReportSpec;
use crate::plugin::overview_column::OverviewColumns;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Version of the report's rendering code (charts, cells, verdict text), in the report
/// node's key beside the templates' fingerprint: bump it when that code changes what a
/// report shows. 2: the Jaccard-against-K threshold label sits right of the plot. 3: the
/// alignment figures show the tested (cross-seed) value, flipped examples' explanations, an
/// inconclusive test needing over 100× its examples is called too close to decide. 4: the
/// first table's metric columns are those the metric plugins declare (`overview`).
pub const REPORT_VERSION: &str = "4";

/// The config of the `report` node (all of it enters the node's key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportConfig {
    /// The manifest's `[report]` section (formats, custom templates folder).
    pub report: ReportSpec,
    /// Title.
    pub title: String,
    /// Experiment name.
    pub experiment: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Experiment seeds.
    pub seeds: Vec<u64>,
    /// blake3 of the templates in use.
    pub templates: String,
    /// trustx version.
    pub version: String,
    /// [`REPORT_VERSION`].
    pub report_version: String,
    /// What the report states besides the tables.
    pub meta: ReportMeta,
}

/// What the report node knows besides the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Title.
    pub title: String,
    /// Experiment name.
    pub experiment: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Experiment seeds.
    pub seeds: Vec<u64>,
    /// Training seeds, when `[train] seeds` differs from the experiment's.
    #[serde(default)]
    pub train_seeds: Option<Vec<u64>>,
    /// The verdict's thresholds.
    pub rules: VerdictRules,
    /// `words` or `positions`: what the top-K sets hold.
    pub features: String,
    /// `gold` or `predicted`: the class explained.
    pub class: String,
    /// The first table's metric columns, as the metric plugins declare them.
    pub overview: OverviewColumns,
}

/// The report node's config of a manifest; `templates` is the fingerprint of the templates
/// in use.
pub fn report_config(r: &Resolved, templates: String) -> Result<ReportConfig> {
    let m = &r.manifest;
    let title = m.report.title.clone().unwrap_or_else(|| m.experiment.name.clone());
    let train_seeds = m.train.as_ref().and_then(|t| t.seeds.clone()).filter(|s| *s != m.experiment.seeds);
    Ok(ReportConfig {
        report: m.report.clone(),
        title: title.clone(),
        experiment: m.experiment.name.clone(),
        description: m.experiment.description.clone(),
        seeds: m.experiment.seeds.clone(),
        templates,
        version: env!("CARGO_PKG_VERSION").to_string(),
        report_version: REPORT_VERSION.to_string(),
        meta: ReportMeta {
            title,
            experiment: m.experiment.name.clone(),
            description: m.experiment.description.clone(),
            seeds: m.experiment.seeds.clone(),
            train_seeds,
            rules: VerdictRules::from_manifest(m)?,
            features: label(&m.alignment.features)?,
            class: label(&m.alignment.class)?,
            overview: OverviewColumns::declared(),
        },
    })
}

/// The serde name of a unit enum value (`words`, `gold`).
fn label<T: Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => anyhow::bail!("expected a plain name, got {other} (internal error)"),
    }
}
