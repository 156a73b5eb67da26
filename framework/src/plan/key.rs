//! Content keys: blake3 over canonical JSON (object keys sorted, no whitespace).

use serde_json::Value;

/// Canonical JSON text: object keys sorted at every level, no insignificant whitespace,
/// numbers as serde_json writes them.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The key of a node: blake3 (hex) of the canonical JSON of its identity.
pub fn node_key(
    kind: &str,
    plugin: Option<(&str, &str)>,
    config: &Value,
    inputs: &[&str],
    seed: Option<u64>,
) -> String {
    let identity = serde_json::json!({
        "kind": kind,
        "plugin": plugin.map(|(n, v)| serde_json::json!({"name": n, "version": v})),
        "config": config,
        "inputs": inputs,
        "seed": seed,
    });
    blake3::hash(canonical_json(&identity).as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "s"}});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#);
    }

    #[test]
    fn key_changes_with_each_part_only() {
        let base = node_key("predict", Some(("p", "1")), &json!({"a": 1}), &["k1"], Some(42));
        assert_eq!(base, node_key("predict", Some(("p", "1")), &json!({"a": 1}), &["k1"], Some(42)));
        assert_ne!(base, node_key("predict", Some(("p", "2")), &json!({"a": 1}), &["k1"], Some(42)));
        assert_ne!(base, node_key("predict", Some(("p", "1")), &json!({"a": 2}), &["k1"], Some(42)));
        assert_ne!(base, node_key("predict", Some(("p", "1")), &json!({"a": 1}), &["k2"], Some(42)));
        assert_ne!(base, node_key("predict", Some(("p", "1")), &json!({"a": 1}), &["k1"], Some(43)));
        assert_ne!(base, node_key("predict", Some(("p", "1")), &json!({"a": 1}), &["k1"], None));
        assert_eq!(base.len(), 64);
    }
}
