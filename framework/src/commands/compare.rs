//! `trustx show MANIFEST --compare OTHER`: two verdicts side by side — this manifest's last
//! run against another manifest's last run, another results folder, or a saved
//! `verdict.json` (a run before a change, kept by a CI job). Per model, both verdicts; per
//! test, both values and outcomes, with the tests whose outcome changed marked.

use super::show;
use crate::report::stored::VERDICT_FILE;
use crate::report::verdict::{ModelVerdict, Test, Verdict};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Where the other verdict comes from, as given on the command line.
#[derive(Debug, Clone)]
pub enum OtherVerdict {
    /// A `verdict.json` file.
    File(PathBuf),
    /// A results folder of one experiment (holding `verdict.json`).
    Folder(PathBuf),
    /// A manifest: its last run's results folder, resolved as `trustx show` resolves it.
    Manifest(PathBuf),
}

impl OtherVerdict {
    /// Classifies a path: a `.toml` file is a manifest, another file a verdict, a folder a
    /// results folder. A path that does not exist is an error naming it.
    pub fn classify(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| {
            format!(
                "--compare {}: no such file or folder (give a manifest, a results folder or a verdict.json)",
                path.display()
            )
        })?;
        Ok(if meta.is_dir() {
            OtherVerdict::Folder(path.to_path_buf())
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            OtherVerdict::Manifest(path.to_path_buf())
        } else {
            OtherVerdict::File(path.to_path_buf())
        })
    }
}

pub use super::show::read_file;

/// Reads the verdict in a results folder (its `verdict.json`).
pub fn read_folder(dir: &Path) -> Result<Verdict> {
    if !dir.join(VERDICT_FILE).is_file() {
        bail!(
            "{} holds no {VERDICT_FILE}: give the folder of one experiment (results/<experiment>), after its run",
            dir.display()
        );
    }
    show::read(dir)
}

/// One test of one model in both verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestPair {
    /// The test's name.
    pub name: String,
    /// Its value and outcome in the first verdict (`None`: the test is not there).
    pub a: Option<Side>,
    /// In the second.
    pub b: Option<Side>,
    /// The outcome differs (or the test is in one verdict only).
    pub changed: bool,
}

/// A test's value, interval and outcome in one verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Its value, `None` when not run.
    pub value: Option<f64>,
    /// Its interval, when known.
    pub ci: Option<(f64, f64)>,
    /// Its outcome as the report prints it.
    pub outcome: String,
}

impl From<&Test> for Side {
    fn from(t: &Test) -> Self {
        Side { value: t.value, ci: t.ci, outcome: t.label.clone() }
    }
}

/// One model in both verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelPair {
    /// The model's name.
    pub model: String,
    /// Its verdict in the first (`None`: not compared there).
    pub a: Option<String>,
    /// In the second.
    pub b: Option<String>,
    /// Every test of either, in the first verdict's order, then the second's new ones.
    pub tests: Vec<TestPair>,
}

/// Two verdicts side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What the first verdict is (a path).
    pub a: String,
    /// What the second is.
    pub b: String,
    /// The first's reference model.
    pub reference_a: String,
    /// The second's.
    pub reference_b: String,
    /// Every model of either, in the first verdict's order, then the second's new ones.
    pub models: Vec<ModelPair>,
}

fn union<'v, T>(a: &'v [T], b: &'v [T], key: impl Fn(&T) -> &str) -> Vec<(String, Option<&'v T>, Option<&'v T>)> {
    let mut out: Vec<(String, Option<&T>, Option<&T>)> =
        a.iter().map(|x| (key(x).to_string(), Some(x), b.iter().find(|y| key(y) == key(x)))).collect();
    for y in b {
        if !a.iter().any(|x| key(x) == key(y)) {
            out.push((key(y).to_string(), None, Some(y)));
        }
    }
    out
}

fn model_pair(name: String, a: Option<&ModelVerdict>, b: Option<&ModelVerdict>) -> ModelPair {
    let none: &[Test] = &[];
    let tests = union(a.map_or(none, |m| &m.tests), b.map_or(none, |m| &m.tests), |t| &t.name)
        .into_iter()
        .map(|(name, ta, tb)| {
            let (a, b) = (ta.map(Side::from), tb.map(Side::from));
            let changed = a.as_ref().map(|s| &s.outcome) != b.as_ref().map(|s| &s.outcome);
            TestPair { name, a, b, changed }
        })
        .collect();
    ModelPair { model: name, a: a.map(|m| m.label.clone()), b: b.map(|m| m.label.clone()), tests }
}

