//! The run lock: one `trustx run` writes a results folder at a time, across the hosts that
//! share it.
//!
//! Two layers on `results/<experiment>/.lock`:
//! - an OS file lock, released by the OS when the process dies, so a lock left by a killed
//!   run on the same host is simply taken over;
//! - the holder's host, pid and a heartbeat (seconds since the epoch, rewritten every
//!   [`HEARTBEAT_SECONDS`]) written into the file, because OS locks are not always shared
//!   between hosts on network filesystems. A lock naming another host is respected while its
//!   heartbeat is younger than [`STALE_SECONDS`]; an older one is stale (its run died with its
//!   host, or the host lost the filesystem) and is taken over with a warning. A lock naming
//!   this host with a dead pid is stale at once.

use super::host;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the holder rewrites its heartbeat.
pub const HEARTBEAT_SECONDS: u64 = 20;
/// A lock of another host whose heartbeat is older than this is stale and taken over.
pub const STALE_SECONDS: u64 = 120;

/// What the lock file says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// Last heartbeat, seconds since the Unix epoch.
    pub heartbeat: u64,
}

/// Held for the duration of a run; the heartbeat stops when it is dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Holder {
    fn me() -> Holder {
        Holder { host: host::hostname(), pid: std::process::id(), heartbeat: now() }
    }

    /// Why this holder's lock still stands, or `None` when it is stale.
    fn alive(&self, me: &Holder) -> Option<String> {
        if self.host == me.host {
            return (self.pid != me.pid && host::pid_alive(self.pid)).then(|| "it is alive".to_string());
        }
        let age = me.heartbeat.saturating_sub(self.heartbeat);
        (age < STALE_SECONDS).then(|| format!("its heartbeat is {age} s old, under {STALE_SECONDS} s"))
    }
}

impl RunLock {
    /// Takes the lock of `results_dir`, or fails saying which process on which host holds it.
    pub fn acquire(results_dir: &Path) -> Result<RunLock> {
        std::fs::create_dir_all(results_dir).with_context(|| format!("creating {}", results_dir.display()))?;
        let path = results_dir.join(".lock");
        super::check_within(results_dir, &path)?;
        // O_NOFOLLOW: a link planted at `.lock` after the check is refused by the kernel.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .with_context(|| format!("opening {} (trustx does not open it through a symbolic link)", path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok();
        let previous = serde_json::from_str::<Holder>(&text).ok();
        let me = Holder::me();
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let who =
                    previous.map(|h| format!("pid {} on {}", h.pid, h.host)).unwrap_or_else(|| text.trim().into());
                bail!(
                    "another trustx run ({who}) is writing {}; wait for it to finish or stop it, then run again",
                    results_dir.display()
                );
            }
            Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        if let Some(holder) = &previous {
            match holder.alive(&me) {
                Some(why) => bail!(
                    "another trustx run (pid {} on {}) holds {} ({why}); wait for it to finish or stop it. \
                     If that host is gone, the lock is taken over once its heartbeat is {STALE_SECONDS} s old",
                    holder.pid,
                    holder.host,
                    path.display()
                ),
                None if holder.host != me.host => tracing::warn!(
                    "taking over the stale run lock of pid {} on {} (no heartbeat for {} s)",
                    holder.pid,
                    holder.host,
                    me.heartbeat.saturating_sub(holder.heartbeat)
                ),
                None => {}
            }
        }
        write_holder(&mut file, &me)?;
        let stop = Arc::new(AtomicBool::new(false));
        let beat = (path.clone(), stop.clone());
        std::thread::spawn(move || heartbeat(&beat.0, &beat.1));
        Ok(RunLock { _file: file, path, stop })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A released lock names no holder (a pid of this host may be reused later).
        if let Ok(file) = OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(&self.path) {
            file.set_len(0).ok();
        }
    }
}

fn write_holder(file: &mut File, holder: &Holder) -> Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(&serde_json::to_vec(holder)?)?;
    file.flush()?;
    Ok(())
}

/// Rewrites the heartbeat every [`HEARTBEAT_SECONDS`] until `stop`.
fn heartbeat(path: &Path, stop: &AtomicBool) {
    let step = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        waited += step;
        if waited.as_secs() >= HEARTBEAT_SECONDS {
            waited = Duration::ZERO;
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if let Ok(mut file) = OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(path) {
                write_holder(&mut file, &Holder::me()).ok();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trustx-lock-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        d
    }

    #[test]
    fn second_lock_fails_and_release_frees_it() {
        let dir = temp("a");
        let first = RunLock::acquire(&dir).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        assert!(RunLock::acquire(&dir).is_ok());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn another_hosts_live_lock_is_respected_and_a_stale_one_taken_over() {
        let dir = temp("b");
        std::fs::create_dir_all(&dir).unwrap();
        let other = |heartbeat| Holder { host: "elsewhere-node17".into(), pid: 4242, heartbeat };
        std::fs::write(dir.join(".lock"), serde_json::to_vec(&other(now())).unwrap()).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains("pid 4242 on elsewhere-node17") && err.contains("heartbeat"), "{err}");
        std::fs::write(dir.join(".lock"), serde_json::to_vec(&other(now() - STALE_SECONDS - 5)).unwrap()).unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        let holder: Holder = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
        assert_eq!((holder.host, holder.pid), (host::hostname(), std::process::id()));
        drop(lock);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_lock_that_is_a_link_is_refused_and_its_target_untouched() {
        let dir = temp("d");
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.with_extension("victim");
        std::fs::write(&victim, b"user data").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(".lock")).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains(".lock is a symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"user data");
        std::fs::remove_dir_all(dir).ok();
        std::fs::remove_file(victim).ok();
    }

    #[test]
    fn a_dead_process_of_this_host_leaves_a_stale_lock() {
        let dir = temp("c");
        std::fs::create_dir_all(&dir).unwrap();
        let dead = Holder { host: host::hostname(), pid: u32::MAX - 1, heartbeat: now() };
        std::fs::write(dir.join(".lock"), serde_json::to_vec(&dead).unwrap()).unwrap();
        assert!(RunLock::acquire(&dir).is_ok());
        std::fs::remove_dir_all(dir).ok();
    }
}
