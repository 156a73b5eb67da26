//! Which output of a classifier is which class of a dataset.
//!
//! A fine-tuned folder's `config.json` names its outputs (`id2label`); a dataset names its
//! classes in its own order. [`class_order`] matches the two by name, case-insensitively,
//! after the manifest's renaming (`labels = { LABEL_0 = "negative", … }` on the model), and
//! [`HfModel::match_labels`] reorders the classification head's rows so that output `d` is
//! the dataset's class `d`: predictions, calibration, agreement and the explained class
//! then all follow the names, never the checkpoint's index order. When the names cannot be
//! matched the error names both lists and the key that fixes it.
//!
//! One exception keeps folders trustx wrote itself before it saved the dataset's names:
//! a `config.json` carrying `trustx_version` whose names are the defaults `LABEL_0 …` was
//! trained by trustx on the dataset's class order, and is taken in index order.

use super::HfModel;
use super::config::default_label_names;
use super::heads::SequenceClassifier;
use anyhow::{Result, bail};
use burn::nn::Linear;
use burn::tensor::{Int, Tensor, TensorData};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The classes a model's outputs must be matched to.
#[derive(Debug, Clone, Copy)]
pub struct LabelTarget<'a> {
    /// The dataset's label names, in class order.
    pub names: &'a [String],
    /// The manifest's renaming of the model's label names to the dataset's (`[models.NAME]
    /// labels`); empty when not given.
    pub mapping: &'a BTreeMap<String, String>,
}

/// For each dataset class `d` (in the dataset's order), the index of the model output that
/// holds it. `index_order_ok`: take the model's outputs in index order when the names do
/// not match (a folder trustx wrote with default names).
pub fn class_order(model: &[String], target: &LabelTarget, index_order_ok: bool) -> Result<Vec<usize>> {
    let dataset = target.names;
    let both = || format!("the model's classes are [{}], the dataset's are [{}]", model.join(", "), dataset.join(", "));
    if model.len() != dataset.len() {
        bail!(
            "the model has {} classes but the dataset has {}: {}; use a checkpoint fine-tuned for this dataset, or fine-tune this one (remove `finetuned = true`)",
            model.len(),
            dataset.len(),
            both()
        );
    }
    let eq = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    for (from, to) in target.mapping {
        if !model.iter().any(|m| eq(m, from)) {
            bail!("`labels` renames `{from}`, which is not a class of the model; {}", both());
        }
        if !dataset.iter().any(|d| eq(d, to)) {
            bail!("`labels` renames `{from}` to `{to}`, which is not a label of the dataset; {}", both());
        }
    }
    let renamed: Vec<&str> = model
        .iter()
        .map(|m| target.mapping.iter().find(|(from, _)| eq(m, from)).map_or(m.as_str(), |(_, to)| to.as_str()))
        .collect();
    let order: Vec<Option<usize>> = dataset
        .iter()
        .map(|d| {
            let hits: Vec<usize> = (0..renamed.len()).filter(|&o| eq(renamed[o], d)).collect();
            (hits.len() == 1).then(|| hits[0])
        })
        .collect();
    if order.iter().all(Option::is_some) {
        return Ok(order.into_iter().flatten().collect());
    }
    if index_order_ok && target.mapping.is_empty() {
        return Ok((0..dataset.len()).collect());
    }
    let example: Vec<String> = model.iter().zip(dataset).map(|(m, d)| format!("{m} = \"{d}\"")).collect();
    bail!(
        "the model's label names do not match the dataset's: {}; matching is by name, case-insensitive (config.json `id2label`). \
         If the names differ, say which is which in the model's manifest section, e.g. `labels = {{ {} }}`",
        both(),
        example.join(", ")
    )
}

/// Whether a model folder's `config.json` was written by trustx with `LABEL_i` names (trained
/// by trustx on the dataset's class order).
fn trustx_default_names(model: &HfModel) -> bool {
    model.config_json.get("trustx_version").is_some() && model.label_names == default_label_names(model.num_labels())
}

