//! `glue`: tab-separated files of the GLUE benchmark (Wang et al., 2018,
//! <https://gluebenchmark.com/>) as written by GLUE's `download_glue_data.py`, for the
//! tasks MRPC, QQP, SST-2, MNLI, QNLI and RTE.
//!
//! Lines are split on tabs only, never with CSV quoting: GLUE sentences contain `"`
//! characters that a CSV reader would take for quotes. The header row is required and
//! columns are found by name, so extra columns (MNLI's parses and genre) do not matter; a
//! row whose field count differs from the header's is malformed. Text fields are kept
//! exactly (SST-2 sentences end with a space; it stays).
//!
//! | task | text columns | label column → names | id |
//! |---|---|---|---|
//! | `sst2` | `sentence` | `label` 0/1 → negative, positive | 0-based data row index |
//! | `mrpc` | `#1 String`, `#2 String` | `Quality` 0/1 → not_equivalent, equivalent | `{#1 ID}-{#2 ID}` |
//! | `qqp` | `question1`, `question2` | `is_duplicate` 0/1 → not_duplicate, duplicate | `id` |
//! | `mnli` | `sentence1`, `sentence2` | `gold_label` → entailment, neutral, contradiction | `pairID`, else `index` |
//! | `qnli` | `question`, `sentence` | `label` → entailment, not_entailment | `index` |
//! | `rte` | `sentence1`, `sentence2` | `label` → entailment, not_entailment | `index` |
//!
//! MNLI rows whose gold label is `-` (no annotator majority) count as unlabelled.
//!
//! `layout = "label-premise-hypothesis"` (task `mnli` only) reads the headerless MultiNLI
//! files of TextFooler (Jin et al., 2020, `jind11/TextFooler`, `data/mnli_matched`):
//! `label<TAB>premise<TAB>hypothesis` with a label name, and no ids (the 0-based row index
//! is used).
//!
//! Row-index ids count data rows (malformed ones included, so ids do not depend on
//! `on_bad_rows`) across the split's files in order, so they stay unique when a split
//! spans several files.

use super::common::{IdTracker, Loc, TsvHeader, lines, no_examples, owned, read_file, reject};
use anyhow::anyhow;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trustx_framework::data::{Example, RowCounts};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};

/// A GLUE task (the file layout and labels follow from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GlueTask {
    /// Microsoft Research Paraphrase Corpus: `Quality`, `#1 ID`, `#2 ID`, `#1 String`, `#2 String`.
    Mrpc,
    /// Quora Question Pairs: `id`, `question1`, `question2`, `is_duplicate`.
    Qqp,
    /// Stanford Sentiment Treebank, binary: `sentence`, `label`.
    Sst2,
    /// MultiNLI: `index`, `sentence1`, `sentence2`, `gold_label` (and `pairID` when present).
    Mnli,
    /// Question-answering NLI: `index`, `question`, `sentence`, `label`.
    Qnli,
    /// Recognising Textual Entailment: `index`, `sentence1`, `sentence2`, `label`.
    Rte,
}

/// How the file is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GlueLayout {
    /// GLUE TSV with a header row; columns found by name.
    #[default]
    Header,
    /// No header; every line is `label<TAB>premise<TAB>hypothesis` (TextFooler's MultiNLI
    /// files); task `mnli` only; ids are 0-based row indices.
    LabelPremiseHypothesis,
}

/// Settings of the `glue` loader.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlueSettings {
    /// GLUE task: `mrpc`, `qqp`, `sst2`, `mnli`, `qnli` or `rte`. Decides the columns
    /// read, the label names and the ids.
    pub task: GlueTask,
    /// File layout: `header` (GLUE TSV with a header row, the default) or
    /// `label-premise-hypothesis` (headerless TextFooler MultiNLI files; task `mnli` only).
    #[serde(default)]
    pub layout: GlueLayout,
}

/// Loader of GLUE TSV files.
pub struct Glue;

impl DatasetLoader for Glue {
    type Settings = GlueSettings;
    const NAME: &'static str = "glue";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "GLUE TSV files (mrpc, qqp, sst2, mnli, qnli, rte), tab-split with a header; also headerless TextFooler MNLI";

    fn validate(settings: &GlueSettings, _base_dir: &Path) -> Result<(), SettingsError> {
        check_layout(settings)
    }

