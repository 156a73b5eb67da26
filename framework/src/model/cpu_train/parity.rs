//! The CPU training path against burn's autodiff: gradients, a training step, and
//! reproducibility.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::buffers::Source;
use super::loss::cross_entropy;
use super::*;
use crate::model::scratch::{Architecture, ArchitectureType};
use crate::model::{Batch, HfModel, LoadOptions, ModelType};

/// A small model drawn from scratch over the bundled SST-2 vocabulary.
pub(crate) fn scratch_model(model_type: ArchitectureType, layers: usize, seed: u64) -> HfModel {
    let vocab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vocab/sst2-words.txt");
    let arch =
        Architecture { model_type, layers, hidden: 16, heads: 4, ffn: 32, vocab, max_positions: 64, lower_case: true };
    let options = LoadOptions { seed, num_labels: Some(3), max_len: 32, ..LoadOptions::default() };
    HfModel::from_architecture(&arch, &options, &Device::flex()).unwrap()
}

/// Inputs of several lengths, one of them a pair.
pub(crate) fn inputs(model: &HfModel) -> Vec<Encoded> {
    let texts = [
        ("a gripping , beautifully acted film", None),
        ("dull", None),
        ("the plot is thin but the acting is fun and the music is great", None),
        ("a man plays", Some("someone makes music")),
        ("boring , boring , boring", None),
    ];
    texts.iter().map(|(a, b)| model.tokenize(a, *b).unwrap()).collect()
}

/// burn's loss and gradients (flat, in `layout`) for cross-entropy on `targets`.
fn burn_gradients(model: &HfModel, layout: &Layout, inputs: &[Encoded], targets: &[usize]) -> (f64, Vec<f32>) {
    let ad = model.device().clone().autodiff();
    let net = model.network().clone().fork(&ad).train();
    let rows: Vec<&Encoded> = inputs.iter().collect();
    let spec = model.spec();
    let batch = Batch::new(&rows, spec.pad_token_id, spec.model_type == ModelType::Bert, &ad);
    let out = net.forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
    let t: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let t = Tensor::<1, Int>::from_data(TensorData::new(t, [targets.len()]), &ad);
    let loss = CrossEntropyLossConfig::new().init(&ad).forward(out.logits, t);
    let value = f64::from(loss.clone().into_scalar::<f32>());
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    (value, layout.gather(&net, &Source::Gradients(&grads)).unwrap())
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt()
}

/// Asserts that every tensor's gradient is within `tol` of burn's (relative L2 error of the
/// tensor; tensors whose gradient is zero in both pass).
fn assert_close(layout: &Layout, ours: &[f32], want: &[f32], tol: f64) {
    let mut worst = (0.0f64, String::new());
    for (name, range) in layout.tensors() {
        let (a, b) = (&ours[range.clone()], &want[range]);
        let diff: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let (err, scale) = (norm(&diff), norm(b));
        assert!(err <= tol * scale || err == 0.0, "{name}: relative error {} (|burn| = {scale:e})", err / scale);
        if err > 0.0 && err / scale > worst.0 {
            worst = (err / scale, name);
        }
    }
    eprintln!("largest relative error {:.2e} ({})", worst.0, worst.1);
    assert!(norm(want) > 0.0, "burn's gradients are all zero");
}

fn ours(model: &HfModel, inputs: &[Encoded], targets: &[usize]) -> (CpuNet, f64) {
    let mut net = CpuNet::new(model.network(), model.spec(), None).unwrap();
    let rows: Vec<&Encoded> = inputs.iter().collect();
    let index: Vec<usize> = (0..rows.len()).collect();
    let classes = net.layout().labels;
    let loss = |logits: &[f32], rows: &[usize], d: &mut [f32]| {
        let t: Vec<usize> = rows.iter().map(|&r| targets[r]).collect();
        cross_entropy(logits, classes, &t, d)
    };
    let value = net.gradients(&rows, &index, 0, &loss).unwrap();
    (net, value)
}

