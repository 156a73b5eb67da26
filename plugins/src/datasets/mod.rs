//! Dataset loader plugins: one file per file format.
