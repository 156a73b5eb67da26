//! The executors: run the nodes the store does not hold, in dependency order; a failed node
//! fails only its descendants. The local one runs them in this process, independent ones in
//! parallel ([`executor`]); the Slurm one submits each as a cluster job ([`slurm`]). Both
//! compute a node through [`run_one`]. `run.json` records the run.

pub mod build_id;
pub mod cpu_time;
pub mod executor;
pub mod progress;
pub mod run_record;
pub mod slurm;

pub use executor::{NodeReport, Status, execute, run_one};
pub use run_record::{RunCounts, RunRecord};
