//! Progress: one bar per stage and one per long node (indicatif), each naming its node and
//! showing an ETA, drawn only on a terminal; and a line per node that ran, failed or was
//! skipped, printed (and flushed) the moment it finishes, so that `trustx run … > log`
//! shows the run as it goes rather than at exit.

use super::{NodeReport, Status};
use crate::plan::{Plan, Stage};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// The bars of a run.
pub struct Progress {
    bars: BTreeMap<Stage, ProgressBar>,
    tasks: Mutex<BTreeMap<String, ProgressBar>>,
    multi: MultiProgress,
}

impl Progress {
    /// One bar per stage present in the plan; drawn only when `visible` and stdout is a terminal.
    pub fn new(plan: &Plan, visible: bool) -> Self {
        let target = if visible && std::io::stdout().is_terminal() {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} (eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let mut bars = BTreeMap::new();
        for stage in Stage::ALL {
            let n = plan.nodes.iter().filter(|n| n.stage == stage).count();
            if n > 0 {
                let bar = multi.add(ProgressBar::new(n as u64));
                bar.set_style(style.clone());
                bar.set_prefix(stage.as_str());
                bars.insert(stage, bar);
            }
        }
        Progress { bars, tasks: Mutex::new(BTreeMap::new()), multi }
    }

    /// Marks a node of `stage` as started (shows its name).
    pub fn start(&self, stage: Stage, name: &str) {
        if let Some(b) = self.bars.get(&stage) {
            b.set_message(name.to_string());
        }
    }

    /// Marks a node of `stage` as finished and prints its line when it ran, failed or was
    /// skipped ([`node_line`]).
    pub fn finish(&self, stage: Stage, report: &NodeReport) {
        if let Some(b) = self.bars.get(&stage) {
            b.inc(1);
            if b.position() >= b.length().unwrap_or(0) {
                b.finish_with_message("done");
            }
        }
        if let Some(line) = node_line(report) {
            self.println(&line);
        }
    }

    /// Prints a line above the bars (or plainly, without them) and flushes it.
    pub fn println(&self, line: &str) {
        if self.multi.is_hidden() {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        } else {
            let _ = self.multi.println(line);
        }
    }

    /// A bar of its own for a long node (e.g. training steps), under the stage bars; the
    /// node sets its length, position and message.
    pub fn task_bar(&self, name: &str) -> ProgressBar {
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} (eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = self.multi.add(ProgressBar::new(0));
        bar.set_style(style);
        bar.set_prefix(name.to_string());
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.insert(name.to_string(), bar.clone());
        }
        bar
    }

    /// A task bar for node `name` driven by a trainer's or compressor's [`TrainTick`]s
    /// (steps, total, message).
    ///
    /// [`TrainTick`]: crate::plugin::training::TrainTick
    pub fn training_ticker(&self, name: &str) -> impl Fn(&crate::plugin::training::TrainTick) + Sync + use<> {
        let bar = self.task_bar(name);
        move |t| {
            bar.set_length(t.total_steps as u64);
            bar.set_position(t.step as u64);
            bar.set_message(t.message.clone());
        }
    }

    /// Removes the bar of [`Progress::task_bar`].
    pub fn clear_task_bar(&self, name: &str) {
        if let Some(bar) = self.tasks.lock().ok().and_then(|mut t| t.remove(name)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// The line of a node that ran (`ran     NAME  1.23 s  (why)`), failed or was skipped;
/// `None` for a cached node.
pub fn node_line(n: &NodeReport) -> Option<String> {
    match n.status {
        Status::Ran => {
            Some(format!("ran     {:<40} {:>8.2} s  ({})", n.name, n.seconds, n.reason.as_deref().unwrap_or("")))
        }
        Status::Failed | Status::Skipped => {
            let what = if n.status == Status::Failed { "FAILED " } else { "skipped" };
            Some(format!("{what} {:<40} {}", n.name, n.error.as_deref().unwrap_or("")))
        }
        Status::Cached => None,
    }
}
