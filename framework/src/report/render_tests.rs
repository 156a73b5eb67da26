//! Rendering both built-in templates from the synthetic full summary and from degenerate ones
//! (no explainers, no variants): the key content is there, sections without data say so.

use super::context::{ReportContext, ReportMeta};
use super::render;
use super::sample::full_summary;
use super::{BUILTIN_TEMPLATES, templates};
use crate::tables::summary::Summary;

fn meta(explainers: &[&str]) -> ReportMeta {
    ReportMeta {
        title: "SNLI <audit>".into(),
        experiment: "paper-snli".into(),
        description: Some("BERT-base against two compressed variants.".into()),
        seeds: vec![42, 43, 44],
        train_seeds: Some(vec![42]),
        rules: crate::report::sample::rules(explainers, crate::manifest::schema::VerdictRule::Point),
        features: "words".into(),
        class: "gold".into(),
        overview: crate::report::sample::overview_columns(),
    }
}

fn both(summary: Summary, explainers: &[&str]) -> (String, String) {
    let t = templates(None).unwrap();
    let ctx = ReportContext::new(meta(explainers), super::provenance::from_records(&[]), summary);
    (render(&t, "report.html.j2", &ctx).unwrap(), render(&t, "report.md.j2", &ctx).unwrap())
}

#[test]
fn full_report_has_every_section() {
    let (html, md) = both(full_summary(), &["lime", "partition-shap"]);
    assert!(md.contains("lime 0.38 [0.35, 0.41] · floor 0.84"));
    for s in [&html, &md] {
        assert!(s.contains("1 of 2 compared models are trust-equivalent to bert-base"), "answer");
        assert!(s.contains("variant of bert-base (int8-quantize)"));
        assert!(s.contains("lime 0.38") && s.contains("[0.35, 0.41] · floor 0.84"), "interval before the floor");
        assert!(s.contains("agreement = 0.860 [0.852, 0.868] (needs ≥ 0.950; missed by 0.090)"));
        assert!(s.contains("Faithfulness of each model's explanations to the model"), "faithfulness section");
        assert!(s.contains("0.2200 ± 0.0100") && s.contains("[0.2000, 0.2400]"), "bert-tiny comprehensiveness");
        assert!(s.contains("overlaps it: as close to the reference as its explanations are to themselves"));
        assert!(s.contains("both sets are empty it is defined as 1"));
        assert!(s.contains("ties are broken by feature order"));
        assert!(s.contains("the first closed at 0"));
        assert!(s.contains("Σ_c (p_c − y_c)²"));
        assert!(s.contains("training seeds 42"));
        assert!(s.contains("snli-dev-203"));
        assert!(s.contains("No node records were available"));
    }
    // The HTML escapes text and embeds the charts as inline SVG.
    assert!(html.contains("<title>SNLI &lt;audit&gt; · trustx</title>"));
    assert!(html.contains("&lt;upstairs&gt;"));
    for class in ["chart reliability", "chart histogram", "chart heatmap", "chart jaccard-k", "chart forest"] {
        assert!(html.contains(class), "{class}");
    }
    // Reliability ×2, histogram, heat map, Jaccard-vs-K ×2, a forest plot per compared model ×2.
    assert_eq!(html.matches("<svg ").count(), 2 + 1 + 1 + 2 + 2);
    assert!(html.contains("<span class=\"badge pass\">trust-equivalent</span>"));
    assert!(html.contains("<span class=\"badge fail\">not trust-equivalent</span>"));
    // Self-contained: no script, and the only URL is the SVG namespace.
    assert!(!html.contains("<script"));
    assert_eq!(html.matches("http").count(), html.matches("http://www.w3.org/2000/svg").count());
    // The Markdown carries the same numbers as tables.
    assert!(md.contains("| (0.9, 1.0] | 1710 (57.0%) | 1719 (57.3%) | 2490 (83.0%) |"), "{md}");
    assert!(md.contains("**not trust-equivalent**"));
    assert!(md.contains("| bert-tiny | 0.380 [0.350, 0.410] (floor 0.840) |"));
    assert!(md.contains("\\<upstairs\\>"));
    // Compression-identified examples, with both models' labels and probabilities.
    assert!(md.contains("**bert-tiny**: 1 example flipped in most seeds, 1 in every seed."), "{md}");
    assert!(md.contains("| entailment (0.91) | neutral (0.62) | 3 of 3 |"), "{md}");
    assert!(md.contains("**bert-int8**: no example flipped in most seeds."), "{md}");
    assert!(html.contains("<td>neutral (0.62)</td><td>3 of 3</td>"), "{html}");
    // ... and the explanations of that example, the reference and bert-tiny side by side,
    // inside the flipped section (before the alignment section), bert-int8 not among them.
    let flipped_md =
        &md[md.find("### Compression-identified examples").unwrap()..md.find("## Interpretability alignment").unwrap()];
    assert!(flipped_md.contains("Their explanations, bert-tiny beside the reference"), "{flipped_md}");
    assert!(flipped_md.contains("**snli-dev-17** · gold label **entailment**"), "{flipped_md}");
    assert!(
        flipped_md.contains("| bert-base | entailment |") && flipped_md.contains("| bert-tiny | neutral | 0.33 |"),
        "{flipped_md}"
    );
    assert!(!flipped_md.contains("| bert-int8 |"), "{flipped_md}");
    let flipped_html = &html[html.find("id=\"flipped\"").unwrap()..];
    let flipped_html = &flipped_html[..flipped_html.find("<h2").unwrap()];
    assert_eq!(flipped_html.matches("<div class=\"example\">").count(), 1, "{flipped_html}");
}

