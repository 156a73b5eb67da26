//! The report's figures built from the summary: the SVG charts for the HTML report and the
//! same numbers as tables for the Markdown report.

use super::charts::heatmap::{Cell, alignment_heatmap};
use super::charts::histogram::{Series, confidence_histogram};
use super::charts::jaccard_k::{Line, jaccard_vs_k};
use super::charts::pool::{Pooled, pool};
use super::charts::reliability::reliability_diagram;
use super::charts::{REFERENCE_COLOUR, colour};
use super::verdict::VerdictRules;
use crate::tables::summary::Summary;
use crate::tables::summary::alignment::AlignmentAggregate;
use serde::Serialize;

/// A chart with its subject.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// What it shows (a model or an explainer).
    pub subject: String,
    /// The SVG.
    pub svg: String,
}

/// One row of a Markdown table of numbers behind a chart.
#[derive(Debug, Clone, Serialize)]
pub struct NumberRow {
    /// First column (a bin, a model).
    pub label: String,
    /// The other columns.
    pub cells: Vec<String>,
}

/// Every figure of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    /// Reliability diagram of each compared model against the reference (the reference
    /// alone when nothing is compared).
    pub reliability: Vec<Chart>,
    /// The confidence histogram (reference and every model).
    pub histogram: Option<String>,
    /// Column names of the histogram table (models).
    pub histogram_columns: Vec<String>,
    /// Per bin: `count (percent)` for every model.
    pub histogram_rows: Vec<NumberRow>,
    /// Per model and bin: `n · conf · acc`, for the Markdown reliability table.
    pub reliability_rows: Vec<NumberRow>,
    /// Bin labels of the reliability table.
    pub bin_labels: Vec<String>,
    /// The alignment heat map (models × explainers at the verdict's K).
    pub heatmap: Option<String>,
    /// Jaccard against K, one chart per explainer.
    pub jaccard_k: Vec<Chart>,
    /// The explainers in the alignment rows.
    pub explainers: Vec<String>,
    /// Heat-map numbers: per model, per explainer `mean [ci] (floor f)`.
    pub heatmap_rows: Vec<NumberRow>,
    /// The histogram's caption, from the data: each model's share of examples in the top bin.
    pub histogram_caption: String,
    /// The verdict's forest plot of each compared model (one row per test).
    pub forest: Vec<Chart>,
}

fn bin_label(lo: f64, hi: f64, first: bool) -> String {
    if first { format!("[{lo:.1}, {hi:.1}]") } else { format!("({lo:.1}, {hi:.1}]") }
}

/// The summary's row of the verdict's alignment metric (`rules.alignment_metric`, Jaccard)
/// for `model`, `explainer` and `k`.
pub fn jaccard<'a>(
    s: &'a Summary,
    rules: &VerdictRules,
    model: &str,
    explainer: &str,
    k: usize,
) -> Option<&'a AlignmentAggregate> {
    s.alignment
        .iter()
        .find(|a| a.model == model && a.explainer == explainer && a.plugin == rules.alignment_metric && a.k == Some(k))
}

/// The explainers appearing in the alignment rows, in first-seen order.
pub fn explainers(s: &Summary) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in &s.alignment {
        if !out.contains(&a.explainer) {
            out.push(a.explainer.clone());
        }
    }
    out
}

