//! The packed inference path (`model::packed`, what `HfModel::forward_batch` runs on the
//! CPU) against burn's forward: the same logits to 1e-4 for BERT and DistilBERT built from
//! scratch, for layer-dropped and pruned copies, and for the real all-MiniLM-L6-v2 on
//! bundled SNLI dev pairs (skipped with a printed reason when `scripts/fetch-minilm.sh` has
//! not run); and logits that do not depend on the batch an input lands in. The tolerance
//! is relative to the largest logit (1e-4 of it).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use trustx_framework::model::scratch::{Architecture, ArchitectureType};
use trustx_framework::model::{Encoded, HfModel, LoadOptions};

const TOL: f32 = 1e-4;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(model_type: ArchitectureType, layers: usize, seed: u64) -> HfModel {
    let arch = Architecture {
        model_type,
        layers,
        hidden: 32,
        heads: 4,
        ffn: 64,
        vocab: workspace().join("data/vocab/sst2-words.txt"),
        max_positions: 128,
        lower_case: true,
    };
    let options = LoadOptions { seed, num_labels: Some(3), max_len: 128, batch_size: 8, ..LoadOptions::default() };
    HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap()
}

/// SNLI dev pairs from the bundled sample.
fn snli_pairs(n: usize) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(workspace().join("data/snli/snli_1.0_dev.head1000.jsonl")).unwrap();
    text.lines()
        .take(n)
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (v["sentence1"].as_str().unwrap().to_string(), v["sentence2"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Singles and pairs of many lengths, with a repeat.
fn inputs(model: &HfModel, n: usize) -> Vec<Encoded> {
    let mut out = Vec::new();
    for (k, (p, h)) in snli_pairs(n).iter().enumerate() {
        out.push(if k % 3 == 0 { model.tokenize(p, None) } else { model.tokenize(p, Some(h)) }.unwrap());
    }
    out.push(out[1].clone());
    out
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Packed and burn logits of `model` on `inputs`, asserting they agree.
fn assert_parity(name: &str, mut model: HfModel, inputs: &[Encoded]) {
    let packed = model.forward_batch(inputs).unwrap();
    model.set_packed(false);
    let burn = model.forward_batch(inputs).unwrap();
    let diff = max_diff(&packed.logits, &burn.logits);
    let scale = burn.logits.iter().flatten().map(|v| v.abs()).fold(0.0, f32::max);
    println!("{name}: max |packed − burn| = {diff:e} (largest logit {scale})");
    // Relative to the logits' size: fresh heads give small logits.
    assert!(diff < TOL * scale, "{name}: packed and burn logits differ by {diff}");
    assert!(max_diff(&packed.probs, &burn.probs) < TOL, "{name}: probabilities differ");
}

#[test]
fn packed_equals_burn_for_bert_and_distilbert_from_scratch() {
    for (kind, name) in [(ArchitectureType::Bert, "bert"), (ArchitectureType::Distilbert, "distilbert")] {
        let model = scratch(kind, 3, 7);
        let xs = inputs(&model, 40);
        assert_parity(name, model, &xs);
    }
}

#[test]
fn packed_equals_burn_for_compressed_copies() {
    let model = scratch(ArchitectureType::Bert, 4, 11);
    let xs = inputs(&model, 24);
    // Run the full model first: its packed copy must not follow it into the copies.
    model.forward_batch(&xs).unwrap();
    assert_parity("layer-dropped", model.with_layers(&[0, 2]).unwrap(), &xs);
    let pruned = trustx_framework::model::surgery::remove_heads(
        model.network().clone(),
        model.spec().model_type,
        model.spec().hidden_size / model.spec().num_heads,
        &[(0, 1), (3, 2)],
    );
    assert_parity("heads removed", model.clone().with_network(pruned), &xs);
}

#[test]
fn packed_logits_do_not_depend_on_the_batch() {
    let model = scratch(ArchitectureType::Bert, 2, 3);
    let xs = inputs(&model, 30);
    let together = model.forward_batch(&xs).unwrap();
    for (k, x) in xs.iter().enumerate().step_by(7) {
        let alone = model.forward_batch(std::slice::from_ref(x)).unwrap();
        let diff = max_diff(&alone.logits, &together.logits[k..k + 1]);
        assert!(diff < 1e-5, "input {k}: alone and batched differ by {diff}");
    }
    // Same request, same bits.
    assert_eq!(model.forward_batch(&xs).unwrap(), together);
}

#[test]
fn packed_equals_burn_for_minilm_on_snli_pairs() {
    let dir = workspace().join("models/all-MiniLM-L6-v2");
    if !dir.join("config.json").is_file() {
        println!("skipping: models/all-MiniLM-L6-v2 not found; run scripts/fetch-minilm.sh");
        return;
    }
    let options = LoadOptions { num_labels: Some(3), batch_size: 16, ..LoadOptions::default() };
    let model = HfModel::load(&dir, &options, &Device::flex()).unwrap();
    let xs = inputs(&model, 48);
    assert_parity("all-MiniLM-L6-v2", model, &xs);
}