    fn load(settings: &GlueSettings, _base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded> {
        check_layout(settings)?;
        let spec = Spec::of(settings.task);
        let mut state = State {
            gate: BadRowGate::new(request.on_bad_rows),
            request,
            counts: RowCounts::default(),
            ids: IdTracker::default(),
            examples: Vec::new(),
            row_index: 0,
        };
        for path in request.paths {
            let bytes = read_file(path)?;
            let lines = lines(&bytes);
            match settings.layout {
                GlueLayout::Header => state.header_file(&spec, path, &lines)?,
                GlueLayout::LabelPremiseHypothesis => state.headerless_file(&spec, path, &lines)?,
            }
        }
        let mut counts = state.counts;
        counts.bad = state.gate.skipped;
        if state.examples.is_empty() {
            return Err(no_examples(request.paths, &counts));
        }
        Ok(Loaded { examples: state.examples, label_names: owned(spec.labels), counts })
    }
}

inventory::submit! { DatasetLoaderEntry::of::<Glue>() }

fn check_layout(settings: &GlueSettings) -> Result<(), SettingsError> {
    if settings.layout == GlueLayout::LabelPremiseHypothesis && settings.task != GlueTask::Mnli {
        return Err(SettingsError::at(
            "layout",
            "`label-premise-hypothesis` is TextFooler's MultiNLI layout and needs `task = \"mnli\"`; \
             use `layout = \"header\"` for GLUE files",
        ));
    }
    Ok(())
}

/// How a task's label column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelKind {
    /// `0`, `1`, ...: the index into the label names.
    Index,
    /// The label name itself.
    Name,
}

/// Where a task's id comes from.
#[derive(Debug, Clone, Copy)]
enum IdSpec {
    /// The 0-based data row index.
    RowIndex,
    /// One column.
    Column(&'static str),
    /// The first column when the header has it, else the second.
    ColumnOr(&'static str, &'static str),
    /// Two columns joined with `-`.
    Pair(&'static str, &'static str),
}

/// What a task reads.
#[derive(Debug, Clone)]
struct Spec {
    task: GlueTask,
    texts: &'static [&'static str],
    label: &'static str,
    kind: LabelKind,
    labels: &'static [&'static str],
    id: IdSpec,
}

const NLI3: &[&str] = &["entailment", "neutral", "contradiction"];
const NLI2: &[&str] = &["entailment", "not_entailment"];

impl Spec {
    fn of(task: GlueTask) -> Spec {
        use IdSpec::*;
        use LabelKind::*;
        let (texts, label, kind, labels, id): (&'static [&'static str], _, _, &'static [&'static str], _) = match task {
            GlueTask::Sst2 => (&["sentence"], "label", Index, &["negative", "positive"], RowIndex),
            GlueTask::Mrpc => (
                &["#1 String", "#2 String"],
                "Quality",
                Index,
                &["not_equivalent", "equivalent"],
                Pair("#1 ID", "#2 ID"),
            ),
            GlueTask::Qqp => {
                (&["question1", "question2"], "is_duplicate", Index, &["not_duplicate", "duplicate"], Column("id"))
            }
            GlueTask::Mnli => (&["sentence1", "sentence2"], "gold_label", Name, NLI3, ColumnOr("pairID", "index")),
            GlueTask::Qnli => (&["question", "sentence"], "label", Name, NLI2, Column("index")),
            GlueTask::Rte => (&["sentence1", "sentence2"], "label", Name, NLI2, Column("index")),
        };
        Spec { task, texts, label, kind, labels, id }
    }

    /// The label of a raw field: `Ok(None)` for MNLI's `-`, `Err` for an unknown value.
    fn label(&self, raw: &str) -> Result<Option<usize>, String> {
        let raw = raw.trim();
        if self.task == GlueTask::Mnli && raw == "-" {
            return Ok(None);
        }
        let found = match self.kind {
            LabelKind::Index => raw.parse::<usize>().ok().filter(|&i| i < self.labels.len()),
            LabelKind::Name => self.labels.iter().position(|l| *l == raw),
        };
        found.map(Some).ok_or_else(|| {
            let expected = match self.kind {
                LabelKind::Index => (0..self.labels.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
                LabelKind::Name => self.labels.join(", "),
            };
            format!("unknown label `{raw}` in column `{}` (expected one of {expected})", self.label)
        })
    }
}

/// Column indices of one file.
enum IdCols {
    RowIndex,
    One(usize),
    Pair(usize, usize),
}

