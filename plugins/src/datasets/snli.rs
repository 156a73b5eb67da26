//! `snli`: the Stanford Natural Language Inference corpus in its official JSON-lines
//! format (SNLI 1.0, Bowman et al., 2015, <https://nlp.stanford.edu/projects/snli/>).
//!
//! Each line is one object with (among others) the keys `pairID`, `sentence1` (premise),
//! `sentence2` (hypothesis) and `gold_label`. The file may be gzip-compressed (detected by
//! its magic bytes, whatever the extension), as the SNLI training fractions often are.
//!
//! - Segments: `[sentence1, sentence2]`, kept exactly as written; id: `pairID`.
//! - Labels: `entailment`, `neutral`, `contradiction` (Hugging Face `snli` order).
//! - `gold_label = "-"` (no annotator majority) rows are skipped and counted as unlabelled.
//! - When several files are given, a `pairID` already seen in an earlier file is dropped
//!   and counted as excluded (published SNLI samples overlap: the 1 % training sample
//!   shares 17 pairs with lines 1–2000 of the training file). The same `pairID` twice in
//!   one file is an error.
//! - A line that is not a JSON object, lacks one of the keys above (or has a non-string
//!   value there), or has an unknown `gold_label` is a malformed row.

use super::common::{IdTracker, Loc, Seen, lines, no_examples, owned, read_file, reject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use trustx_framework::data::{Example, RowCounts};
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};

/// Label names, indexed by `Example::label` (Hugging Face `snli` order).
pub const LABELS: [&str; 3] = ["entailment", "neutral", "contradiction"];

/// The gold label SNLI writes when the annotators reached no majority.
const NO_GOLD_LABEL: &str = "-";

/// Settings of the `snli` loader: none (the format is fixed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnliSettings {}

/// Loader of SNLI 1.0 JSON lines (plain or gzip).
pub struct Snli;

impl DatasetLoader for Snli {
    type Settings = SnliSettings;
    const NAME: &'static str = "snli";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "SNLI 1.0 JSON lines (plain or gzip): premise/hypothesis pairs, `-` gold labels skipped, pairIDs deduplicated across files";

