//! The experiment manifest: TOML (plus `TRUSTX_` environment and `key=value` command-line overrides) → typed sections →
//! a validated [`Resolved`] manifest whose plugin settings are filled with their defaults.
//!
//! Every error names the manifest file, the line and the dotted key path
//! ([`ManifestError`]); the command line exits with code 2 on them.

pub mod data_path;
pub mod error;
pub mod executor;
pub mod load;
pub mod locate;
pub mod memory_size;
pub mod models;
pub mod overrides;
pub mod results;
pub mod schema;
pub mod validate;
pub mod variants;

pub use error::{ManifestError, ManifestErrors};
pub use executor::{ExecutorKind, SlurmResources, SlurmSpec};
pub use load::{load, load_with};
pub use models::{ModelKind, NeuralInit, NeuralModel, ResolvedModel};
pub use schema::Manifest;
pub use validate::{Resolved, ResolvedExplainer, ResolvedMetric};
