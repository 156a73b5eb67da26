//! Commands besides `run`: those that work on one model (`trustx model inspect`, `trustx
//! model export`, `trustx model quantize`, `trustx bench`, whose `--explain` measures the explanation workload and
//! `--served` explanations through the serving protocol), `trustx report` (a finished run's
//! report again from the store), and those about one manifest's nodes: `trustx node run` (one
//! node, what a cluster job runs), `trustx status` and `trustx cancel`; `trustx show` (the last
//! run's verdict, or two side by side with `--compare`).

pub mod bench;
pub mod bench_explain;
pub mod bench_served;
pub mod bench_sparse;
pub mod compare;
pub mod export;
pub mod gc;
pub mod head;
pub mod init;
pub mod inspect;
pub mod node;
pub mod quantize;
pub mod report;
pub mod show;
pub mod status;
pub mod target;
