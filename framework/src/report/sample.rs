//! A realistic synthetic [`Summary`] (an SNLI-like audit of a BERT reference and two
//! compressed variants, two explainers, K = 5/10/20, highlights) for the report's unit tests
//! and the headless-browser test, which renders it through the same code path as a run.
//! Not used by runs.

use crate::calibration::binning::{Bin, ReliabilityCurve};
use crate::data::RowCounts;
use crate::manifest::schema::VerdictRule;
use crate::plan::verdict_rules::{Comparison, Margin, VerdictRules};
use crate::tables::summary::DatasetMeta;
use crate::tables::summary::ModelCard;
use crate::tables::summary::alignment::{
    AlignmentAggregate, ExampleHighlight, FaithfulnessAggregate, FloorValue, HighlightedWord, ModelHighlight,
};
use crate::tables::summary::{AggregateRow, ModelSummary, Summary};
use std::collections::BTreeMap;

/// A margin of the sample's rules.
pub fn margin(metric: &str, threshold: f64, comparison: Comparison) -> Margin {
    let missing = match metric.strip_prefix("delta-") {
        Some(name) => format!("add `{name}` to [calibration] metrics"),
        None => format!("add `{metric}` to [calibration] similarity"),
    };
    Margin { metric: metric.into(), threshold, comparison, missing }
}

/// The first table's metric columns as the bundled metric plugins declare them (the plugins
/// crate's tests check that they still do).
pub fn overview_columns() -> crate::plugin::overview_column::OverviewColumns {
    use crate::plugin::overview_column::{Column, OverviewColumns};
    let column = |heading: &str, metrics: &[&str]| Column {
        heading: heading.into(),
        metrics: metrics.iter().map(|m| m.to_string()).collect(),
    };
    OverviewColumns {
        quality: vec![column("accuracy", &["accuracy"])],
        comparison: vec![
            column("ΔECE", &["delta-ece"]),
            column("agreement", &["agreement"]),
            column("flips: correct→wrong / wrong→correct", &["flips-correct-to-wrong", "flips-wrong-to-correct"]),
            column("JS divergence", &["js-divergence"]),
        ],
    }
}

/// The verdict rules the sample is judged by in tests: top-k-jaccard@10 ≥ 0.7, the plugins'
/// default margins (|ΔECE| ≤ 0.02, confidence-tv ≤ 0.1, agreement ≥ 0.95), `explainers`,
/// under `rule` (α = 0.025, the default 95% intervals).
pub fn rules(explainers: &[&str], rule: VerdictRule) -> VerdictRules {
    VerdictRules {
        threshold: 0.7,
        k: 10,
        alignment_metric: "top-k-jaccard".into(),
        margins: vec![
            margin("delta-ece", 0.02, Comparison::AbsAtMost),
            margin("confidence-tv", 0.1, Comparison::AtMost),
            margin("agreement", 0.95, Comparison::AtLeast),
        ],
        faithfulness_gap: None,
        explainers: explainers.iter().map(|e| e.to_string()).collect(),
        rule,
        alpha: 0.025,
    }
}

/// Comprehensiveness and sufficiency of each model's LIME explanations.
fn faithfulness() -> Vec<FaithfulnessAggregate> {
    let row = |model: &str, metric: &str, mean: f64| FaithfulnessAggregate {
        model: model.into(),
        explainer: "lime".into(),
        metric: metric.into(),
        mean,
        std: Some(0.01),
        ci_low: Some(mean - 0.02),
        ci_high: Some(mean + 0.02),
        runs: 3,
        examples: 100,
    };
    vec![
        row("bert-base", "comprehensiveness", 0.41),
        row("bert-base", "sufficiency", 0.08),
        row("bert-int8", "comprehensiveness", 0.39),
        row("bert-int8", "sufficiency", 0.09),
        row("bert-tiny", "comprehensiveness", 0.22),
        row("bert-tiny", "sufficiency", 0.19),
    ]
}

