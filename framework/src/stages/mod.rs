//! Stage implementations: what each kind of node computes from its inputs.

pub mod aggregate;
pub mod alignment;
pub mod alignment_tables;
pub mod calibration;
pub mod compress;
pub mod data;
pub mod evaluate;
pub mod explain;
pub mod explain_imported;
pub mod explained_set;
pub mod flipped_examples;
pub mod highlights;
pub mod instance;
pub mod neural;
pub mod predict;
pub mod report;
pub mod similarity;
pub mod train;

pub use crate::tables::summary::alignment as alignment_summary;

use crate::exec::progress::Progress;
use crate::plan::{Plan, Task};
use crate::store::{NodeWriter, Store};
use anyhow::Result;

/// What a stage sees: the plan (its node's config, place and inputs), the store, and the
/// manifest's folder and file — never the manifest's settings, so that a node's key covers
/// everything it reads.
pub struct RunContext<'a> {
    /// The manifest's folder, against which the paths in node configs resolve.
    pub base_dir: &'a std::path::Path,
    /// The manifest file (named in errors that ask the user to fix a setting).
    pub manifest: &'a std::path::Path,
    /// The plan.
    pub plan: &'a Plan,
    /// The store (inputs are read from it).
    pub store: &'a Store,
    /// The run's progress bars (long nodes add their own).
    pub progress: &'a Progress,
}

impl RunContext<'_> {
    /// The manifest's folder, against which the paths in node configs resolve: where
    /// things are on this host, not what they are (their content hashes are in the keys).
    pub fn base_dir(&self) -> &std::path::Path {
        self.base_dir
    }

    /// The key of input `n` of node `i`.
    pub fn input_key(&self, i: usize, n: usize) -> &str {
        &self.plan.nodes[self.plan.nodes[i].inputs[n]].key
    }
}

/// Computes node `i` into `w`.
pub fn run_node(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    match &ctx.plan.nodes[i].task {
        Task::Data => data::run(ctx, i, w),
        Task::Train { .. } => train::run(ctx, i, w),
        Task::Compress { .. } => compress::run(ctx, i, w),
        Task::Predict { .. } => predict::run(ctx, i, w),
        Task::Calibration { .. } => calibration::run(ctx, i, w),
        Task::Similarity { .. } => similarity::run(ctx, i, w),
        Task::Explain { .. } => explain::run(ctx, i, w),
        Task::Alignment { .. } => alignment::run_alignment(ctx, i, w),
        Task::Floor { .. } => alignment::run_floor(ctx, i, w),
        Task::Aggregate => aggregate::run(ctx, i, w),
        Task::Report => report::run(ctx, i, w),
    }
}
