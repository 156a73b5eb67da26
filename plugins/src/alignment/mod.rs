//! Alignment metric plugins (filled below).
