//! Examples and datasets: the rows every stage works on.
//!
//! A dataset loader plugin turns files into [`Example`]s; the framework then caps and
//! subsamples them ([`sample`]) and stores each split as a Parquet table ([`table`]).

pub mod sample;
pub mod table;

use serde::{Deserialize, Serialize};

/// One labelled input: a single text, or a pair such as premise + hypothesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Identifier, unique within its split (the dataset's own id, or the 0-based row index).
    pub id: String,
    /// One segment for single-text tasks, two for pair tasks.
    pub segments: Vec<String>,
    /// Index into the dataset's label names.
    pub label: usize,
}

/// What became of the rows a loader did not keep, by reason (for the report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// Rows read from the files (data rows, headers excluded).
    pub read: usize,
    /// Rows skipped because the dataset says they have no label (SNLI's `-`).
    pub unlabelled: usize,
    /// Malformed rows skipped under `on_bad_rows = "skip"`.
    pub bad: usize,
    /// Rows dropped by an explicit exclusion (e.g. GLUE dev ids removed from MSR train).
    pub excluded: usize,
    /// Rows dropped by the row cap / subsampling.
    pub capped: usize,
    /// Rows kept.
    pub kept: usize,
}

/// One split (train or eval) as loaded: its examples and the row accounting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// The examples, in file order (or subsample order, which is file order too).
    pub examples: Vec<Example>,
    /// Row accounting, reported with the results.
    pub counts: RowCounts,
}

/// A dataset: its label names and its splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Display name (e.g. `sst2`).
    pub name: String,
    /// Label names, indexed by `Example::label`.
    pub label_names: Vec<String>,
    /// The split models are fine-tuned on, when the manifest declares one.
    pub train: Option<Split>,
    /// The split every model is evaluated and explained on.
    pub eval: Split,
}

/// What a loader does with a malformed row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// Stop with an error naming the file and line (default).
    #[default]
    Error,
    /// Skip the row and count it; the count reaches the report.
    Skip,
}