fn calibration_figures(s: &Summary, f: &mut Figures) {
    let pooled: Vec<(String, bool, Pooled)> = s
        .models
        .iter()
        .filter_map(|m| pool(m.reliability.iter().map(|(_, c)| c)).map(|p| (m.name.clone(), m.reference, p)))
        .collect();
    let Some((ref_name, _, ref_pool)) = pooled.iter().find(|(_, r, _)| *r) else { return };
    let others: Vec<&(String, bool, Pooled)> = pooled.iter().filter(|(_, r, _)| !r).collect();
    if others.is_empty() {
        f.reliability.push(Chart { subject: ref_name.clone(), svg: reliability_diagram((ref_name, ref_pool), None) });
    }
    for (i, (name, _, p)) in others.iter().enumerate() {
        f.reliability.push(Chart {
            subject: name.clone(),
            svg: reliability_diagram((ref_name, ref_pool), Some((name, colour(i), p))),
        });
    }
    let edges: Vec<(f64, f64)> = ref_pool.bins.iter().map(|b| (b.lower, b.upper)).collect();
    let mut series = vec![Series {
        name: ref_name,
        colour: REFERENCE_COLOUR,
        counts: ref_pool.bins.iter().map(|b| b.count).collect(),
    }];
    for (i, (name, _, p)) in others.iter().enumerate() {
        series.push(Series { name, colour: colour(i), counts: p.bins.iter().map(|b| b.count).collect() });
    }
    f.histogram = Some(confidence_histogram(&edges, &series));
    let all: Vec<&(String, bool, Pooled)> = std::iter::once(pooled.iter().find(|(_, r, _)| *r).unwrap_or(&pooled[0]))
        .chain(others.iter().copied())
        .collect();
    f.histogram_columns = all.iter().map(|(n, _, _)| n.clone()).collect();
    f.histogram_caption = histogram_caption(&all.iter().map(|(n, _, p)| (n.as_str(), p)).collect::<Vec<_>>(), &edges);
    f.bin_labels = edges.iter().enumerate().map(|(i, &(lo, hi))| bin_label(lo, hi, i == 0)).collect();
    f.histogram_rows = edges
        .iter()
        .enumerate()
        .map(|(b, _)| NumberRow {
            label: f.bin_labels[b].clone(),
            cells: all.iter().map(|(_, _, p)| format!("{} ({:.1}%)", p.bins[b].count, p.shares()[b] * 100.0)).collect(),
        })
        .collect();
    f.reliability_rows = all
        .iter()
        .map(|(n, _, p)| NumberRow {
            label: n.clone(),
            cells: p
                .bins
                .iter()
                .map(|b| match (b.confidence, b.accuracy) {
                    (Some(c), Some(a)) => format!("{} · {c:.2} · {a:.2}", b.count),
                    _ => "0".into(),
                })
                .collect(),
        })
        .collect();
}

/// The caption of the confidence histogram, said from the data: the share of each model's
/// examples in the top bin, and which models hold more (or fewer) of them there than the
/// reference (by more than 5 points).
fn histogram_caption(models: &[(&str, &Pooled)], edges: &[(f64, f64)]) -> String {
    let Some(&(lo, hi)) = edges.last() else { return String::new() };
    let top = |p: &Pooled| p.shares().last().copied().unwrap_or(0.0);
    let shares: Vec<String> = models.iter().map(|(n, p)| format!("{n} {:.0}%", top(p) * 100.0)).collect();
    let mut caption = format!(
        "Share of each model's examples per confidence bin (all seeds pooled). In the top bin ({lo:.1}, {hi:.1}]: {}.",
        shares.join(", ")
    );
    if let Some(((reference, r), others)) = models.split_first() {
        let more: Vec<&str> = others.iter().filter(|(_, p)| top(p) > top(r) + 0.05).map(|(n, _)| *n).collect();
        let fewer: Vec<&str> = others.iter().filter(|(_, p)| top(p) < top(r) - 0.05).map(|(n, _)| *n).collect();
        if !more.is_empty() {
            caption.push_str(&format!(" More confident than {reference} there: {}.", more.join(", ")));
        }
        if !fewer.is_empty() {
            caption.push_str(&format!(" Less confident than {reference} there: {}.", fewer.join(", ")));
        }
    }
    caption
}

