//! Attributions computed elsewhere (`[models.NAME] attributions = "file"` on the
//! `predictions` source) enter alignment and the noise floor like trustx's own: two
//! prediction-only models whose files rank known words give the Jaccard those ranks imply,
//! and a wrong file (an unknown example, a NaN weight, the explained class missing) fails
//! naming the file and the row or example.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Four explained examples (SST-2 dev ids 0–3), six words each, both classes; LIME rows for
/// `seed` (or an occlusion row set without seed when `seed` is `None`). `order` gives the
/// weights of the six words: the top 3 are the three largest.
fn rows(explainer: &str, seed: Option<u64>, order: [f64; 6]) -> String {
    let mut out = String::new();
    for id in 0..4 {
        for class in 0..2 {
            for (p, w) in order.iter().enumerate() {
                let seed = seed.map(|s| s.to_string()).unwrap_or_default();
                out += &format!("{id},{explainer},{class},w{p},0,{p},{w},{seed}\n");
            }
        }
    }
    out
}

const HEAD: &str = "example_id,explainer,class,feature,segment,position,weight,seed\n";
/// The reference ranks w0, w1, w2 first; the compared model w0, w1, w3: Jaccard@3 = 2/4.
const REFERENCE: [f64; 6] = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
const COMPARED: [f64; 6] = [6.0, 5.0, 1.0, 4.0, 2.0, 3.0];

fn write_files(dir: &Path, extra: &str) {
    for seed in [42, 43] {
        let reference = HEAD.to_string() + &rows("lime", Some(seed), REFERENCE) + &rows("occlusion", None, REFERENCE);
        std::fs::write(dir.join(format!("ref-seed{seed}.csv")), reference).unwrap();
        let compared =
            HEAD.to_string() + &rows("lime", Some(seed), COMPARED) + &rows("occlusion", None, COMPARED) + extra;
        std::fs::write(dir.join(format!("cmp-seed{seed}.csv")), compared).unwrap();
    }
}

fn manifest(dir: &Path) -> PathBuf {
    let attributions = |file: &str| format!("attributions = \"{}\"\n", dir.join(file).display());
    let models = [
        bow_model("bow-reference", &(attributions("ref-seed{seed}.csv") + "reference = true")),
        bow_model("bow-strong-l2", &attributions("cmp-seed{seed}.csv")),
    ];
    let extra = r#"
[[explainers]]
explainer = "lime"

[[explainers]]
explainer = "occlusion"

[alignment]
examples = 4
k = [3]
metrics = ["top-k-jaccard"]

[calibration]
bootstrap = 20
"#;
    sst2_bow_manifest(dir, &dir.join("results"), ("imported", &[42, 43]), "", &models, extra)
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn imported_attributions_are_aligned_like_trustx_own() {
    let dir = temp_dir("imported");
    write_files(&dir, "");
    let m = manifest(&dir);
    let out = run(&["run", m.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let alignment = csv_rows(&dir.join("results/imported/tables/alignment.csv"));
    let col = |name: &str| alignment[0].iter().position(|h| h == name).unwrap();
    assert_eq!(alignment.len() - 1, 2, "one row per explainer: {alignment:?}");
    for r in &alignment[1..] {
        assert_eq!(r[col("model")], "bow-strong-l2");
        assert_eq!(r[col("mean")].parse::<f64>().unwrap(), 0.5, "{r:?}");
        assert_eq!(r[col("examples")], "4", "{r:?}");
        // The reference's own runs agree: floor 1.
        assert_eq!(r[col("reference_floor")].parse::<f64>().unwrap(), 1.0, "{r:?}");
        if r[col("explainer")] == "lime" {
            // Two seeds: across seeds the same ranks, the same 0.5.
            assert_eq!((r[col("seeds")].as_str(), r[col("cross_seed")].parse::<f64>().unwrap()), ("2", 0.5), "{r:?}");
        }
    }
    // No model to evaluate: no faithfulness rows; the verdict measured alignment.
    let faithfulness = std::fs::read_to_string(dir.join("results/imported/tables/faithfulness.csv")).unwrap();
    assert_eq!(faithfulness.lines().count(), 1, "{faithfulness}");
    let verdict: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results/imported/verdict.json")).unwrap()).unwrap();
    let tests = verdict["models"][0]["tests"].as_array().unwrap();
    let lime = tests.iter().find(|t| t["name"] == "alignment lime top-k-jaccard@3").unwrap();
    assert_eq!((lime["value"].as_f64(), lime["label"].as_str()), (Some(0.5), Some("different")), "{lime}");

    // A changed file re-explains that model only.
    let before = std::fs::read_to_string(dir.join("cmp-seed43.csv")).unwrap();
    std::fs::write(dir.join("cmp-seed43.csv"), before.replacen(",6,", ",7,", 1)).unwrap();
    let out = run(&["run", m.to_str().unwrap(), "-q"]);
    let t = text(&out);
    assert!(t.contains("explain/bow-strong-l2/lime@seed43") && !t.contains("explain/bow-reference/lime@seed43"), "{t}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_wrong_attributions_file_names_the_row_or_the_example() {
    for (extra, wanted) in [
        ("9999,lime,1,w0,0,0,1.0,42\n", "row 97: example id `9999` is not in the dataset's eval split"),
        ("0,lime,1,w9,0,9,NaN,42\n", "row 97: weight NaN of `w9` is not a finite number"),
    ] {
        let dir = temp_dir("imported-bad");
        write_files(&dir, extra);
        let m = manifest(&dir);
        let out = run(&["run", m.to_str().unwrap(), "-q"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(t.contains("cmp-seed42.csv: ") && t.contains(wanted), "{wanted}: {t}");
        std::fs::remove_dir_all(&dir).ok();
    }
    // The explained class missing: example 0 (gold positive, class 1) has class-0 rows only.
    let dir = temp_dir("imported-class");
    write_files(&dir, "");
    let only0: String = std::fs::read_to_string(dir.join("cmp-seed42.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("0,lime,1,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("cmp-seed42.csv"), only0).unwrap();
    let out = run(&["run", manifest(&dir).to_str().unwrap(), "-q"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("explainer `lime`, example `0`, seed 42: no rows for class 1, the class explained"), "{t}");
    assert!(t.contains("model `bow-strong-l2`"), "{t}");
    std::fs::remove_dir_all(&dir).ok();
}
