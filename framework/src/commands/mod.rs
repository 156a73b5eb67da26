//! Commands that work on one model rather than a manifest: `trustx model inspect`,
//! `trustx model export` and `trustx bench` (forward and training speed; `--explain`: the
//! explanation workload). Commands about one manifest's nodes: `trustx node run` (one node,
//! what a cluster job runs), `trustx status` and `trustx cancel`.

pub mod bench;
pub mod bench_explain;
pub mod export;
pub mod inspect;
pub mod node;
pub mod status;
