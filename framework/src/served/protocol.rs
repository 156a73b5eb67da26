//! The trustx serving protocol, version [`PROTOCOL_VERSION`]: the messages and how each
//! answer is checked. The process side (pipes, threads, timeouts) is in
//! [`process`](super::process).
//!
//! One JSON object per line, UTF-8, over the server's stdin (trustx → server) and stdout
//! (server → trustx); the server's stderr is free for its logs.
//!
//! 1. Handshake: trustx writes `{"trustx": 1}`; the server answers
//!    `{"labels": ["negative", "positive"], "name": "...", "version": "...", "max_batch": 64}`
//!    (`labels` required, in the dataset's class order; `name`, `version`, `max_batch`,
//!    `mask_token` optional) or `{"error": "..."}`.
//! 2. Requests: `{"id": 7, "inputs": [["a text"], ["premise", "hypothesis"], ...]}` (one
//!    list of segments per input, at most `max_batch` inputs), answered, in any order, by
//!    `{"id": 7, "probabilities": [[0.1, 0.9], ...]}` (one row per input, one probability
//!    per label, each row summing to 1) or `{"id": 7, "error": "..."}`. trustx may send a
//!    second request before the first is answered.
//! 3. The end: trustx closes the server's stdin; the server exits.

use crate::predictions::check_row;
use serde_json::{Value, json};

/// The protocol version trustx speaks (the `trustx` key of the handshake).
pub const PROTOCOL_VERSION: u64 = 1;

/// How much of a bad line an error quotes.
const QUOTED_CHARS: usize = 200;

/// What the server says about itself in the handshake.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    /// Class names, in the order of every probability row.
    pub labels: Vec<String>,
    /// The model's name, as the server gives it (empty when it gives none).
    pub name: String,
    /// The model's version, as the server gives it (empty when it gives none).
    pub version: String,
    /// Most inputs per request the server accepts.
    pub max_batch: Option<usize>,
    /// The token that replaces a masked word (default `[MASK]`).
    pub mask_token: Option<String>,
}

/// The handshake line trustx writes.
pub fn handshake_request() -> String {
    json!({ "trustx": PROTOCOL_VERSION }).to_string()
}

/// A request line.
pub fn request_line(id: u64, inputs: &[Vec<String>]) -> String {
    json!({ "id": id, "inputs": inputs }).to_string()
}

/// `line`, cut to [`QUOTED_CHARS`] characters, for an error.
pub fn quote(line: &str) -> String {
    let line = line.trim_end();
    match line.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("`{}…`", &line[..cut]),
        None => format!("`{line}`"),
    }
}

/// Parses one line the server wrote. JSON cannot carry NaN or infinities; Python's `json`
/// writes them anyway (`NaN`, `Infinity`), so a line that fails to parse because of one is
/// reported as a non-finite probability rather than as bad JSON.
pub fn parse_line(line: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(format!("answered {}, which is not a JSON object", quote(line))),
        Err(e) => {
            let non_finite = ["NaN", "Infinity"].iter().find(|t| line.contains(**t));
            Err(match non_finite {
                Some(t) => format!(
                    "answered a non-finite probability ({t}, which JSON cannot carry) in {}; every probability must be a finite number",
                    quote(line)
                ),
                None => {
                    format!("answered malformed JSON {} ({e}); each answer is one JSON object on one line", quote(line))
                }
            })
        }
    }
}

/// Reads the handshake answer.
pub fn parse_handshake(v: &Value) -> Result<Handshake, String> {
    if let Some(e) = v.get("error") {
        return Err(format!("refused the handshake: {}", text_of(e)));
    }
    if let Some(version) = v.get("trustx")
        && version.as_u64() != Some(PROTOCOL_VERSION)
    {
        return Err(format!("speaks protocol version {version}; this trustx speaks version {PROTOCOL_VERSION}"));
    }
    let labels = v
        .get("labels")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|l| l.as_str().map(String::from)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| {
            format!(
                "answered the handshake with {}, which has no `labels` list of strings; answer {{\"trustx\": {PROTOCOL_VERSION}}} with {{\"labels\": [...], \"name\": ..., \"version\": ..., \"max_batch\": ...}}",
                quote(&v.to_string())
            )
        })?;
    if labels.is_empty() {
        return Err("answered the handshake with an empty `labels` list".into());
    }
    let max_batch = match v.get("max_batch") {
        None | Some(Value::Null) => None,
        Some(m) => match m.as_u64() {
            Some(n) if n > 0 => Some(n as usize),
            _ => return Err(format!("answered the handshake with `max_batch` {m}; give a positive integer")),
        },
    };
    let text = |k: &str| v.get(k).map(text_of).unwrap_or_default();
    let mask_token = v.get("mask_token").and_then(Value::as_str).map(String::from);
    Ok(Handshake { labels, name: text("name"), version: text("version"), max_batch, mask_token })
}