/// A reliability curve over 10 bins from per-bin counts and accuracies; the mean confidence
/// of a bin is its midpoint.
pub fn curve(counts: [usize; 10], accuracy: [f64; 10]) -> ReliabilityCurve {
    let bins = (0..10)
        .map(|i| Bin {
            lower: i as f64 / 10.0,
            upper: (i + 1) as f64 / 10.0,
            count: counts[i],
            confidence: (counts[i] > 0).then_some(i as f64 / 10.0 + 0.05),
            accuracy: (counts[i] > 0).then_some(accuracy[i]),
        })
        .collect();
    ReliabilityCurve { bins, total: counts.iter().sum() }
}

fn row(model: &str, metric: &str, mean: f64, half: f64) -> AggregateRow {
    AggregateRow {
        model: model.into(),
        metric: metric.into(),
        mean,
        std: Some(half / 2.0),
        ci_low: Some(mean - half),
        ci_high: Some(mean + half),
        seeds: 3,
    }
}

fn card(model: &str, layers: usize, hidden: usize, parameters: usize, size_mb: f64, ms: f64, bits: u32) -> ModelCard {
    ModelCard {
        model: model.into(),
        model_type: "bert".into(),
        layers,
        hidden,
        heads: hidden / 64,
        parameters,
        size_mb,
        ms_per_example: ms,
        cpu_ms_per_example: Some(1.9 * ms),
        batch_size: 32,
        max_len: 128,
        backend: "cpu".into(),
        examples: 1000,
        weight_bits: bits,
        sparsity: 0.0,
        quantization: (bits < 32).then(|| format!("int{bits} per-channel, simulated (weights stored as f32)")),
        deploy_size_mb: (bits < 32).then_some(size_mb),
    }
}

fn floor(mean: f64, half: f64) -> FloorValue {
    FloorValue {
        mean,
        ci_low: Some(mean - half),
        ci_high: Some(mean + half),
        pairs: 3,
        kind: "explanation-seed".into(),
    }
}

fn alignment(
    model: &str,
    explainer: &str,
    k: usize,
    mean: f64,
    half: f64,
    own: f64,
    reference: f64,
) -> AlignmentAggregate {
    AlignmentAggregate {
        model: model.into(),
        explainer: explainer.into(),
        metric: format!("top-k-jaccard@{k}"),
        plugin: "top-k-jaccard".into(),
        k: Some(k),
        mean,
        std: Some(half / 2.0),
        ci_low: Some(mean - half),
        ci_high: Some(mean + half),
        seeds: 3,
        examples: 200,
        left_out: 0,
        cross_seed: None,
        floor: Some(floor(own, 0.02)),
        reference_floor: Some(floor(reference, 0.02)),
    }
}

/// A model's explanation of an example: `weights` per word in reading order (segment from
/// `segments`), ranked by |weight| with ties to the earlier word, top `k` marked.
pub fn highlight(
    model: &str,
    predicted: &str,
    words: &[(usize, &str)],
    weights: &[f64],
    k: usize,
    jaccard: Option<f64>,
) -> ModelHighlight {
    let mut order: Vec<usize> = (0..words.len()).collect();
    order.sort_by(|&a, &b| weights[b].abs().total_cmp(&weights[a].abs()).then(a.cmp(&b)));
    let mut rank = vec![None; words.len()];
    for (r, &i) in order.iter().take(k).enumerate() {
        rank[i] = Some(r + 1);
    }
    ModelHighlight {
        model: model.into(),
        predicted: predicted.into(),
        words: words
            .iter()
            .zip(weights)
            .zip(rank)
            .map(|((&(segment, text), &weight), rank)| HighlightedWord { segment, text: text.into(), weight, rank })
            .collect(),
        jaccard,
    }
}