impl HfModel {
    /// Matches the model's outputs to the dataset's classes ([`class_order`]): the
    /// classification head's rows are reordered so that output `d` is the dataset's class
    /// `d`, and the label names become the dataset's (what [`HfModel::save_hf`] writes into
    /// `id2label`).
    pub fn match_labels(&mut self, target: &LabelTarget) -> Result<()> {
        let order = class_order(&self.label_names, target, trustx_default_names(self))?;
        if order.iter().enumerate().any(|(d, &o)| d != o) {
            self.network = permute_classes(self.network.clone(), &order);
            self.packed = OnceLock::new();
            tracing::info!(folder = %self.dir.display(), ?order, "classification head reordered to the dataset's classes");
        }
        self.label_names = target.names.to_vec();
        Ok(())
    }

    /// Names the classes of a model whose head was just drawn (no names to match yet):
    /// the dataset's names, in its order. The count must be the model's.
    pub fn name_labels(&mut self, names: &[String]) -> Result<()> {
        if names.len() != self.num_labels() {
            bail!("{} label names for a head of {} classes (internal error)", names.len(), self.num_labels());
        }
        self.label_names = names.to_vec();
        Ok(())
    }
}

/// `network` whose classifier outputs are reordered: new output `d` is old output `order[d]`.
fn permute_classes(network: SequenceClassifier, order: &[usize]) -> SequenceClassifier {
    let reorder = |linear: Linear| -> Linear {
        let device = linear.weight.val().device();
        let idx = || {
            let values: Vec<i64> = order.iter().map(|&o| o as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(values, [order.len()]), &device)
        };
        Linear {
            weight: linear.weight.map(|w| w.select(1, idx())),
            bias: linear.bias.map(|b| b.map(|b| b.select(0, idx()))),
        }
    };
    match network {
        SequenceClassifier::Bert(mut m) => {
            m.classifier = reorder(m.classifier);
            SequenceClassifier::Bert(m)
        }
        SequenceClassifier::DistilBert(mut m) => {
            m.classifier = reorder(m.classifier);
            SequenceClassifier::DistilBert(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn order(model: &[&str], dataset: &[&str], mapping: &[(&str, &str)], trustx: bool) -> Result<Vec<usize>> {
        let mapping: BTreeMap<String, String> = mapping.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let dataset = names(dataset);
        class_order(&names(model), &LabelTarget { names: &dataset, mapping: &mapping }, trustx)
    }

    #[test]
    fn names_match_case_insensitively_in_any_order() {
        assert_eq!(order(&["POSITIVE", "NEGATIVE"], &["negative", "positive"], &[], false).unwrap(), [1, 0]);
        assert_eq!(order(&["negative", "positive"], &["negative", "positive"], &[], false).unwrap(), [0, 1]);
        let nli =
            order(&["CONTRADICTION", "entailment", "Neutral"], &["entailment", "neutral", "contradiction"], &[], false);
        assert_eq!(nli.unwrap(), [1, 2, 0]);
    }

    #[test]
    fn the_mapping_renames_default_names() {
        let m = [("LABEL_0", "positive"), ("label_1", "negative")];
        assert_eq!(order(&["LABEL_0", "LABEL_1"], &["negative", "positive"], &m, false).unwrap(), [1, 0]);
    }

    #[test]
    fn unmatched_names_are_an_error_naming_both_lists() {
        let e = order(&["LABEL_0", "LABEL_1"], &["negative", "positive"], &[], false).unwrap_err().to_string();
        assert!(e.contains("[LABEL_0, LABEL_1]") && e.contains("[negative, positive]"), "{e}");
        assert!(e.contains("labels = { LABEL_0 = \"negative\", LABEL_1 = \"positive\" }"), "{e}");
        let e = order(&["a", "b", "c"], &["negative", "positive"], &[], true).unwrap_err().to_string();
        assert!(e.contains("3 classes") && e.contains("has 2"), "{e}");
        let e = order(&["pos", "pos"], &["negative", "positive"], &[("pos", "positive")], false).unwrap_err();
        assert!(e.to_string().contains("do not match"), "{e}");
        let e = order(&["a", "b"], &["negative", "positive"], &[("c", "positive")], false).unwrap_err();
        assert!(e.to_string().contains("`c`, which is not a class of the model"), "{e}");
        let e = order(&["a", "b"], &["negative", "positive"], &[("a", "good")], false).unwrap_err();
        assert!(e.to_string().contains("`good`, which is not a label of the dataset"), "{e}");
    }

    #[test]
    fn trustx_folders_with_default_names_keep_index_order() {
        assert_eq!(order(&["LABEL_0", "LABEL_1"], &["negative", "positive"], &[], true).unwrap(), [0, 1]);
    }
}