/// Pairs two verdicts model by model and test by test.
pub fn compare(a_name: &str, a: &Verdict, b_name: &str, b: &Verdict) -> Comparison {
    let models =
        union(&a.models, &b.models, |m| &m.model).into_iter().map(|(name, ma, mb)| model_pair(name, ma, mb)).collect();
    Comparison {
        a: a_name.into(),
        b: b_name.into(),
        reference_a: a.reference.clone(),
        reference_b: b.reference.clone(),
        models,
    }
}

fn cell(side: &Option<Side>) -> (String, String) {
    match side {
        None => ("–".into(), "absent".into()),
        Some(s) => {
            let value = match (s.value, s.ci) {
                (Some(v), Some((lo, hi))) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
                (Some(v), None) => format!("{v:.4}"),
                (None, _) => "–".into(),
            };
            (value, s.outcome.clone())
        }
    }
}

/// The comparison as a text table; a `*` marks a test whose outcome changed.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A: {} (reference {})", c.a, c.reference_a);
    let _ = writeln!(out, "B: {} (reference {})", c.b, c.reference_b);
    if c.reference_a != c.reference_b {
        let _ = writeln!(out, "note: the two runs compare with different references");
    }
    for m in &c.models {
        let verdict = |v: &Option<String>| v.clone().unwrap_or_else(|| "not compared".into());
        let mark = if m.a != m.b { "  (changed)" } else { "" };
        let _ = writeln!(out, "\n{}: A {} → B {}{mark}", m.model, verdict(&m.a), verdict(&m.b));
        let _ = writeln!(
            out,
            "  {:<38} {:>28} {:<14} {:>28} {:<14}",
            "test", "A value", "A outcome", "B value", "B outcome"
        );
        for t in &m.tests {
            let ((va, oa), (vb, ob)) = (cell(&t.a), cell(&t.b));
            let star = if t.changed { "*" } else { " " };
            let _ = writeln!(out, "{star} {:<38} {va:>28} {oa:<14} {vb:>28} {ob:<14}", t.name);
        }
    }
    let changed: usize = c.models.iter().map(|m| m.tests.iter().filter(|t| t.changed).count()).sum();
    let _ = writeln!(out, "\n{changed} test(s) changed outcome (marked *)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::verdict::{Comparison as Cmp, Outcome, Status};

    fn test(name: &str, value: f64, label: &str) -> Test {
        Test {
            name: name.into(),
            metric: name.into(),
            value: Some(value),
            ci: Some((value - 0.1, value + 0.1)),
            threshold: 0.7,
            comparison: Cmp::AtLeast,
            outcome: Outcome::Pass,
            label: label.into(),
            missed_by: None,
            examples: None,
            examples_needed: None,
            floor: None,
            note: None,
            pairing: None,
        }
    }

    fn verdict(models: Vec<(&str, Vec<Test>)>) -> Verdict {
        Verdict {
            reference: "ref".into(),
            rules: crate::report::sample::rules(&[], crate::manifest::schema::VerdictRule::Interval),
            models: models
                .into_iter()
                .map(|(m, tests)| ModelVerdict {
                    model: m.into(),
                    status: Status::NotEstablished,
                    label: "not established".into(),
                    tests,
                    explanation: String::new(),
                })
                .collect(),
            answer: String::new(),
        }
    }

    #[test]
    fn pairs_models_and_tests_and_marks_changed_outcomes() {
        let a = verdict(vec![("int8", vec![test("agreement", 0.96, "equivalent"), test("ece", 0.01, "inconclusive")])]);
        let b = verdict(vec![
            ("int8", vec![test("agreement", 0.97, "equivalent"), test("ece", 0.01, "different")]),
            ("pruned", vec![test("agreement", 0.90, "different")]),
        ]);
        let c = compare("a.json", &a, "b.json", &b);
        assert_eq!(c.models.len(), 2);
        let changed: Vec<bool> = c.models[0].tests.iter().map(|t| t.changed).collect();
        assert_eq!(changed, [false, true]);
        assert_eq!((c.models[1].a.as_deref(), c.models[1].tests[0].changed), (None, true));
        let t = table(&c);
        assert!(t.contains("* ece") && t.contains("pruned: A not compared → B not established"), "{t}");
        assert!(t.contains("2 test(s) changed outcome"), "{t}");
    }
}
