//! What an explainer's settings would cost, checked at `validate` so that a setting such as
//! `num_samples = 100000000000` is refused with its key and the estimate instead of aborting
//! the process when the allocation fails.
//!
//! The estimate is per explained example and takes the worst case of the input: at most
//! [`MAX_FEATURES`] words (no model trustx runs sees more tokens). Two limits apply:
//! - **model evaluations** per example, at most [`MAX_EVALUATIONS`] (at about a millisecond
//!   each on a CPU, that is already hours per example);
//! - **memory** for the samples an explainer keeps (masks, texts, probabilities), at most
//!   half the memory the machine has available (`MemAvailable` of `/proc/meminfo`; 8 GiB when it
//!   cannot be read), or `TRUSTX_MEMORY_LIMIT` bytes when set.

use crate::plugin::SettingsError;

/// The most words (features) an input can have: the longest input of the models trustx runs.
pub const MAX_FEATURES: u64 = 512;

/// The most model evaluations one explanation of one example may ask for.
pub const MAX_EVALUATIONS: u64 = 10_000_000;

/// Bytes of memory a kept sample costs at most besides its mask: its text and probabilities.
pub const SAMPLE_OVERHEAD_BYTES: u64 = 4096;

thread_local! {
    /// The manifest's `[experiment] memory_limit` while its plugins are checked.
    static MANIFEST_LIMIT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` (a manifest's plugin checks) with the manifest's `[experiment] memory_limit`, when
/// it sets one, as the limit [`memory_limit`] gives.
pub fn with_memory_limit<T>(limit: Option<u64>, f: impl FnOnce() -> T) -> T {
    let before = MANIFEST_LIMIT.with(|c| c.replace(limit));
    let out = f();
    MANIFEST_LIMIT.with(|c| c.set(before));
    out
}

/// The memory explanations may use: the manifest's `[experiment] memory_limit` (while its
/// plugins are checked, see [`with_memory_limit`]), else `TRUSTX_MEMORY_LIMIT` (bytes) when
/// set, else half the machine's available memory.
pub fn memory_limit() -> u64 {
    if let Some(limit) = MANIFEST_LIMIT.with(std::cell::Cell::get) {
        return limit;
    }
    if let Some(limit) = std::env::var("TRUSTX_MEMORY_LIMIT").ok().and_then(|v| v.trim().parse::<u64>().ok()) {
        return limit;
    }
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    available.unwrap_or(8 << 30) / 2
}

/// Checks `key = value`, which makes an explainer run `evaluations` model evaluations and keep
/// `kept` samples of `bytes_per_sample` bytes per example; `None` when within both limits.
pub fn check(key: &str, value: u64, evaluations: u64, kept: u64, bytes_per_sample: u64) -> Option<SettingsError> {
    if evaluations > MAX_EVALUATIONS {
        return Some(SettingsError::at(
            key,
            format!(
                "{value} asks for up to {evaluations} model evaluations per example, above the limit of \
                 {MAX_EVALUATIONS}; use a smaller value (the defaults are a few thousand)"
            ),
        ));
    }
    let bytes = kept.saturating_mul(bytes_per_sample);
    let limit = memory_limit();
    if bytes > limit {
        return Some(SettingsError::at(
            key,
            format!(
                "{value} would keep up to {} of samples per example, above the memory limit of {} ([experiment] \
                 memory_limit, TRUSTX_MEMORY_LIMIT, or half the available memory); use a smaller value",
                human_bytes(bytes),
                human_bytes(limit)
            ),
        ));
    }
    None
}

/// `bytes` as `12.3 GB`-style text.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", units[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluations_and_memory_beyond_the_limits_are_refused_with_the_key() {
        assert!(check("num_samples", 5000, 5000, 5000, 8192).is_none());
        let e = check("num_samples", 100_000_000_000, 100_000_000_000, 1, 1).unwrap();
        assert_eq!(e.path, vec!["num_samples"]);
        assert!(e.message.contains("model evaluations"), "{}", e.message);
        let e = check("num_samples", 1000, 1000, u64::MAX / 2, 8).unwrap();
        assert!(e.message.contains("memory limit"), "{}", e.message);
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(3_200_000_000_000), "3.2 TB");
    }
}