fn split_words<'a>(segments: &[&'a str]) -> Vec<(usize, &'a str)> {
    segments.iter().enumerate().flat_map(|(s, t)| t.split_whitespace().map(move |w| (s, w))).collect()
}

fn weights(n: usize, salt: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let x = ((i as u64 + 1) * 2654435761u64.wrapping_add(salt * 97)) % 1000;
            (x as f64 / 1000.0 - 0.35) * 0.6
        })
        .collect()
}

fn highlights() -> Vec<ExampleHighlight> {
    let examples: [(&str, [&str; 2], &str); 2] = [
        (
            "snli-dev-17",
            [
                "A man in a blue shirt is playing a guitar on a crowded street corner at night .",
                "A musician performs outside for a crowd of people .",
            ],
            "entailment",
        ),
        (
            "snli-dev-203",
            [
                "Two young children sit on the floor of a kitchen eating bowls of cereal together .",
                "The kids are asleep in their beds <upstairs> .",
            ],
            "contradiction",
        ),
    ];
    examples
        .iter()
        .enumerate()
        .map(|(e, (id, segments, label))| {
            let words = split_words(segments);
            let n = words.len();
            ExampleHighlight {
                example_id: id.to_string(),
                segments: segments.iter().map(|s| s.to_string()).collect(),
                label: label.to_string(),
                explainer: "lime".into(),
                seed: Some(42),
                k: 10,
                models: vec![
                    highlight("bert-base", label, &words, &weights(n, e as u64), 10, None),
                    highlight("bert-int8", label, &words, &weights(n, e as u64 + 10), 10, Some(0.82)),
                    highlight("bert-tiny", "neutral", &words, &weights(n, e as u64 + 20), 10, Some(0.33)),
                ],
            }
        })
        .collect()
}

