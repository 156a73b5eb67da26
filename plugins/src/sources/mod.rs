//! Model source plugins: where a model's predictions come from.

pub mod attributions_file;
pub mod predictions;
pub mod server;
