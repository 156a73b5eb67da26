//! The report's first screen (one row per model: its own metrics, size, speed, alignment,
//! its comparisons with the reference, verdict — the metric columns those the metric plugins
//! declare, [`OverviewColumns`]), the full alignment table, and the highlighted examples,
//! formatted for the templates.

use super::context::{Cell, num};
use super::figures::{explainers, jaccard};
use super::verdict::{Verdict, VerdictRules};
use crate::plugin::overview_column::{Column, OverviewColumns};
use crate::tables::summary::alignment::{ExampleHighlight, Pairing};
use crate::tables::summary::{AggregateRow, Summary};
use serde::Serialize;

/// One row of the first screen.
#[derive(Debug, Clone, Serialize)]
pub struct OverviewRow {
    /// Model name.
    pub model: String,
    /// `reference`, `variant of X (compressor)` or `compared`.
    pub role: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// The model's own metrics (mean over seeds, with interval), one entry per
    /// [`OverviewColumns::quality`] column holding a cell per metric of that column.
    pub quality: Vec<Vec<Cell>>,
    /// Size on disk in MB, `–` when unknown.
    pub size_mb: String,
    /// Wall-clock milliseconds per example, `–` when unknown.
    pub ms_per_example: String,
    /// CPU milliseconds per example (`CPU 5.10`), empty when unknown.
    pub cpu_ms_per_example: String,
    /// Per explainer: `lime 0.82` with the interval and floor `[0.79, 0.85] · floor 0.84`.
    pub alignment: Vec<Cell>,
    /// Its comparisons with the reference, one entry per [`OverviewColumns::comparison`]
    /// column holding a cell per metric (empty for the reference).
    pub comparison: Vec<Vec<Cell>>,
    /// Verdict badge text (empty for the reference).
    pub verdict: String,
    /// Verdict CSS class: `pass`, `fail`, `open` (empty for the reference).
    pub status: String,
}

/// One line of the full alignment table.
#[derive(Debug, Clone, Serialize)]
pub struct AlignmentLine {
    /// Model.
    pub model: String,
    /// Explainer.
    pub explainer: String,
    /// Metric label.
    pub metric: String,
    /// `mean ± std`.
    pub value: String,
    /// Interval.
    pub interval: String,
    /// Across seeds: runs of different seeds (the value comparable with the floor), with its
    /// interval and pair count; empty without such pairs.
    pub cross_seed: String,
    /// The model's own noise floor.
    pub floor: String,
    /// The reference's noise floor.
    pub reference_floor: String,
    /// What the model's floor compares and over how many seed pairs.
    pub floor_kind: String,
    /// Seeds and examples.
    pub seeds: usize,
    /// Examples per seed.
    pub examples: usize,
}

/// A highlighted word for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct Word {
    /// The word.
    pub text: String,
    /// Its rank in the top K.
    pub rank: Option<usize>,
    /// `pos` or `neg` (sign of the weight).
    pub sign: String,
    /// Weight, four decimals.
    pub weight: String,
    /// Highlight strength 1 (rank 1) … 4, 0 when not in the top K.
    pub level: usize,
}

/// One model's view of an example.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    /// Model.
    pub model: String,
    /// Predicted label.
    pub predicted: String,
    /// Jaccard with the reference, formatted.
    pub jaccard: String,
    /// Words of each segment.
    pub segments: Vec<Vec<Word>>,
    /// The segments as Markdown, top-K words in bold with their rank.
    pub markdown: String,
}

/// An example with every model's top-K words.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleView {
    /// Example id.
    pub example_id: String,
    /// Gold label.
    pub label: String,
    /// Explainer.
    pub explainer: String,
    /// Seed, formatted (`–` when deterministic).
    pub seed: String,
    /// K.
    pub k: usize,
    /// Reference first.
    pub models: Vec<ModelView>,
}

fn dash() -> Cell {
    Cell { text: "–".into(), interval: String::new() }
}

fn with_ci(r: Option<&AggregateRow>) -> Cell {
    match r {
        None => dash(),
        Some(r) => Cell {
            text: format!("{:.3}", r.mean),
            interval: match (r.ci_low, r.ci_high) {
                (Some(a), Some(b)) => format!("[{a:.3}, {b:.3}]"),
                _ => String::new(),
            },
        },
    }
}

