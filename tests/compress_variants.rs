//! End to end with compressed variants: a small BERT trained from scratch, and one variant
//! of each compressor (layer-drop + fine-tune, quantize, prune, distill) plus a variant of
//! a variant. Every variant gets a model card with bits, sparsity, size and speed; a second
//! run is fully cached; changing one compressor setting reruns only that variant's nodes;
//! manifest errors name the variant and the key.

mod common;

use common::{repo, run, run_json, temp_dir, text};
use std::path::{Path, PathBuf};

fn manifest(dir: &Path, int8_granularity: &str, variants_extra: &str) -> PathBuf {
    let data = repo().join("data");
    let text = format!(
        r#"[experiment]
name = "variants"
seeds = [1]
results = "{results}"

[dataset]
loader = "sst"

[dataset.train]
path = "{data}/sst2/stsa.binary.train.head3000"
max_rows = 400

[dataset.eval]
path = "{data}/sst2/dev.tsv"
max_rows = 120

[models.base]
architecture = {{ type = "bert", layers = 4, hidden = 32, heads = 4, ffn = 64, vocab = "{data}/vocab/sst2-words.txt" }}
reference = true
max_len = 40

[variants.dropped]
from = "base"
compressor = "layer-drop"
layers = [0, 2]
finetune = true

[variants.int8]
from = "base"
compressor = "quantize"
granularity = "{int8_granularity}"

[variants.pruned]
from = "base"
compressor = "prune"
sparsity = 0.5
heads = 1

[variants.pruned-int8]
from = "pruned"
compressor = "quantize"

[variants.student]
from = "base"
compressor = "distill"
keep_every = 2
train = {{ lr = 1e-3, epochs = 1, batch_size = 32 }}
{variants_extra}
[train]
lr = 1e-3
epochs = 1
batch_size = 32

[calibration]
bootstrap = 20
"#,
        results = dir.join("results").display(),
        data = data.display(),
    );
    let path = dir.join("variants.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `(name, status)` of every node of the last run.
fn statuses(dir: &Path) -> Vec<(String, String)> {
    let run = run_json(dir, "variants");
    run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_string(), n["status"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn variants_compress_predict_cache_and_rerun_alone() {
    let dir = temp_dir("variants");
    let m = manifest(&dir, "per-channel", "");
    let m = m.to_str().unwrap();
    let out = run(&["run", m, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));

    let names: Vec<String> = statuses(&dir).into_iter().map(|(n, _)| n).collect();
    for node in [
        "compress/dropped@seed1",
        "train/dropped@seed1",
        "compress/int8@seed1",
        "compress/pruned@seed1",
        "compress/pruned-int8@seed1",
        "compress/student@seed1",
        "predict/student@seed1",
    ] {
        assert!(names.iter().any(|n| n == node), "{node} missing from {names:?}");
    }

    // Every variant has a card: bits, sparsity, size, speed.
    let csv = std::fs::read_to_string(dir.join("results/variants/tables/models.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
    let row = |model: &str| -> Vec<String> {
        let line =
            csv.lines().find(|l| l.starts_with(&format!("{model},"))).unwrap_or_else(|| panic!("{model}: {csv}"));
        line.split(',').map(String::from).collect()
    };
    let num = |model: &str, name: &str| -> f64 { row(model)[col(name)].parse().unwrap_or(f64::NAN) };
    for v in ["dropped", "int8", "pruned", "pruned-int8", "student"] {
        for c in ["size_mb", "ms_per_example", "weight_bits", "sparsity"] {
            assert!(num(v, c).is_finite(), "{v} {c}: {csv}");
        }
        assert!(num(v, "ms_per_example") > 0.0 && num(v, "size_mb") > 0.0);
    }
    assert_eq!(num("int8", "weight_bits"), 8.0);
    assert_eq!(num("pruned-int8", "weight_bits"), 8.0, "bits carry through a variant of a variant");
    assert_eq!(num("pruned", "weight_bits"), 32.0);
    assert!((num("pruned", "sparsity") - 0.5).abs() < 1e-3, "{csv}");
    assert!(num("pruned-int8", "sparsity") >= 0.5 - 1e-3);
    // The int8 variant's folder holds I8 weights: its size on disk is the real one.
    assert!(num("int8", "size_mb") < num("base", "size_mb") * 0.9, "{csv}");
    assert!(num("dropped", "parameters") < num("base", "parameters"));
    assert_eq!(row("dropped")[col("source")], "layer-drop+train");

    // The summary names each variant's source and compressor.
    let nodes_dir = dir.join("results/variants/nodes");
    let mut summary_text = String::new();
    for e in std::fs::read_dir(&nodes_dir).unwrap() {
        let p = e.unwrap().path().join("summary.json");
        if p.is_file() {
            summary_text = std::fs::read_to_string(p).unwrap();
        }
    }
    let summary: serde_json::Value = serde_json::from_str(&summary_text).unwrap();
    let pi8 = summary["models"].as_array().unwrap().iter().find(|m| m["name"] == "pruned-int8").unwrap();
    assert_eq!(pi8["derived_from"], "pruned");
    assert_eq!(pi8["compressor"], "quantize");
    assert!(pi8["card"]["quantization"].as_str().unwrap().contains("dynamic-int8"), "{pi8}");

    // compress.json says what was done.
    let report = |variant: &str| -> serde_json::Value {
        for e in std::fs::read_dir(&nodes_dir).unwrap() {
            let p = e.unwrap().path().join("compress.json");
            if p.is_file() {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                if v["variant"] == variant {
                    return v;
                }
            }
        }
        panic!("no compress.json of {variant}");
    };
    assert_eq!(report("dropped")["report"]["layers_kept"], serde_json::json!([0, 2]));
    assert_eq!(report("int8")["report"]["int8"], "real");
    let student = report("student");
    assert!(student["report"]["train_kl_after"].is_number(), "{student}");

    // Variants export like trained models: the layer-dropped one has 2 layers, and a
    // fine-tuned variant exports its train node's model.
    for (variant, layers) in [("dropped", 2), ("int8", 4)] {
        let out_dir = dir.join(format!("export-{variant}"));
        let out = run(&["model", "export", variant, "--manifest", m, "--out", out_dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["num_hidden_layers"], layers, "{variant}");
    }

    // The pruned variant is stored sparse (`model::sparse_io`): smaller than its dense form,
    // which `--dense` writes, and the same model: equal logits through `model inspect`.
    let export = |dense: bool| {
        let out_dir = dir.join(if dense { "export-pruned-dense" } else { "export-pruned" });
        let mut args = vec!["model", "export", "pruned", "--manifest", m, "--out", out_dir.to_str().unwrap()];
        if dense {
            args.push("--dense");
        }
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        out_dir
    };
    let (sparse_dir, dense_dir) = (export(false), export(true));
    let config = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap()
    };
    assert_eq!(config(&sparse_dir)["trustx_sparse"]["format"], "bitmap-v1");
    assert!(config(&dense_dir).get("trustx_sparse").is_none());
    let size = |d: &std::path::Path| std::fs::metadata(d.join("model.safetensors")).unwrap().len();
    // 4 layers × 8,192 encoder weights at 50 %: 2.125 instead of 4 bytes each.
    let saved = size(&dense_dir) - size(&sparse_dir);
    assert!(saved > 4 * 8192 * 3 / 2, "{} against {} bytes", size(&sparse_dir), size(&dense_dir));
    assert!(
        (num("pruned", "size_mb") * 1e6 - size(&sparse_dir) as f64).abs() < 1.0,
        "the card's size is the stored file's"
    );
    let logits = |d: &std::path::Path| -> serde_json::Value {
        let out = run(&["model", "inspect", d.to_str().unwrap(), "--text", "a gripping , funny film", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["logits"].clone()
    };
    assert_eq!(logits(&sparse_dir), logits(&dense_dir));

    // A second run computes nothing.
    let out = run(&["run", m, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(statuses(&dir).iter().all(|(_, s)| s == "cached"), "{:?}", statuses(&dir));

    // One compressor setting changed: only that variant's nodes (and the tables) rerun.
    let m2 = manifest(&dir, "per-tensor", "");
    let out = run(&["run", m2.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let ran: Vec<String> = statuses(&dir).into_iter().filter(|(_, s)| s == "ran").map(|(n, _)| n).collect();
    assert_eq!(
        ran,
        vec![
            "compress/int8@seed1",
            "predict/int8@seed1",
            "calibration/int8@seed1",
            "similarity/int8@seed1",
            "aggregate",
            "report"
        ],
    );
}

#[test]
fn variant_errors_name_the_variant_and_key() {
    let dir = temp_dir("variant-errors");
    let cases = [
        (
            "[variants.bad]\nfrom = \"nowhere\"\ncompressor = \"quantize\"\n",
            "variants.bad.from",
            "not a model or variant",
        ),
        (
            "[variants.a]\nfrom = \"b\"\ncompressor = \"quantize\"\n[variants.b]\nfrom = \"a\"\ncompressor = \"quantize\"\n",
            "variants.a.from",
            "cycle",
        ),
        (
            "[variants.far]\nfrom = \"base\"\ncompressor = \"layer-drop\"\nlayers = [0, 7]\n",
            "variants.far.layers",
            "out of range",
        ),
        (
            "[variants.typo]\nfrom = \"base\"\ncompressor = \"quantise\"\n",
            "variants.typo.compressor",
            "did you mean `quantize`",
        ),
        ("[variants.p]\nfrom = \"base\"\ncompressor = \"prune\"\nsparsity = 1.5\n", "variants.p.sparsity", "[0, 1)"),
    ];
    for (extra, key, message) in cases {
        let m = manifest(&dir, "per-channel", extra);
        let out = run(&["validate", m.to_str().unwrap()]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(key) && t.contains(message), "expected `{key}` … `{message}`:\n{t}");
        assert!(t.contains("variants.toml:"), "{t}");
    }
    // A variant of a variant: the layer count is known only when it is compressed.
    let m = manifest(
        &dir,
        "per-channel",
        "[variants.deep]\nfrom = \"int8\"\ncompressor = \"layer-drop\"\nlayers = [0, 9]\n",
    );
    let out = run(&["validate", m.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["run", m.to_str().unwrap(), "--quiet", "--force", "compress/deep"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("variant `deep`") && t.contains("variants.deep.layers") && t.contains("out of range"), "{t}");

    // A variant of a predictions model.
    let data = repo().join("data");
    let m = dir.join("pred.toml");
    std::fs::write(
        &m,
        format!(
            "[experiment]\nname = \"p\"\nseeds = [42]\n\n[dataset]\nloader = \"glue\"\ntask = \"sst2\"\n\n[dataset.eval]\npath = \"{d}/sst2/dev.tsv\"\n\n[models.bow]\nsource = \"predictions\"\npath = \"{d}/predictions/sst2-bow/bow-reference-seed{{seed}}.csv\"\nreference = true\n\n[variants.small]\nfrom = \"bow\"\ncompressor = \"quantize\"\n",
            d = data.display()
        ),
    )
    .unwrap();
    let out = run(&["validate", m.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("variants.small.from") && t.contains("predictions"), "{t}");
}