/// The full synthetic summary: `bert-base` (reference), `bert-int8` (passes every test) and
/// `bert-tiny` (fails alignment, ΔECE and agreement; piles up in the 0.9–1.0 bin).
pub fn full_summary() -> Summary {
    let reference =
        curve([0, 0, 0, 2, 18, 41, 60, 95, 214, 570], [0.0, 0.0, 0.0, 0.5, 0.44, 0.51, 0.62, 0.71, 0.83, 0.95]);
    let int8 = curve([0, 0, 0, 3, 17, 43, 58, 97, 209, 573], [0.0, 0.0, 0.0, 0.33, 0.47, 0.53, 0.6, 0.7, 0.82, 0.95]);
    let tiny = curve([0, 0, 0, 0, 6, 14, 22, 38, 90, 830], [0.0, 0.0, 0.0, 0.0, 0.33, 0.43, 0.5, 0.55, 0.62, 0.82]);
    let seeds = vec![42, 43, 44];
    let model = |name: &str, reference: bool, c: &ReliabilityCurve, card: ModelCard, from: Option<&str>| ModelSummary {
        name: name.into(),
        reference,
        source: if from.is_some() { "variant".into() } else { "checkpoint".into() },
        seeds: seeds.clone(),
        reliability: seeds.iter().map(|&s| (Some(s), c.clone())).collect(),
        card: Some(card),
        derived_from: from.map(String::from),
        compressor: from.map(|_| if name.ends_with("int8") { "int8-quantize".into() } else { "distill".into() }),
    };
    let models = vec![
        model("bert-base", true, &reference, card("bert-base", 12, 768, 109_484_547, 438.0, 21.4, 32), None),
        model("bert-int8", false, &int8, card("bert-int8", 12, 768, 109_484_547, 132.1, 12.9, 8), Some("bert-base")),
        model("bert-tiny", false, &tiny, card("bert-tiny", 2, 128, 4_386_307, 17.6, 0.9, 32), Some("bert-base")),
    ];
    let mut calibration = Vec::new();
    for (m, acc, ece, brier) in
        [("bert-base", 0.902, 0.031, 0.152), ("bert-int8", 0.899, 0.035, 0.158), ("bert-tiny", 0.781, 0.092, 0.331)]
    {
        calibration.push(row(m, "accuracy", acc, 0.01));
        calibration.push(row(m, "ece", ece, 0.006));
        calibration.push(row(m, "brier", brier, 0.01));
    }
    let mut similarity = Vec::new();
    for (m, dacc, dece, tv, agree) in
        [("bert-int8", -0.003, 0.004, 0.03, 0.985), ("bert-tiny", -0.121, 0.061, 0.21, 0.86)]
    {
        similarity.push(row(m, "delta-accuracy", dacc, 0.004));
        similarity.push(row(m, "delta-ece", dece, 0.006));
        similarity.push(row(m, "confidence-tv", tv, 0.01));
        similarity.push(row(m, "agreement", agree, 0.008));
    }
    let mut alignment_rows = Vec::new();
    for (explainer, ref_floor) in [("lime", [0.86, 0.84, 0.83]), ("partition-shap", [0.92, 0.9, 0.89])] {
        for (m, values, own) in [
            ("bert-int8", if explainer == "lime" { [0.8, 0.82, 0.84] } else { [0.87, 0.89, 0.9] }, [0.85, 0.83, 0.82]),
            ("bert-tiny", if explainer == "lime" { [0.31, 0.38, 0.47] } else { [0.35, 0.41, 0.5] }, [0.7, 0.68, 0.7]),
        ] {
            for (i, k) in [5usize, 10, 20].into_iter().enumerate() {
                alignment_rows.push(alignment(m, explainer, k, values[i], 0.03, own[i], ref_floor[i]));
            }
        }
    }
    let definitions = BTreeMap::from([
        ("accuracy".to_string(), "Fraction of examples whose arg max equals the gold label.".to_string()),
        ("ece".to_string(), "Σ over non-empty bins n_b/N · |acc_b − conf_b|.".to_string()),
        ("brier".to_string(), "Mean over examples of Σ_c (p_c − y_c)².".to_string()),
        ("agreement".to_string(), "Fraction of examples where both models predict the same class.".to_string()),
        (
            "confidence-tv".to_string(),
            "Total-variation distance ½ Σ_b |p_b − q_b| between the confidence histograms.".to_string(),
        ),
    ]);
    let lower_is_better = BTreeMap::from([
        ("accuracy".to_string(), false),
        ("ece".to_string(), true),
        ("brier".to_string(), true),
        ("agreement".to_string(), false),
        ("confidence-tv".to_string(), true),
    ]);
    Summary {
        dataset: DatasetMeta {
            name: "snli".into(),
            label_names: vec!["entailment".into(), "neutral".into(), "contradiction".into()],
            eval: RowCounts { read: 1010, unlabelled: 10, bad: 0, excluded: 0, capped: 0, kept: 1000 },
            train: None,
        },
        models,
        calibration,
        similarity,
        definitions,
        lower_is_better,
        bins: 10,
        bootstrap: 1000,
        confidence: 0.95,
        alignment: alignment_rows,
        faithfulness: faithfulness(),
        highlights: highlights(),
        alignment_notes: Vec::new(),
        floors: Vec::new(),
        flipped: vec![crate::tables::summary::FlippedExample {
            model: "bert-tiny".into(),
            example: "snli-dev-17".into(),
            text: "A man plays a guitar | on stage ‖ A person performs".into(),
            gold: "entailment".into(),
            reference_label: "entailment".into(),
            reference_p: 0.91,
            model_label: "neutral".into(),
            model_p: 0.62,
            flips: 3,
            pairs: 3,
        }],
        // The flipped example, explained: the reference and bert-tiny side by side.
        flip_explanations: highlights()
            .into_iter()
            .take(1)
            .map(|mut h| {
                h.models.retain(|m| m.model != "bert-int8");
                h
            })
            .collect(),
    }
}
