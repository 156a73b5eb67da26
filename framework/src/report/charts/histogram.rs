//! The confidence histogram: for each equal-width bin, one bar per model (reference first)
//! whose height is the share of that model's examples in the bin, labelled with the
//! percentage, the count in the bar's tooltip. A pile-up in the 0.9–1.0 bin shows at a glance.

use super::{c, esc, legend, open, text, y_axis};

const H: f64 = 300.0;
const LEFT: f64 = 48.0;
const TOP: f64 = 36.0;
const PLOT_H: f64 = 200.0;

/// One model's histogram: name, colour and the count in each bin (all seeds).
pub struct Series<'a> {
    /// Model name.
    pub name: &'a str,
    /// Bar colour.
    pub colour: &'a str,
    /// Examples per bin.
    pub counts: Vec<usize>,
}

/// The chart; `edges` are the bins' (lower, upper) edges.
pub fn confidence_histogram(edges: &[(f64, f64)], series: &[Series]) -> String {
    let bins = edges.len();
    let group = (24.0 * series.len() as f64 + 12.0).max(52.0);
    let width = LEFT + group * bins as f64 + 16.0;
    let bar = (group - 12.0) / series.len().max(1) as f64;
    let entries: Vec<(String, String)> = series.iter().map(|s| (s.name.to_string(), s.colour.to_string())).collect();
    let (key, extra) = legend(LEFT, 16.0, width - LEFT - 8.0, &entries);
    let mut out = open("histogram", width, H + extra, "Confidence histogram: share of examples per confidence bin");
    out.push_str(&key);
    // The plot moves down by the legend's extra rows.
    out.push_str(&format!("<g transform=\"translate(0 {})\">", c(extra)));
    out.push_str(&y_axis(LEFT, TOP, group * bins as f64, PLOT_H, "share of examples"));
    let base = TOP + PLOT_H;
    for (si, s) in series.iter().enumerate() {
        let total: usize = s.counts.iter().sum();
        out.push_str(&format!("<g class=\"series\" data-model=\"{}\">", esc(s.name)));
        for (b, &n) in s.counts.iter().enumerate() {
            let share = n as f64 / total.max(1) as f64;
            let h = PLOT_H * share;
            let x0 = LEFT + group * b as f64 + 6.0 + bar * si as f64;
            out.push_str(&format!(
                "<rect class=\"bar\" data-model=\"{m}\" data-bin=\"{b}\" data-count=\"{n}\" data-share=\"{share:.4}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{m}: {n} of {total} examples ({:.1}%) in ({:.1}, {:.1}]</title></rect>",
                c(x0),
                c(base - h),
                c(bar - 1.0),
                c(h),
                s.colour,
                share * 100.0,
                edges[b].0,
                edges[b].1,
                m = esc(s.name),
            ));
            if n > 0 {
                let label =
                    if share >= 0.095 { format!("{:.0}%", share * 100.0) } else { format!("{:.1}", share * 100.0) };
                out.push_str(&text(
                    x0 + bar / 2.0 - 0.5,
                    base - h - 3.0,
                    "middle",
                    " class=\"share\" font-size=\"10\" fill=\"#374151\"",
                    &label,
                ));
            }
        }
        out.push_str("</g>");
    }
    for (b, (lo, hi)) in edges.iter().enumerate() {
        let mid = LEFT + group * (b as f64 + 0.5);
        out.push_str(&text(mid, base + 14.0, "middle", " fill=\"#5b6475\"", &format!("{lo:.1}–{hi:.1}")));
    }
    out.push_str(&text(
        LEFT + group * bins as f64 / 2.0,
        base + 30.0,
        "middle",
        " fill=\"#5b6475\"",
        "confidence (largest probability); labels: % of the model's examples",
    ));
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{marks, num, parse};
    use super::*;

    fn edges() -> Vec<(f64, f64)> {
        (0..10).map(|i| (i as f64 / 10.0, (i + 1) as f64 / 10.0)).collect()
    }

    #[test]
    fn bar_heights_are_proportional_to_shares() {
        let s = [
            Series { name: "ref", colour: "#000", counts: vec![0, 0, 0, 0, 0, 10, 10, 20, 20, 40] },
            Series { name: "tiny & co", colour: "#f00", counts: vec![0, 0, 0, 0, 0, 0, 0, 5, 5, 190] },
        ];
        let svg = confidence_histogram(&edges(), &s);
        let doc = parse(&svg);
        let bars = marks(&doc, "rect", "bar");
        assert_eq!(bars.len(), 20);
        let h = |m: &str, b: usize| {
            let r = bars
                .iter()
                .find(|r| r.attribute("data-model") == Some(m) && r.attribute("data-bin") == Some(&b.to_string()))
                .unwrap();
            num(r, "height")
        };
        assert!((h("ref", 9) / h("ref", 5) - 4.0).abs() < 1e-3);
        assert!((h("ref", 9) - PLOT_H * 0.4).abs() < 0.01);
        assert!((h("tiny & co", 9) - PLOT_H * 0.95).abs() < 0.01);
        assert_eq!(h("ref", 0), 0.0);
        let labels: Vec<&str> = marks(&doc, "text", "share").iter().map(|t| t.text().unwrap()).collect();
        assert!(labels.contains(&"95%") && labels.contains(&"40%") && labels.contains(&"2.5"), "{labels:?}");
        assert!(doc.descendants().any(|n| n.text() == Some("0.9–1.0")));
    }
}
