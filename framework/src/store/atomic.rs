//! Atomic file writes: a temporary file in the same folder, then a rename.
//!
//! The temporary file is created with `O_CREAT | O_EXCL` (`create_new`), which never follows a
//! link planted at its name, and the rename replaces a link at the final name instead of
//! writing through it. Callers writing inside the results folder also check the folders on
//! the way with [`super::check_within`].
//!
//! A fault switch for tests: with `TRUSTX_FAULT_WRITES=N:enospc` (or `N:eio`) in the
//! environment, the Nth atomic write of the process fails with that error after its bytes
//! went to the temporary file, as a full disk or a failing device would; the robustness tests
//! check that the store stays consistent and a rerun completes (`tests/store_faults.rs`).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The environment variable of the write-fault switch.
pub const FAULT_WRITES_ENV: &str = "TRUSTX_FAULT_WRITES";

/// Writes counted for the fault switch.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// `N:enospc` / `N:eio` → (N, errno); anything else disables the switch.
fn parse_fault(spec: &str) -> Option<(u64, i32)> {
    let (n, kind) = spec.split_once(':')?;
    let errno = match kind.trim().to_ascii_lowercase().as_str() {
        "enospc" => libc::ENOSPC,
        "eio" => libc::EIO,
        _ => return None,
    };
    Some((n.trim().parse().ok().filter(|&n| n >= 1)?, errno))
}

/// The injected error for this write, if the switch is set and this is the Nth write.
fn injected_fault() -> Option<std::io::Error> {
    static FAULT: OnceLock<Option<(u64, i32)>> = OnceLock::new();
    let (n, errno) = (*FAULT.get_or_init(|| std::env::var(FAULT_WRITES_ENV).ok().and_then(|s| parse_fault(&s))))?;
    let k = WRITES.fetch_add(1, Ordering::Relaxed) + 1;
    (k == n).then(|| std::io::Error::from_raw_os_error(errno))
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never a
/// part: the bytes go to `.<name>.tmp-<pid>-<n>` beside it, are flushed, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(e) = injected_fault() {
            return Err(e);
        }
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// [`write_atomic`] for a file inside the results folder `root`: refuses (naming the link) when
/// a folder on the way, or the file itself, is a symbolic link below `root`.
pub fn write_within(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    super::check_within(root, path)?;
    write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse() {
        assert_eq!(parse_fault("3:enospc"), Some((3, libc::ENOSPC)));
        assert_eq!(parse_fault(" 1 : EIO"), Some((1, libc::EIO)));
        for bad in ["0:eio", "x:eio", "3", "3:full"] {
            assert_eq!(parse_fault(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = std::env::temp_dir().join(format!("trustx-atomic-{}", std::process::id()));
        let path = dir.join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(dir).ok();
    }
}