fn check_gradients(model: &HfModel, tol: f64) {
    let inputs = inputs(model);
    let targets: Vec<usize> = (0..inputs.len()).map(|i| i % 3).collect();
    let (net, value) = ours(model, &inputs, &targets);
    let (want_value, want) = burn_gradients(model, net.layout(), &inputs, &targets);
    assert!((value - want_value).abs() < 1e-5 * want_value.abs().max(1.0), "loss {value} vs burn's {want_value}");
    assert_close(net.layout(), net.grads(), &want, tol);
}

#[test]
fn bert_gradients_match_burns_autodiff() {
    check_gradients(&scratch_model(ArchitectureType::Bert, 2, 5), 1e-4);
}

#[test]
fn distilbert_gradients_match_burns_autodiff() {
    check_gradients(&scratch_model(ArchitectureType::Distilbert, 2, 6), 1e-4);
}

#[test]
#[ignore = "needs models/ (scripts/fetch-minilm.sh)"]
fn minilm_gradients_match_burns_autodiff() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2");
    let options = LoadOptions { num_labels: Some(3), ..LoadOptions::default() };
    let model = HfModel::load(&dir, &options, &Device::flex()).unwrap();
    check_gradients(&model, 1e-4);
}

#[test]
fn parameters_go_back_into_burn_unchanged() {
    for model in [scratch_model(ArchitectureType::Bert, 2, 1), scratch_model(ArchitectureType::Distilbert, 1, 2)] {
        let net = CpuNet::new(model.network(), model.spec(), None).unwrap();
        let back = net.to_network(model.network()).unwrap();
        let again = net.layout().gather(&back, &Source::Values).unwrap();
        assert_eq!(again, net.params());
        // And the network computes what it computed.
        let probe = model.clone().with_network(back);
        let e = inputs(&model);
        assert_eq!(probe.forward_batch(&e).unwrap().logits, model.forward_batch(&e).unwrap().logits);
    }
}

#[test]
fn a_step_is_bitwise_the_same_with_one_thread_or_two() {
    let model = scratch_model(ArchitectureType::Bert, 2, 9);
    let e = inputs(&model);
    let rows: Vec<&Encoded> = e.iter().collect();
    let index: Vec<usize> = (0..rows.len()).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let d = Dropout { hidden: 0.1, attention: 0.1, classifier: 0.1, seed: 3 };
            let mut net = CpuNet::new(model.network(), model.spec(), Some(d)).unwrap();
            let mut optim = AdamW::new(net.layout().len, [0.9, 0.999], 1e-8, 0.01);
            let loss = |z: &[f32], r: &[usize], d: &mut [f32]| {
                cross_entropy(z, 3, &r.iter().map(|&i| i % 3).collect::<Vec<_>>(), d)
            };
            for step in 0..3 {
                net.gradients(&rows, &index, step, &loss).unwrap();
                net.update(&mut optim, 1e-3, 1.0);
            }
            net.params().to_vec()
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_ne!(one, CpuNet::new(model.network(), model.spec(), None).unwrap().params());
}

/// `network` with every dropout probability set to 0.
fn without_dropout(mut network: SequenceClassifier) -> SequenceClassifier {
    let (emb, encoder, classifier) = match &mut network {
        SequenceClassifier::Bert(m) => (&mut m.bert.embeddings, &mut m.bert.encoder, &mut m.dropout),
        SequenceClassifier::DistilBert(m) => {
            (&mut m.distilbert.embeddings, &mut m.distilbert.transformer, &mut m.dropout)
        }
    };
    emb.dropout.prob = 0.0;
    classifier.prob = 0.0;
    for l in &mut encoder.layers {
        l.dropout.prob = 0.0;
        l.attention.dropout.prob = 0.0;
    }
    network
}

