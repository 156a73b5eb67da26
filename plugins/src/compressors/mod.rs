//! Compressor plugins (`[variants.NAME] compressor = "..."`).

pub mod distill;
pub mod layer_drop;
pub mod prune;
pub mod quantize;
