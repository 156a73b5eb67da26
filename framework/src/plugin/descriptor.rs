//! What every plugin tells about itself: kind, name, version, summary and settings.

use super::settings::SettingsError;
use serde::Serialize;
use serde_json::Value;

/// The kinds of plugin the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Reads dataset files into examples (`[dataset] loader = ...`).
    Dataset,
    /// Produces a model's predictions (`[models.NAME] source = ...`).
    ModelSource,
    /// Fine-tunes a model (`[train] trainer = ...`).
    Trainer,
    /// Derives a compressed variant (`[variants.NAME] compressor = ...`).
    Compressor,
    /// Attributes a prediction to input words (`[[explainers]] explainer = ...`).
    Explainer,
    /// A calibration metric of one model (`[calibration] metrics = [...]`).
    Metric,
    /// A similarity between a model and the reference (`[calibration] similarity = [...]`).
    Similarity,
    /// An agreement between two attributions of one example (top-K Jaccard, RBO, …).
    Alignment,
}

impl PluginKind {
    /// Every kind, in listing order.
    pub const ALL: [PluginKind; 8] = [
        PluginKind::Dataset,
        PluginKind::ModelSource,
        PluginKind::Trainer,
        PluginKind::Compressor,
        PluginKind::Explainer,
        PluginKind::Metric,
        PluginKind::Similarity,
        PluginKind::Alignment,
    ];

    /// The kebab-case name used on the command line (`trustx plugins --kind dataset`).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Dataset => "dataset",
            PluginKind::ModelSource => "model-source",
            PluginKind::Trainer => "trainer",
            PluginKind::Compressor => "compressor",
            PluginKind::Explainer => "explainer",
            PluginKind::Metric => "metric",
            PluginKind::Similarity => "similarity",
            PluginKind::Alignment => "alignment",
        }
    }

    /// Parses the command-line name of a kind.
    pub fn parse(s: &str) -> Option<PluginKind> {
        PluginKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A plugin's self-description, shared by every kind's registry entry.
pub struct PluginInfo {
    /// Kind of plugin.
    pub kind: PluginKind,
    /// Registered name, used in manifests.
    pub name: &'static str,
    /// Plugin version; part of every node key the plugin computes.
    pub version: &'static str,
    /// One-line description.
    pub summary: &'static str,
    /// JSON schema of the settings struct (field names, types, defaults, doc comments).
    pub schema: fn() -> schemars::Schema,
    /// Parses settings and returns them with every default filled in (the resolved config).
    pub resolve: fn(&Value) -> Result<Value, SettingsError>,
    /// Checks the resolved settings' values at `validate` — ranges a type cannot express, and
    /// what a value would cost — returning every problem, each naming its key. Kinds whose
    /// trait has no `check` use [`no_check`].
    pub check: fn(&Value) -> Vec<SettingsError>,
}

/// The [`PluginInfo::check`] of a plugin whose settings' types say all there is to check.
pub fn no_check(_settings: &Value) -> Vec<SettingsError> {
    Vec::new()
}

/// One documented setting, as `trustx plugins` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingDoc {
    /// Key in the manifest.
    pub key: String,
    /// Type, as the schema names it.
    pub ty: String,
    /// Default value, or `None` when the setting is required.
    pub default: Option<Value>,
    /// The doc comment of the field.
    pub description: String,
}

impl PluginInfo {
    /// The settings as a list of documented keys, drawn from the settings struct's schema.
    pub fn settings(&self) -> Vec<SettingDoc> {
        let schema = (self.schema)().to_value();
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let defaults = (self.resolve)(&Value::Object(Default::default())).ok();
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        props
            .iter()
            .map(|(key, prop)| SettingDoc {
                key: key.clone(),
                ty: type_name(prop, &schema),
                // An optional (nullable) field is never required: absent means null.
                default: if required.contains(key) && !type_name(prop, &schema).ends_with("or null") {
                    None
                } else {
                    prop.get("default").cloned().or_else(|| defaults.as_ref().and_then(|d| d.get(key).cloned()))
                },
                description: prop.get("description").and_then(Value::as_str).unwrap_or("").replace('\n', " "),
            })
            .collect()
    }
}

/// A short type name for a schema property ("integer", "string or null", "array of number").
fn type_name(prop: &Value, root: &Value) -> String {
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        let def = root.get("$defs").and_then(|d| d.get(name));
        if let Some(values) = def.and_then(enum_values) {
            return format!("one of {values}");
        }
        return name.to_string();
    }
    if let Some(values) = enum_values(prop) {
        return format!("one of {values}");
    }
    if let Some(any) = prop.get("anyOf").or_else(|| prop.get("oneOf")).and_then(Value::as_array) {
        return any.iter().map(|p| type_name(p, root)).collect::<Vec<_>>().join(" or ");
    }
    match prop.get("type") {
        Some(Value::String(t)) if t == "array" => match prop.get("items") {
            Some(items) => format!("array of {}", type_name(items, root)),
            None => "array".into(),
        },
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        _ => "any".into(),
    }
}

/// The allowed values of an enum schema, joined for display.
fn enum_values(def: &Value) -> Option<String> {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
    }
    let variants = def.get("oneOf").and_then(Value::as_array)?;
    let consts: Option<Vec<String>> = variants
        .iter()
        .map(|v| v.get("const").or_else(|| v.get("enum").and_then(|e| e.get(0))).map(|c| c.to_string()))
        .collect();
    consts.map(|c| c.join(", "))
}
