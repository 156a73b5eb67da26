//! Models built from scratch, saved as Hugging Face folders and fine-tuned: determinism,
//! save → load round trips (bitwise identical logits), and learning a separable task.

use burn::tensor::Device;
use std::path::{Path, PathBuf};
use trustx_framework::data::Example;
use trustx_framework::model::scratch::{Architecture, ArchitectureType};
use trustx_framework::model::train::{FinetuneConfig, finetune};
use trustx_framework::model::{HeadPolicy, HfModel, LoadOptions};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trustx-training-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const WORDS: [&str; 16] = [
    "good", "great", "fine", "superb", "bad", "awful", "poor", "dull", "the", "film", "was", "a", "plot", "and", "it",
    "really",
];

/// A vocabulary of the special tokens and the test words.
fn vocab(dir: &Path) -> PathBuf {
    let path = dir.join("vocab.txt");
    let mut lines = vec!["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."];
    lines.extend(WORDS);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn arch(model_type: ArchitectureType, vocab: PathBuf, layers: usize, hidden: usize) -> Architecture {
    Architecture { model_type, layers, hidden, heads: 2, ffn: hidden * 2, vocab, max_positions: 64, lower_case: true }
}

fn options(seed: u64) -> LoadOptions {
    LoadOptions { seed, num_labels: Some(2), max_len: 32, ..LoadOptions::default() }
}

fn logits(model: &HfModel, texts: &[&str]) -> Vec<Vec<f32>> {
    let enc: Vec<_> = texts.iter().map(|t| model.tokenize(t, None).unwrap()).collect();
    model.forward_batch(&enc).unwrap().logits
}

/// Sentences of filler words with one positive or one negative word; label 1 = positive.
fn synthetic(n: usize, seed: u64) -> Vec<Example> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    (0..n)
        .map(|i| {
            let label = next(2);
            let sentiment = WORDS[if label == 1 { next(4) } else { 4 + next(4) }];
            let mut words: Vec<&str> = (0..3 + next(4)).map(|_| WORDS[8 + next(8)]).collect();
            let at = next(words.len() + 1);
            words.insert(at, sentiment);
            Example { id: i.to_string(), segments: vec![words.join(" ")], label }
        })
        .collect()
}

#[test]
fn scratch_models_are_seeded() {
    let dir = temp("seeded");
    let v = vocab(&dir);
    let device = Device::flex();
    let a = arch(ArchitectureType::Bert, v.clone(), 2, 16);
    let m1 = HfModel::from_architecture(&a, &options(7), &device).unwrap();
    let m2 = HfModel::from_architecture(&a, &options(7), &device).unwrap();
    let m3 = HfModel::from_architecture(&a, &options(8), &device).unwrap();
    let texts = ["the film was good", "awful plot"];
    assert_eq!(logits(&m1, &texts), logits(&m2, &texts));
    assert_ne!(logits(&m1, &texts), logits(&m3, &texts));
    assert_eq!(m1.tokenize("the film", None).unwrap().tokens, vec!["[CLS]", "the", "film", "[SEP]"]);
    let bad = Architecture { heads: 3, ..a.clone() };
    let e = HfModel::from_architecture(&bad, &options(7), &device).unwrap_err().to_string();
    assert!(e.contains("divisible"), "{e}");
    let missing = Architecture { vocab: dir.join("nope.txt"), ..a };
    let e = HfModel::from_architecture(&missing, &options(7), &device).unwrap_err().to_string();
    assert!(e.contains("nope.txt"), "{e}");
}

#[test]
fn saved_scratch_models_load_back_identically() {
    for (t, name) in [(ArchitectureType::Bert, "bert"), (ArchitectureType::Distilbert, "distilbert")] {
        let dir = temp(&format!("save-{name}"));
        let device = Device::flex();
        let model = HfModel::from_architecture(&arch(t, vocab(&dir), 2, 16), &options(3), &device).unwrap();
        let out = dir.join("saved");
        model.save_hf(&out).unwrap();
        for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
            assert!(out.join(f).is_file(), "{name}: {f} missing");
        }
        let loaded = HfModel::load(&out, &LoadOptions { max_len: 32, ..LoadOptions::default() }, &device).unwrap();
        assert!(!loaded.load_report().fresh_head, "{name}: the saved head is loaded");
        let texts = ["the film was really good", "poor and dull", "it"];
        assert_eq!(logits(&model, &texts), logits(&loaded, &texts), "{name}");
        assert_eq!(loaded.label_names(), model.label_names());
    }
}

