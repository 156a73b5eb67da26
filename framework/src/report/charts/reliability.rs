//! The reliability diagram of a model against the reference: accuracy against mean
//! confidence per bin (pooled over seeds) with an interval bar per point, the diagonal of
//! perfect calibration, and the bin counts of both models printed under the axis.
//!
//! The bar is the 95% Wilson score interval of the bin's accuracy (Wilson 1927; the interval
//! `statsmodels.stats.proportion.proportion_confint(method="wilson")` gives) from the
//! examples of one seed, `count ÷ seeds`: the seeds see the same examples, so pooling them
//! adds no independent examples and the interval is not narrowed by it.

use super::pool::Pooled;
use super::{LEGEND_ROW, REFERENCE_COLOUR, c, esc, legend, open, text, y_axis};

/// z of the two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of a proportion `p` observed on `n` trials (n may be
/// fractional: a per-seed average), at z = 1.96; `None` when `n` is not positive.
pub fn wilson(p: f64, n: f64) -> Option<(f64, f64)> {
    if n <= 0.0 || !p.is_finite() {
        return None;
    }
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

const W: f64 = 316.0;
const H: f64 = 350.0;
const LEFT: f64 = 48.0;
const TOP: f64 = 40.0;
const PLOT: f64 = 300.0 - LEFT;

fn x(v: f64) -> f64 {
    LEFT + PLOT * v
}

fn y(v: f64) -> f64 {
    TOP + 220.0 * (1.0 - v)
}

fn series(name: &str, class: &str, colour: &str, p: &Pooled) -> String {
    let points: Vec<(usize, f64, f64, usize)> =
        p.bins.iter().enumerate().filter_map(|(i, b)| Some((i, b.confidence?, b.accuracy?, b.count))).collect();
    let mut out = format!("<g class=\"series {class}\" data-model=\"{}\">", esc(name));
    let seeds = p.seeds.max(1) as f64;
    for &(i, cf, a, n) in &points {
        let Some((lo, hi)) = wilson(a, n as f64 / seeds) else { continue };
        let (xc, cap) = (c(x(cf)), (c(x(cf) - 3.0), c(x(cf) + 3.0)));
        out.push_str(&format!(
            "<g class=\"interval {class}\" data-bin=\"{i}\" data-low=\"{lo:.4}\" data-high=\"{hi:.4}\" stroke=\"{colour}\" stroke-opacity=\"0.7\"><title>{}: bin {i}, accuracy 95% interval [{lo:.3}, {hi:.3}] from {:.1} examples per seed</title><line x1=\"{xc}\" y1=\"{}\" x2=\"{xc}\" y2=\"{}\"/><line x1=\"{}\" y1=\"{2}\" x2=\"{}\" y2=\"{2}\"/><line x1=\"{4}\" y1=\"{3}\" x2=\"{5}\" y2=\"{3}\"/></g>",
            esc(name),
            n as f64 / seeds,
            c(y(lo)),
            c(y(hi)),
            cap.0,
            cap.1,
        ));
    }
    let path: Vec<String> = points.iter().map(|&(_, cf, a, _)| format!("{},{}", c(x(cf)), c(y(a)))).collect();
    out.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
        path.join(" ")
    ));
    for (i, cf, a, n) in points {
        out.push_str(&format!(
            "<circle class=\"point {class}\" data-bin=\"{i}\" data-count=\"{n}\" data-accuracy=\"{a:.4}\" data-confidence=\"{cf:.4}\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{colour}\"><title>{}: bin {i}, n = {n}, confidence {cf:.3}, accuracy {a:.3}</title></circle>",
            c(x(cf)),
            c(y(a)),
            esc(name)
        ));
    }
    out.push_str("</g>");
    out
}

fn counts(name: &str, class: &str, colour: &str, p: &Pooled, row: f64) -> String {
    // A swatch in the model's colour names the row (the legend says whose colour it is): a
    // model name would not fit left of the axis.
    let mut out = format!("<g class=\"counts {class}\"><title>{}: examples per bin</title>", esc(name));
    out.push_str(&format!(
        "<rect class=\"swatch\" x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>",
        c(LEFT - 16.0),
        c(row - 9.0)
    ));
    for (i, b) in p.bins.iter().enumerate() {
        let mid = x((b.lower + b.upper) / 2.0);
        out.push_str(&format!(
            "<text class=\"count {class}\" data-bin=\"{i}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{colour}\">{}</text>",
            c(mid),
            c(row),
            b.count
        ));
    }
    out.push_str("</g>");
    out
}

