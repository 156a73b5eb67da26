//! Hostile names in the report: a title, a description and a model name carrying HTML or a
//! table's `|` come out inert in both `report.md` and `report.html` (issue 20, item 5; issue 16,
//! item 6).

mod common;

use common::*;

#[test]
fn html_and_pipes_in_names_are_escaped_in_both_reports() {
    let dir = temp_dir("report-escaping");
    let extra = r#"
[calibration]
bootstrap = 50

[report]
title = "<script>alert(1)</script> audit | v2"
"#;
    let m = sst2_manifest(&dir, extra);
    // The description sits in [experiment]: add it there.
    let text_m = std::fs::read_to_string(&m).unwrap().replacen(
        "[experiment]\n",
        "[experiment]\ndescription = \"see <img src=x onerror=alert(2)> & more\"\n",
        1,
    );
    std::fs::write(&m, text_m).unwrap();
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let results = dir.join("results/sst2-e2e");
    let md = std::fs::read_to_string(results.join("report.md")).unwrap();
    assert!(!md.contains("<script>"), "report.md carries a raw <script>:\n{md}");
    assert!(!md.contains("<img"), "report.md carries a raw <img>:\n{md}");
    assert!(md.contains("# &lt;script&gt;alert(1)&lt;/script&gt; audit \\| v2"), "{md}");
    assert!(md.contains("see &lt;img src=x onerror=alert(2)&gt; &amp; more"), "{md}");
    let html = std::fs::read_to_string(results.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert(1)"), "report.html carries the raw title");
    assert!(!html.contains("<img src=x"), "report.html carries the raw description");
    // Every table row of report.md keeps its column count (no cell adds a `|`).
    for table in md.split("\n\n").filter(|b| b.lines().nth(1).is_some_and(|l| l.starts_with("|---"))) {
        let cells = |l: &str| l.replace("\\|", "").matches('|').count();
        let header = cells(table.lines().next().unwrap());
        for line in table.lines().filter(|l| l.starts_with('|')) {
            assert_eq!(cells(line), header, "a row of report.md has another column count:\n{line}\n{table}");
        }
    }
}
