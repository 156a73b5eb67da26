//! Dataset loader plugins: one file per file format.

mod common;
pub mod glue;
pub mod mrpc_msr;
pub mod snli;
pub mod sst;
pub mod table;
