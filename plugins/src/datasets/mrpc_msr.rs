//! `mrpc-msr`: the Microsoft Research Paraphrase Corpus in Microsoft's own distribution
//! files, `msr_paraphrase_train.txt` and `msr_paraphrase_test.txt` (Dolan, Quirk & Brockett,
//! 2004/2005; <https://www.microsoft.com/en-us/download/details.aspx?id=52398>).
//!
//! Format: a header `Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String`, then one
//! pair per line. The files start with a UTF-8 BOM and the sentences contain `"`, so lines
//! are split on tabs with no CSV quoting. Ids (`{#1 ID}-{#2 ID}`) and labels
//! (`Quality` 0/1 → `not_equivalent`, `equivalent`) are those of the `glue` loader's
//! `mrpc` task, so both loaders agree on the same pair.
//!
//! GLUE's MRPC dev split is 408 pairs taken *out of* the MSR training file (GLUE's
//! `dev_ids.tsv`). To train on GLUE's train split and evaluate on its dev split, load the
//! MSR training file with `exclude_ids` pointing at `dev_ids.tsv`: the listed pairs are
//! dropped and counted as excluded (4,076 − 408 = 3,668 pairs).

use super::common::{IdTracker, Loc, TsvHeader, lines, no_examples, owned, read_file, reject, resolve};
use anyhow::anyhow;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use trustx_framework::data::{Example, RowCounts};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::dataset::{BadRowGate, DatasetLoader, DatasetLoaderEntry, LoadRequest, Loaded};

/// Label names, indexed by `Example::label` (`Quality` 0 and 1), as in GLUE MRPC.
pub const LABELS: [&str; 2] = ["not_equivalent", "equivalent"];

/// Columns read, by header name.
const QUALITY: &str = "Quality";
const ID1: &str = "#1 ID";
const ID2: &str = "#2 ID";
const STRING1: &str = "#1 String";
const STRING2: &str = "#2 String";

/// Settings of the `mrpc-msr` loader.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MrpcMsrSettings {
    /// Optional headerless file of `#1 ID<TAB>#2 ID` lines (GLUE's `dev_ids.tsv`), relative
    /// to the manifest's folder; the listed pairs are dropped from every split and counted
    /// as excluded. Set it when loading `msr_paraphrase_train.txt` as a training split that
    /// must not contain GLUE's MRPC dev pairs. Default: none.
    #[serde(default)]
    pub exclude_ids: Option<PathBuf>,
}

/// Loader of Microsoft's MRPC distribution files.
pub struct MrpcMsr;

impl DatasetLoader for MrpcMsr {
    type Settings = MrpcMsrSettings;
    const NAME: &'static str = "mrpc-msr";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "MRPC as Microsoft ships it (msr_paraphrase_*.txt), with optional exclusion of GLUE's dev ids";