#[test]
fn no_explainers_reads_not_established() {
    let mut s = full_summary();
    s.alignment.clear();
    s.highlights.clear();
    s.similarity.retain(|r| r.model == "bert-int8");
    s.models.retain(|m| m.name != "bert-tiny");
    let (html, md) = both(s, &[]);
    for t in [&html, &md] {
        assert!(t.contains("not established (a test inconclusive or not run): bert-int8"), "answer");
        assert!(t.contains("Alignment not measured: no explainers are configured"));
        assert!(t.contains("No highlighted examples"));
        assert!(!t.contains("every test passed"));
    }
    assert!(html.contains("<span class=\"badge open\">not established</span>"));
    assert!(!html.contains("chart heatmap"));
}

#[test]
fn reference_only_says_nothing_to_compare() {
    let mut s = full_summary();
    s.models.retain(|m| m.reference);
    s.similarity.clear();
    s.alignment.clear();
    s.highlights.clear();
    let (html, md) = both(s, &[]);
    for t in [&html, &md] {
        assert!(t.contains("there is nothing to compare it with"));
        assert!(t.contains("No variant or compared model is declared"));
        assert!(t.contains("Only the reference model is declared: nothing to compare."));
    }
    assert_eq!(html.matches("chart reliability").count(), 1);
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(both(full_summary(), &["lime"]), both(full_summary(), &["lime"]));
    assert_eq!(BUILTIN_TEMPLATES.len(), 2);
}

/// Every table of `md` as a GitHub-flavoured Markdown renderer reads it: the cell texts of
/// each row, head first.
fn gfm_tables(md: &str) -> Vec<Vec<Vec<String>>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let (mut tables, mut cell): (Vec<Vec<Vec<String>>>, Option<String>) = (Vec::new(), None);
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => tables.last_mut().unwrap().push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().unwrap_or_default();
                tables.last_mut().unwrap().last_mut().unwrap().push(text);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            _ => {}
        }
    }
    tables
}

#[test]
fn markdown_tables_survive_a_gfm_renderer() {
    let mut summary = full_summary();
    // A model name with a pipe must stay inside its cell.
    summary.models[2].name = "bert|tiny".into();
    let (_, md) = both(summary, &["lime", "partition-shap"]);
    let tables = gfm_tables(&md);
    assert!(tables.len() >= 5, "{} tables in\n{md}", tables.len());
    // Every row has the head's cells: GFM drops the extra cells of a row that has more and
    // pads one that has fewer, so the count alone would not notice a shifted row; the source
    // lines are checked too (each row line has as many unescaped pipes as the head line).
    for t in &tables {
        let width = t[0].len();
        for row in t {
            assert_eq!(row.len(), width, "a row of {t:?}");
        }
    }
    let mut in_table = None;
    for line in md.lines() {
        let pipes = line.replace("\\|", "").matches('|').count();
        match (line.starts_with('|'), in_table) {
            (true, None) => in_table = Some(pipes),
            (true, Some(n)) => assert_eq!(pipes, n, "this row has {pipes} cell borders, its head {n}: {line}"),
            (false, _) => in_table = None,
        }
    }
    assert!(tables.iter().flatten().flatten().any(|c| c.contains("bert|tiny")), "the escaped pipe reads as a pipe");
    assert!(tables.iter().flatten().flatten().any(|c| c.contains("delta-ece")), "the verdict's tests are in a table");
}