/// A JSON value as text: a string without its quotes, anything else as JSON.
fn text_of(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

/// The id of an answer line.
pub fn answer_id(v: &Value) -> Result<u64, String> {
    v.get("id").and_then(Value::as_u64).ok_or_else(|| {
        format!("answered {} without a numeric `id`; every answer repeats its request's id", quote(&v.to_string()))
    })
}

/// Checks the answer to request `id` for `inputs` and returns its probability rows.
pub fn parse_answer(v: &Value, id: u64, inputs: &[Vec<String>], labels: &[String]) -> Result<Vec<Vec<f64>>, String> {
    if let Some(e) = v.get("error") {
        return Err(format!("answered request {id} with an error: {}", text_of(e)));
    }
    let rows = v.get("probabilities").and_then(Value::as_array).ok_or_else(|| {
        format!("answered request {id} with {}, which has no `probabilities` list", quote(&v.to_string()))
    })?;
    if rows.len() != inputs.len() {
        return Err(format!(
            "answered request {id} with {} probability rows for {} inputs; answer one row per input, in order",
            rows.len(),
            inputs.len()
        ));
    }
    let classes = labels.len();
    let mut out = Vec::with_capacity(rows.len());
    for (r, row) in rows.iter().enumerate() {
        let at = || format!("row {r} of request {id} (input {})", quote(&inputs[r].join(" / ")));
        let cells = row.as_array().ok_or_else(|| format!("{}: {row} is not a list of numbers", at()))?;
        if cells.len() != classes {
            return Err(format!(
                "{}: {} probabilities, but the model has {classes} labels ({})",
                at(),
                cells.len(),
                labels.join(", ")
            ));
        }
        let values = cells
            .iter()
            .enumerate()
            .map(|(c, x)| {
                x.as_f64().ok_or_else(|| match x {
                    Value::Null => format!("{}: probability {c} is null (NaN?), not a number", at()),
                    _ => format!("{}: probability {c} is {x}, not a number", at()),
                })
            })
            .collect::<Result<Vec<f64>, String>>()?;
        check_row(&values).map_err(|e| format!("{}: {e}; answer probabilities (e.g. a softmax), not logits", at()))?;
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["neg".into(), "pos".into()]
    }

    fn inputs(n: usize) -> Vec<Vec<String>> {
        (0..n).map(|i| vec![format!("text {i}")]).collect()
    }

    #[test]
    fn handshake_reads_labels_and_optional_fields() {
        let h = parse_handshake(&json!({"labels": ["a", "b"], "name": "bow", "version": 3, "max_batch": 8})).unwrap();
        assert_eq!(h.labels, ["a", "b"]);
        assert_eq!((h.name.as_str(), h.version.as_str(), h.max_batch), ("bow", "3", Some(8)));
        let h = parse_handshake(&json!({"labels": ["a"], "mask_token": "<mask>"})).unwrap();
        assert_eq!((h.max_batch, h.mask_token.as_deref()), (None, Some("<mask>")));
        for (bad, wanted) in [
            (json!({"name": "x"}), "no `labels`"),
            (json!({"labels": []}), "empty `labels`"),
            (json!({"labels": ["a"], "max_batch": 0}), "positive integer"),
            (json!({"labels": ["a"], "trustx": 2}), "protocol version 2"),
            (json!({"error": "no GPU"}), "refused the handshake: no GPU"),
        ] {
            let e = parse_handshake(&bad).unwrap_err();
            assert!(e.contains(wanted), "{e}");
        }
        assert_eq!(handshake_request(), r#"{"trustx":1}"#);
    }

    #[test]
    fn lines_that_are_not_objects_or_carry_nan() {
        assert!(parse_line(r#"{"id": 1}"#).is_ok());
        assert!(parse_line("[1, 2]").unwrap_err().contains("not a JSON object"));
        assert!(parse_line("{oops").unwrap_err().contains("malformed JSON `{oops`"));
        let e = parse_line(r#"{"id": 1, "probabilities": [[NaN, 1.0]]}"#).unwrap_err();
        assert!(e.contains("non-finite probability (NaN"), "{e}");
        let long = "x".repeat(500);
        assert!(parse_line(&long).unwrap_err().contains('…'));
    }

    #[test]
    fn answers_are_checked_row_by_row() {
        let ok = json!({"id": 3, "probabilities": [[0.25, 0.75], [1.0, 0.0]]});
        assert_eq!(parse_answer(&ok, 3, &inputs(2), &labels()).unwrap(), [[0.25, 0.75], [1.0, 0.0]]);
        for (bad, wanted) in [
            (json!({"id": 3, "error": "CUDA OOM"}), "request 3 with an error: CUDA OOM"),
            (json!({"id": 3}), "no `probabilities`"),
            (json!({"id": 3, "probabilities": [[0.5, 0.5]]}), "1 probability rows for 2 inputs"),
            (
                json!({"id": 3, "probabilities": [[0.5, 0.5], [0.2, 0.3, 0.5]]}),
                "row 1 of request 3 (input `text 1`): 3 probabilities, but the model has 2 labels (neg, pos)",
            ),
            (json!({"id": 3, "probabilities": [[0.5, 0.5], [null, 1.0]]}), "probability 0 is null"),
            (json!({"id": 3, "probabilities": [[0.5, 0.5], [-0.5, 1.5]]}), "negative (-0.5)"),
            (
                json!({"id": 3, "probabilities": [[2.0, 3.0], [0.5, 0.5]]}),
                "row 0 of request 3 (input `text 0`): probabilities sum to 5",
            ),
            (json!({"id": 3, "probabilities": [[0.5, "a"], [0.5, 0.5]]}), "is \"a\", not a number"),
        ] {
            let e = parse_answer(&bad, 3, &inputs(2), &labels()).unwrap_err();
            assert!(e.contains(wanted), "{e}");
        }
        assert_eq!(answer_id(&json!({"id": 9})).unwrap(), 9);
        assert!(answer_id(&json!({"probabilities": []})).unwrap_err().contains("without a numeric `id`"));
        assert_eq!(request_line(2, &[vec!["a".into(), "b".into()]]), r#"{"id":2,"inputs":[["a","b"]]}"#);
    }
}
