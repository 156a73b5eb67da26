//! Plugin kinds, their descriptors and their `inventory` registries.
//!
//! A plugin is a type implementing the trait of its kind with a serde settings struct
//! (`deny_unknown_fields`, documented defaults, `JsonSchema`). One `inventory::submit!`
//! line registers it; the engine finds it by name and never names it in code. The settings
//! documentation `trustx plugins` prints comes from the same struct's JSON schema.

pub mod alignment;
pub mod compressor;
pub mod convention;
pub mod dataset;
pub mod descriptor;
pub mod explainer;
pub mod metric;
pub mod model_source;
pub mod overview_column;
pub mod settings;
pub mod similarity;
pub mod training;

pub use descriptor::{PluginInfo, PluginKind, SettingDoc};
pub use settings::{SettingsError, parse_settings, resolve_settings};

/// Every registered plugin of every kind, sorted by kind then name.
pub fn all() -> Vec<&'static PluginInfo> {
    let mut out: Vec<&'static PluginInfo> = Vec::new();
    out.extend(inventory::iter::<dataset::DatasetLoaderEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<model_source::ModelSourceEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<training::TrainerEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<compressor::CompressorEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<explainer::ExplainerEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<metric::CalibrationMetricEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<similarity::SimilarityMetricEntry>().map(|e| &e.info));
    out.extend(inventory::iter::<alignment::AlignmentMetricEntry>().map(|e| &e.info));
    out.sort_by(|a, b| (a.kind, a.name).cmp(&(b.kind, b.name)));
    out
}

/// The registered names of one kind, sorted.
pub fn names(kind: PluginKind) -> Vec<&'static str> {
    all().into_iter().filter(|p| p.kind == kind).map(|p| p.name).collect()
}

/// The registered name closest to `wanted` (Jaro–Winkler), to suggest on a typo.
pub fn nearest(kind: PluginKind, wanted: &str) -> Option<&'static str> {
    names(kind)
        .into_iter()
        .map(|n| (strsim::jaro_winkler(n, wanted), n))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// Looks a plugin up by kind and name.
pub fn find(kind: PluginKind, name: &str) -> Option<&'static PluginInfo> {
    all().into_iter().find(|p| p.kind == kind && p.name == name)
}

/// What a metric plugin declares to the engine, in words (`trustx plugins` prints it):
/// whether it is computed when the manifest lists no metrics of its kind, the margin the
/// verdict tests it against by default, and its column in the report's first table. `None` for other kinds or when it declares nothing.
pub fn declared_role(p: &PluginInfo) -> Option<String> {
    let mut parts = Vec::new();
    let computed = "computed by default";
    match p.kind {
        PluginKind::Metric => {
            let e = metric::CalibrationMetricEntry::find(p.name)?;
            if e.default_rank.is_some() {
                parts.push(computed.to_string());
            }
            if let Some(t) = e.delta_tolerance {
                parts.push(format!(
                    "verdict: |{0}(model) − {0}(reference)| ≤ {t} unless [calibration.tolerances] sets `{0}`",
                    p.name
                ));
            }
            if let Some(c) = e.overview {
                parts.push(format!("report: its value in the first table's column \"{}\"", c.heading));
            }
            if let Some(c) = e.overview_delta {
                parts.push(format!(
                    "report: its change from the reference in the first table's column \"{}\"",
                    c.heading
                ));
            }
        }
        PluginKind::Similarity => {
            let e = similarity::SimilarityMetricEntry::find(p.name)?;
            if e.default_rank.is_some() {
                parts.push(computed.to_string());
            }
            if let Some(t) = e.tolerance {
                let op = if e.lower_is_closer { "≤" } else { "≥" };
                parts.push(format!("verdict: {} {op} {t} unless [calibration.tolerances] sets it", p.name));
            }
            if let Some(c) = e.overview {
                parts.push(format!("report: the first table's column \"{}\"", c.heading));
            }
        }
        PluginKind::Alignment => {
            let e = alignment::AlignmentMetricEntry::find(p.name)?;
            if e.default_rank.is_some() {
                parts.push(computed.to_string());
            }
            if e.verdict {
                parts.push("verdict: the alignment metric tested at the first K against [alignment] threshold".into());
            }
        }
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The names with a rank, in rank order (ties by name): a kind's default list, each plugin
/// declaring its own place in it.
pub(crate) fn ranked(entries: impl Iterator<Item = (Option<u8>, &'static str)>) -> Vec<&'static str> {
    let mut ranked: Vec<(u8, &'static str)> = entries.filter_map(|(rank, name)| rank.map(|r| (r, name))).collect();
    ranked.sort();
    ranked.into_iter().map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranked_orders_by_rank_then_name_and_drops_unranked() {
        let got = super::ranked([(Some(2), "b"), (None, "x"), (Some(0), "z"), (Some(2), "a")].into_iter());
        assert_eq!(got, vec!["z", "a", "b"]);
    }
}
