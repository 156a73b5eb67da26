//! Commands that work on one model rather than a manifest: `trustx model inspect`,
//! `trustx model export` and `trustx bench` (forward and training speed; `--explain`: the
//! explanation workload).

pub mod bench;
pub mod bench_explain;
pub mod export;
pub mod head;
pub mod inspect;
