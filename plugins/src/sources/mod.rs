//! Model source plugins: where a model's predictions come from.

pub mod predictions;
pub mod server;