fn alignment_figures(s: &Summary, rules: &VerdictRules, f: &mut Figures) {
    let explainers = explainers(s);
    let compared: Vec<&str> = s.models.iter().filter(|m| !m.reference).map(|m| m.name.as_str()).collect();
    f.explainers = explainers.clone();
    if explainers.is_empty() || compared.is_empty() {
        return;
    }
    let cells: Vec<Vec<Cell>> = compared
        .iter()
        .map(|m| {
            explainers
                .iter()
                .map(|e| match jaccard(s, rules, m, e, rules.k) {
                    None => Cell { value: None, ci: None, floor: None, within_floor: false },
                    Some(a) => {
                        // The value the verdict tests: across seeds under the interval rule.
                        let (mean, ci, _) = super::verdict::tested_alignment(a, rules.rule);
                        let floor = a.compared_floor().map(|(_, fl)| fl);
                        let within = floor.is_some_and(|fl| fl.overlaps(ci.unwrap_or((mean, mean))));
                        Cell { value: Some(mean), ci, floor: floor.map(|fl| fl.mean), within_floor: within }
                    }
                })
                .collect()
        })
        .collect();
    let explainer_refs: Vec<&str> = explainers.iter().map(String::as_str).collect();
    f.heatmap = Some(alignment_heatmap(&compared, &explainer_refs, &cells, rules.k, rules.threshold));
    f.heatmap_rows = compared
        .iter()
        .zip(&cells)
        .map(|(m, row)| NumberRow {
            label: m.to_string(),
            cells: row
                .iter()
                .map(|c| match c.value {
                    None => "not measured".into(),
                    Some(v) => {
                        let mut t = format!("{v:.3}");
                        if let Some((a, b)) = c.ci {
                            t.push_str(&format!(" [{a:.3}, {b:.3}]"));
                        }
                        if let Some(fl) = c.floor {
                            t.push_str(&format!(" (floor {fl:.3}{})", if c.within_floor { ", within" } else { "" }));
                        }
                        t
                    }
                })
                .collect(),
        })
        .collect();
    for e in &explainers {
        let mut ks: Vec<usize> = s
            .alignment
            .iter()
            .filter(|a| &a.explainer == e && a.plugin == rules.alignment_metric)
            .filter_map(|a| a.k)
            .collect();
        ks.sort_unstable();
        ks.dedup();
        let lines: Vec<Line> = compared
            .iter()
            .enumerate()
            .map(|(i, m)| Line {
                name: m,
                colour: colour(i),
                points: ks
                    .iter()
                    .filter_map(|&k| jaccard(s, rules, m, e, k).map(|a| (k, a.mean, a.ci_low.zip(a.ci_high))))
                    .collect(),
            })
            .collect();
        let floor: Vec<(usize, f64, f64)> = ks
            .iter()
            .filter_map(|&k| {
                compared
                    .iter()
                    .find_map(|m| jaccard(s, rules, m, e, k))
                    .and_then(|a| a.reference_floor.as_ref())
                    .map(|fl| (k, fl.ci_low.unwrap_or(fl.mean), fl.ci_high.unwrap_or(fl.mean)))
            })
            .collect();
        f.jaccard_k.push(Chart { subject: e.clone(), svg: jaccard_vs_k(e, &ks, &lines, &floor, rules.threshold) });
    }
}

/// Every figure of `s` under `rules`.
pub fn figures(s: &Summary, rules: &VerdictRules) -> Figures {
    let mut f = Figures::default();
    calibration_figures(s, &mut f);
    alignment_figures(s, rules, &mut f);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::full_summary;

    fn rules() -> VerdictRules {
        crate::report::sample::rules(&[], crate::manifest::schema::VerdictRule::Point)
    }

    #[test]
    fn full_summary_has_every_figure() {
        let f = figures(&full_summary(), &rules());
        assert_eq!(f.reliability.len(), 2);
        assert_eq!(f.jaccard_k.len(), 2);
        assert!(f.heatmap.is_some() && f.histogram.is_some());
        assert_eq!(f.histogram_columns, vec!["bert-base", "bert-int8", "bert-tiny"]);
        // Three seeds pooled: bert-tiny's 830 per seed in the top bin.
        assert_eq!(f.histogram_rows[9].cells[2], "2490 (83.0%)");
        assert_eq!(f.histogram_rows[0].label, "[0.0, 0.1]");
        assert!(f.histogram_caption.contains("In the top bin (0.9, 1.0]: bert-base "), "{}", f.histogram_caption);
        assert!(f.histogram_caption.contains("bert-tiny 83%"), "{}", f.histogram_caption);
        assert_eq!(f.heatmap_rows[1].cells[0], "0.380 [0.350, 0.410] (floor 0.840)");
        assert!(f.heatmap_rows[0].cells[1].ends_with(", within)"), "{:?}", f.heatmap_rows[0]);
    }

    #[test]
    fn no_alignment_and_no_variants() {
        let mut s = full_summary();
        s.alignment.clear();
        s.models.retain(|m| m.reference);
        let f = figures(&s, &rules());
        assert_eq!(f.reliability.len(), 1);
        assert!(f.heatmap.is_none() && f.jaccard_k.is_empty());
        assert_eq!(f.histogram_columns.len(), 1);
    }
}