/// Loading state across the split's files.
struct State<'r, 'a> {
    gate: BadRowGate,
    request: &'r LoadRequest<'a>,
    counts: RowCounts,
    ids: IdTracker,
    examples: Vec<Example>,
    /// Data rows seen so far in the split (the next row-index id).
    row_index: usize,
}

type Lines<'b> = [(usize, Result<&'b str, std::str::Utf8Error>)];

impl State<'_, '_> {
    fn reject(&mut self, path: &Path, line: usize, what: impl std::fmt::Display) -> anyhow::Result<()> {
        reject(&mut self.gate, self.request.on_bad_rows, path, Loc::Line(line), what)
    }

    /// Keeps one row: unlabelled, or checked for a duplicate id and pushed.
    fn keep(
        &mut self,
        path: &Path,
        line: usize,
        id: String,
        segments: Vec<String>,
        label: Option<usize>,
    ) -> anyhow::Result<()> {
        match label {
            None => self.counts.unlabelled += 1,
            Some(label) => {
                self.ids.insert(&id, path, Loc::Line(line))?;
                self.examples.push(Example { id, segments, label });
            }
        }
        Ok(())
    }

    fn header_file(&mut self, spec: &Spec, path: &Path, lines: &Lines) -> anyhow::Result<()> {
        let Some(((header_line, header), rows)) = lines.split_first() else {
            return Err(anyhow!("{}: empty file; a GLUE TSV file starts with a header row", path.display()));
        };
        let header = header
            .as_ref()
            .map_err(|e| anyhow!("{}:{header_line}: the header is not valid UTF-8 ({e})", path.display()))?;
        let header = TsvHeader::parse(header);
        let hint = if spec.task == GlueTask::Mnli {
            "; for headerless `label<TAB>premise<TAB>hypothesis` files set `layout = \"label-premise-hypothesis\"`"
        } else {
            ""
        };
        let need = |name: &str| header.require(path, *header_line, name, hint);
        let texts = spec.texts.iter().map(|t| need(t)).collect::<anyhow::Result<Vec<_>>>()?;
        let label_col = need(spec.label)?;
        let id_cols = match spec.id {
            IdSpec::RowIndex => IdCols::RowIndex,
            IdSpec::Column(c) => IdCols::One(need(c)?),
            IdSpec::ColumnOr(a, b) => IdCols::One(match header.find(a) {
                Some(i) => i,
                None => need(b)?,
            }),
            IdSpec::Pair(a, b) => IdCols::Pair(need(a)?, need(b)?),
        };
        for (line_no, line) in rows {
            let line_no = *line_no;
            self.counts.read += 1;
            let row_index = self.row_index;
            self.row_index += 1;
            let line = match line {
                Ok(l) => *l,
                Err(e) => {
                    self.reject(path, line_no, format!("not valid UTF-8 ({e})"))?;
                    continue;
                }
            };
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != header.len() {
                self.reject(
                    path,
                    line_no,
                    format!("expected {} tab-separated fields as in the header, found {}", header.len(), fields.len()),
                )?;
                continue;
            }
            // Indices come from the header and every row has the header's length.
            let field = |i: usize| fields.get(i).copied().unwrap_or_default();
            let label = match spec.label(field(label_col)) {
                Ok(l) => l,
                Err(what) => {
                    self.reject(path, line_no, what)?;
                    continue;
                }
            };
            let id = match id_cols {
                IdCols::RowIndex => row_index.to_string(),
                IdCols::One(i) => field(i).trim().to_string(),
                IdCols::Pair(a, b) => {
                    let (a, b) = (field(a).trim(), field(b).trim());
                    if a.is_empty() || b.is_empty() { String::new() } else { format!("{a}-{b}") }
                }
            };
            if id.is_empty() {
                self.reject(path, line_no, "empty id")?;
                continue;
            }
            let segments = texts.iter().map(|&i| field(i).to_string()).collect();
            self.keep(path, line_no, id, segments, label)?;
        }
        Ok(())
    }

