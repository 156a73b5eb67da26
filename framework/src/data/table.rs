//! Stored dataset splits (filled below).
