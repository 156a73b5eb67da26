//! Jaccard against K for one explainer: one line per compared model (with interval
//! whiskers), the reference's noise floor as a shaded band (its interval at each K), and the
//! verdict threshold as a dashed line.

use super::{c, esc, legend, open, text, y_axis};

/// One point of a line: K, the mean and its interval.
pub type Point = (usize, f64, Option<(f64, f64)>);

/// One model's line: name, colour and (K, mean, interval) points.
pub struct Line<'a> {
    /// Model name.
    pub name: &'a str,
    /// Line colour.
    pub colour: &'a str,
    /// (K, mean, interval) in increasing K.
    pub points: Vec<Point>,
}

const W: f64 = 420.0;
const H: f64 = 276.0;
const LEFT: f64 = 48.0;
const TOP: f64 = 36.0;
const PW: f64 = 330.0;
const PH: f64 = 200.0;

fn y(v: f64) -> f64 {
    TOP + PH * (1.0 - v.clamp(0.0, 1.0))
}

/// The chart for `explainer` over the K values `ks`; `floor` is (K, low, high) of the
/// reference's noise floor.
pub fn jaccard_vs_k(
    explainer: &str,
    ks: &[usize],
    lines: &[Line],
    floor: &[(usize, f64, f64)],
    threshold: f64,
) -> String {
    // The axis is proportional to K (K = 5, 10, 20 are not equally spaced).
    let (k_min, k_max) = (ks.iter().copied().min().unwrap_or(0), ks.iter().copied().max().unwrap_or(0));
    let x = |k: usize| {
        if k_max <= k_min { LEFT + PW / 2.0 } else { LEFT + PW * (k - k_min) as f64 / (k_max - k_min) as f64 }
    };
    let entries: Vec<(String, String)> = lines.iter().map(|l| (l.name.to_string(), l.colour.to_string())).collect();
    let (key, extra) = legend(LEFT, 16.0, W - LEFT - 8.0, &entries);
    let mut out = open("jaccard-k", W, H + extra, &format!("Jaccard against K: {explainer}"));
    out.push_str(&key);
    // The plot moves down by the legend's extra rows.
    out.push_str(&format!("<g transform=\"translate(0 {})\">", c(extra)));
    out.push_str(&y_axis(LEFT, TOP, PW, PH, "Jaccard@K"));
    if !floor.is_empty() {
        let mut pts: Vec<String> = floor.iter().map(|&(k, _, hi)| format!("{},{}", c(x(k)), c(y(hi)))).collect();
        pts.extend(floor.iter().rev().map(|&(k, lo, _)| format!("{},{}", c(x(k)), c(y(lo)))));
        if floor.len() == 1 {
            let (k, lo, hi) = floor[0];
            pts = vec![
                format!("{},{}", c(x(k) - 20.0), c(y(hi))),
                format!("{},{}", c(x(k) + 20.0), c(y(hi))),
                format!("{},{}", c(x(k) + 20.0), c(y(lo))),
                format!("{},{}", c(x(k) - 20.0), c(y(lo))),
            ];
        }
        out.push_str(&format!(
            "<polygon class=\"floor-band\" points=\"{}\" fill=\"#9ca3af\" fill-opacity=\"0.3\"><title>noise floor of the reference (same explainer, two seeds)</title></polygon>",
            pts.join(" ")
        ));
    }
    out.push_str(&format!(
        "<line class=\"threshold\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#b91c1c\" stroke-dasharray=\"5 4\"/>",
        c(LEFT),
        c(y(threshold)),
        c(LEFT + PW),
        c(y(threshold))
    ));
    // Right of the plot area, where no point or whisker can cover it.
    out.push_str(&text(
        LEFT + PW + 4.0,
        y(threshold) + 3.5,
        "start",
        " fill=\"#b91c1c\" font-size=\"10\"",
        &format!("{threshold:.2}"),
    ));
    for l in lines {
        out.push_str(&format!("<g class=\"line\" data-model=\"{}\">", esc(l.name)));
        let path: Vec<String> = l.points.iter().map(|&(k, v, _)| format!("{},{}", c(x(k)), c(y(v)))).collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            path.join(" "),
            l.colour
        ));
        for &(k, v, ci) in &l.points {
            if let Some((lo, hi)) = ci {
                out.push_str(&format!(
                    "<line class=\"whisker\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\"/>",
                    c(x(k)),
                    c(y(lo)),
                    c(y(hi)),
                    l.colour
                ));
            }
            out.push_str(&format!(
                "<circle class=\"point\" data-model=\"{m}\" data-k=\"{k}\" data-value=\"{v:.4}\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"><title>{m}: Jaccard@{k} = {v:.3}</title></circle>",
                c(x(k)),
                c(y(v)),
                l.colour,
                m = esc(l.name)
            ));
        }
        out.push_str("</g>");
    }
    for &k in ks {
        out.push_str(&text(x(k), TOP + PH + 14.0, "middle", " fill=\"#5b6475\"", &k.to_string()));
    }
    out.push_str(&text(
        LEFT + PW / 2.0,
        TOP + PH + 30.0,
        "middle",
        " fill=\"#5b6475\"",
        &format!("K (top-K words) · {explainer} · grey band: noise floor"),
    ));
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{marks, num, parse};
    use super::*;

    #[test]
    fn one_line_per_model_and_a_floor_band() {
        let lines = [
            Line {
                name: "int8",
                colour: "#00f",
                points: vec![(5, 0.8, Some((0.77, 0.83))), (10, 0.82, None), (20, 0.84, None)],
            },
            Line { name: "tiny", colour: "#f00", points: vec![(5, 0.31, None), (10, 0.38, None), (20, 0.47, None)] },
        ];
        let floor = [(5, 0.84, 0.88), (10, 0.82, 0.86), (20, 0.81, 0.85)];
        let svg = jaccard_vs_k("lime", &[5, 10, 20], &lines, &floor, 0.7);
        let doc = parse(&svg);
        assert_eq!(marks(&doc, "g", "line").len(), 2);
        let points = marks(&doc, "circle", "point");
        assert_eq!(points.len(), 6);
        let p = points
            .iter()
            .find(|p| p.attribute("data-model") == Some("tiny") && p.attribute("data-k") == Some("10"))
            .unwrap();
        assert!((num(p, "cy") - y(0.38)).abs() < 0.01);
        // Proportional to K: 10 sits a third of the way from 5 to 20.
        assert!((num(p, "cx") - (LEFT + PW / 3.0)).abs() < 0.01);
        let band = &marks(&doc, "polygon", "floor-band")[0];
        assert_eq!(band.attribute("points").unwrap().split(' ').count(), 6);
        let t = &marks(&doc, "line", "threshold")[0];
        assert!((num(t, "y1") - y(0.7)).abs() < 0.01);
        assert_eq!(marks(&doc, "line", "whisker").len(), 1);
    }

    #[test]
    fn single_k_draws_a_box_band() {
        let svg = jaccard_vs_k("shap", &[10], &[], &[(10, 0.5, 0.6)], 0.7);
        let doc = parse(&svg);
        assert_eq!(marks(&doc, "polygon", "floor-band")[0].attribute("points").unwrap().split(' ').count(), 4);
    }
}
