//! Calibration primitives shared by metric plugins and the report: equal-width binning
//! with the (a, b] convention, reliability curves and confidence histograms.

pub mod binning;

pub use binning::{Bin, ReliabilityCurve, bin_index, reliability_curve};