    fn load(_settings: &SnliSettings, _base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded> {
        let mut gate = BadRowGate::new(request.on_bad_rows);
        let mut counts = RowCounts::default();
        let mut ids = IdTracker::default();
        let mut examples = Vec::new();
        for path in request.paths {
            let bytes = read_file(path)?;
            for (line_no, line) in lines(&bytes) {
                counts.read += 1;
                let loc = Loc::Line(line_no);
                let row = match line.map_err(|e| format!("not valid UTF-8 ({e})")).and_then(parse_row) {
                    Ok(row) => row,
                    Err(what) => {
                        reject(&mut gate, request.on_bad_rows, path, loc, what)?;
                        continue;
                    }
                };
                match ids.first_seen(&row.pair_id, path, loc) {
                    Seen::New => {}
                    Seen::EarlierFile => {
                        counts.excluded += 1;
                        continue;
                    }
                    Seen::SameFile => return Err(ids.duplicate_error(&row.pair_id, path, loc)),
                }
                match row.label {
                    None => counts.unlabelled += 1,
                    Some(label) => {
                        examples.push(Example { id: row.pair_id, segments: vec![row.premise, row.hypothesis], label })
                    }
                }
            }
        }
        counts.bad = gate.skipped;
        if examples.is_empty() {
            return Err(no_examples(request.paths, &counts));
        }
        Ok(Loaded { examples, label_names: owned(&LABELS), counts })
    }
}

inventory::submit! { DatasetLoaderEntry::of::<Snli>() }

/// One parsed line; `label` is `None` for a `-` gold label.
struct Row {
    pair_id: String,
    premise: String,
    hypothesis: String,
    label: Option<usize>,
}

/// Parses one JSON line; the error says what is wrong with it.
fn parse_row(line: &str) -> Result<Row, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let field = |key: &str| -> Result<String, String> {
        match object.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("key `{key}` is not a string (found {other})")),
            None => Err(format!("missing key `{key}`")),
        }
    };
    let pair_id = field("pairID")?;
    if pair_id.trim().is_empty() {
        return Err("empty `pairID`".to_string());
    }
    let premise = field("sentence1")?;
    let hypothesis = field("sentence2")?;
    let gold = field("gold_label")?;
    let label =
        if gold == NO_GOLD_LABEL {
            None
        } else {
            Some(LABELS.iter().position(|l| *l == gold).ok_or_else(|| {
                format!("unknown gold_label `{gold}` (expected one of {}, or `-`)", LABELS.join(", "))
            })?)
        };
    Ok(Row { pair_id, premise, hypothesis, label })
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::parse_settings;

    fn load(paths: &[PathBuf], policy: BadRows) -> anyhow::Result<Loaded> {
        Snli::load(&SnliSettings::default(), Path::new("."), &request(paths, policy))
    }

    fn line(id: &str, gold: &str) -> String {
        json!({"annotator_labels": [gold], "captionID": "c", "gold_label": gold, "pairID": id,
               "sentence1": format!("premise {id}"), "sentence2": format!("hypothesis {id}")})
        .to_string()
    }

    #[test]
    fn real_dev_sample() {
        let Some(data) = data_dir() else { return };
        let l = load(&[data.join("snli/snli_1.0_dev.jsonl")], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["entailment", "neutral", "contradiction"]);
        assert_eq!(l.counts.read, 1289);
        assert_eq!(l.counts.unlabelled, 16);
        assert_eq!((l.counts.bad, l.counts.excluded, l.counts.capped, l.counts.kept), (0, 0, 0, 0));
        assert_eq!(l.examples.len(), 1273);
        assert_eq!(label_counts(&l), [433, 421, 419]);
        let first = &l.examples[0];
        assert_eq!(first.id, "4705552913.jpg#2r1n");
        assert_eq!(first.label, 1);
        assert_eq!(first.segments.len(), 2);
        assert_eq!(first.segments[0], "Two women are embracing while holding to go packages.");
        assert_eq!(
            first.segments[1],
            "The sisters are hugging goodbye while holding to go packages after just eating lunch."
        );
    }

    #[test]
    fn real_gzip_training_sample() {
        let Some(data) = data_dir() else { return };
        let l = load(&[data.join("snli/snli_1.0_train_0.01.jsonl.gz")], BadRows::Error).unwrap();
        assert_eq!(l.counts.read, 5502);
        assert_eq!(l.counts.unlabelled, 4);
        assert_eq!(l.examples.len(), 5498);
        assert_eq!(label_counts(&l), [1806, 1786, 1906]);
        assert_eq!(l.examples[0].id, "1904112245.jpg#0r1e");
        assert_eq!(l.examples[0].segments[1], "a dog is outside");
    }

    #[test]
    fn real_training_files_together_dedupe_pair_ids() {
        let Some(data) = data_dir() else { return };
        let rows = |name: &str| data.join("snli").join(name);
        let first = rows("snli_1.0_train.rows0001-1000.jsonl");
        let l = load(std::slice::from_ref(&first), BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.counts.unlabelled, l.examples.len()), (1000, 2, 998));
        assert_eq!(l.examples[0].id, "3416050480.jpg#4r1n");
        assert_eq!(l.examples[0].segments[0], "A person on a horse jumps over a broken down airplane.");
        let paths = [
            rows("snli_1.0_train_0.01.jsonl.gz"),
            first,
            rows("snli_1.0_train.rows1001-1500.jsonl"),
            rows("snli_1.0_train.rows1501-2000.jsonl"),
        ];
        let l = load(&paths, BadRows::Error).unwrap();
        assert_eq!(l.counts.read, 7502);
        assert_eq!(l.counts.excluded, 17);
        assert_eq!(l.counts.unlabelled, 7);
        assert_eq!(l.examples.len() + l.counts.unlabelled, 7485);
        assert_eq!(label_counts(&l), [2474, 2442, 2562]);
        // The files without a final newline lose no row.
        let l = load(&paths[2..], BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.counts.unlabelled, l.counts.excluded), (1000, 1, 0));
    }

    #[test]
    fn malformed_lines_are_bad_rows() {
        let dir = TempDir::new("snli-bad");
        let text = [
            line("a", "neutral"),
            "{not json".to_string(),
            json!({"pairID": "b", "sentence1": "x", "gold_label": "neutral"}).to_string(),
            line("c", "maybe"),
            "[1, 2]".to_string(),
            json!({"pairID": 7, "sentence1": "x", "sentence2": "y", "gold_label": "neutral"}).to_string(),
            line("d", "-"),
            line("e", "contradiction"),
        ]
        .join("\n");
        let path = dir.file("bad.jsonl", text);
        let e = message(load(std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", path.display())) && e.contains("not valid JSON"), "{e}");
        let l = load(std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!(l.counts.bad, 5);
        assert_eq!(l.counts.read, 8);
        assert_eq!(l.counts.unlabelled, 1);
        let ids: Vec<&str> = l.examples.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "e"]);
        assert_eq!(l.examples[1].label, 2);

        let path = dir.file("missing.jsonl", format!("{}\n{}\n", line("a", "neutral"), json!({"pairID": "b"})));
        let e = message(load(std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", path.display())) && e.contains("missing key `sentence1`"), "{e}");
        let path = dir.file("unknown.jsonl", line("a", "maybe"));
        let e = message(load(std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:1:", path.display())) && e.contains("unknown gold_label `maybe`"), "{e}");
    }

    #[test]
    fn duplicate_pair_id_in_one_file_is_an_error() {
        let dir = TempDir::new("snli-dup");
        let path =
            dir.file("dup.jsonl", [line("a", "neutral"), line("b", "neutral"), line("a", "entailment")].join("\n"));
        let e = message(load(std::slice::from_ref(&path), BadRows::Skip));
        assert!(
            e.contains(&path.display().to_string())
                && e.contains("`a`")
                && e.contains("line 1")
                && e.contains("line 3"),
            "{e}"
        );
        // Across files, the later copy is excluded instead.
        let first = dir.file("first.jsonl", line("z", "neutral"));
        let second = dir.file("second.jsonl", [line("a", "contradiction"), line("z", "entailment")].join("\n"));
        let l = load(&[first, second], BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.counts.excluded), (3, 1));
        let kept: Vec<(&str, usize)> = l.examples.iter().map(|e| (e.id.as_str(), e.label)).collect();
        assert_eq!(kept, [("z", 1), ("a", 2)]);
    }

    #[test]
    fn bom_crlf_gzip_and_no_final_newline() {
        let dir = TempDir::new("snli-format");
        let text = format!("\u{feff}{}\r\n{}\r\n\r\n", line("a", "entailment"), line("b", "-"));
        let path = dir.file("bom.jsonl", &text);
        let l = load(&[path], BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.counts.unlabelled, l.examples.len()), (2, 1, 1));
        assert_eq!(l.examples[0].segments, ["premise a", "hypothesis a"]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, [line("a", "entailment"), line("b", "neutral")].join("\n").as_bytes())
            .unwrap();
        // Named .jsonl on purpose: gzip is recognised by its magic bytes.
        let path = dir.file("compressed.jsonl", gz.finish().unwrap());
        let l = load(&[path], BadRows::Error).unwrap();
        assert_eq!(l.examples.len(), 2);
        assert_eq!(l.examples[1].label, 1);
    }

    #[test]
    fn empty_or_unlabelled_split_and_missing_file_are_errors() {
        let dir = TempDir::new("snli-empty");
        let empty = dir.file("empty.jsonl", "");
        let e = message(load(std::slice::from_ref(&empty), BadRows::Error));
        assert!(e.contains("no labelled example in") && e.contains(&empty.display().to_string()), "{e}");
        let dash = dir.file("dash.jsonl", line("a", "-"));
        let e = message(load(std::slice::from_ref(&dash), BadRows::Error));
        assert!(e.contains("no labelled example") && e.contains("1 unlabelled"), "{e}");
        let missing = dir.0.join("nope.jsonl");
        let e = message(load(std::slice::from_ref(&missing), BadRows::Error));
        assert!(e.contains(&missing.display().to_string()), "{e}");
    }

    #[test]
    fn settings_reject_unknown_keys() {
        parse_settings::<SnliSettings>(&json!({})).unwrap();
        let e = parse_settings::<SnliSettings>(&json!({"path": "x"})).unwrap_err();
        assert_eq!(e.path, ["path"]);
    }

    #[test]
    fn registered() {
        let entry = DatasetLoaderEntry::find("snli").unwrap();
        assert_eq!(entry.info.version, "1");
    }
}
