//! The run lock: one `trustx run` writes a results folder at a time.
//!
//! An OS file lock on `results/<experiment>/.lock` (released by the OS when the process
//! dies, so a stale lock from a killed run is simply taken over); the holder's pid is
//! written into the file for the error message.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Held for the duration of a run.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of `results_dir`, or fails saying which process holds it.
    pub fn acquire(results_dir: &Path) -> Result<RunLock> {
        std::fs::create_dir_all(results_dir).with_context(|| format!("creating {}", results_dir.display()))?;
        let path = results_dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                file.read_to_string(&mut holder).ok();
                bail!(
                    "another trustx run (pid {}) is writing {}; wait for it to finish or stop it, then run again",
                    holder.trim(),
                    results_dir.display()
                );
            }
            Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_and_release_frees_it() {
        let dir = std::env::temp_dir().join(format!("trustx-lock-{}", std::process::id()));
        let first = RunLock::acquire(&dir).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        assert!(RunLock::acquire(&dir).is_ok());
        std::fs::remove_dir_all(dir).ok();
    }
}
