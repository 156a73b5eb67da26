//! Helpers shared by the dataset loaders: reading a text file (gzip detected by its magic
//! bytes, UTF-8 BOM stripped), splitting it into 1-based physical lines (CRLF tolerated,
//! trailing empty lines ignored), tab-separated headers, duplicate-id tracking, bad-row
//! locations and the "no labelled example" error.

use anyhow::{Result, anyhow};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use trustx_framework::data::{BadRows, RowCounts};
use trustx_framework::plugin::dataset::BadRowGate;
use trustx_framework::snippet::snippet;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads a whole file; gzip data (recognised by its magic bytes, whatever the extension)
/// is decompressed. Errors name the path.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    if raw.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| anyhow!("cannot decompress {} (gzip): {e}", path.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The lines of a file's bytes as `(1-based line number, line)`: a leading UTF-8 BOM is
/// dropped, a trailing `\r` is cut from every line, and empty lines at the very end (a
/// final newline, or blank last lines) are left out. A line that is not valid UTF-8 comes
/// back as `Err` so the loader can report it as a bad row.
pub(crate) fn lines(bytes: &[u8]) -> Vec<(usize, Result<&str, std::str::Utf8Error>)> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut out: Vec<(usize, Result<&str, std::str::Utf8Error>)> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (i + 1, std::str::from_utf8(line))
        })
        .collect();
    while matches!(out.last(), Some((_, Ok("")))) {
        out.pop();
    }
    out
}

/// Resolves a path from a loader's settings against the manifest's folder.
pub(crate) fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() { path.to_path_buf() } else { base_dir.join(path) }
}

/// Where a row is: a physical line of a text file, or a 1-based data row of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    /// 1-based physical line.
    Line(usize),
    /// 1-based data row (Parquet, JSON lines read as a table).
    Row(usize),
}

/// `file:LINE` or `file: row N`.
pub(crate) struct At<'a>(pub &'a Path, pub Loc);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Loc::Line(n) => write!(f, "{}:{n}", self.0.display()),
            Loc::Row(n) => write!(f, "{}: row {n}", self.0.display()),
        }
    }
}

/// Reports a malformed row through the gate: an error naming the location under
/// `on_bad_rows = "error"`, a count under `skip`. Lines go straight to
/// [`BadRowGate::reject`]; table rows get the same message with `file: row N`.
pub(crate) fn reject(
    gate: &mut BadRowGate,
    policy: BadRows,
    file: &Path,
    loc: Loc,
    what: impl fmt::Display,
) -> Result<()> {
    match (loc, policy) {
        (Loc::Line(n), _) | (Loc::Row(n), BadRows::Skip) => gate.reject(file, n, what),
        (Loc::Row(_), BadRows::Error) => Err(anyhow!(
            "{}: {what} (fix the row, or set `on_bad_rows = \"skip\"` in [dataset] to skip and count such rows)",
            At(file, loc)
        )),
    }
}

/// Remembers where each id was seen so a duplicate can name both places.
#[derive(Debug, Default)]
pub(crate) struct IdTracker {
    files: Vec<PathBuf>,
    seen: HashMap<String, (usize, Loc)>,
}

/// What [`IdTracker::first_seen`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The id is new (it is now remembered).
    New,
    /// The id was seen in the same file.
    SameFile,
    /// The id was seen in an earlier file.
    EarlierFile,
}

impl IdTracker {
    /// Records `id` at `file`/`loc`; an id seen before is an error naming the id and both
    /// places.
    pub(crate) fn insert(&mut self, id: &str, file: &Path, loc: Loc) -> Result<()> {
        match self.first_seen(id, file, loc) {
            Seen::New => Ok(()),
            Seen::SameFile | Seen::EarlierFile => Err(self.duplicate_error(id, file, loc)),
        }
    }

    /// Records `id` if it is new; otherwise says whether it was seen in this file or an
    /// earlier one (the caller decides; see [`IdTracker::duplicate_error`]).
    pub(crate) fn first_seen(&mut self, id: &str, file: &Path, loc: Loc) -> Seen {
        let file_index = match self.files.iter().position(|f| f == file) {
            Some(i) => i,
            None => {
                self.files.push(file.to_path_buf());
                self.files.len() - 1
            }
        };
        match self.seen.entry(id.to_string()) {
            Entry::Vacant(v) => {
                v.insert((file_index, loc));
                Seen::New
            }
            Entry::Occupied(o) if o.get().0 == file_index => Seen::SameFile,
            Entry::Occupied(_) => Seen::EarlierFile,
        }
    }

