//! Calibration and calibration-similarity metric plugins, one file each.
