//! Inference fast paths of the encoder: fused bias + exact GELU, run in parallel.
//!
//! burn's Flex backend applies `gelu` one element at a time on one thread, through an
//! unoptimised `libm::erff` in debug builds, after a separate single-threaded bias add. On
//! the CPU device without autodiff nothing needs the intermediate tensors, so [`bias_gelu`]
//! reads the matrix product once, adds the bias and applies GELU with rayon over row
//! blocks. On an autodiff device (training, gradients) it falls back to burn's ops so the
//! graph is recorded, and on any other device (CUDA) too, so activations never make a
//! round trip through host memory.
//!
//! GELU is the exact one, `0.5 x (1 + erf(x / √2))`, computed by the packed path's kernel
//! (erf from Abramowitz & Stegun 7.1.26 in f32, vectorised), so both forward paths share
//! one GELU. [`gelu_exact`] is the same formula in f64, the reference the kernel is tested
//! against: it differs from `torch.nn.functional.gelu` by less than 1e-6 for |x| < 10.

use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

/// Rows per parallel task.
const ROW_BLOCK: usize = 16;

/// erf(x) by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
pub fn erf(x: f64) -> f64 {
    const P: f64 = 0.327_591_1;
    const A: [f64; 5] = [0.254_829_592, -0.284_496_736, 1.421_413_741, -1.453_152_027, 1.061_405_429];
    let s = x.abs();
    let t = 1.0 / (1.0 + P * s);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let y = 1.0 - poly * (-s * s).exp();
    if x < 0.0 { -y } else { y }
}

/// Exact GELU of one value.
pub fn gelu_exact(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// `gelu(x + bias)` for `x` `[rows, cols]` and `bias` `[cols]`: fused and parallel on the
/// CPU device without autodiff, burn's ops otherwise.
pub fn bias_gelu(x: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    if x.is_autodiff() || !host_fused(&x.device()) {
        return gelu(match bias {
            Some(b) => x + b.unsqueeze(),
            None => x,
        });
    }
    let [rows, cols] = x.dims();
    let device = x.device();
    let (Ok(mut data), Ok(bias)) = (
        x.clone().try_into_vec_as::<f32>(),
        bias.clone().map_or_else(|| Ok(vec![0.0; cols]), |b| b.try_into_vec_as::<f32>()),
    ) else {
        // Not f32 data: burn's ops handle every dtype.
        return gelu(match bias {
            Some(b) => x + b.unsqueeze(),
            None => x,
        });
    };
    data.par_chunks_mut(cols * ROW_BLOCK).for_each(|block| {
        for row in block.chunks_mut(cols) {
            for (v, b) in row.iter_mut().zip(&bias) {
                *v += b;
            }
        }
        super::packed::gelu(block);
    });
    Tensor::from_data(TensorData::new(data, [rows, cols]), &device)
}

/// Whether the fused path runs on `device`: only the CPU (Flex) device, whose tensors
/// already live in host memory.
fn host_fused(device: &Device) -> bool {
    *device == Device::flex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_path_runs_on_the_cpu_device() {
        // No other device is built into the test binary; the CUDA build type-checks it.
        assert!(host_fused(&Device::flex()));
    }

    #[test]
    fn erf_matches_known_values() {
        // erf(0.5), erf(1), erf(2) to 10 digits (A&S table 7.1).
        for (x, want) in [(0.0, 0.0), (0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (2.0, 0.995_322_265_0)] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 2e-7);
        }
        assert_eq!(erf(30.0), 1.0);
    }

    #[test]
    fn fused_equals_burns_bias_then_gelu() {
        let device = Device::flex();
        let vals: Vec<f32> = (0..3 * 40).map(|i| (i as f32 - 60.0) * 0.13).collect();
        let x = Tensor::<2>::from_data(TensorData::new(vals, [3, 40]), &device);
        let b: Vec<f32> = (0..40).map(|j| j as f32 * 0.01 - 0.2).collect();
        let b = Tensor::<1>::from_data(TensorData::new(b, [40]), &device);
        let want = gelu(x.clone() + b.clone().unsqueeze()).try_into_vec_as::<f32>().unwrap();
        let got = bias_gelu(x, Some(b)).try_into_vec_as::<f32>().unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 2e-6, "{g} vs {w}");
        }
    }
}
