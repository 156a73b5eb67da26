//! The results folder is a boundary: nothing trustx writes below it follows a symbolic link
//! out of it.
//!
//! The results folder itself may be a link (results kept on another disk is a user's choice),
//! but a link *inside* it — a `tables/` pointing at a user's folder, a `.lock` pointing at a
//! user's file — is someone else's file, and writing through it would overwrite that file.
//! [`check_within`] refuses such a path before a write, naming the link; files are created with
//! `O_EXCL` (see [`super::write_atomic`]) and the lock is opened with `O_NOFOLLOW`, so a link
//! planted between the check and the write is refused by the kernel too.

use anyhow::{Result, bail};
use std::path::{Component, Path};

/// Fails when a component of `path` below `root` (the results folder, which may itself be a
/// link) is a symbolic link; components that do not exist yet are fine. `path` outside `root`
/// is refused as well.
pub fn check_within(root: &Path, path: &Path) -> Result<()> {
    let Ok(rest) = path.strip_prefix(root) else {
        bail!("{} is outside the results folder {}; trustx writes only inside it", path.display(), root.display());
    };
    let mut at = root.to_path_buf();
    for part in rest.components() {
        match part {
            Component::Normal(name) => at.push(name),
            Component::CurDir => continue,
            _ => bail!(
                "{} leaves the results folder {} (it holds `..` or a root); trustx writes only inside it",
                path.display(),
                root.display()
            ),
        }
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&at).map(|t| format!(" (to {})", t.display())).unwrap_or_default();
                bail!(
                    "{} is a symbolic link{target} inside the results folder {}; trustx does not write through \
                     links there, so it would not overwrite what the link points at. Remove the link (to keep \
                     results elsewhere, make the results folder itself the link) and run again",
                    at.display(),
                    root.display()
                );
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("trustx-boundary-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn plain_and_missing_paths_pass() {
        let root = temp("plain");
        std::fs::create_dir_all(root.join("tables")).unwrap();
        check_within(&root, &root.join("tables/x.parquet")).unwrap();
        check_within(&root, &root.join("not/yet/there.json")).unwrap();
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn a_link_inside_is_refused_by_name_and_the_root_may_be_a_link() {
        let base = temp("links");
        let real = base.join("real");
        let outside = base.join("outside");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, real.join("tables")).unwrap();
        let err = check_within(&real, &real.join("tables/a.csv")).unwrap_err().to_string();
        assert!(err.contains("tables is a symbolic link") && err.contains("outside"), "{err}");
        symlink(outside.join("victim"), real.join(".lock")).unwrap();
        assert!(check_within(&real, &real.join(".lock")).is_err());
        let root_link = base.join("root-link");
        symlink(&real, &root_link).unwrap();
        check_within(&root_link, &root_link.join("run.json")).unwrap();
        assert!(check_within(&real, &base.join("elsewhere.json")).is_err());
        assert!(check_within(&real, &real.join("../x")).is_err());
        std::fs::remove_dir_all(base).ok();
    }
}
