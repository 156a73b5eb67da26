//! The training losses on the logits with their gradients: cross-entropy (mean over the
//! batch) and the distillation loss of [`crate::model::distill`], computed in f64.

/// A batch's loss: given the logits (`[batch, classes]`, row after row) and the indices of
/// the batch's examples in the training set, writes `∂loss/∂logits` into the third argument
/// and returns the loss.
pub type CpuBatchLoss<'a> = dyn Fn(&[f32], &[usize], &mut [f32]) -> f64 + Sync + 'a;

fn log_softmax(row: &[f32], temperature: f64) -> Vec<f64> {
    let z: Vec<f64> = row.iter().map(|&v| f64::from(v) / temperature).collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
    z.iter().map(|v| v - lse).collect()
}

/// Mean cross-entropy of `logits` (`classes` per row) against `targets`; writes its
/// gradient `(softmax − onehot) / batch` into `dlogits`.
pub fn cross_entropy(logits: &[f32], classes: usize, targets: &[usize], dlogits: &mut [f32]) -> f64 {
    let batch = targets.len();
    let mut sum = 0.0;
    for ((row, d), &t) in logits.chunks_exact(classes).zip(dlogits.chunks_exact_mut(classes)).zip(targets) {
        let lp = log_softmax(row, 1.0);
        sum -= lp[t];
        for (c, (d, l)) in d.iter_mut().zip(&lp).enumerate() {
            *d = ((l.exp() - f64::from(u8::from(c == t))) / batch as f64) as f32;
        }
    }
    sum / batch as f64
}

/// α·T²·mean KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·mean CE(student, target),
/// the distillation loss; writes its gradient with respect to the student's logits.
pub fn distillation(
    logits: &[f32],
    teacher: &[&[f32]],
    classes: usize,
    targets: &[usize],
    (temperature, alpha): (f64, f64),
    dlogits: &mut [f32],
) -> f64 {
    let ce = cross_entropy(logits, classes, targets, dlogits);
    let batch = targets.len() as f64;
    let mut kl = 0.0;
    for ((row, d), t) in logits.chunks_exact(classes).zip(dlogits.chunks_exact_mut(classes)).zip(teacher) {
        // The teacher's logits divided by T in f32, as the burn loss does.
        let t_scaled: Vec<f32> = t.iter().map(|&v| v / temperature as f32).collect();
        let lp = log_softmax(&t_scaled, 1.0);
        let lq = log_softmax(row, temperature);
        kl += lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum::<f64>();
        for ((d, a), b) in d.iter_mut().zip(&lp).zip(&lq) {
            let soft = alpha * temperature * (b.exp() - a.exp()) / batch;
            *d = ((1.0 - alpha) * f64::from(*d) + soft) as f32;
        }
    }
    alpha * temperature * temperature * kl / batch + (1.0 - alpha) * ce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_finite_differences() {
        let logits = vec![0.3f32, -1.2, 2.0, 0.1, 0.0, -0.4];
        let teacher = [[1.0f32, 0.5, -2.0], [0.2, 0.3, 0.1]];
        let teacher: Vec<&[f32]> = teacher.iter().map(|r| &r[..]).collect();
        let targets = [2, 0];
        let loss = |z: &[f32], d: &mut [f32]| distillation(z, &teacher, 3, &targets, (2.0, 0.7), d);
        let mut d = vec![0.0; 6];
        let base = loss(&logits, &mut d);
        assert!(base > 0.0);
        for i in 0..6 {
            let (mut up, mut down) = (logits.clone(), logits.clone());
            up[i] += 1e-3;
            down[i] -= 1e-3;
            let numeric = (loss(&up, &mut [0.0; 6]) - loss(&down, &mut [0.0; 6])) / 2e-3;
            assert!((numeric - f64::from(d[i])).abs() < 1e-4, "{i}: {} vs {numeric}", d[i]);
        }
        // α = 0 is plain cross-entropy.
        let mut ce = vec![0.0; 6];
        let plain = cross_entropy(&logits, 3, &targets, &mut ce);
        assert!((distillation(&logits, &teacher, 3, &targets, (2.0, 0.0), &mut d) - plain).abs() < 1e-12);
        assert_eq!(d, ce);
    }
}