/// 40 labelled sentences over the bundled vocabulary.
fn examples() -> Vec<crate::data::Example> {
    let words = ["good", "bad", "film", "boring", "great", "dull", "fun", "awful", "the", "plot"];
    (0..40)
        .map(|i| crate::data::Example {
            id: i.to_string(),
            segments: vec![(0..2 + i % 7).map(|j| words[(i * 3 + j * 7) % 10]).collect::<Vec<_>>().join(" ")],
            label: i % 3,
        })
        .collect()
}

fn short_config() -> crate::model::train::FinetuneConfig {
    crate::model::train::FinetuneConfig {
        lr: 2e-3,
        epochs: 2,
        batch_size: 8,
        weight_decay: 0.01,
        warmup_ratio: 0.2,
        select_best: false,
        ..Default::default()
    }
}

/// Per-step epoch-mean losses and the trained parameters of a fine-tune on `path`.
fn finetune_on(path: crate::model::train::TrainPath, model: &HfModel, seed: u64) -> (Vec<f64>, Vec<f32>) {
    use crate::model::train::{Losses, train_on};
    let train = examples();
    let burn_loss = |logits: Tensor<2>, rows: &[usize], device: &Device| -> Tensor<1> {
        let t: Vec<i64> = rows.iter().map(|&i| train[i].label as i64).collect();
        let t = Tensor::<1, Int>::from_data(TensorData::new(t, [rows.len()]), device);
        CrossEntropyLossConfig::new().init(device).forward(logits, t)
    };
    let cpu_loss = |logits: &[f32], rows: &[usize], d: &mut [f32]| -> f64 {
        cross_entropy(logits, 3, &rows.iter().map(|&i| train[i].label).collect::<Vec<_>>(), d)
    };
    let losses = Losses { burn: Box::new(burn_loss), cpu: Box::new(cpu_loss) };
    let mut curve = Vec::new();
    let (trained, report) =
        train_on(path, model.clone(), &train, &[], &short_config(), seed, &mut |p| curve.push(p.loss), &losses)
            .unwrap();
    assert_eq!(report.steps, 10);
    let layout = Layout::of(trained.network(), trained.spec()).unwrap();
    (curve, layout.gather(trained.network(), &Source::Values).unwrap())
}

#[test]
fn a_short_finetune_follows_burns_loss_curve_without_dropout() {
    use crate::model::train::TrainPath;
    for model in [scratch_model(ArchitectureType::Bert, 2, 4), scratch_model(ArchitectureType::Distilbert, 2, 4)] {
        let model = model.clone().with_network(without_dropout(model.network().clone()));
        let (burn_curve, burn_weights) = finetune_on(TrainPath::Burn, &model, 11);
        let (cpu_curve, cpu_weights) = finetune_on(TrainPath::Auto, &model, 11);
        for (step, (a, b)) in cpu_curve.iter().zip(&burn_curve).enumerate() {
            assert!((a - b).abs() <= 1e-4 * b.abs(), "step {}: loss {a} vs burn's {b}", step + 1);
        }
        let diff: Vec<f32> = cpu_weights.iter().zip(&burn_weights).map(|(a, b)| a - b).collect();
        assert!(norm(&diff) <= 1e-4 * norm(&burn_weights), "weights differ by {}", norm(&diff) / norm(&burn_weights));
        assert_ne!(cpu_weights, CpuNet::new(model.network(), model.spec(), None).unwrap().params().to_vec());
    }
}

#[test]
fn the_same_seed_gives_bitwise_the_same_weights_with_dropout() {
    use crate::model::train::TrainPath;
    let model = scratch_model(ArchitectureType::Bert, 2, 4);
    assert!(dropout_of(model.network()).0 > 0.0, "the model trains with dropout");
    let (curve, first) = finetune_on(TrainPath::Auto, &model, 11);
    let (again_curve, again) = finetune_on(TrainPath::Auto, &model, 11);
    assert_eq!(first, again);
    assert_eq!(curve, again_curve);
    let (_, other) = finetune_on(TrainPath::Auto, &model, 12);
    assert_ne!(first, other);
}
