//! trustx-framework: the engine of trustx.
//!
//! A manifest ([`manifest`]) is validated against the plugin registries ([`plugin`]) and
//! expanded into a DAG of content-keyed nodes ([`plan`]). The executor ([`exec`]) runs the
//! nodes the store ([`store`]) does not already hold, stage by stage ([`stages`]), and the
//! results become polars tables ([`tables`]) and a report ([`report`]). BERT and DistilBERT
//! classifiers loaded from Hugging Face folders live in [`model`]; a model any other process serves, over the JSON-lines protocol,
//! in [`served`]. This crate never
//! names a plugin: built-in plugins live in `trustx-plugins` and register through `inventory`.

pub mod calibration;
pub mod data;
pub mod explain;
pub mod model;
pub mod plugin;
pub mod predictions;
pub mod served;
pub mod snippet;
pub mod tables;
pub mod templates;

pub use anyhow;
pub use burn;
pub use inventory;
pub use polars;
pub use schemars;
pub use serde;
pub use serde_json;
pub mod cli;
pub mod commands;
pub mod exec;
pub mod manifest;
pub mod plan;
pub mod report;
pub mod runner;
pub mod stages;
pub mod store;
