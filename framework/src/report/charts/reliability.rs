//! The reliability diagram of a model against the reference: accuracy against mean
//! confidence per bin (pooled over seeds), the diagonal of perfect calibration, and the bin
//! counts of both models printed under the axis.

use super::pool::Pooled;
use super::{REFERENCE_COLOUR, c, esc, legend, open, text, y_axis};

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

fn counts(label: &str, class: &str, colour: &str, p: &Pooled, row: f64) -> String {
    let mut out = format!("<g class=\"counts {class}\">");
    out.push_str(&text(LEFT - 6.0, row, "end", &format!(" fill=\"{colour}\" font-size=\"9\""), label));
    for (i, b) in p.bins.iter().enumerate() {
        let mid = x((b.lower + b.upper) / 2.0);
        out.push_str(&format!(
            "<text class=\"count {class}\" data-bin=\"{i}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"9\" fill=\"{colour}\">{}</text>",
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
    let mut out = open("reliability", W, H, &title);
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
    let mut entries = vec![(format!("{} (reference)", reference.0), REFERENCE_COLOUR.to_string())];
    if let Some((name, colour, p)) = model {
        out.push_str(&series(name, "model", colour, p));
        entries.push((name.to_string(), colour.to_string()));
    }
    // One legend row per model: names can be long and the chart is narrow.
    for (row, entry) in entries.iter().enumerate() {
        out.push_str(&legend(LEFT, 12.0 + 14.0 * row as f64, std::slice::from_ref(entry)));
    }
    out.push_str(&text(
        LEFT,
        y(0.0) + 44.0,
        "start",
        " fill=\"#5b6475\" font-size=\"9\"",
        "examples per bin (all seeds):",
    ));
    out.push_str(&counts("ref", "reference", REFERENCE_COLOUR, reference.1, y(0.0) + 57.0));
    if let Some((name, colour, p)) = model {
        let short: String = name.chars().take(8).collect();
        out.push_str(&counts(&short, "model", colour, p, y(0.0) + 70.0));
    }
    out.push_str("</svg>");
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
