//! The alignment heat map: models × explainers, each cell coloured by Jaccard@K with its
//! value, its interval and the reference's noise floor written in it; a cell whose interval
//! overlaps the floor's is outlined dashed, one below the threshold is marked.

use super::{c, esc, open, text};

/// One cell.
pub struct Cell {
    /// Jaccard@K (mean over seeds); `None` when not measured.
    pub value: Option<f64>,
    /// Its interval.
    pub ci: Option<(f64, f64)>,
    /// The noise floor's mean.
    pub floor: Option<f64>,
    /// The value lies within the noise floor.
    pub within_floor: bool,
}

/// The fill of a value in [0, 1]: light red (0) through light yellow to green (1).
pub fn fill(v: f64) -> String {
    let v = v.clamp(0.0, 1.0);
    let (r, g, b) = if v < 0.5 {
        let t = v / 0.5;
        (244.0 + (250.0 - 244.0) * t, 199.0 + (236.0 - 199.0) * t, 195.0 + (170.0 - 195.0) * t)
    } else {
        let t = (v - 0.5) / 0.5;
        (250.0 + (134.0 - 250.0) * t, 236.0 + (207.0 - 236.0) * t, 170.0 + (158.0 - 170.0) * t)
    };
    format!("#{:02x}{:02x}{:02x}", r.round() as u8, g.round() as u8, b.round() as u8)
}

/// The heat map of `cells[model][explainer]` at `k`, with the verdict `threshold`.
pub fn alignment_heatmap(
    models: &[&str],
    explainers: &[&str],
    cells: &[Vec<Cell>],
    k: usize,
    threshold: f64,
) -> String {
    let (left, top, cw, ch) = (140.0, 46.0, 150.0, 56.0);
    let width = (left + cw * explainers.len() as f64 + 16.0).max(380.0);
    let height = top + ch * models.len() as f64 + 44.0;
    let mut out = open("heatmap", width, height, &format!("Alignment with the reference: Jaccard@{k}"));
    out.push_str(&text(
        left,
        16.0,
        "start",
        " font-weight=\"600\"",
        &format!("Jaccard@{k} with the reference's top-{k} words"),
    ));
    for (e, name) in explainers.iter().enumerate() {
        out.push_str(&text(left + cw * (e as f64 + 0.5), top - 8.0, "middle", " font-weight=\"600\"", name));
    }
    for (m, model) in models.iter().enumerate() {
        let y0 = top + ch * m as f64;
        out.push_str(&text(left - 8.0, y0 + ch / 2.0 + 4.0, "end", "", model));
        for (e, explainer) in explainers.iter().enumerate() {
            let cell = &cells[m][e];
            let x0 = left + cw * e as f64;
            let (fill_colour, stroke) = match cell.value {
                Some(v) => (
                    fill(v),
                    if cell.within_floor {
                        " stroke=\"#374151\" stroke-width=\"2\" stroke-dasharray=\"5 3\""
                    } else {
                        " stroke=\"#fff\" stroke-width=\"2\""
                    },
                ),
                None => ("#f3f4f6".to_string(), " stroke=\"#fff\" stroke-width=\"2\""),
            };
            out.push_str(&format!(
                "<rect class=\"cell{}\" data-model=\"{}\" data-explainer=\"{}\" data-value=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill_colour}\"{stroke}/>",
                if cell.within_floor { " within-floor" } else { "" },
                esc(model),
                esc(explainer),
                cell.value.map(|v| format!("{v:.4}")).unwrap_or_default(),
                c(x0 + 1.0),
                c(y0 + 1.0),
                c(cw - 2.0),
                c(ch - 2.0),
            ));
            let cx = x0 + cw / 2.0;
            match cell.value {
                None => out.push_str(&text(cx, y0 + ch / 2.0 + 4.0, "middle", " fill=\"#6b7280\"", "not measured")),
                Some(v) => {
                    let mark = if v < threshold { " ✗" } else { "" };
                    out.push_str(&text(
                        cx,
                        y0 + 22.0,
                        "middle",
                        " class=\"value\" font-size=\"14\" font-weight=\"600\"",
                        &format!("{v:.2}{mark}"),
                    ));
                    let mut sub = cell.ci.map(|(a, b)| format!("[{a:.2}, {b:.2}]")).unwrap_or_default();
                    if let Some(f) = cell.floor {
                        sub.push_str(&format!("  floor {f:.2}"));
                    }
                    out.push_str(&text(
                        cx,
                        y0 + 40.0,
                        "middle",
                        " class=\"floor\" font-size=\"10\" fill=\"#374151\"",
                        &sub,
                    ));
                }
            }
        }
    }
    let note = " fill=\"#5b6475\" font-size=\"10\"";
    out.push_str(&text(16.0, height - 22.0, "start", note, &format!("✗ below the threshold {threshold:.2}.")));
    out.push_str(&text(
        16.0,
        height - 9.0,
        "start",
        note,
        "Dashed outline: interval overlaps the noise floor's (explainer noise).",
    ));
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{marks, parse};
    use super::*;

    #[test]
    fn cells_carry_values_floor_and_marks() {
        let cells = vec![
            vec![
                Cell { value: Some(0.82), ci: Some((0.79, 0.85)), floor: Some(0.84), within_floor: true },
                Cell { value: None, ci: None, floor: None, within_floor: false },
            ],
            vec![
                Cell { value: Some(0.38), ci: Some((0.35, 0.41)), floor: Some(0.84), within_floor: false },
                Cell { value: Some(0.7), ci: None, floor: None, within_floor: false },
            ],
        ];
        let svg = alignment_heatmap(&["int8", "tiny<"], &["lime", "shap"], &cells, 10, 0.7);
        let doc = parse(&svg);
        let rects = marks(&doc, "rect", "cell");
        assert_eq!(rects.len(), 4);
        assert_eq!(marks(&doc, "rect", "within-floor").len(), 1);
        assert_eq!(rects[2].attribute("data-model"), Some("tiny<"));
        assert_eq!(rects[2].attribute("data-value"), Some("0.3800"));
        let values: Vec<&str> = marks(&doc, "text", "value").iter().map(|t| t.text().unwrap()).collect();
        assert_eq!(values, vec!["0.82", "0.38 ✗", "0.70"]);
        assert!(marks(&doc, "text", "floor").iter().any(|t| t.text() == Some("[0.79, 0.85]  floor 0.84")));
        assert!(doc.descendants().any(|n| n.text() == Some("not measured")));
    }

    #[test]
    fn colour_scale_ends() {
        assert_eq!(fill(0.0), "#f4c7c3");
        assert_eq!(fill(1.0), "#86cf9e");
        assert_eq!(fill(2.0), fill(1.0));
    }
}
