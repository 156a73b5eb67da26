//! The executor: runs the nodes the store does not hold, in dependency order, independent
//! ones in parallel; a failed node fails only its descendants. `run.json` records the run.

pub mod cpu_time;
pub mod executor;
pub mod progress;
pub mod run_record;

pub use executor::{NodeReport, Status, execute};
pub use run_record::{RunCounts, RunRecord};
