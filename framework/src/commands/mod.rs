//! Commands besides `run`: those that work on one model (`trustx model inspect`, `trustx
//! model export`, `trustx bench`, whose `--explain` measures the explanation workload) and
//! `trustx report`, which renders a finished run's report again from the store.

pub mod bench;
pub mod bench_explain;
pub mod export;
pub mod gc;
pub mod head;
pub mod init;
pub mod inspect;
pub mod report;
pub mod target;
