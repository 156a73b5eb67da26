//! The report's template context: the summary with numbers formatted and tables pivoted
//! (rows = models, columns = metrics), the verdict, the charts and the highlighted examples,
//! so templates stay simple.

use super::figures::{Chart, Figures, figures};
use super::overview::{AlignmentLine, ExampleView, OverviewRow, alignment_lines, examples, overview};
use super::provenance::Provenance;
use super::verdict::{Verdict, verdict};
use crate::tables::summary::{AggregateRow, Summary};
use serde::Serialize;

/// One formatted cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// `0.0412 ± 0.0031`.
    pub text: String,
    /// `[0.031, 0.052]` or empty.
    pub interval: String,
}

/// One table row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Whether it is the reference.
    pub reference: bool,
    /// Cells, in column order.
    pub cells: Vec<Cell>,
}

/// A pivoted table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Column (metric) names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// Formats a number with four decimals (`n/a` for NaN).
pub fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.4}") } else { "n/a".into() }
}

/// Pivots aggregate rows into a table.
pub fn pivot(rows: &[AggregateRow], models: &[(String, bool)]) -> Table {
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        if !columns.contains(&r.metric) {
            columns.push(r.metric.clone());
        }
    }
    let table_rows = models
        .iter()
        .filter(|(m, _)| rows.iter().any(|r| &r.model == m))
        .map(|(m, reference)| Row {
            model: m.clone(),
            reference: *reference,
            cells: columns
                .iter()
                .map(|c| match rows.iter().find(|r| &r.model == m && &r.metric == c) {
                    None => Cell { text: "–".into(), interval: String::new() },
                    Some(r) => Cell {
                        text: match r.std {
                            Some(s) => format!("{} ± {}", num(r.mean), num(s)),
                            None => num(r.mean),
                        },
                        interval: match (r.ci_low, r.ci_high) {
                            (Some(a), Some(b)) => format!("[{}, {}]", num(a), num(b)),
                            _ => String::new(),
                        },
                    },
                })
                .collect(),
        })
        .collect();
    Table { columns, rows: table_rows }
}

pub use crate::plan::report_config::ReportMeta;

/// Everything the templates see.
#[derive(Debug, Clone, Serialize)]
pub struct ReportContext {
    /// Title.
    pub title: String,
    /// The verdict's calibration and prediction margins in words (`|delta-ece| ≤ 0.02,
    /// agreement ≥ 0.95 and confidence-tv ≤ 0.1`).
    pub margins: String,
    /// Experiment name.
    pub experiment: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Experiment seeds.
    pub seeds: Vec<u64>,
    /// Training seeds, when they differ from the experiment's.
    pub train_seeds: Option<Vec<u64>>,
    /// trustx version.
    pub version: String,
    /// The summary (dataset, models, raw rows, definitions).
    pub summary: Summary,
    /// Calibration table.
    pub calibration: Table,
    /// Similarity table.
    pub similarity: Table,
    /// The conventions every number follows.
    pub conventions: Vec<String>,
    /// The verdict of every compared model.
    pub verdict: Verdict,
    /// The first screen.
    pub overview: Vec<OverviewRow>,
    /// The first screen's metric columns (headings, and the metrics of each).
    pub overview_columns: crate::plugin::overview_column::OverviewColumns,
    /// Charts and the numbers behind them.
    pub figures: Figures,
    /// Every alignment row.
    pub alignment: Vec<AlignmentLine>,
    /// Definitions of the alignment quantities (name, text).
    pub alignment_definitions: Vec<(String, String)>,
    /// The highlighted examples.
    pub examples: Vec<ExampleView>,
    /// The compression-identified examples that were explained: the reference's and the
    /// flipping model's words side by side (the flipping model second).
    pub flip_examples: Vec<ExampleView>,
    /// Timings and versions.
    pub provenance: Provenance,
    /// Number of compared (non-reference) models.
    pub compared: usize,
}

