//! This machine's name and whether a process of it is alive: what a lock file or a
//! temporary folder records so that another host (or a later run) can tell whose it is.

/// The host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether process `pid` of this host is alive (Linux: its `/proc` entry exists; elsewhere
/// every process counts as alive, so nothing is taken over by mistake).
pub fn pid_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_has_a_host() {
        assert!(pid_alive(std::process::id()));
        assert!(!hostname().is_empty());
        // Linux pids stay below 2^22 (pid_max); this one never exists.
        assert!(!pid_alive(u32::MAX - 1));
    }
}