#[test]
fn saved_minilm_keeps_hugging_face_names_and_outputs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2");
    if !src.join("model.safetensors").is_file() {
        println!("skipping: models/all-MiniLM-L6-v2 not found; run scripts/fetch-minilm.sh");
        return;
    }
    let device = Device::flex();
    let opts = LoadOptions { seed: 5, num_labels: Some(3), head: HeadPolicy::Fresh, ..LoadOptions::default() };
    let model = HfModel::load(&src, &opts, &device).unwrap();
    let dir = temp("minilm");
    let out = dir.join("saved");
    model.save_hf(&out).unwrap();
    let loaded = HfModel::load(&out, &LoadOptions::default(), &device).unwrap();
    let texts = ["A man is playing a guitar.", "Nobody is outside."];
    assert_eq!(logits(&model, &texts), logits(&loaded, &texts));
    assert_eq!(loaded.num_labels(), 3);
    // The saved file carries the original's tensors under the prefixed names, plus the head.
    let names = |p: &Path| -> Vec<String> {
        let bytes = std::fs::read(p).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let mut v: Vec<String> = header.as_object().unwrap().keys().filter(|k| *k != "__metadata__").cloned().collect();
        v.sort();
        v
    };
    let original: Vec<String> = names(&src.join("model.safetensors"))
        .into_iter()
        .filter(|n| !n.ends_with("position_ids"))
        .map(|n| format!("bert.{n}"))
        .collect();
    let saved = names(&out.join("model.safetensors"));
    let mut expected = original.clone();
    expected.extend(["classifier.bias".to_string(), "classifier.weight".to_string()]);
    expected.sort();
    assert_eq!(saved, expected);
}

#[test]
fn finetuning_learns_and_is_reproducible() {
    let dir = temp("finetune");
    let v = vocab(&dir);
    let device = Device::flex();
    let a = arch(ArchitectureType::Bert, v, 2, 32);
    let train = synthetic(320, 1);
    let dev = synthetic(100, 2);
    let config = FinetuneConfig { lr: 2e-3, epochs: 4, batch_size: 16, warmup_ratio: 0.1, ..FinetuneConfig::default() };
    let run = |seed: u64| {
        let model = HfModel::from_architecture(&a, &options(seed), &device).unwrap();
        let mut ticks = 0;
        let (trained, report) = finetune(model, &train, &dev, &config, seed, &mut |_| ticks += 1).unwrap();
        assert_eq!(ticks, report.steps);
        (trained, report)
    };
    let (m1, r1) = run(11);
    let best = r1.epochs.iter().map(|e| e.dev_accuracy.unwrap()).fold(0.0, f64::max);
    assert!(best >= 0.9, "dev accuracy {best}: {:?}", r1.epochs);
    assert_eq!(r1.epochs[r1.best_epoch - 1].dev_accuracy.unwrap(), best, "the best epoch is kept");
    assert_eq!(r1.steps, 4 * 20);
    let (m2, _) = run(11);
    let texts = ["the film was great", "awful plot and dull"];
    assert_eq!(logits(&m1, &texts), logits(&m2, &texts), "same seed, same weights");
    let (m3, _) = run(12);
    assert_ne!(logits(&m1, &texts), logits(&m3, &texts), "another seed, other weights");

    let bad = vec![Example { id: "x7".into(), segments: vec!["good".into()], label: 5 }];
    let model = HfModel::from_architecture(&a, &options(1), &device).unwrap();
    let e = finetune(model, &bad, &[], &config, 1, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("x7") && e.contains("label 5"), "{e}");
}