    fn headerless_file(&mut self, spec: &Spec, path: &Path, lines: &Lines) -> anyhow::Result<()> {
        for (line_no, line) in lines {
            let line_no = *line_no;
            self.counts.read += 1;
            let row_index = self.row_index;
            self.row_index += 1;
            let line = match line {
                Ok(l) => *l,
                Err(e) => {
                    self.reject(path, line_no, format!("not valid UTF-8 ({e})"))?;
                    continue;
                }
            };
            let fields: Vec<&str> = line.split('\t').collect();
            let [label, premise, hypothesis] = fields.as_slice() else {
                self.reject(
                    path,
                    line_no,
                    format!("expected 3 tab-separated fields (label, premise, hypothesis), found {}", fields.len()),
                )?;
                continue;
            };
            let label = match spec.label(label) {
                Ok(l) => l,
                Err(what) => {
                    self.reject(path, line_no, what)?;
                    continue;
                }
            };
            let segments = vec![premise.to_string(), hypothesis.to_string()];
            self.keep(path, line_no, row_index.to_string(), segments, label)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::parse_settings;

    fn settings(task: GlueTask) -> GlueSettings {
        GlueSettings { task, layout: GlueLayout::Header }
    }

    fn load(task: GlueTask, paths: &[PathBuf], policy: BadRows) -> anyhow::Result<Loaded> {
        Glue::load(&settings(task), Path::new("."), &request(paths, policy))
    }

    #[test]
    fn real_mrpc_dev() {
        let Some(data) = data_dir() else { return };
        let l = load(GlueTask::Mrpc, &[data.join("mrpc/dev.tsv")], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["not_equivalent", "equivalent"]);
        assert_eq!((l.counts.read, l.counts.unlabelled, l.counts.bad, l.counts.excluded), (408, 0, 0, 0));
        assert_eq!(l.examples.len(), 408);
        assert_eq!(label_counts(&l), [129, 279]);
        let first = &l.examples[0];
        assert_eq!(first.id, "1355540-1355592");
        assert_eq!(first.label, 1);
        assert_eq!(
            first.segments[0],
            "He said the foodservice pie business doesn't fit the company's long-term growth strategy."
        );
        // Quotes are text, not CSV quoting.
        assert!(first.segments[1].starts_with("\"The foodservice pie business"), "{}", first.segments[1]);
    }

    #[test]
    fn real_sst2_dev_and_train() {
        let Some(data) = data_dir() else { return };
        let l = load(GlueTask::Sst2, &[data.join("sst2/dev.tsv")], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["negative", "positive"]);
        assert_eq!((l.counts.read, l.examples.len()), (872, 872));
        assert_eq!(label_counts(&l), [428, 444]);
        assert_eq!(l.examples[0].id, "0");
        // The trailing space before the tab is kept.
        assert_eq!(l.examples[0].segments, ["it 's a charming and often affecting journey . "]);
        assert_eq!(l.examples[0].label, 1);
        assert_eq!(l.examples[871].id, "871");
        let l = load(GlueTask::Sst2, &[data.join("sst2/train.tsv")], BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.examples.len()), (67_349, 67_349));
        assert_eq!(label_counts(&l), [29_780, 37_569]);
        assert_eq!(l.examples[0].segments, ["hide new secretions from the parental units "]);
    }

    #[test]
    fn real_qqp_dev() {
        let Some(data) = data_dir() else { return };
        let l = load(GlueTask::Qqp, &[data.join("qqp/dev.tsv")], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["not_duplicate", "duplicate"]);
        assert_eq!((l.counts.read, l.examples.len()), (9, 9));
        assert_eq!(label_counts(&l), [5, 4]);
        assert_eq!(l.examples[0].id, "201359");
        assert_eq!(
            l.examples[0].segments,
            ["Why are African-Americans so beautiful?", "Why are hispanics so beautiful?"]
        );
        assert_eq!(l.examples[1].id, "263843");
    }

    #[test]
    fn real_mnli_textfooler_sample() {
        let Some(data) = data_dir() else { return };
        let path = data.join("mnli_matched/mnli_matched.part1.tsv");
        let s = GlueSettings { task: GlueTask::Mnli, layout: GlueLayout::LabelPremiseHypothesis };
        let l = Glue::load(&s, Path::new("."), &request(std::slice::from_ref(&path), BadRows::Error)).unwrap();
        assert_eq!(l.label_names, ["entailment", "neutral", "contradiction"]);
        assert_eq!((l.counts.read, l.examples.len()), (500, 500));
        assert_eq!(label_counts(&l), [182, 149, 169]);
        assert_eq!(l.examples[0].id, "0");
        assert_eq!(l.examples[0].label, 0);
        assert!(l.examples[0].segments[0].starts_with("In Temple Bar , the bookshop"), "{:?}", l.examples[0]);
        assert_eq!(l.examples[2].segments, ["Impossible .", "Impossible , unless circumstances are met ."]);
        // Read with the default header layout, the missing header is explained.
        let e = message(load(GlueTask::Mnli, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:1:", path.display())) && e.contains("no column `sentence1`"), "{e}");
        assert!(e.contains("label-premise-hypothesis"), "{e}");
    }

    #[test]
    fn mnli_qnli_rte_headers() {
        let dir = TempDir::new("glue-nli");
        let mnli = dir.file(
            "mnli.tsv",
            "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label\n\
             0\t31193\t31193n\tgovernment\tA \"quoted\"  premise\tHyp one\tneutral\tneutral\n\
             1\t101457\t101457e\ttelephone\tP2\tH2\tentailment\tentailment\n\
             2\t1\t1c\tfiction\tP3\tH3\tneutral\t-\n\
             3\t2\t2c\tfiction\tP4\tH4\tcontradiction\tcontradiction\n",
        );
        let l = load(GlueTask::Mnli, &[mnli], BadRows::Error).unwrap();
        let got: Vec<(&str, usize)> = l.examples.iter().map(|e| (e.id.as_str(), e.label)).collect();
        assert_eq!(got, [("31193n", 1), ("101457e", 0), ("2c", 2)]);
        assert_eq!(l.examples[0].segments, ["A \"quoted\"  premise", "Hyp one"]);
        assert_eq!((l.counts.read, l.counts.unlabelled), (4, 1));
        // Without `pairID`, `index` is the id.
        let mnli = dir.file("mnli2.tsv", "index\tsentence1\tsentence2\tgold_label\n7\tP\tH\tcontradiction\n");
        let l = load(GlueTask::Mnli, &[mnli], BadRows::Error).unwrap();
        assert_eq!(l.examples[0].id, "7");
        let qnli = dir
            .file("qnli.tsv", "index\tquestion\tsentence\tlabel\n0\tQ?\tS.\tnot_entailment\n1\tQ2?\tS2.\tentailment\n");
        let l = load(GlueTask::Qnli, &[qnli], BadRows::Error).unwrap();
        assert_eq!(l.label_names, ["entailment", "not_entailment"]);
        assert_eq!(l.examples[0].segments, ["Q?", "S."]);
        assert_eq!(label_counts(&l), [1, 1]);
        let rte =
            dir.file("rte.tsv", "index\tsentence1\tsentence2\tlabel\r\n0\tA\tB\tentailment\r\n1\tC\tD\tnot_entailment");
        let l = load(GlueTask::Rte, &[rte], BadRows::Error).unwrap();
        assert_eq!(l.examples[1].segments, ["C", "D"]);
        assert_eq!(l.examples[1].label, 1);
        assert_eq!(l.examples[0].label, 0);
    }

    #[test]
    fn malformed_rows() {
        let dir = TempDir::new("glue-bad");
        let path = dir
            .file("bad.tsv", "sentence\tlabel\ngood \t1\ntoo\tmany\tfields\nunknown \t2\nno label\nfine \t0\nhalf\t\n");
        let e = message(load(GlueTask::Sst2, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:3:", path.display())) && e.contains("expected 2 tab-separated fields"), "{e}");
        let l = load(GlueTask::Sst2, std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (6, 4));
        let got: Vec<(&str, usize)> = l.examples.iter().map(|e| (e.id.as_str(), e.label)).collect();
        // Row-index ids stay those of the file's data rows.
        assert_eq!(got, [("0", 1), ("4", 0)]);
        let path = dir.file("label.tsv", "sentence\tlabel\nx\tpositive\n");
        let e = message(load(GlueTask::Sst2, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", path.display())) && e.contains("unknown label `positive`"), "{e}");
        let path = dir.file("mrpc.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t\t5\ta\tb\n");
        let e = message(load(GlueTask::Mrpc, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", path.display())) && e.contains("empty id"), "{e}");
        let path = dir.file("mnli.tsv", "label\tpremise\n");
        let s = GlueSettings { task: GlueTask::Mnli, layout: GlueLayout::LabelPremiseHypothesis };
        let path2 = dir.file("tf.tsv", "neutral\tP\tH\nentailment\tonly two\nmaybe\tP\tH\n");
        let e = message(Glue::load(&s, Path::new("."), &request(std::slice::from_ref(&path2), BadRows::Error)));
        assert!(e.contains(&format!("{}:2:", path2.display())) && e.contains("expected 3"), "{e}");
        let l = Glue::load(&s, Path::new("."), &request(&[path2, path], BadRows::Skip)).unwrap();
        assert_eq!((l.counts.read, l.counts.bad, l.examples.len()), (4, 3, 1));
    }

    #[test]
    fn missing_column_lists_the_header() {
        let dir = TempDir::new("glue-col");
        let path = dir.file("qqp.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tlabel\n1\t2\t3\ta\tb\t0\n");
        let e = message(load(GlueTask::Qqp, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&path.display().to_string()) && e.contains("no column `is_duplicate`"), "{e}");
        assert!(e.contains("`id`, `qid1`, `qid2`, `question1`, `question2`, `label`"), "{e}");
    }

    #[test]
    fn duplicate_ids_bom_crlf_and_several_files() {
        let dir = TempDir::new("glue-dup");
        let head = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n";
        let path = dir.file("dup.tsv", format!("{head}1\t1\t2\ta\tb\t0\n2\t1\t2\ta\tb\t0\n1\t1\t2\tc\td\t1\n"));
        let e = message(load(GlueTask::Qqp, std::slice::from_ref(&path), BadRows::Skip));
        assert!(
            e.contains(&path.display().to_string())
                && e.contains("`1`")
                && e.contains("line 2")
                && e.contains("line 4"),
            "{e}"
        );
        let a = dir.file("a.tsv", "\u{feff}sentence\tlabel\r\nfirst \t0\r\nsecond \t1\r\n");
        let b = dir.file("b.tsv", "sentence\tlabel\nthird \t1");
        let l = load(GlueTask::Sst2, &[a, b], BadRows::Error).unwrap();
        let ids: Vec<&str> = l.examples.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2"]);
        assert_eq!(l.examples[1].segments, ["second "]);
        assert_eq!(l.examples[2].segments, ["third "]);
        let a = dir.file("a2.tsv", format!("{head}1\t1\t2\ta\tb\t0\n"));
        let b = dir.file("b2.tsv", format!("{head}1\t1\t2\ta\tb\t0\n"));
        let e = message(load(GlueTask::Qqp, &[a.clone(), b.clone()], BadRows::Error));
        assert!(e.contains(&format!("{}:2", a.display())) && e.contains(&format!("{}:2", b.display())), "{e}");
    }

    #[test]
    fn empty_files_and_missing_files() {
        let dir = TempDir::new("glue-empty");
        let empty = dir.file("empty.tsv", "");
        let e = message(load(GlueTask::Sst2, std::slice::from_ref(&empty), BadRows::Error));
        assert!(e.contains(&empty.display().to_string()) && e.contains("header"), "{e}");
        let header_only = dir.file("header.tsv", "sentence\tlabel\n");
        let e = message(load(GlueTask::Sst2, std::slice::from_ref(&header_only), BadRows::Error));
        assert!(e.contains("no labelled example in") && e.contains(&header_only.display().to_string()), "{e}");
        let missing = dir.0.join("missing.tsv");
        let e = message(load(GlueTask::Sst2, std::slice::from_ref(&missing), BadRows::Error));
        assert!(e.contains(&missing.display().to_string()), "{e}");
    }

    #[test]
    fn settings_are_checked() {
        let s: GlueSettings = parse_settings(&json!({"task": "sst2"})).unwrap();
        assert_eq!((s.task, s.layout), (GlueTask::Sst2, GlueLayout::Header));
        let s: GlueSettings = parse_settings(&json!({"task": "mnli", "layout": "label-premise-hypothesis"})).unwrap();
        assert_eq!(s.layout, GlueLayout::LabelPremiseHypothesis);
        Glue::validate(&s, Path::new(".")).unwrap();
        let e = parse_settings::<GlueSettings>(&json!({"task": "sst2", "colums": 1})).unwrap_err();
        assert_eq!(e.path, ["colums"]);
        let e = parse_settings::<GlueSettings>(&json!({})).unwrap_err();
        assert_eq!(e.path, ["task"]);
        let e = parse_settings::<GlueSettings>(&json!({"task": "cola"})).unwrap_err();
        assert_eq!(e.path, ["task"]);
        let s = GlueSettings { task: GlueTask::Sst2, layout: GlueLayout::LabelPremiseHypothesis };
        let e = Glue::validate(&s, Path::new(".")).unwrap_err();
        assert_eq!(e.path, ["layout"]);
        assert!(DatasetLoaderEntry::find("glue").is_some());
    }
}
