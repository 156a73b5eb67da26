//! Commands that work on one model rather than a manifest: `trustx model inspect`,
//! `trustx model export` and `trustx bench`.

pub mod bench;
pub mod export;
pub mod inspect;
