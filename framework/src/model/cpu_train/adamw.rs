//! AdamW and global gradient-norm clipping over the flat parameter and gradient buffers.
//!
//! The update is burn's `AdamW` (`burn-optim` 0.22), operation for operation in f32 so the
//! two agree to rounding: `m ← β₁·m + (1−β₁)·g`, `v ← β₂·v + (1−β₂)·g²`,
//! `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`, `θ ← θ·(1 − lr·λ) − lr · m̂ / (√v̂ + ε)`
//! (decoupled weight decay on every parameter, ε outside the square root). Clipping is
//! `torch.nn.utils.clip_grad_norm_`'s: when the global L2 norm exceeds `max`, every
//! gradient is scaled by `max / (norm + 1e-6)`. Both run in parallel over fixed blocks,
//! so the result does not depend on the number of threads.

use rayon::prelude::*;

/// Values per parallel block.
const BLOCK: usize = 1 << 15;

/// AdamW's settings and moments.
#[derive(Debug, Clone)]
pub struct AdamW {
    beta_1: f32,
    beta_2: f32,
    eps: f32,
    weight_decay: f32,
    m: Vec<f32>,
    v: Vec<f32>,
    time: i32,
}

impl AdamW {
    /// Zero moments for `len` parameters.
    pub fn new(len: usize, [beta_1, beta_2]: [f64; 2], eps: f64, weight_decay: f64) -> Self {
        Self {
            beta_1: beta_1 as f32,
            beta_2: beta_2 as f32,
            eps: eps as f32,
            weight_decay: weight_decay as f32,
            m: vec![0.0; len],
            v: vec![0.0; len],
            time: 0,
        }
    }

    /// Updates `params` with `grads` at learning rate `lr`.
    pub fn step(&mut self, lr: f64, params: &mut [f32], grads: &[f32]) {
        assert_eq!(params.len(), self.m.len(), "AdamW: parameters of another length");
        assert_eq!(grads.len(), self.m.len(), "AdamW: gradients of another length");
        self.time += 1;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.eps);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let (c1, c2) = (1.0 - b1.powi(self.time), 1.0 - b2.powi(self.time));
        let decay = (1.0 - lr * f64::from(self.weight_decay)) as f32;
        let lr = lr as f32;
        params
            .par_chunks_mut(BLOCK)
            .zip(grads.par_chunks(BLOCK))
            .zip(self.m.par_chunks_mut(BLOCK))
            .zip(self.v.par_chunks_mut(BLOCK))
            .for_each(|(((p, g), m), v)| {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = *m * b1 + g * f1;
                    *v = *v * b2 + g * g * f2;
                    let delta = (*m / c1) / ((*v / c2).sqrt() + eps);
                    *p = *p * decay - delta * lr;
                }
            });
    }
}

/// Scales `grads` so that their L2 norm is at most `max_norm`; returns the norm before.
pub fn clip_global_norm(grads: &mut [f32], max_norm: f64) -> f64 {
    let partial: Vec<f64> =
        grads.par_chunks(BLOCK).map(|b| b.iter().map(|&g| f64::from(g) * f64::from(g)).sum()).collect();
    let norm = partial.iter().sum::<f64>().sqrt();
    if norm > max_norm {
        let factor = (max_norm / (norm + 1e-6)) as f32;
        grads.par_chunks_mut(BLOCK).for_each(|b| b.iter_mut().for_each(|g| *g *= factor));
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::nn::Linear;
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::{Device, Tensor, TensorData};

    #[test]
    fn equals_burns_adamw_over_several_steps() {
        let device = Device::flex().autodiff();
        let w0: Vec<f32> = (0..12).map(|i| (i as f32 - 6.0) * 0.07).collect();
        let b0: Vec<f32> = vec![0.1, -0.2, 0.3];
        let mut linear = Linear {
            weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w0.clone(), [4, 3]), &device)),
            bias: Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(b0.clone(), [3]), &device))),
        };
        let mut burn_optim =
            AdamWConfig::new().with_beta_1(0.9).with_beta_2(0.99).with_epsilon(1e-6).with_weight_decay(0.3).init();
        let mut ours = AdamW::new(15, [0.9, 0.99], 1e-6, 0.3);
        let mut flat = [w0, b0].concat();
        for step in 1..=6 {
            let x = Tensor::<2>::from_data(
                TensorData::new((0..8).map(|i| ((i * step) % 5) as f32 * 0.3 - 0.5).collect(), [2, 4]),
                &device,
            );
            let loss = linear.forward(x).powi_scalar(2).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &linear);
            let gw = grads.get::<2>(linear.weight.id).unwrap().try_into_vec_as::<f32>().unwrap();
            let gb = grads.get::<1>(linear.bias.as_ref().unwrap().id).unwrap().try_into_vec_as::<f32>().unwrap();
            let lr = 0.01 * step as f64;
            linear = burn_optim.step(lr, linear, grads);
            ours.step(lr, &mut flat, &[gw, gb].concat());
            let want = [
                linear.weight.val().try_into_vec_as::<f32>().unwrap(),
                linear.bias.as_ref().unwrap().val().try_into_vec_as::<f32>().unwrap(),
            ]
            .concat();
            for (g, w) in flat.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "step {step}: {g} vs {w}");
            }
        }
        let _ = linear.num_params();
    }

    #[test]
    fn clipping_scales_to_the_maximum_norm() {
        let mut g = vec![3.0f32, 4.0];
        assert_eq!(clip_global_norm(&mut g, 10.0), 5.0);
        assert_eq!(g, vec![3.0, 4.0]);
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        let norm = (g[0] * g[0] + g[1] * g[1]).sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