/// The diagram of `model` (name, colour, pooled curve) against the reference; with
/// `model = None`, the reference alone.
pub fn reliability_diagram(reference: (&str, &Pooled), model: Option<(&str, &str, &Pooled)>) -> String {
    let title = match model {
        Some((m, _, _)) => format!("Reliability diagram: {m} against {}", reference.0),
        None => format!("Reliability diagram: {}", reference.0),
    };
    let mut entries = vec![(format!("{} (reference)", reference.0), REFERENCE_COLOUR.to_string())];
    if let Some((name, colour, _)) = model {
        entries.push((name.to_string(), colour.to_string()));
    }
    // The plot leaves room for two legend rows; longer legends push it down.
    let (key, rows) = legend(LEFT, 12.0, W - LEFT - 8.0, &entries);
    let extra = (rows - LEGEND_ROW).max(0.0);
    let mut out = open("reliability", W, H + extra, &title);
    out.push_str(&key);
    out.push_str(&format!("<g transform=\"translate(0 {})\">", c(extra)));
    out.push_str(&y_axis(LEFT, TOP, PLOT, 220.0, "accuracy"));
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        out.push_str(&text(x(v), y(0.0) + 14.0, "middle", " fill=\"#5b6475\"", &format!("{v:.1}")));
    }
    out.push_str(&text(x(0.5), y(0.0) + 28.0, "middle", " fill=\"#5b6475\"", "mean confidence in bin"));
    out.push_str(&format!(
        "<line class=\"diagonal\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9ca3af\" stroke-dasharray=\"4 3\"/>",
        c(x(0.0)),
        c(y(0.0)),
        c(x(1.0)),
        c(y(1.0))
    ));
    out.push_str(&series(reference.0, "reference", REFERENCE_COLOUR, reference.1));
    if let Some((name, colour, p)) = model {
        out.push_str(&series(name, "model", colour, p));
    }
    out.push_str(&text(
        LEFT,
        y(0.0) + 44.0,
        "start",
        " fill=\"#5b6475\" font-size=\"10\"",
        "examples per bin (all seeds):",
    ));
    out.push_str(&counts(reference.0, "reference", REFERENCE_COLOUR, reference.1, y(0.0) + 57.0));
    if let Some((name, colour, p)) = model {
        out.push_str(&counts(name, "model", colour, p, y(0.0) + 70.0));
    }
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::super::pool::pool;
    use super::super::test_util::{marks, num, parse};
    use super::*;
    use crate::report::sample::curve;

    #[test]
    fn points_sit_at_accuracy_and_counts_are_printed() {
        let r = curve([0, 0, 0, 0, 0, 10, 0, 0, 20, 70], [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.8, 1.0]);
        let m = curve([0, 0, 0, 0, 0, 0, 0, 0, 5, 95], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.9]);
        let (pr, pm) = (pool([&r, &r]).unwrap(), pool([&m]).unwrap());
        let svg = reliability_diagram(("ref <a>", &pr), Some(("tiny", "#123456", &pm)));
        let doc = parse(&svg);
        let ref_points = marks(&doc, "circle", "reference");
        assert_eq!(ref_points.len(), 3, "empty bins draw no point");
        let top = ref_points.iter().find(|p| p.attribute("data-bin") == Some("9")).unwrap();
        assert_eq!(top.attribute("data-count"), Some("140"), "counts pool over seeds");
        assert!((num(top, "cy") - y(1.0)).abs() < 0.01);
        let low = marks(&doc, "circle", "model").into_iter().find(|p| p.attribute("data-bin") == Some("8")).unwrap();
        assert!((num(&low, "cy") - y(0.4)).abs() < 0.01);
        assert!((num(&low, "cx") - x(0.85)).abs() < 0.01);
        let count_texts: Vec<String> =
            marks(&doc, "text", "model").iter().map(|t| t.text().unwrap().to_string()).collect();
        assert_eq!(count_texts, vec!["0", "0", "0", "0", "0", "0", "0", "0", "5", "95"]);
        assert!(doc.descendants().any(|n| n.text() == Some("ref <a> (reference)")));
        assert_eq!(marks(&doc, "line", "diagonal").len(), 1);
        // One interval bar per point, around it; the reference's from 70 examples per seed.
        let bars = marks(&doc, "g", "interval");
        assert_eq!(bars.len(), 3 + 2);
        let top_bar = bars
            .iter()
            .find(|b| b.attribute("data-bin") == Some("9") && b.attribute("class") == Some("interval reference"))
            .unwrap();
        let (lo, _) = wilson(1.0, 70.0).unwrap();
        assert!((num(top_bar, "data-low") - lo).abs() < 1e-4 && num(top_bar, "data-high") == 1.0);
        // No name is cut: the model's full name is in the legend, the count rows carry swatches.
        assert!(doc.descendants().any(|n| n.text() == Some("tiny")));
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(8, 10, method="wilson")
        let (lo, hi) = wilson(0.8, 10.0).unwrap();
        assert!((lo - 0.490_162).abs() < 1e-5 && (hi - 0.943_317).abs() < 1e-5, "{lo} {hi}");
        // proportion_confint(0, 5, method="wilson") = (0, 0.434482)
        let (lo, hi) = wilson(0.0, 5.0).unwrap();
        assert!(lo == 0.0 && (hi - 0.434_482).abs() < 1e-5, "{hi}");
        assert_eq!(wilson(0.5, 0.0), None);
    }

    #[test]
    fn long_names_are_fitted_not_cut() {
        let r = curve([1; 10], [0.5; 10]);
        let p = pool([&r]).unwrap();
        let long = "distilbert-base-uncased-dynamic-int8-pruned";
        let svg = reliability_diagram(("bert-base-uncased-finetuned-sst2", &p), Some((long, "#123456", &p)));
        let doc = parse(&svg);
        assert!(doc.descendants().any(|n| n.text() == Some(long)));
        // Each name has a row of its own; one wider than the chart is drawn narrower.
        let names: Vec<_> = marks(&doc, "g", "legend")[0].descendants().filter(|n| n.has_tag_name("text")).collect();
        assert_eq!(names.len(), 2);
        assert!(names[0].attribute("y") != names[1].attribute("y"));
        assert!(names.iter().all(|n| n.has_attribute("textLength")), "both are wider than the chart");
    }

    #[test]
    fn reference_alone() {
        let r = curve([1; 10], [0.5; 10]);
        let doc_text = reliability_diagram(("ref", &pool([&r]).unwrap()), None);
        let doc = parse(&doc_text);
        assert_eq!(marks(&doc, "circle", "reference").len(), 10);
        assert!(marks(&doc, "circle", "model").is_empty());
    }
}
