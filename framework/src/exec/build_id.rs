//! The identity of the running trustx binary: its version and the blake3 of its file.
//!
//! A cluster job records the build that submitted it and `trustx node run` refuses to run
//! under another one, so a binary rebuilt or upgraded while jobs wait in the queue cannot mix
//! results of two builds in one store (the version alone does not change between rebuilds).

use std::sync::OnceLock;

/// `<version>+<first 16 hex digits of the executable's blake3>`, e.g. `0.1.0+3f2a…`; the
/// version alone when the executable cannot be read.
pub fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let version = env!("CARGO_PKG_VERSION");
        let hash = std::env::current_exe().ok().and_then(|exe| {
            let mut hasher = blake3::Hasher::new();
            hasher.update_reader(std::fs::File::open(&exe).ok()?).ok()?;
            Some(hasher.finalize().to_hex()[..16].to_string())
        });
        match hash {
            Some(h) => format!("{version}+{h}"),
            None => version.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_version_and_the_executable() {
        let id = super::build_id();
        let (version, hash) = id.split_once('+').expect(id);
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        assert_eq!(hash.len(), 16);
    }
}
