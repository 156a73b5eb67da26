//! Waiting for a run's jobs: a look at the queue every few seconds, a line per node when its
//! state changes (`queued`, `waiting`, `running`, `done`, `FAILED` with its job id and the end of
//! its log), until no job of the
//! run is queued or running. Ctrl-C asks whether to cancel the jobs or to leave them running
//! (detach); without a terminal to ask on, it detaches.

use super::cluster;
use super::jobs::JobBook;
use super::view::{NodeView, views};
use crate::exec::executor::Previous;
use crate::plan::Plan;
use crate::store::Store;
use anyhow::Result;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// No job of the run is queued or running.
    Finished,
    /// The user detached: the jobs go on without trustx.
    Detached,
    /// The user cancelled the run's jobs.
    Cancelled,
}

/// What the watcher looks at.
pub struct Watcher<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The store.
    pub store: &'a Store,
    /// The run's jobs.
    pub book: &'a JobBook,
    /// Seconds between looks.
    pub poll: Duration,
    /// Print a line per change.
    pub lines: bool,
}

/// The first line of a node's state, as the watcher and `trustx run` print it.
pub fn line(name: &str, view: &NodeView) -> String {
    let word = match view {
        NodeView::Failed { .. } => "FAILED",
        v => v.word(),
    };
    format!("{word:<7} {name:<40} {}", view.detail())
}

impl Watcher<'_> {
    /// Waits until no job of the book is queued or running, the user detaches, or cancels.
    pub fn wait(&self) -> Result<WaitEnd> {
        let interrupted = Arc::new(AtomicBool::new(false));
        let hook = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone()).ok();
        let end = self.wait_until(&interrupted);
        if let Some(id) = hook {
            signal_hook::low_level::unregister(id);
        }
        end
    }

    fn wait_until(&self, interrupted: &AtomicBool) -> Result<WaitEnd> {
        let mut shown: Vec<Option<String>> = vec![None; self.plan.nodes.len()];
        let mut failures = 0;
        loop {
            let queue = match cluster::queue() {
                Ok(q) => {
                    failures = 0;
                    q
                }
                // A busy controller may time out now and then; give up after a few minutes.
                Err(e) if failures < 20 => {
                    failures += 1;
                    tracing::warn!("squeue failed ({e:#}); trying again");
                    self.sleep(interrupted);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let all = views(self.plan, self.store, &Previous::new(), Some(self.book), Some(&queue));
            let mut live = 0;
            for (i, view) in all.iter().enumerate() {
                let node = &self.plan.nodes[i];
                let Some(entry) = self.book.jobs.get(&node.key) else { continue };
                if entry.collected && !view.live() {
                    continue;
                }
                live += usize::from(view.live());
                let now = line(&node.name, view);
                if self.lines && shown[i].as_deref() != Some(now.as_str()) {
                    println!("{now}");
                    // A failed job's error is in its log, not on this terminal: show its end.
                    if let NodeView::Failed { tail, .. } = view {
                        for l in tail {
                            println!("        | {}", crate::snippet::printable(l));
                        }
                    }
                    shown[i] = Some(now);
                }
            }
            std::io::stdout().flush().ok();
            if live == 0 {
                return Ok(WaitEnd::Finished);
            }
            if self.sleep(interrupted) {
                return self.ask(&all);
            }
        }
    }

    /// Sleeps one poll interval; true when Ctrl-C came.
    fn sleep(&self, interrupted: &AtomicBool) -> bool {
        let step = Duration::from_millis(100);
        let mut slept = Duration::ZERO;
        while slept < self.poll {
            if interrupted.load(Ordering::Relaxed) {
                return true;
            }
            std::thread::sleep(step);
            slept += step;
        }
        interrupted.load(Ordering::Relaxed)
    }

    /// After Ctrl-C: cancel the jobs, or detach.
    fn ask(&self, all: &[NodeView]) -> Result<WaitEnd> {
        let jobs: Vec<String> = all.iter().filter(|v| v.live()).filter_map(|v| v.job().map(str::to_string)).collect();
        let cancel = if std::io::stdin().is_terminal() {
            eprint!(
                "\n{} jobs are queued or running. Cancel them (c) or leave them running and detach (d)? [d] ",
                jobs.len()
            );
            std::io::stderr().flush().ok();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer).ok();
            answer.trim().eq_ignore_ascii_case("c")
        } else {
            false
        };
        if cancel {
            cluster::cancel(&jobs)?;
            eprintln!("cancelled {} jobs", jobs.len());
            Ok(WaitEnd::Cancelled)
        } else {
            eprintln!(
                "detached: the jobs go on; `trustx status MANIFEST` shows them, `trustx run MANIFEST` collects them"
            );
            Ok(WaitEnd::Detached)
        }
    }
}
