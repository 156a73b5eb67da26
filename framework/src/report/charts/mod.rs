//! The report's charts: inline SVG strings (no JavaScript, no external fonts or files), one
//! file per chart. Every text is XML-escaped; every mark carries `data-*` attributes with the
//! value it draws, so tests (and readers of the source) can check it.

pub mod forest;
pub mod heatmap;
pub mod histogram;
pub mod jaccard_k;
pub mod pool;
pub mod reliability;

/// Colour of the reference model.
pub const REFERENCE_COLOUR: &str = "#6b7280";

/// Colours of the compared models, in order (repeating).
pub const PALETTE: [&str; 6] = ["#2f5fb3", "#d9622b", "#2a9d6f", "#8e44ad", "#b8860b", "#c0392b"];

/// The colour of compared model number `i` (0-based, reference excluded).
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with two decimals (stable text across platforms).
pub fn c(x: f64) -> String {
    format!("{x:.2}")
}

/// The opening `<svg>` tag of a chart `w` × `h` with an accessible title.
pub fn open(class: &str, w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {class}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\" font-family=\"system-ui, sans-serif\" font-size=\"11\"><title>{t}</title>",
        t = esc(title)
    )
}

/// A text element.
pub fn text(x: f64, y: f64, anchor: &str, extra: &str, s: &str) -> String {
    format!("<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{extra}>{}</text>", c(x), c(y), esc(s))
}

/// Estimated width of `s` in the charts' 11 px font (generous, so that text never runs
/// past what is reserved for it).
pub fn text_width(s: &str) -> f64 {
    6.5 * s.chars().count() as f64
}

/// Height of one legend row.
pub const LEGEND_ROW: f64 = 14.0;

/// A legend from (x, y) (the first row's baseline): a swatch and a name per entry, wrapped
/// into rows no wider than `width`, so no name is cut; a single name wider than `width` is
/// drawn narrower (`textLength`), never clipped. Returns the SVG and the height it takes
/// beyond its first row (what a chart adds to its own height to make room).
pub fn legend(x: f64, y: f64, width: f64, entries: &[(String, String)]) -> (String, f64) {
    let mut out = String::from("<g class=\"legend\">");
    let (mut at, mut row) = (x, 0usize);
    for (name, colour) in entries {
        let need = 24.0 + text_width(name);
        if at > x && at - x + need > width {
            at = x;
            row += 1;
        }
        let base = y + LEGEND_ROW * row as f64;
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>",
            c(at),
            c(base - 9.0)
        ));
        let fit = if need > width {
            format!(" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\"", c(width - 24.0))
        } else {
            String::new()
        };
        out.push_str(&text(at + 14.0, base, "start", &fit, name));
        at += need;
    }
    out.push_str("</g>");
    (out, LEGEND_ROW * row as f64)
}

/// A y axis from 0 to 1 with ticks every 0.2 and grid lines across the plot.
pub fn y_axis(left: f64, top: f64, width: f64, height: f64, label: &str) -> String {
    let mut out = String::from("<g class=\"axis y\">");
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let y = top + height * (1.0 - v);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e5e7eb\"/>",
            c(left),
            c(y),
            c(left + width),
            c(y)
        ));
        out.push_str(&text(left - 6.0, y + 4.0, "end", " fill=\"#5b6475\"", &format!("{v:.1}")));
    }
    out.push_str(&format!(
        "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" fill=\"#5b6475\">{}</text>",
        c(left - 34.0),
        c(top + height / 2.0),
        esc(label)
    ));
    out.push_str("</g>");
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Parsing a chart as XML in tests.

    /// Parses `svg` (panics with the text when it is not well-formed XML).
    pub fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
    }

    /// Elements named `tag` with `class` among their classes.
    pub fn marks<'a>(doc: &'a roxmltree::Document<'a>, tag: &str, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag) && n.attribute("class").is_some_and(|c| c.split(' ').any(|x| x == class)))
            .collect()
    }

    /// A numeric attribute.
    pub fn num(n: &roxmltree::Node, attr: &str) -> f64 {
        n.attribute(attr).unwrap_or_else(|| panic!("no {attr}")).parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
        let svg = format!(
            "{}{}</svg>",
            open("x", 10.0, 10.0, "<t>"),
            legend(0.0, 10.0, 100.0, &[("m&n".into(), "#000".into())]).0
        );
        let doc = test_util::parse(&svg);
        assert!(doc.descendants().any(|n| n.text() == Some("m&n")));
    }

    #[test]
    fn legends_wrap_instead_of_running_past_the_chart() {
        let entries: Vec<(String, String)> = ["bert-base-uncased (reference)", "distilbert-base-uncased-int8", "tiny"]
            .map(|n| (n.to_string(), "#000".to_string()))
            .to_vec();
        let (svg, extra) = legend(48.0, 16.0, 360.0, &entries);
        assert_eq!(extra, LEGEND_ROW, "two rows: the second name does not fit beside the first");
        let wrapped = format!("<svg xmlns=\"http://www.w3.org/2000/svg\">{svg}</svg>");
        let doc = test_util::parse(&wrapped);
        let rows: Vec<f64> =
            doc.descendants().filter(|n| n.has_tag_name("text")).map(|t| test_util::num(&t, "y")).collect();
        assert_eq!(rows, [16.0, 30.0, 30.0]);
        for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
            let right = test_util::num(&t, "x") + text_width(t.text().unwrap());
            assert!(right <= 48.0 + 360.0, "{:?} ends at {right}", t.text());
        }
        let long = [("x".repeat(80), "#000".to_string())];
        let (svg, extra) = legend(0.0, 10.0, 200.0, &long);
        assert_eq!(extra, 0.0);
        assert!(svg.contains("textLength=\"176.00\""), "{svg}");
    }
}