    fn validate(settings: &MrpcMsrSettings, base_dir: &Path) -> Result<(), SettingsError> {
        if let Some(p) = &settings.exclude_ids {
            let path = resolve(base_dir, p);
            if !path.is_file() {
                return Err(SettingsError::at(
                    "exclude_ids",
                    format!(
                        "{} does not exist (or is not a file); give the path of GLUE's `dev_ids.tsv`, relative to the manifest's folder",
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn load(settings: &MrpcMsrSettings, base_dir: &Path, request: &LoadRequest) -> anyhow::Result<Loaded> {
        let exclude = match &settings.exclude_ids {
            Some(p) => read_exclude_ids(&resolve(base_dir, p))?,
            None => HashSet::new(),
        };
        let mut gate = BadRowGate::new(request.on_bad_rows);
        let mut counts = RowCounts::default();
        let mut ids = IdTracker::default();
        let mut examples = Vec::new();
        for path in request.paths {
            let bytes = read_file(path)?;
            let lines = lines(&bytes);
            let Some(((header_line, header), rows)) = lines.split_first() else {
                return Err(anyhow!("{}: empty file; expected the header `{QUALITY}\t{ID1}\t...`", path.display()));
            };
            let header = header
                .as_ref()
                .map_err(|e| anyhow!("{}:{header_line}: the header is not valid UTF-8 ({e})", path.display()))?;
            let header = TsvHeader::parse(header);
            let need = |name: &str| header.require(path, *header_line, name, "");
            let (q, i1, i2, s1, s2) = (need(QUALITY)?, need(ID1)?, need(ID2)?, need(STRING1)?, need(STRING2)?);
            for (line_no, line) in rows {
                counts.read += 1;
                let loc = Loc::Line(*line_no);
                let row = match line {
                    Ok(line) => parse_row(line, header.len(), [q, i1, i2, s1, s2]),
                    Err(e) => Err(format!("not valid UTF-8 ({e})")),
                };
                let (id, label, segments) = match row {
                    Ok(row) => row,
                    Err(what) => {
                        reject(&mut gate, request.on_bad_rows, path, loc, what)?;
                        continue;
                    }
                };
                if exclude.contains(&id) {
                    counts.excluded += 1;
                    continue;
                }
                ids.insert(&id, path, loc)?;
                examples.push(Example { id, segments, label });
            }
        }
        counts.bad = gate.skipped;
        if examples.is_empty() {
            return Err(no_examples(request.paths, &counts));
        }
        Ok(Loaded { examples, label_names: owned(&LABELS), counts })
    }
}

inventory::submit! { DatasetLoaderEntry::of::<MrpcMsr>() }

/// Parses one data line into `(id, label, segments)` given the header's width and the
/// indices of Quality, #1 ID, #2 ID, #1 String, #2 String.
fn parse_row(line: &str, width: usize, cols: [usize; 5]) -> Result<(String, usize, Vec<String>), String> {
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() != width {
        return Err(format!("expected {width} tab-separated fields as in the header, found {}", fields.len()));
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    let [q, i1, i2, s1, s2] = cols;
    let quality = field(q).trim();
    let label = match quality {
        "0" => 0,
        "1" => 1,
        other => {
            return Err(format!("unknown label `{other}` in column `{QUALITY}` (expected 0 or 1)"));
        }
    };
    let (a, b) = (field(i1).trim(), field(i2).trim());
    if a.is_empty() || b.is_empty() {
        return Err(format!("empty `{ID1}` or `{ID2}`"));
    }
    Ok((format!("{a}-{b}"), label, vec![field(s1).to_string(), field(s2).to_string()]))
}

/// Reads a headerless `#1 ID<TAB>#2 ID` file into ids `{#1 ID}-{#2 ID}`. A malformed line
/// is an error whatever `on_bad_rows` says: this file is configuration, not data.
fn read_exclude_ids(path: &Path) -> anyhow::Result<HashSet<String>> {
    let bytes = read_file(path).map_err(|e| anyhow!("`exclude_ids`: {e}"))?;
    let mut out = HashSet::new();
    for (line_no, line) in lines(&bytes) {
        let bad = || anyhow!("{}:{line_no}: expected `#1 ID<TAB>#2 ID` (exclude_ids)", path.display());
        let line = line.map_err(|_| bad())?;
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        match fields.as_slice() {
            [a, b] if !a.is_empty() && !b.is_empty() => out.insert(format!("{a}-{b}")),
            _ => return Err(bad()),
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::{TempDir, data_dir, label_counts, message, request};
    use super::super::glue::{Glue, GlueLayout, GlueSettings, GlueTask};
    use super::*;
    use serde_json::json;
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::parse_settings;

    const HEAD: &str = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";

    fn load(exclude: Option<&str>, base: &Path, paths: &[PathBuf], policy: BadRows) -> anyhow::Result<Loaded> {
        let s = MrpcMsrSettings { exclude_ids: exclude.map(PathBuf::from) };
        MrpcMsr::load(&s, base, &request(paths, policy))
    }

    #[test]
    fn real_train_file_with_and_without_dev_ids() {
        let Some(data) = data_dir() else { return };
        let train = data.join("mrpc/msr_paraphrase_train.txt");
        let all = load(None, &data, std::slice::from_ref(&train), BadRows::Error).unwrap();
        assert_eq!(all.label_names, ["not_equivalent", "equivalent"]);
        assert_eq!((all.counts.read, all.counts.excluded, all.examples.len()), (4076, 0, 4076));
        assert_eq!(label_counts(&all), [1323, 2753]);
        let first = &all.examples[0];
        assert_eq!(first.id, "702876-702977");
        assert_eq!(first.label, 1);
        assert_eq!(
            first.segments[0],
            "Amrozi accused his brother, whom he called \"the witness\", of deliberately distorting his evidence."
        );

        // `exclude_ids` is resolved against the manifest's folder.
        let glue_train = load(Some("mrpc/dev_ids.tsv"), &data, &[train], BadRows::Error).unwrap();
        assert_eq!((glue_train.counts.read, glue_train.counts.excluded), (4076, 408));
        assert_eq!(glue_train.examples.len(), 3668);
        assert_eq!(label_counts(&glue_train), [1194, 2474]);

        let settings = GlueSettings { task: GlueTask::Mrpc, layout: GlueLayout::Header };
        let dev_paths = [data.join("mrpc/dev.tsv")];
        let dev = Glue::load(&settings, &data, &request(&dev_paths, BadRows::Error)).unwrap();
        assert_eq!(dev.label_names, glue_train.label_names);
        let train_ids: HashSet<&str> = glue_train.examples.iter().map(|e| e.id.as_str()).collect();
        let all_ids: HashSet<&str> = all.examples.iter().map(|e| e.id.as_str()).collect();
        assert!(dev.examples.iter().all(|e| !train_ids.contains(e.id.as_str())));
        assert!(dev.examples.iter().all(|e| all_ids.contains(e.id.as_str())));
        // The two loaders agree on the pairs they share: same texts, same label.
        let by_id: std::collections::HashMap<&str, &Example> =
            all.examples.iter().map(|e| (e.id.as_str(), e)).collect();
        for e in &dev.examples {
            assert_eq!(by_id.get(e.id.as_str()), Some(&e), "{}", e.id);
        }
    }

    #[test]
    fn malformed_rows_and_bom() {
        let dir = TempDir::new("mrpc-bad");
        let path = dir.file(
            "train.txt",
            format!(
                "\u{feff}{HEAD}1\t1\t2\ta \"b\"\tc\r\n2\t3\t4\tx\ty\n0\t5\t6\tonly four\n0\t\t8\tx\ty\n0\t9\t10\tp\tq"
            ),
        );
        let e = message(load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:3:", path.display())) && e.contains("unknown label `2`"), "{e}");
        let l = load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Skip).unwrap();
        assert_eq!((l.counts.read, l.counts.bad), (5, 3));
        let got: Vec<(&str, usize)> = l.examples.iter().map(|e| (e.id.as_str(), e.label)).collect();
        assert_eq!(got, [("1-2", 1), ("9-10", 0)]);
        assert_eq!(l.examples[0].segments, ["a \"b\"", "c"]);
    }

    #[test]
    fn duplicates_missing_columns_and_empty_files() {
        let dir = TempDir::new("mrpc-dup");
        let path = dir.file("dup.txt", format!("{HEAD}1\t1\t2\ta\tb\n0\t3\t4\tc\td\n0\t1\t2\te\tf\n"));
        let e = message(load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Skip));
        assert!(
            e.contains(&path.display().to_string())
                && e.contains("`1-2`")
                && e.contains("line 2")
                && e.contains("line 4"),
            "{e}"
        );
        let path = dir.file("cols.txt", "Quality\t#1 ID\t#2 ID\t#1 String\n1\t1\t2\ta\n");
        let e = message(load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:1:", path.display())) && e.contains("no column `#2 String`"), "{e}");
        let path = dir.file("empty.txt", "");
        let e = message(load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&path.display().to_string()), "{e}");
        let path = dir.file("header.txt", HEAD);
        let e = message(load(None, Path::new("."), std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains("no labelled example in") && e.contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn exclusion_file() {
        let dir = TempDir::new("mrpc-exclude");
        let path = dir.file("train.txt", format!("{HEAD}1\t1\t2\ta\tb\n0\t3\t4\tc\td\n"));
        dir.file("ids.tsv", "\u{feff}3\t4\r\n");
        let l = load(Some("ids.tsv"), &dir.0, std::slice::from_ref(&path), BadRows::Error).unwrap();
        assert_eq!((l.counts.read, l.counts.excluded, l.examples.len()), (2, 1, 1));
        dir.file("all.tsv", "1\t2\n3\t4\n");
        let e = message(load(Some("all.tsv"), &dir.0, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains("no labelled example") && e.contains("2 excluded"), "{e}");
        let bad = dir.file("bad.tsv", "1\t2\n3 4\n");
        let e = message(load(Some("bad.tsv"), &dir.0, std::slice::from_ref(&path), BadRows::Error));
        assert!(e.contains(&format!("{}:2:", bad.display())), "{e}");
        let e = message(load(Some("missing.tsv"), &dir.0, &[path], BadRows::Error));
        assert!(e.contains("missing.tsv"), "{e}");
    }

    #[test]
    fn settings_and_validation() {
        let dir = TempDir::new("mrpc-settings");
        dir.file("ids.tsv", "1\t2\n");
        let s: MrpcMsrSettings = parse_settings(&json!({})).unwrap();
        assert!(s.exclude_ids.is_none());
        MrpcMsr::validate(&s, &dir.0).unwrap();
        let s: MrpcMsrSettings = parse_settings(&json!({"exclude_ids": "ids.tsv"})).unwrap();
        MrpcMsr::validate(&s, &dir.0).unwrap();
        let s: MrpcMsrSettings = parse_settings(&json!({"exclude_ids": "nope.tsv"})).unwrap();
        let e = MrpcMsr::validate(&s, &dir.0).unwrap_err();
        assert_eq!(e.path, ["exclude_ids"]);
        assert!(e.message.contains("does not exist") && e.message.contains("nope.tsv"), "{}", e.message);
        let e = parse_settings::<MrpcMsrSettings>(&json!({"exclude": "ids.tsv"})).unwrap_err();
        assert_eq!(e.path, ["exclude"]);
        assert!(DatasetLoaderEntry::find("mrpc-msr").is_some());
    }
}
