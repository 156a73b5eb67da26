//! Validation of `[[explainers]]`: each plugin and its settings (within the memory limit),
//! labels for repeats, and whether every model can be explained by it.

use super::{Checker, ResolvedExplainer};
use crate::manifest::models::ResolvedModel;
use crate::manifest::schema::Manifest;
use crate::plugin::PluginKind;
use crate::plugin::explainer::ExplainerEntry;
use serde_json::Value;

/// The explainers, in manifest order.
pub(super) fn explainers(c: &mut Checker, m: &Manifest, models: &[ResolvedModel]) -> Vec<ResolvedExplainer> {
    let mut explainers: Vec<ResolvedExplainer> = Vec::new();
    for (i, ex) in m.explainers.iter().enumerate() {
        let idx = i.to_string();
        match ExplainerEntry::find(&ex.explainer) {
            None => c.unknown_plugin(&["explainers", &idx, "explainer"], PluginKind::Explainer, &ex.explainer),
            Some(entry) => match (entry.info.resolve)(&Value::Object(ex.settings.clone())) {
                Ok(settings) => {
                    let limit = m.experiment.memory_limit.map(u64::from);
                    for e in crate::explain::budget::with_memory_limit(limit, || (entry.info.check)(&settings)) {
                        c.settings_error(&["explainers", &idx], e);
                    }
                    let repeat = explainers.iter().filter(|e| e.entry.info.name == entry.info.name).count();
                    let label = if repeat == 0 {
                        entry.info.name.to_string()
                    } else {
                        format!("{}#{}", entry.info.name, repeat + 1)
                    };
                    explainers.push(ResolvedExplainer { label, entry, settings });
                }
                Err(e) => c.settings_error(&["explainers", &idx], e),
            },
        }
    }
    if !m.explainers.is_empty()
        && let Some(reference) = models.iter().find(|x| x.reference)
        && !reference.explainable()
    {
        c.error(
            &["models", &reference.name, "source"],
            "the reference is a `source` model (predictions only), which cannot be explained, but [[explainers]] are configured and alignment needs the reference's explanations; make the reference a neural model (`checkpoint` or `architecture`), a served model (`source = \"server\"`), or remove [[explainers]]",
        );
    }
    let mut black_box_explainers: Vec<&str> =
        inventory::iter::<ExplainerEntry>().filter(|e| !e.needs_gradients).map(|e| e.info.name).collect();
    black_box_explainers.sort_unstable();
    for (i, ex) in explainers.iter().enumerate().filter(|(_, e)| e.entry.needs_gradients) {
        for model in models.iter().filter(|m| m.black_box()) {
            c.error(
                &["explainers", &i.to_string(), "explainer"],
                format!(
                    "`{}` needs gradients, but model `{}` (source `{}`) is a black box that answers texts only; use a black-box explainer ({}) or explain that model elsewhere",
                    ex.entry.info.name,
                    model.name,
                    model.origin(),
                    black_box_explainers.join(", ")
                ),
            );
        }
    }

    explainers
}
