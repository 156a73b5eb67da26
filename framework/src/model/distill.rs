//! Knowledge distillation (Hinton et al. 2015): a student learns from a teacher's softened
//! probabilities and from the labels.
//!
//! Loss of a batch = α · T² · mean KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α) ·
//! mean CE(softmax(student), label). The T² keeps the soft term's gradients on the scale of
//! the hard term's. The teacher's logits are computed once on the training split (the
//! teacher is fixed); the optimisation is [`super::train::train_with_loss`], the same
//! AdamW / warm-up / clipping loop as fine-tuning.

use super::HfModel;
use super::cpu_train::loss::distillation;
use super::tokenizer::Encoded;
use super::train::{FinetuneConfig, Losses, TrainProgress, TrainReport, train_with_loss};
use crate::data::Example;
use anyhow::{Context, Result, bail};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// The teacher's logits for every example (inputs encoded with the teacher's tokenizer).
pub fn teacher_logits(teacher: &HfModel, examples: &[Example]) -> Result<Vec<Vec<f32>>> {
    let encoded = encode(teacher, examples)?;
    Ok(teacher.forward_batch(&encoded)?.logits)
}

fn encode(model: &HfModel, examples: &[Example]) -> Result<Vec<Encoded>> {
    examples
        .iter()
        .map(|e| {
            let first = e.segments.first().map(String::as_str).unwrap_or("");
            model.tokenize(first, e.segments.get(1).map(String::as_str)).with_context(|| format!("example `{}`", e.id))
        })
        .collect()
}

/// Mean over examples of KL(softmax(teacher/T) ‖ softmax(student/T)), in f64.
pub fn mean_kl(teacher: &[Vec<f32>], student: &[Vec<f32>], temperature: f64) -> f64 {
    let soft = |row: &[f32]| -> Vec<f64> {
        let z: Vec<f64> = row.iter().map(|&v| v as f64 / temperature).collect();
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        z.iter().map(|v| v - lse).collect()
    };
    let mut sum = 0.0;
    for (t, s) in teacher.iter().zip(student) {
        let (lp, lq) = (soft(t), soft(s));
        sum += lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum::<f64>();
    }
    sum / teacher.len().max(1) as f64
}

/// Trains `student` on `train` against the teacher's logits of the same examples (see the
/// module documentation); `dev` is evaluated after every epoch as in fine-tuning.
#[allow(clippy::too_many_arguments)]
pub fn distill(
    student: HfModel,
    teacher: &[Vec<f32>],
    train: &[Example],
    dev: &[Example],
    config: &FinetuneConfig,
    temperature: f64,
    alpha: f64,
    seed: u64,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<(HfModel, TrainReport)> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        bail!("temperature must be a positive number, got {temperature}");
    }
    if !(0.0..=1.0).contains(&alpha) {
        bail!("alpha lies in [0, 1], got {alpha}");
    }
    if teacher.len() != train.len() {
        bail!("{} teacher logits for {} training examples", teacher.len(), train.len());
    }
    let classes = student.num_labels();
    if let Some(row) = teacher.iter().find(|r| r.len() != classes) {
        bail!("the teacher has {} classes but the student {classes}", row.len());
    }
    let loss = |logits: Tensor<2>, rows: &[usize], device: &Device| -> Tensor<1> {
        let flat: Vec<f32> = rows.iter().flat_map(|&i| teacher[i].iter().map(|&v| v / temperature as f32)).collect();
        let t = Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), classes]), device);
        let log_p = log_softmax(t, 1);
        let p = log_p.clone().exp();
        let log_q = log_softmax(logits.clone().div_scalar(temperature), 1);
        let kl = (p * (log_p - log_q)).sum_dim(1).mean();
        let targets: Vec<i64> = rows.iter().map(|&i| train[i].label as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [rows.len()]), device);
        let ce = CrossEntropyLossConfig::new().init(device).forward(logits, targets);
        kl.reshape([1]).mul_scalar(alpha * temperature * temperature) + ce.mul_scalar(1.0 - alpha)
    };
    let cpu_loss = |logits: &[f32], rows: &[usize], dlogits: &mut [f32]| -> f64 {
        let t: Vec<&[f32]> = rows.iter().map(|&i| &teacher[i][..]).collect();
        let targets: Vec<usize> = rows.iter().map(|&i| train[i].label).collect();
        distillation(logits, &t, classes, &targets, (temperature, alpha), dlogits)
    };
    let losses = Losses { burn: Box::new(loss), cpu: Box::new(cpu_loss) };
    train_with_loss(student, train, dev, config, seed, progress, &losses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::surgery::tests::tiny;

    #[test]
    fn kl_is_zero_for_equal_logits_and_positive_otherwise() {
        let a = vec![vec![1.0, -2.0], vec![0.5, 0.5]];
        assert!(mean_kl(&a, &a, 2.0).abs() < 1e-12);
        let b = vec![vec![-1.0, 2.0], vec![0.0, 3.0]];
        assert!(mean_kl(&a, &b, 2.0) > 0.1);
    }

    #[test]
    fn distillation_lowers_the_kl_to_the_teacher() {
        let teacher = tiny(2, 7);
        // A teacher with sharp, varied opinions: scale its classifier up.
        let teacher = teacher
            .clone()
            .with_network(crate::model::surgery::map_linear_weights(teacher.network().clone(), &mut |p, _, v| {
                p.ends_with("classifier").then(|| v.iter().map(|x| x * 40.0).collect())
            }));
        let words = ["good", "bad", "film", "boring", "great", "dull", "fun", "awful", "the", "plot"];
        let train: Vec<Example> = (0..48)
            .map(|i| Example {
                id: i.to_string(),
                segments: vec![format!("{} {} {}", words[i % 10], words[(i * 3 + 1) % 10], words[(i * 7 + 2) % 10])],
                label: i % 2,
            })
            .collect();
        let t = teacher_logits(&teacher, &train).unwrap();
        let student = tiny(1, 11);
        let before = mean_kl(&t, &teacher_logits(&student, &train).unwrap(), 2.0);
        let config =
            FinetuneConfig { lr: 3e-3, epochs: 6, batch_size: 16, select_best: false, ..FinetuneConfig::default() };
        let (trained, report) = distill(student, &t, &train, &[], &config, 2.0, 1.0, 3, &mut |_| {}).unwrap();
        let after = mean_kl(&t, &teacher_logits(&trained, &train).unwrap(), 2.0);
        assert!(after < before * 0.7, "KL {before} → {after}");
        assert_eq!(report.steps, 18);
        assert!(distill(tiny(1, 1), &t, &train, &[], &config, 0.0, 0.5, 3, &mut |_| {}).is_err());
    }
}