impl ReportContext {
    /// Builds the context.
    pub fn new(meta: ReportMeta, provenance: Provenance, summary: Summary) -> Self {
        let models: Vec<(String, bool)> = summary.models.iter().map(|m| (m.name.clone(), m.reference)).collect();
        let k = meta.rules.k;
        let conventions = vec![
            "Calibration is top-label: confidence = the largest probability, correct = arg max equals the gold label (ties go to the lowest class index).".to_string(),
            format!("Equal-width bins: {} bins over [0, 1]; bin i is (i/B, (i+1)/B], the first closed at 0, so a confidence on an edge belongs to the lower bin.", summary.bins),
            "Brier (multiclass) = mean over examples of Σ_c (p_c − y_c)², in [0, 2]; for two classes the positive-class form (p_1 − y)², in [0, 1], is reported separately as positive-brier.".to_string(),
            format!("Values are means over seeds ± sample standard deviation; intervals are {:.0}% percentile bootstrap intervals of that mean over {} resamples of the examples (the same resample for every seed).", summary.confidence * 100.0, summary.bootstrap),
            "delta-X = X(model) − X(reference) on the same examples and seed.".to_string(),
            format!("Top-K: the K words with the largest |attribution| for the {} class; ties are broken by feature order (the earlier word wins). Sets hold word {}.", meta.class, if meta.features == "positions" { "positions" } else { "strings (a repeated word counts once)" }),
            "Jaccard of two top-K sets = |A ∩ B| / |A ∪ B|; when both sets are empty it is defined as 1.".to_string(),
            "Explanations of run i of a model are compared with run i of the reference (same seed); mean over examples, then mean and spread over seeds.".to_string(),
            format!("Verdict: the tests are {}@{k} ≥ {:.2} for every explainer, {}; {}; a test that is inconclusive or could not be run makes the verdict \"not established\", never a pass.", meta.rules.alignment_metric, meta.rules.threshold, margins_text(&meta.rules), match meta.rules.rule { crate::manifest::schema::VerdictRule::Interval => format!("each is an equivalence test on its {:.0}% bootstrap interval (α = {}): equivalent inside the margin, different wholly outside, inconclusive across it", (1.0 - 2.0 * meta.rules.alpha) * 100.0, meta.rules.alpha), crate::manifest::schema::VerdictRule::Point => "each value is compared with its threshold (the paper's point rule)".to_string() }),
            "Alignment: run i of the reference's explainer against run i of the model's (same seed, the paper's protocol), one value per explained example, mean over examples, then mean ± sd over seeds; the interval resamples the examples. Across seeds: every run of the reference against every run of the model with another seed, the mean over those pairs. Same-seed runs of a seeded explainer share its random draws (LIME draws the same masks when the feature counts match), so they agree more than two independent runs would; runs of different seeds share none, like the two runs of a noise floor. Under the interval rule the verdict tests the across-seeds value when there is one (the report says so in the test's note), under the point rule the same-seed value. The noise floor is the same metric between one model's own runs under different seeds (every pair of seeds); with a deterministic explainer on one fixed model it is exact (0 pairs, the run compared with itself). An alignment well below the floor is a real difference between the models; one at the floor is explainer noise.".to_string(),
        ];
        let alignment_definitions = vec![
            (format!("{}@{k}", meta.rules.alignment_metric), format!("Jaccard index of the two models' top-{k} word sets for the same example, averaged over examples.")),
            ("noise floor".to_string(), "The same metric between one model's own explanations under two different explainer seeds: the agreement expected from explainer randomness alone. A value whose interval overlaps the floor's cannot be told apart from explainer noise.".to_string()),
        ];
        let v = verdict(&summary, &meta.rules);
        let mut figures = figures(&summary, &meta.rules);
        figures.forest = v
            .models
            .iter()
            .map(|m| Chart { subject: m.model.clone(), svg: super::charts::forest::forest(&m.model, &m.tests) })
            .collect();
        ReportContext {
            margins: margins_text(&meta.rules),
            calibration: pivot(&summary.calibration, &models),
            similarity: pivot(&summary.similarity, &models),
            overview: overview(&summary, &meta.rules, &v, &meta.overview),
            overview_columns: meta.overview.clone(),
            figures,
            alignment: alignment_lines(&summary),
            examples: examples(&summary.highlights),
            flip_examples: examples(&summary.flip_explanations),
            compared: summary.models.iter().filter(|m| !m.reference).count(),
            verdict: v,
            alignment_definitions,
            title: meta.title,
            experiment: meta.experiment,
            description: meta.description,
            seeds: meta.seeds,
            train_seeds: meta.train_seeds,
            version: env!("CARGO_PKG_VERSION").to_string(),
            summary,
            conventions,
            provenance,
        }
    }
}

/// The margins as the verdict sentence lists them: `|delta-ece| ≤ 0.02, agreement ≥ 0.95
/// and confidence-tv ≤ 0.1`, with the faithfulness gap when tested.
fn margins_text(rules: &crate::plan::verdict_rules::VerdictRules) -> String {
    use crate::plan::verdict_rules::Comparison;
    let mut parts: Vec<String> = rules
        .margins
        .iter()
        .map(|m| match m.comparison {
            Comparison::AbsAtMost => format!("|{}| ≤ {}", m.metric, m.threshold),
            c => format!("{} {} {}", m.metric, c.symbol(), m.threshold),
        })
        .collect();
    if let Some(gap) = rules.faithfulness_gap {
        parts.push(format!("a comprehensiveness gap ≤ {gap} for every explainer"));
    }
    match parts.len() {
        0 => "no calibration or prediction test".to_string(),
        1 => parts.remove(0),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}