/// The first screen's rows, reference first, with the metric columns of `columns`.
pub fn overview(s: &Summary, rules: &VerdictRules, verdict: &Verdict, columns: &OverviewColumns) -> Vec<OverviewRow> {
    let find = |rows: &[AggregateRow], m: &str, metric: &str| {
        rows.iter().find(|r| r.model == m && r.metric == metric).cloned()
    };
    let explainers = explainers(s);
    s.models
        .iter()
        .map(|m| {
            let v = verdict.models.iter().find(|v| v.model == m.name);
            let cells = |cols: &[Column], rows: &[AggregateRow]| -> Vec<Vec<Cell>> {
                cols.iter()
                    .map(|c| c.metrics.iter().map(|metric| with_ci(find(rows, &m.name, metric).as_ref())).collect())
                    .collect()
            };
            let alignment = if m.reference {
                Vec::new()
            } else {
                explainers
                    .iter()
                    .map(|e| match jaccard(s, rules, &m.name, e, rules.k) {
                        None => Cell { text: format!("{e}: not measured"), interval: String::new() },
                        Some(a) => {
                            // The value the verdict tests (across seeds under the interval rule).
                            let (mean, ci, pairing) = super::verdict::tested_alignment(a, rules.rule);
                            let text = format!("{e} {mean:.2}");
                            // The interval belongs to the value, so it comes before the floor.
                            let mut interval = match ci {
                                Some((lo, hi)) => format!("[{lo:.2}, {hi:.2}]"),
                                None => String::new(),
                            };
                            if let Some((_, f)) = a.compared_floor() {
                                interval.push_str(&format!(" · floor {:.2}", f.mean));
                            }
                            if pairing == Pairing::CrossSeed {
                                interval.push_str(&format!(" · across seeds (same seed {:.2})", a.mean));
                            }
                            Cell { text, interval }
                        }
                    })
                    .collect()
            };
            OverviewRow {
                model: m.name.clone(),
                role: if m.reference {
                    "reference".into()
                } else {
                    match (&m.derived_from, &m.compressor) {
                        (Some(f), Some(c)) => format!("variant of {f} ({c})"),
                        (Some(f), None) => format!("variant of {f}"),
                        _ => "compared".into(),
                    }
                },
                reference: m.reference,
                quality: cells(&columns.quality, &s.calibration),
                size_mb: m.card.as_ref().map(|c| format!("{:.1}", c.size_mb)).unwrap_or_else(|| "–".into()),
                ms_per_example: m
                    .card
                    .as_ref()
                    .map(|c| format!("{:.2}", c.ms_per_example))
                    .unwrap_or_else(|| "–".into()),
                cpu_ms_per_example: m
                    .card
                    .as_ref()
                    .and_then(|c| c.cpu_ms_per_example)
                    .map(|v| format!("CPU {v:.2}"))
                    .unwrap_or_default(),
                alignment,
                comparison: if m.reference { Vec::new() } else { cells(&columns.comparison, &s.similarity) },
                verdict: v.map(|v| v.label.clone()).unwrap_or_default(),
                status: v
                    .map(|v| match v.status {
                        super::verdict::Status::TrustEquivalent => "pass",
                        super::verdict::Status::NotTrustEquivalent => "fail",
                        super::verdict::Status::NotEstablished => "open",
                    })
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect()
}

/// Every alignment row, formatted.
pub fn alignment_lines(s: &Summary) -> Vec<AlignmentLine> {
    let floor = |f: &Option<crate::tables::summary::alignment::FloorValue>| match f {
        None => "–".to_string(),
        Some(f) => match (f.ci_low, f.ci_high) {
            (Some(a), Some(b)) => format!("{} [{}, {}]", num(f.mean), num(a), num(b)),
            _ => num(f.mean),
        },
    };
    s.alignment
        .iter()
        .map(|a| AlignmentLine {
            model: a.model.clone(),
            explainer: a.explainer.clone(),
            metric: a.metric.clone(),
            value: match a.std {
                Some(sd) => format!("{} ± {}", num(a.mean), num(sd)),
                None => num(a.mean),
            },
            interval: match (a.ci_low, a.ci_high) {
                (Some(x), Some(y)) => format!("[{}, {}]", num(x), num(y)),
                _ => String::new(),
            },
            cross_seed: a
                .cross_seed
                .as_ref()
                .map(|c| match (c.ci_low, c.ci_high) {
                    (Some(x), Some(y)) => format!("{} [{}, {}], {} pairs", num(c.mean), num(x), num(y), c.pairs),
                    _ => format!("{}, {} pairs", num(c.mean), c.pairs),
                })
                .unwrap_or_else(|| "–".into()),
            floor: floor(&a.floor),
            reference_floor: floor(&a.reference_floor),
            floor_kind: a
                .floor
                .as_ref()
                .map(|f| format!("{}, {} pair{}", f.kind, f.pairs, if f.pairs == 1 { "" } else { "s" }))
                .unwrap_or_default(),
            seeds: a.seeds,
            examples: a.examples,
        })
        .collect()
}

fn md_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '|' | '[' | ']' | '<' | '>' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Highlighted examples, formatted.
pub fn examples(highlights: &[ExampleHighlight]) -> Vec<ExampleView> {
    highlights.iter().map(example).collect()
}

fn example(h: &ExampleHighlight) -> ExampleView {
    let segments = h.segments.len().max(1);
    ExampleView {
        example_id: h.example_id.clone(),
        label: h.label.clone(),
        explainer: h.explainer.clone(),
        seed: h.seed.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
        k: h.k,
        models: h
            .models
            .iter()
            .map(|m| {
                let mut segs: Vec<Vec<Word>> = vec![Vec::new(); segments];
                for w in &m.words {
                    let seg = w.segment.min(segments - 1);
                    segs[seg].push(Word {
                        text: w.text.clone(),
                        rank: w.rank,
                        sign: if w.weight < 0.0 { "neg".into() } else { "pos".into() },
                        weight: format!("{:.4}", w.weight),
                        level: w.rank.map(|r| (1 + 4 * (r - 1) / h.k.max(1)).min(4)).unwrap_or(0),
                    });
                }
                let markdown = segs
                    .iter()
                    .map(|seg| {
                        seg.iter()
                            .map(|w| match w.rank {
                                Some(r) => format!("**{}**<sup>{r}</sup>", md_escape(&w.text)),
                                None => md_escape(&w.text),
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join(" ‖ ");
                ModelView {
                    model: m.model.clone(),
                    predicted: m.predicted.clone(),
                    jaccard: m.jaccard.map(|j| format!("{j:.2}")).unwrap_or_else(|| "reference".into()),
                    segments: segs,
                    markdown,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::full_summary;
    use crate::report::verdict::verdict;

    #[test]
    fn first_screen_rows() {
        let s = full_summary();
        let rules = crate::report::sample::rules(&[], crate::manifest::schema::VerdictRule::Point);
        let v = verdict(&s, &rules);
        let rows = overview(&s, &rules, &v, &crate::report::sample::overview_columns());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].role, "reference");
        assert_eq!(rows[0].verdict, "");
        assert_eq!(rows[1].role, "variant of bert-base (int8-quantize)");
        assert_eq!(rows[1].size_mb, "132.1");
        assert_eq!(rows[1].status, "pass");
        assert_eq!(rows[2].status, "fail");
        assert_eq!(rows[2].alignment[0].text, "lime 0.38");
        assert_eq!(rows[2].alignment[0].interval, "[0.35, 0.41] · floor 0.84");
        // The columns as declared: ΔECE, agreement, the two flip rates stacked, JS.
        let agreement = &rows[2].comparison[1];
        assert_eq!((agreement[0].text.as_str(), agreement[0].interval.as_str()), ("0.860", "[0.852, 0.868]"));
        assert_eq!(rows[2].comparison.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 2, 1]);
        assert!(rows[0].comparison.is_empty(), "the reference compares with nothing");
        assert_eq!(rows[0].quality.len(), 1);
    }

    #[test]
    fn examples_mark_top_k_and_escape_markdown() {
        let s = full_summary();
        let ex = examples(&s.highlights);
        assert_eq!(ex.len(), 2);
        let m = &ex[1].models[0];
        assert_eq!(m.segments.len(), 2);
        let ranked: usize = m.segments.iter().flatten().filter(|w| w.rank.is_some()).count();
        assert_eq!(ranked, 10);
        assert!(m.markdown.contains(" ‖ "));
        assert!(m.markdown.contains("\\<upstairs\\>"), "{}", m.markdown);
        assert!(m.segments.iter().flatten().any(|w| w.level == 1 && w.rank == Some(1)));
        assert_eq!(ex[0].models[1].jaccard, "0.82");
    }
}
