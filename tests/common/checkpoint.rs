//! A tiny BERT sequence classifier written as a Hugging Face folder (safetensors, vocab.txt,
//! config.json) from a fixed sequence of numbers, so that tests of fine-tuned folders need
//! no downloaded model.

use super::repo;
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
pub fn checkpoint(dir: &Path, names: [&str; 2], swap: bool) -> PathBuf {
    write(dir, Some(names), swap)
}

/// Writes the tiny BERT's encoder to `dir` without a classification head (like a sentence
/// encoder such as all-MiniLM-L6-v2).
pub fn headless(dir: &Path) -> PathBuf {
    write(dir, None, false)
}

fn write(dir: &Path, names: Option<[&str; 2]>, swap: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let vocab = repo().join("data/vocab/sst2-words.txt");
    std::fs::copy(&vocab, dir.join("vocab.txt")).unwrap();
    let vocab_size = std::fs::read_to_string(&vocab).unwrap().lines().count();
    std::fs::write(dir.join("tokenizer_config.json"), r#"{"do_lower_case": true, "tokenizer_class": "BertTokenizer"}"#)
        .unwrap();
    let mut config = serde_json::json!({
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
    });
    if let Some(names) = names {
        config["id2label"] = serde_json::json!({"0": names[0], "1": names[1]});
        config["label2id"] = serde_json::json!({names[0]: 0, names[1]: 1});
    } else {
        config["architectures"] = serde_json::json!(["BertModel"]);
    }
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mut tensors = tiny_bert(vocab_size);
    if names.is_none() {
        tensors.retain(|(n, _, _)| !n.starts_with("classifier."));
    }
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
