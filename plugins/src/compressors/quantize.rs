//! `quantize`: int8 weights for every Linear layer (attention, feed-forward, pooler,
//! classifier), symmetric min-max, per tensor or per output channel.
//!
//! scale = 2·max|w| / 254 (= max|w| / 127, over the tensor or over one output channel),
//! q = round(w · (1/scale)) clamped to [−127, 127], and the weight becomes q · scale — the
//! same arithmetic as burn 0.22's `quantize_dynamic` / `dequantize` on the Flex backend
//! (a unit test checks they agree bit for bit). Embeddings, biases and LayerNorms stay f32.
//!
//! **Simulated int8.** burn 0.22 quantises tensors on the Flex CPU backend, but its
//! quantised matmul dequantises the weight to f32 before multiplying, and the Hugging Face
//! folders the pipeline passes between stages hold f32 tensors. So the variant stores the
//! int8-rounded weights as f32: its predictions are exactly those of weight-only int8
//! inference, but it is not smaller or faster on disk here. `compress.json` and the model
//! card say so (`quantization`), and the card's `deploy_size_mb` is the size a deployment
//! of the int8 format would ship (int8 weights + f32 scales + the f32 rest), labelled as such.

use serde::{Deserialize, Serialize};
use trustx_framework::anyhow;
use trustx_framework::model::surgery::map_linear_weights;
use trustx_framework::plugin::compressor::{
    CardOverrides, CompressOutput, CompressRequest, Compressor, CompressorEntry,
};
use trustx_framework::schemars::{self, JsonSchema};
use trustx_framework::serde_json::{self, json};

/// Over what the scale is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// One scale per weight matrix.
    PerTensor,
    /// One scale per output unit (a column of burn's `[d_in, d_out]`, a row of PyTorch's).
    PerChannel,
}

/// Settings of `quantize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantizeSettings {
    /// `per-tensor` or `per-channel` scales. Default `per-channel`.
    #[serde(default = "default_granularity")]
    pub granularity: Granularity,
}

fn default_granularity() -> Granularity {
    Granularity::PerChannel
}

/// Symmetric int8 quantise–dequantise of a `[d_in, d_out]` matrix (row-major). Returns
/// the dequantised values and the scales (one, or one per output column).
pub fn quantize_dequantize(values: &[f32], shape: [usize; 2], granularity: Granularity) -> (Vec<f32>, Vec<f32>) {
    let [_, cols] = shape;
    let scale_of = |alpha: f32| {
        let s = 2.0 * alpha / 254.0;
        if s > 0.0 && s.is_finite() { s } else { f32::MIN_POSITIVE }
    };
    let scales: Vec<f32> = match granularity {
        Granularity::PerTensor => vec![scale_of(values.iter().fold(0.0f32, |a, &x| a.max(x.abs())))],
        Granularity::PerChannel => {
            let mut peak = vec![0.0f32; cols];
            for (i, &x) in values.iter().enumerate() {
                peak[i % cols] = peak[i % cols].max(x.abs());
            }
            peak.into_iter().map(scale_of).collect()
        }
    };
    let out = values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let scale = if scales.len() == 1 { scales[0] } else { scales[i % cols] };
            let q = (x * (1.0 / scale)).round().clamp(-127.0, 127.0) as i8;
            scale * q as f32
        })
        .collect();
    (out, scales)
}

/// The `quantize` compressor.
pub struct Quantize;

impl Compressor for Quantize {
    type Settings = QuantizeSettings;
    const NAME: &'static str = "quantize";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "int8 Linear weights, symmetric min-max, per tensor or per channel (simulated: int8-rounded weights stored as f32)";

