//! A `trustx` binary with a user's own plugin linked in: the built-in plugins plus the
//! `weighted-jaccard` alignment metric of `custom_alignment/weighted_jaccard.rs`.
//!
//! Nothing in the engine names the new metric: its `inventory::submit!` line registers it
//! when the file is compiled into the binary, and from then on it is listed by `trustx
//! plugins`, validated in manifests (unknown settings keys are errors naming the key) and
//! usable in a manifest's alignment metrics list like any built-in metric.
//!
//! ```text
//! cargo run --example custom_alignment -- plugins --kind alignment
//! cargo run --example custom_alignment -- validate experiments/sst2-bow.toml
//! ```
//!
//! Every argument goes to the ordinary `trustx` command line. A project of its own would be
//! a binary crate depending on `trustx-framework`, `trustx-plugins`, `inventory`, `serde`
//! and `schemars`, with this `main`.

#[path = "custom_alignment/weighted_jaccard.rs"]
mod weighted_jaccard;

fn main() -> std::process::ExitCode {
    // Keep the built-in plugins' registrations; this file's own are linked by `mod` above.
    trustx_plugins::link();
    trustx_framework::cli::main()
}
