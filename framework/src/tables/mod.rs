//! Tables: polars frames for every result, their Parquet/CSV files, and cross-seed aggregation.

pub mod bootstrap;
pub mod io;
pub mod summary;
