//! Checks a data file named in a manifest before anything reads it: it must be a readable,
//! regular file and not a system file (`/proc`, `/sys`, `/dev`), so that a mistyped path fails
//! at `validate` and a path such as `/proc/self/environ` is never read into an error message
//! or `run.json`.

use std::path::Path;

/// Folders whose files are the system's, never a user's data.
const SYSTEM_FOLDERS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// What is wrong with `full` as a data file, or `None` when it can be read.
pub fn problem(full: &Path) -> Option<String> {
    let resolved = std::fs::canonicalize(full).unwrap_or_else(|_| full.to_path_buf());
    if let Some(folder) = SYSTEM_FOLDERS.iter().find(|f| resolved.starts_with(f)) {
        return Some(format!(
            "{} is a system file under {folder}, not a data file; give the path of your data",
            full.display()
        ));
    }
    let meta = match std::fs::metadata(full) {
        Ok(m) => m,
        Err(_) => {
            return Some(format!("{} does not exist (paths resolve against the manifest's folder)", full.display()));
        }
    };
    if !meta.is_file() {
        return Some(format!("{} is not a regular file; give the path of a data file", full.display()));
    }
    if let Err(e) = std::fs::File::open(full) {
        return Some(format!("{} cannot be read ({e}); check its permissions", full.display()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_files_folders_and_missing_files_are_named() {
        assert!(problem(Path::new("/proc/self/environ")).unwrap().contains("system file under /proc"));
        assert!(problem(Path::new("/dev/null")).unwrap().contains("system file"));
        assert!(problem(&std::env::temp_dir()).unwrap().contains("not a regular file"));
        assert!(problem(Path::new("/no/such/file.tsv")).unwrap().contains("does not exist"));
        let file = std::env::temp_dir().join(format!("trustx-data-path-{}.tsv", std::process::id()));
        std::fs::write(&file, "sentence\tlabel\n").unwrap();
        assert_eq!(problem(&file), None);
        std::fs::remove_file(file).ok();
    }
}
