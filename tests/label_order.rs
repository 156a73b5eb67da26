//! End to end: a fine-tuned folder's classes are matched to the dataset's by name
//! (`config.json` `id2label`), not by index. The same weights with the head's rows swapped
//! and `id2label` swapped score the same accuracy, agree with the original on every
//! example and explain the same words; names that differ are renamed with the manifest's
//! `labels`; names that cannot be matched stop the run with an error naming both lists.

mod common;

use common::{repo, run, temp_dir, text};
use std::path::{Path, PathBuf};

const HIDDEN: usize = 16;
const FFN: usize = 32;
const POSITIONS: usize = 128;

/// Values in [-scale, scale) from a fixed linear congruential sequence.
fn draw(n: usize, state: &mut u64, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((*state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Every tensor of a 1-layer BERT sequence classifier with 2 classes (PyTorch layout),
/// weights drawn from a fixed sequence, so the test needs no downloaded model.
fn tiny_bert(vocab: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut state = 7u64;
    let (h, f) = (HIDDEN, FFN);
    let mut t: Vec<(String, Vec<usize>)> = vec![
        ("bert.embeddings.word_embeddings.weight".into(), vec![vocab, h]),
        ("bert.embeddings.position_embeddings.weight".into(), vec![POSITIONS, h]),
        ("bert.embeddings.token_type_embeddings.weight".into(), vec![2, h]),
    ];
    let p = "bert.encoder.layer.0";
    for (name, shape) in [
        ("attention.self.query", vec![h, h]),
        ("attention.self.key", vec![h, h]),
        ("attention.self.value", vec![h, h]),
        ("attention.output.dense", vec![h, h]),
        ("intermediate.dense", vec![f, h]),
        ("output.dense", vec![h, f]),
    ] {
        t.push((format!("{p}.{name}.bias"), vec![shape[0]]));
        t.push((format!("{p}.{name}.weight"), shape));
    }
    t.push(("bert.pooler.dense.weight".into(), vec![h, h]));
    t.push(("bert.pooler.dense.bias".into(), vec![h]));
    t.push(("classifier.weight".into(), vec![2, h]));
    t.push(("classifier.bias".into(), vec![2]));
    let mut out: Vec<(String, Vec<usize>, Vec<f32>)> =
        t.into_iter().map(|(n, s)| (n, s.clone(), draw(s.iter().product(), &mut state, 0.5))).collect();
    for ln in
        ["bert.embeddings.LayerNorm", &format!("{p}.attention.output.LayerNorm"), &format!("{p}.output.LayerNorm")]
    {
        out.push((format!("{ln}.weight"), vec![h], vec![1.0; h]));
        out.push((format!("{ln}.bias"), vec![h], vec![0.0; h]));
    }
    out
}

/// Writes the tiny BERT to `dir` with `id2label` = `names`; `swap` reverses the
/// classification head's rows (weight and bias): the same model with its classes in the
/// other order.
fn checkpoint(dir: &Path, names: [&str; 2], swap: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let vocab = repo().join("data/vocab/sst2-words.txt");
    std::fs::copy(&vocab, dir.join("vocab.txt")).unwrap();
    let vocab_size = std::fs::read_to_string(&vocab).unwrap().lines().count();
    std::fs::write(dir.join("tokenizer_config.json"), r#"{"do_lower_case": true, "tokenizer_class": "BertTokenizer"}"#)
        .unwrap();
    let config = serde_json::json!({
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": FFN,
        "hidden_act": "gelu",
        "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2,
        "pad_token_id": 0,
        "id2label": {"0": names[0], "1": names[1]},
        "label2id": {names[0]: 0, names[1]: 1},
    });
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mut tensors = tiny_bert(vocab_size);
    if swap {
        for (name, _, values) in tensors.iter_mut().filter(|(n, _, _)| n.starts_with("classifier.")) {
            let half = values.len() / 2;
            let (a, b) = values.split_at_mut(half);
            a.swap_with_slice(b);
            assert!(name.starts_with("classifier."));
        }
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> =
        tensors.into_iter().map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, d)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap())
        })
        .collect();
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
    dir.to_path_buf()
}

fn manifest(dir: &Path, name: &str, models: &str) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "{name}"
seeds = [1]
results = "{results}"

[dataset]
loader = "sst"

[dataset.eval]
path = "{data}/sst2/dev.tsv"
max_rows = 120

{models}
[calibration]
metrics = ["accuracy", "ece"]
similarity = ["agreement"]
bootstrap = 20

[[explainers]]
explainer = "occlusion"

[alignment]
k = [3]
examples = 6
metrics = ["top-k-jaccard"]
"#,
        results = dir.join("results").display(),
        data = repo().join("data").display(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `(model, metric) → mean` of a table of `results/<experiment>/tables/`.
fn means(dir: &Path, experiment: &str, table: &str) -> Vec<(String, String, f64)> {
    let csv = std::fs::read_to_string(dir.join("results").join(experiment).join("tables").join(table)).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    let (model, metric, mean) = (col("model"), col("metric"), col("mean"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .map(|c| (c[model].to_string(), c[metric].to_string(), c[mean].parse().unwrap()))
        .collect()
}

fn value(rows: &[(String, String, f64)], model: &str, metric: &str) -> f64 {
    rows.iter().find(|(m, k, _)| m == model && k == metric).unwrap_or_else(|| panic!("{model} {metric} in {rows:?}")).2
}

#[test]
fn a_reversed_label_order_gives_the_same_model() {
    let dir = temp_dir("label-order");
    checkpoint(&dir.join("original"), ["negative", "positive"], false);
    checkpoint(&dir.join("reversed"), ["POSITIVE", "NEGATIVE"], true);
    checkpoint(&dir.join("renamed"), ["LABEL_0", "LABEL_1"], true);
    let models = format!(
        r#"[models.original]
checkpoint = "{d}/original"
finetuned = true
reference = true

[models.reversed]
checkpoint = "{d}/reversed"
finetuned = true

[models.renamed]
checkpoint = "{d}/renamed"
finetuned = true
labels = {{ LABEL_0 = "positive", LABEL_1 = "negative" }}
"#,
        d = dir.display()
    );
    let m = manifest(&dir, "labels", &models);
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));

    let calibration = means(&dir, "labels", "calibration.csv");
    let accuracy = value(&calibration, "original", "accuracy");
    assert_eq!(value(&calibration, "reversed", "accuracy"), accuracy);
    assert_eq!(value(&calibration, "renamed", "accuracy"), accuracy);
    assert_eq!(value(&calibration, "reversed", "ece"), value(&calibration, "original", "ece"));
    let similarity = means(&dir, "labels", "similarity.csv");
    assert_eq!(value(&similarity, "reversed", "agreement"), 1.0);
    assert_eq!(value(&similarity, "renamed", "agreement"), 1.0);
    // The explained class (gold) follows the names: the same words, in the same order.
    let alignment = means(&dir, "labels", "alignment.csv");
    assert_eq!(value(&alignment, "reversed", "top-k-jaccard@3"), 1.0, "{alignment:?}");
}

#[test]
fn label_names_that_cannot_be_matched_stop_with_both_lists() {
    let dir = temp_dir("label-mismatch");
    checkpoint(&dir.join("good"), ["negative", "positive"], false);
    checkpoint(&dir.join("unnamed"), ["LABEL_0", "LABEL_1"], false);
    let models = format!(
        "[models.good]\ncheckpoint = \"{d}/good\"\nfinetuned = true\nreference = true\n\n[models.unnamed]\ncheckpoint = \"{d}/unnamed\"\nfinetuned = true\n",
        d = dir.display()
    );
    let m = manifest(&dir, "mismatch", &models);
    let out = run(&["run", m.to_str().unwrap(), "--quiet"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED") && t.contains("predict/unnamed"), "{t}");
    assert!(t.contains("[LABEL_0, LABEL_1]") && t.contains("[negative, positive]"), "{t}");
    assert!(t.contains("labels = { LABEL_0 = \"negative\", LABEL_1 = \"positive\" }"), "{t}");

    // `labels` on a model whose head trustx trains is a manifest error (exit 2) naming the key.
    let bad = format!(
        "[models.good]\ncheckpoint = \"{d}/good\"\nfinetuned = true\nreference = true\n\n[models.unnamed]\ncheckpoint = \"{d}/unnamed\"\nlabels = {{ LABEL_0 = \"negative\" }}\n",
        d = dir.display()
    );
    let m = manifest(&dir, "bad", &bad);
    let out = run(&["validate", m.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("models.unnamed.labels") && t.contains("finetuned = true"), "{t}");
}
