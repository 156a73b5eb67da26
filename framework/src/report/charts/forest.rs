//! The verdict's forest plot: one row per test of one model, its interval (the line) and
//! value (the dot) against the margin (the shaded region a value must lie in), so a reader
//! sees at a glance why a test is equivalent (the line inside the shade), different (wholly
//! outside) or inconclusive (across its edge). Tests have different scales, so each row has
//! its own axis, spanning the margin's edge, the interval and the value with a little room.

use super::super::equivalence::{Comparison, Outcome};
use super::super::verdict::Test;
use super::{c, open, text};

/// The colour of an outcome's marks.
fn colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "#15803d",
        Outcome::Fail => "#b91c1c",
        Outcome::Inconclusive | Outcome::NotRun => "#b45309",
    }
}

/// The forest plot of `tests` (those without a value are listed as not run).
pub fn forest(model: &str, tests: &[Test]) -> String {
    let (left, width, right, row_h, top) = (230.0, 300.0, 110.0, 30.0, 12.0);
    let h = top + row_h * tests.len() as f64 + 8.0;
    let w = left + width + right;
    let mut out = open("forest", w, h, &format!("{model}: each test's interval against its margin"));
    for (i, t) in tests.iter().enumerate() {
        let y = top + row_h * i as f64 + row_h / 2.0;
        out.push_str(&text(left - 8.0, y + 4.0, "end", "", &t.name));
        let Some(value) = t.value.filter(|v| v.is_finite()) else {
            out.push_str(&text(left + 4.0, y + 4.0, "start", " fill=\"#6b7280\"", "not run"));
            continue;
        };
        let (lo, hi) = t.ci.unwrap_or((value, value));
        let th = t.threshold;
        // The margin's edges in the row's own scale.
        let edges: Vec<f64> = match t.comparison {
            Comparison::AbsAtMost => vec![-th, th],
            _ => vec![th],
        };
        let mut min = edges.iter().copied().fold(lo.min(value), f64::min);
        let mut max = edges.iter().copied().fold(hi.max(value), f64::max);
        let pad = ((max - min) * 0.15).max(1e-3);
        min -= pad;
        max += pad;
        let x = |v: f64| left + (v - min) / (max - min) * width;
        let (shade_from, shade_to) = match t.comparison {
            Comparison::AtLeast => (th, max),
            Comparison::AtMost => (min, th),
            Comparison::AbsAtMost => (-th, th),
        };
        out.push_str(&format!(
            "<rect class=\"margin\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#dcfce7\" data-from=\"{shade_from}\" data-to=\"{shade_to}\"/>",
            c(x(shade_from)),
            c(y - row_h / 2.0 + 3.0),
            c(x(shade_to) - x(shade_from)),
            c(row_h - 6.0)
        ));
        for e in &edges {
            out.push_str(&format!(
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#15803d\" stroke-dasharray=\"3 2\"/>",
                c(x(*e)),
                c(y - row_h / 2.0 + 3.0),
                c(y + row_h / 2.0 - 3.0)
            ));
        }
        let col = colour(t.outcome);
        out.push_str(&format!(
            "<line class=\"interval\" x1=\"{}\" y1=\"{y2}\" x2=\"{}\" y2=\"{y2}\" stroke=\"{col}\" stroke-width=\"2\" data-low=\"{lo}\" data-high=\"{hi}\"/>",
            c(x(lo)),
            c(x(hi)),
            y2 = c(y)
        ));
        out.push_str(&format!(
            "<circle class=\"value\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{col}\" data-value=\"{value}\"/>",
            c(x(value)),
            c(y)
        ));
        out.push_str(&text(
            x(min) + 2.0,
            y + row_h / 2.0 - 4.0,
            "start",
            " font-size=\"10\" fill=\"#6b7280\"",
            &format!("{min:.3}"),
        ));
        out.push_str(&text(
            x(max) - 2.0,
            y + row_h / 2.0 - 4.0,
            "end",
            " font-size=\"10\" fill=\"#6b7280\"",
            &format!("{max:.3}"),
        ));
        out.push_str(&text(
            left + width + 8.0,
            y + 4.0,
            "start",
            &format!(" fill=\"{col}\" font-weight=\"600\""),
            &t.label,
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schema::VerdictRule;
    use crate::report::equivalence::decide;

    fn test(name: &str, value: f64, ci: (f64, f64), th: f64, cmp: Comparison) -> Test {
        let d = decide(VerdictRule::Interval, value, Some(ci), th, cmp, Some(100));
        Test {
            name: name.into(),
            metric: name.into(),
            value: Some(value),
            ci: Some(ci),
            threshold: th,
            comparison: cmp,
            outcome: d.outcome,
            label: d.outcome.label(VerdictRule::Interval).into(),
            missed_by: d.missed_by,
            examples: Some(100),
            examples_needed: d.examples_needed,
            floor: None,
            note: d.note,
            pairing: None,
        }
    }

    #[test]
    fn one_row_per_test_with_the_margin_shaded_and_the_outcome_written() {
        let svg = forest(
            "bert-int8",
            &[
                test("alignment lime", 0.7346, (0.6546, 0.818), 0.7, Comparison::AtLeast),
                test("delta-ece", 0.01, (-0.005, 0.015), 0.02, Comparison::AbsAtMost),
                test("agreement", 0.86, (0.85, 0.87), 0.95, Comparison::AtLeast),
            ],
        );
        assert_eq!(svg.matches("class=\"interval\"").count(), 3);
        assert_eq!(svg.matches("class=\"margin\"").count(), 3);
        assert!(svg.contains("data-low=\"0.6546\" data-high=\"0.818\""));
        assert!(svg.contains(">inconclusive<") && svg.contains(">equivalent<") && svg.contains(">different<"));
        // |x| ≤ 0.02: the shade spans −0.02 to 0.02.
        assert!(svg.contains("data-from=\"-0.02\" data-to=\"0.02\""));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
