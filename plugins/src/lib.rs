//! trustx-plugins: the built-in plugins of trustx, one file each, grouped by kind.
//!
//! Every plugin registers itself with `inventory`; linking this crate is enough for the
//! engine to find them. [`link`] exists so a binary can make sure the crate is linked.

pub mod alignment;
pub mod compressors;
pub mod datasets;
pub mod explainers;
pub mod metrics;
pub mod sources;
pub mod trainers;

/// Forces the linker to keep this crate (and so its `inventory` registrations).
pub fn link() {}
