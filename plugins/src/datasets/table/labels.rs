//! How the `table` loader's label values become class indices (see the module doc of the
//! loader: integer labels, names from `labels`, or the sorted distinct values).

use super::file::FileData;
use super::{MAX_DEFAULT_CLASSES, TableSettings};
use std::collections::BTreeSet;

/// How label values become class indices.
pub(super) struct LabelMap {
    pub(super) names: Vec<String>,
    /// Whether the names were given in the settings.
    given: bool,
    /// Every file's label column is numeric.
    numeric: bool,
}

impl LabelMap {
    pub(super) fn new(settings: &TableSettings, files: &[FileData]) -> Self {
        let numeric = files.iter().all(|f| f.numeric_label);
        let values = || files.iter().flat_map(|f| f.label.iter().flatten()).map(|v| v.trim());
        match &settings.labels {
            Some(names) => {
                LabelMap { names: names.iter().map(|n| n.trim().to_string()).collect(), given: true, numeric }
            }
            None if numeric => {
                let classes = values()
                    .filter_map(|v| class_index(v).ok())
                    .filter(|&i| i < MAX_DEFAULT_CLASSES)
                    .max()
                    .map_or(0, |m| m + 1);
                LabelMap { names: (0..classes).map(|i| i.to_string()).collect(), given: false, numeric }
            }
            None => {
                let distinct: BTreeSet<&str> = values().filter(|v| !v.is_empty()).collect();
                LabelMap { names: distinct.into_iter().map(str::to_string).collect(), given: false, numeric }
            }
        }
    }

    /// The class index of a (trimmed) label value.
    pub(super) fn index(&self, value: &str, numeric_file: bool) -> Result<usize, String> {
        if self.numeric && numeric_file {
            let i = class_index(value)?;
            if i < self.names.len() {
                Ok(i)
            } else if self.given {
                Err(format!(
                    "label {value} is out of range: `labels` names {} classes (0..{})",
                    self.names.len(),
                    self.names.len()
                ))
            } else {
                Err(format!(
                    "label {value} is too large for a class index (at most {}); list the label names in `labels`",
                    MAX_DEFAULT_CLASSES - 1
                ))
            }
        } else {
            self.names.iter().position(|n| n == value).ok_or_else(|| {
                let known = self.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                format!("unknown label `{value}` (label names are {known})")
            })
        }
    }
}

/// A numeric label value (`3`, `3.0`) as a class index.
pub(super) fn class_index(value: &str) -> Result<usize, String> {
    if let Ok(i) = value.parse::<usize>() {
        return Ok(i);
    }
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u32::MAX as f64 => Ok(f as usize),
        _ => Err(format!("label `{value}` is not a class index (a non-negative integer)")),
    }
}
