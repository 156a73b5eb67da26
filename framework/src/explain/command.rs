//! `trustx explain` (filled in below).
