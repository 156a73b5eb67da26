//! Compression-identified examples (Hooker et al. 2019, "What Do Compressed Deep Neural
//! Networks Forget?"): the examples whose predicted label a compressed model changes. For each
//! compared model, every seed pair the similarity stage compares (the reference's prediction
//! and the model's, same seed) votes; an example is listed when the model's label differs
//! from the reference's in most pairs (more than half), and marked `every seed` when in all.
//! The probabilities are means over the pairs, each of the label the model (or reference)
//! gives most often.

use crate::data::Example;
use crate::predictions::{Predictions, argmax};
use crate::tables::summary::FlippedExample;
use std::collections::HashMap;

/// The label given most often over `rows` (lowest index on ties) and its mean probability.
fn modal(rows: &[&[f64]]) -> (usize, f64) {
    let classes = rows.first().map_or(0, |r| r.len());
    let mut votes = vec![0usize; classes];
    for r in rows {
        votes[argmax(r)] += 1;
    }
    let label = (0..classes).max_by_key(|&c| (votes[c], std::cmp::Reverse(c))).unwrap_or(0);
    let p = rows.iter().map(|r| r[label]).sum::<f64>() / rows.len().max(1) as f64;
    (label, p)
}

/// The compression-identified examples of `model` from its (reference, model) prediction
/// pairs, most often flipped first (then the reference's most confident first, then by id);
/// `examples` gives their texts, `label_names` their labels.
pub fn find(
    model: &str,
    pairs: &[(&Predictions, &Predictions)],
    examples: &[Example],
    label_names: &[String],
) -> Vec<FlippedExample> {
    let Some((first, _)) = pairs.first() else { return Vec::new() };
    let text_of: HashMap<&str, String> = examples.iter().map(|e| (e.id.as_str(), e.segments.join(" ‖ "))).collect();
    let name = |c: usize| label_names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let mut out = Vec::new();
    for (row, id) in first.ids.iter().enumerate() {
        // The same row in every pair: predictions are stored in the data's order.
        if pairs.iter().any(|(a, b)| a.ids.get(row) != Some(id) || b.ids.get(row) != Some(id)) {
            continue;
        }
        let flips = pairs.iter().filter(|(a, b)| argmax(a.row(row)) != argmax(b.row(row))).count();
        if flips * 2 <= pairs.len() {
            continue;
        }
        let (reference_label, reference_p) = modal(&pairs.iter().map(|(a, _)| a.row(row)).collect::<Vec<_>>());
        let (model_label, model_p) = modal(&pairs.iter().map(|(_, b)| b.row(row)).collect::<Vec<_>>());
        out.push(FlippedExample {
            model: model.to_string(),
            example: id.clone(),
            text: text_of.get(id.as_str()).cloned().unwrap_or_default(),
            gold: name(first.labels[row]),
            reference_label: name(reference_label),
            reference_p,
            model_label: name(model_label),
            model_p,
            flips,
            pairs: pairs.len(),
        });
    }
    out.sort_by(|a, b| {
        b.flips.cmp(&a.flips).then(b.reference_p.total_cmp(&a.reference_p)).then(a.example.cmp(&b.example))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(rows: &[[f64; 2]]) -> Predictions {
        Predictions {
            ids: (0..rows.len()).map(|i| format!("e{i}")).collect(),
            labels: vec![1; rows.len()],
            num_classes: 2,
            probs: rows.iter().flatten().copied().collect(),
        }
    }

    #[test]
    fn most_seeds_decide_and_every_seed_comes_first() {
        let reference = preds(&[[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]]);
        // e0 flips in both seeds, e1 in one of two (not most), e2 never.
        let s1 = preds(&[[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]);
        let s2 = preds(&[[0.7, 0.3], [0.2, 0.8], [0.4, 0.6]]);
        let examples: Vec<Example> =
            (0..3).map(|i| Example { id: format!("e{i}"), segments: vec![format!("text {i}")], label: 1 }).collect();
        let names = ["neg".to_string(), "pos".to_string()];
        let found = find("int8", &[(&reference, &s1), (&reference, &s2)], &examples, &names);
        assert_eq!(found.len(), 1);
        let e = &found[0];
        assert_eq!((e.example.as_str(), e.flips, e.pairs, e.text.as_str()), ("e0", 2, 2, "text 0"));
        assert_eq!((e.reference_label.as_str(), e.model_label.as_str(), e.gold.as_str()), ("pos", "neg", "pos"));
        assert!((e.reference_p - 0.9).abs() < 1e-12 && (e.model_p - 0.75).abs() < 1e-12);
        // Three seeds, two flips: most, not every.
        let found = find("int8", &[(&reference, &s1), (&reference, &s1), (&reference, &s2)], &examples, &names);
        assert_eq!(found.iter().map(|e| (e.example.as_str(), e.flips)).collect::<Vec<_>>(), [("e0", 3), ("e1", 2)]);
    }
}