    /// The error for a duplicate `id` found at `file`/`loc`.
    pub(crate) fn duplicate_error(&self, id: &str, file: &Path, loc: Loc) -> anyhow::Error {
        let first = self.seen.get(id).and_then(|&(fi, first)| self.files.get(fi).map(|f| (f, first)));
        match first {
            Some((first_file, first_loc)) if first_file == file => anyhow!(
                "{}: duplicate id `{id}` (first at {}, again at {}); ids must be unique within a split",
                file.display(),
                describe(first_loc),
                describe(loc)
            ),
            Some((first_file, first_loc)) => anyhow!(
                "duplicate id `{id}`: at {} and again at {}; ids must be unique within a split",
                At(first_file, first_loc),
                At(file, loc)
            ),
            None => anyhow!("{}: duplicate id `{id}`", At(file, loc)),
        }
    }
}

fn describe(loc: Loc) -> String {
    match loc {
        Loc::Line(n) => format!("line {n}"),
        Loc::Row(n) => format!("row {n}"),
    }
}

/// The error for a split that produced no example.
pub(crate) fn no_examples(paths: &[PathBuf], counts: &RowCounts) -> anyhow::Error {
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let files = if files.is_empty() { "(no file given)".to_string() } else { files.join(", ") };
    anyhow!(
        "no labelled example in {files} ({} rows read: {} unlabelled, {} malformed and skipped, {} excluded)",
        counts.read,
        counts.unlabelled,
        counts.bad,
        counts.excluded
    )
}

/// A tab-separated header row: column names, looked up by exact name.
#[derive(Debug, Clone)]
pub(crate) struct TsvHeader {
    names: Vec<String>,
}

impl TsvHeader {
    /// Splits a header line on tabs (names are trimmed of surrounding whitespace).
    pub(crate) fn parse(line: &str) -> Self {
        TsvHeader { names: line.split('\t').map(|n| n.trim().to_string()).collect() }
    }

    /// Number of columns.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The index of column `name`, if present.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The index of column `name`, or an error naming the file and listing the header.
    pub(crate) fn require(&self, file: &Path, line: usize, name: &str, hint: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            if self.names.len() == 1 {
                // One column: not a tab-separated file at all (or the wrong file); its first
                // line is not quoted, it may be anything.
                return anyhow!(
                    "{}:{line}: the first line has no tab, so this is not a tab-separated file with a header \
                     (a column `{name}` is needed){hint}; check the path",
                    file.display()
                );
            }
            const SHOWN: usize = 12;
            let mut names: Vec<String> =
                self.names.iter().take(SHOWN).map(|n| format!("`{}`", snippet(n, 40))).collect();
            if self.names.len() > SHOWN {
                names.push(format!("and {} more", self.names.len() - SHOWN));
            }
            anyhow!(
                "{}:{line}: the header has no column `{name}` (header columns are: {}){hint}",
                file.display(),
                names.join(", ")
            )
        })
    }
}