    fn compress(settings: &QuantizeSettings, request: CompressRequest) -> anyhow::Result<CompressOutput> {
        let model = request.model;
        let mut tensors = Vec::new();
        let mut quantized_weights = 0usize;
        let mut scale_count = 0usize;
        let network = map_linear_weights(model.network().clone(), &mut |path, shape, values| {
            let (out, scales) = quantize_dequantize(values, shape, settings.granularity);
            let max_error = values.iter().zip(&out).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            quantized_weights += values.len();
            scale_count += scales.len();
            tensors.push(json!({
                "path": path,
                "shape": shape,
                "scales": scales.len(),
                "max_scale": scales.iter().copied().fold(0.0f32, f32::max),
                "max_abs_error": max_error,
            }));
            Some(out)
        });
        let parameters = model.num_parameters();
        let f32_bytes = parameters as u64 * 4;
        let int8_bytes =
            (parameters - quantized_weights) as u64 * 4 + quantized_weights as u64 + scale_count as u64 * 4;
        let granularity = serde_json::to_value(settings.granularity)?;
        let label =
            format!("int8 simulated ({}): int8-rounded weights stored as f32", granularity.as_str().unwrap_or(""));
        let report = json!({
            "int8": "simulated",
            "why": "burn 0.22's Flex backend quantises tensors but its quantised matmul dequantises to f32 first, and the Hugging Face folders between stages hold f32: the stored weights are q·scale in f32, exactly what weight-only int8 inference computes",
            "scheme": "symmetric min-max: scale = max|w|/127, q = round(w/scale) in [-127, 127], w' = q·scale",
            "granularity": granularity,
            "quantized_tensors": tensors.len(),
            "quantized_weights": quantized_weights,
            "scales": scale_count,
            "kept_f32": "embeddings, biases, LayerNorm",
            "f32_parameter_bytes": f32_bytes,
            "int8_deployment_bytes": int8_bytes,
            "tensors": tensors,
        });
        Ok(CompressOutput {
            model: model.with_network(network),
            report,
            card: CardOverrides {
                weight_bits: Some(8),
                quantization: Some(label),
                deploy_size_bytes: Some(int8_bytes),
            },
        })
    }
}

inventory::submit! { CompressorEntry::of::<Quantize>() }

#[cfg(test)]
mod tests {
    use super::*;
    use trustx_framework::burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue};
    use trustx_framework::burn::tensor::{Device, Distribution, Tensor};

    fn random(shape: [usize; 2], seed: u64) -> Vec<f32> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        // Columns of very different ranges, as real weight matrices have.
        (0..shape[0] * shape[1]).map(|i| (rng.random::<f32>() - 0.5) * (1.0 + (i % shape[1]) as f32 * 3.0)).collect()
    }

    #[test]
    fn error_is_at_most_half_a_step_per_weight() {
        let shape = [24, 8];
        let w = random(shape, 1);
        for g in [Granularity::PerTensor, Granularity::PerChannel] {
            let (q, scales) = quantize_dequantize(&w, shape, g);
            for (i, (a, b)) in w.iter().zip(&q).enumerate() {
                let scale = if scales.len() == 1 { scales[0] } else { scales[i % shape[1]] };
                assert!((a - b).abs() <= scale / 2.0 * (1.0 + 1e-5), "{g:?} weight {i}: {a} → {b}, scale {scale}");
                // On the int8 grid.
                let steps = b / scale;
                assert!((steps - steps.round()).abs() < 1e-3 && steps.abs() <= 127.0 + 1e-3);
            }
        }
    }

    #[test]
    fn per_channel_is_no_worse_than_per_tensor() {
        let shape = [32, 6];
        let w = random(shape, 2);
        let err = |g| {
            let (q, _) = quantize_dequantize(&w, shape, g);
            w.iter().zip(&q).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>()
        };
        let (t, c) = (err(Granularity::PerTensor), err(Granularity::PerChannel));
        assert!(c <= t && c < t * 0.9, "per-channel {c} vs per-tensor {t}");
    }

    #[test]
    fn per_tensor_matches_burns_int8_on_flex() {
        let device = Device::flex();
        let t = Tensor::<2>::random([16, 12], Distribution::Normal(0.0, 0.3), &device);
        let values = t.clone().into_data().try_to_vec::<f32>().unwrap();
        let scheme = QuantScheme::default().with_value(QuantValue::Q8S).with_store(QuantStore::Native);
        let burn = t.quantize_dynamic(&scheme).dequantize().into_data().try_to_vec::<f32>().unwrap();
        let (ours, _) = quantize_dequantize(&values, [16, 12], Granularity::PerTensor);
        assert_eq!(ours, burn);
    }
}
