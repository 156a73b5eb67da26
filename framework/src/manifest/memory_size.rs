//! `[experiment] memory_limit`: an amount of memory written as bytes (`8000000000`) or with a
//! unit (`"8 GB"`, `"512 MiB"`): kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024.

use serde::{Deserialize, Serialize};

/// An amount of memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Written", into = "u64")]
pub struct MemorySize(pub u64);

/// How the manifest may write it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Bytes(u64),
    Text(String),
}

impl From<MemorySize> for u64 {
    fn from(m: MemorySize) -> u64 {
        m.0
    }
}

impl TryFrom<Written> for MemorySize {
    type Error = String;

    fn try_from(w: Written) -> Result<Self, String> {
        match w {
            Written::Bytes(0) => Err("a memory limit of 0 bytes leaves nothing to run with".into()),
            Written::Bytes(b) => Ok(MemorySize(b)),
            Written::Text(t) => parse(&t).map(MemorySize),
        }
    }
}

/// `"8 GB"`, `"512MiB"`, `"1000000"` → bytes.
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let value: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not an amount of memory; write bytes (8000000000) or with a unit (\"8 GB\", \"512 MiB\")")
    })?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}; use B, kB, MB, GB, TB or KiB, MiB, GiB, TiB")),
    };
    let bytes = value * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("{text:?} is not a usable amount of memory"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("8 GB"), Ok(8_000_000_000));
        assert_eq!(parse("512MiB"), Ok(512 << 20));
        assert_eq!(parse("1.5 kB"), Ok(1500));
        assert_eq!(parse("42"), Ok(42));
        assert!(parse("lots").is_err() && parse("3 parsecs").is_err() && parse("0").is_err());
        let m: MemorySize =
            toml::from_str::<std::collections::BTreeMap<String, MemorySize>>("x = \"2 GiB\"").unwrap()["x"];
        assert_eq!(m, MemorySize(2 << 30));
    }
}