/// Label names as owned strings.
pub(crate) fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Test helpers: the shared data folder, temporary files, requests and label counts.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use trustx_framework::data::BadRows;
    use trustx_framework::plugin::dataset::{LoadRequest, Loaded};

    /// `../shared/data`, or `None` (after saying so) when it is absent.
    pub(crate) fn data_dir() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("skipping: ../shared/data not found");
            None
        }
    }

    /// A temporary folder removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        /// A new, empty, uniquely named folder under the system temp dir.
        pub(crate) fn new(tag: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("trustx-datasets-{}-{tag}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        /// Writes `name` in the folder and returns its path.
        pub(crate) fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// An eval request over `paths`.
    pub(crate) fn request(paths: &[PathBuf], on_bad_rows: BadRows) -> LoadRequest<'_> {
        LoadRequest { split: "eval", paths, on_bad_rows }
    }

    /// How many examples carry each label.
    pub(crate) fn label_counts(loaded: &Loaded) -> Vec<usize> {
        let mut counts = vec![0; loaded.label_names.len()];
        for e in &loaded.examples {
            counts[e.label] += 1;
        }
        counts
    }

    /// The error message with its causes.
    pub(crate) fn message<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
        format!("{:#}", r.unwrap_err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_strip_bom_crlf_and_trailing_empty_lines() {
        let l = lines(b"\xef\xbb\xbfa\r\nb\n\nc\r\n\r\n");
        let got: Vec<(usize, &str)> = l.into_iter().map(|(n, s)| (n, s.unwrap())).collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
        let l = lines(b"x\ny");
        assert_eq!(l.len(), 2);
        assert!(lines(b"").is_empty());
        assert!(lines(b"\xef\xbb\xbf").is_empty());
        let l = lines(b"ok\n\xff\xfe\n");
        assert!(l[1].1.is_err());
    }

    #[test]
    fn read_file_names_a_missing_path_and_gunzips() {
        let e = read_file(Path::new("/nonexistent/trustx/x.tsv")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/trustx/x.tsv"), "{e}");
        let dir = testutil::TempDir::new("common");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"hello\n").unwrap();
        let path = dir.file("plain.txt", gz.finish().unwrap());
        assert_eq!(read_file(&path).unwrap(), b"hello\n");
        let path = dir.file("bad.gz", [0x1f, 0x8b, 0, 1, 2]);
        let e = read_file(&path).unwrap_err().to_string();
        assert!(e.contains("bad.gz") && e.contains("gzip"), "{e}");
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        let mut ids = IdTracker::default();
        let a = Path::new("a.tsv");
        let b = Path::new("b.tsv");
        ids.insert("x", a, Loc::Line(2)).unwrap();
        let e = ids.insert("x", a, Loc::Line(5)).unwrap_err().to_string();
        assert!(e.contains("a.tsv") && e.contains("line 2") && e.contains("line 5") && e.contains("`x`"), "{e}");
        let e = ids.insert("x", b, Loc::Row(3)).unwrap_err().to_string();
        assert!(e.contains("a.tsv:2") && e.contains("b.tsv: row 3"), "{e}");
        assert_eq!(ids.first_seen("y", b, Loc::Line(1)), Seen::New);
        assert_eq!(ids.first_seen("y", b, Loc::Line(2)), Seen::SameFile);
        assert_eq!(ids.first_seen("y", a, Loc::Line(9)), Seen::EarlierFile);
    }

    #[test]
    fn every_loader_is_registered_with_documented_settings() {
        use trustx_framework::plugin::dataset::DatasetLoaderEntry;
        let entries: Vec<&DatasetLoaderEntry> = trustx_framework::inventory::iter::<DatasetLoaderEntry>().collect();
        assert!(entries.len() >= 5, "{} loaders registered", entries.len());
        for entry in entries {
            let name = entry.info.name;
            let version: u32 = entry.info.version.parse().unwrap_or_else(|_| panic!("{name} version is not a number"));
            assert!(version >= 1, "{name} version {version}");
            assert!(!entry.info.summary.is_empty() && !entry.info.summary.contains('\n'));
            for doc in entry.info.settings() {
                assert!(!doc.description.is_empty(), "{name}.{} has no doc", doc.key);
            }
        }
        let glue = DatasetLoaderEntry::find("glue").unwrap().info.settings();
        let task = glue.iter().find(|d| d.key == "task").unwrap();
        assert_eq!(task.default, None);
        assert!(task.ty.contains("\"mnli\""), "{}", task.ty);
        let layout = glue.iter().find(|d| d.key == "layout").unwrap();
        assert_eq!(layout.default, Some(serde_json::json!("header")));
        let sst = DatasetLoaderEntry::find("sst").unwrap().info.settings();
        assert_eq!(sst[0].default, Some(serde_json::json!(true)));
        let table = DatasetLoaderEntry::find("table").unwrap().info.settings();
        let text = table.iter().find(|d| d.key == "text").unwrap();
        assert_eq!(text.default, Some(serde_json::json!("text")));
    }

    #[test]
    fn table_rows_are_named_as_rows() {
        let mut gate = BadRowGate::new(BadRows::Error);
        let e = reject(&mut gate, BadRows::Error, Path::new("t.parquet"), Loc::Row(4), "null text")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.parquet: row 4: null text"), "{e}");
        let mut gate = BadRowGate::new(BadRows::Skip);
        reject(&mut gate, BadRows::Skip, Path::new("t.parquet"), Loc::Row(4), "null text").unwrap();
        assert_eq!(gate.skipped, 1);
    }
}
