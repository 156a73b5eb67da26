//! Int8 quantisation of a classifier's Linear layers with the numerics of PyTorch's
//! `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` on the
//! x86 (fbgemm) engine, and the record of it that a quantised model carries.
//!
//! - **Weights** (once, when quantising): `qint8`, symmetric, zero point 0, as
//!   `MinMaxObserver(dtype=qint8, qscheme=per_tensor_symmetric)` (PyTorch's
//!   `default_weight_observer`) or `PerChannelMinMaxObserver(qscheme=per_channel_symmetric)`
//!   (per output unit) compute it: `scale = max(|min(w, 0)|, max(w, 0)) / 127.5` in f32
//!   (`(quant_max − quant_min) / 2` with the full range −128..127), at least f32 ε; then
//!   `q = clamp(nearbyint(w · (1/scale)), −128, 127)` as `quantize_per_tensor` /
//!   `quantize_val` do (round half to even).
//! - **Activations** (per call, [`activation_params`]): each Linear's input is quantised
//!   to `quint8`, affine, one scale and zero point for the whole input tensor, from its own
//!   min and max (`fbgemm::FindMinMax`), by `ChooseQuantizationParams` with qmin 0, qmax 255
//!   and `reduce_range = true` (`torch.ao.nn.quantized.dynamic.Linear.forward` passes it
//!   for qint8): the range is halved to 0..127, widened to contain 0, `scale = (max − min)
//!   / 127` in f64 (0.1 when that is 0 or its reciprocal overflows; at least 6.1e-5), the
//!   zero point taken from whichever end adds the smaller terms and rounded half to even.
//!   Inputs become `clamp(nearbyint(x · (1/scale)) + zero_point, 0, 255)`.
//! - **Product**: `u8 × i8` products summed in i32, then `fma(acc − zero_point · Σ_k q[k, j],
//!   scale_x · scale_w[j], bias[j])` in f32 — one fused multiply-add, the scales multiplied
//!   first (fbgemm's `ReQuantizeForFloat` as PyTorch's x86 wheels compile it: checked bit for
//!   bit on the fixture's Linear layers); biases stay f32.
//!
//! Which layers: every `nn.Linear` (attention query, key, value and output, both
//! feed-forward matrices, BERT's pooler dense layer, DistilBERT's pre-classifier and the
//! classifier), as `quantize_dynamic` with `{nn.Linear}` replaces them all. Embeddings and
//! LayerNorms stay f32.
//!
//! One difference, on purpose: PyTorch takes an activation's range over the whole input
//! tensor, so at batch size > 1 one sequence's padding and neighbours move another's scale.
//! trustx takes it per example (each sequence's rows), which is PyTorch at batch size 1
//! (the fixture's setting) and makes a prediction independent of its batch.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SequenceClassifier;
use super::quant_embedding::QuantizedEmbedding;
use super::quant_records::Records;
use super::surgery::{map_linear_weights, map_tensors};

/// How a quantised model computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// int8 weights and int8 activations quantised per call (PyTorch's dynamic
    /// quantisation); the CPU runs it with int8 kernels.
    DynamicInt8,
    /// int8 weights, dequantised to f32 before the f32 product (activations stay f32).
    WeightOnlyInt8,
}

impl Scheme {
    /// `dynamic-int8` or `weight-only-int8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::DynamicInt8 => "dynamic-int8",
            Scheme::WeightOnlyInt8 => "weight-only-int8",
        }
    }
}

/// Over what a weight scale is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// One scale per weight matrix (`per_tensor_symmetric`, PyTorch's default).
    PerTensor,
    /// One scale per output unit (`per_channel_symmetric`).
    PerChannel,
}

impl Granularity {
    /// `per-tensor` or `per-channel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::PerTensor => "per-tensor",
            Granularity::PerChannel => "per-channel",
        }
    }
}

/// One quantised Linear layer's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedLinear {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// int8 weights in PyTorch's layout `[outputs, inputs]`, row-major.
    pub q: Vec<i8>,
    /// One scale, or one per output unit.
    pub scales: Vec<f32>,
}

/// The weight scale of `max_abs` (see the module documentation).
fn weight_scale(max_abs: f32) -> f32 {
    (max_abs / 127.5).max(f32::EPSILON)
}

/// `clamp(nearbyint(w · inv), −128, 127)`.
fn quantize_weight(w: f32, inv: f32) -> i8 {
    (w * inv).round_ties_even().clamp(-128.0, 127.0) as i8
}

impl QuantizedLinear {
    /// Quantises a weight given in burn's layout `[inputs, outputs]` (row-major).
    pub fn quantize(values: &[f32], [inputs, outputs]: [usize; 2], granularity: Granularity) -> Self {
        assert_eq!(values.len(), inputs * outputs, "quantize: weight is not [{inputs}, {outputs}]");
        let at = |o: usize, i: usize| values[i * outputs + o];
        let scales: Vec<f32> = match granularity {
            Granularity::PerTensor => {
                vec![weight_scale(values.iter().fold(0.0f32, |a, &x| a.max(x.abs())))]
            }
            Granularity::PerChannel => {
                (0..outputs).map(|o| weight_scale((0..inputs).fold(0.0f32, |a, i| a.max(at(o, i).abs())))).collect()
            }
        };
        let mut q = Vec::with_capacity(values.len());
        for o in 0..outputs {
            let inv = 1.0 / scales[if scales.len() == 1 { 0 } else { o }];
            q.extend((0..inputs).map(|i| quantize_weight(at(o, i), inv)));
        }
        Self { inputs, outputs, q, scales }
    }

    /// The scale of output unit `o`.
    pub fn scale(&self, o: usize) -> f32 {
        self.scales[if self.scales.len() == 1 { 0 } else { o }]
    }

    /// `q · scale` in burn's layout `[inputs, outputs]` (what weight-only int8 computes with,
    /// and what burn's forward and training see).
    pub fn dequantized(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.q.len()];
        for o in 0..self.outputs {
            let s = self.scale(o);
            for i in 0..self.inputs {
                out[i * self.outputs + o] = self.q[o * self.inputs + i] as f32 * s;
            }
        }
        out
    }

    /// Bytes of the stored form: one per weight, four per scale.
    pub fn stored_bytes(&self) -> usize {
        self.q.len() + 4 * self.scales.len()
    }
}

/// A model's quantisation: the scheme and every quantised Linear by module path
/// (`bert.encoder.layers.0.attention.query`), and the int8 embedding tables when they are
/// quantised too.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    /// How the model computes.
    pub scheme: Scheme,
    /// Scale granularity of the weights.
    pub granularity: Granularity,
    /// Quantised layers by module path.
    pub layers: BTreeMap<String, QuantizedLinear>,
    /// Int8 embedding tables by module path (`bert.embeddings.word_embeddings`); empty when
    /// the embeddings stay f32 (`quantize_dynamic` with `{nn.Linear}` only).
    pub embeddings: BTreeMap<String, QuantizedEmbedding>,
}

/// Whether a parameter path is an embedding table's (`…_embeddings.weight`).
fn embedding_table(path: &str) -> Option<&str> {
    path.strip_suffix(".weight").filter(|p| p.ends_with("_embeddings"))
}

/// The key of [`Quantization`] in `config.json`.
pub const CONFIG_KEY: &str = "trustx_quantization";

impl Quantization {
    /// Quantises every Linear layer of `network` and returns the network with the
    /// dequantised weights (`q · scale`) and the quantisation.
    pub fn quantize(
        network: SequenceClassifier,
        scheme: Scheme,
        granularity: Granularity,
    ) -> (SequenceClassifier, Quantization) {
        Quantization { scheme, granularity, layers: BTreeMap::new(), embeddings: BTreeMap::new() }.refresh(network)
    }

    /// Quantises every embedding table of `network` too ([`super::quant_embedding`]) and
    /// returns the network with the tables as the quantised model reads them.
    pub fn with_embeddings(&self, network: SequenceClassifier) -> (SequenceClassifier, Quantization) {
        self.refresh_embeddings(network, true)
    }

    /// Re-quantises the embedding tables that changed (all of them when `all`; none when the
    /// embeddings are not quantised and `all` is false).
    fn refresh_embeddings(&self, network: SequenceClassifier, all: bool) -> (SequenceClassifier, Quantization) {
        let mut out = self.clone();
        if !all && self.embeddings.is_empty() {
            return (network, out);
        }
        let mut known = Records::new(&self.embeddings);
        out.embeddings.clear();
        let network = map_tensors(network, &mut |path, dims, values| {
            let table = embedding_table(path)?;
            let [rows, dim] = dims[..] else { return None };
            let (e, dequantized) = known.find(table, [rows, dim], values).unwrap_or_else(|| {
                let e = QuantizedEmbedding::quantize(values, [rows, dim]);
                let dequantized = e.dequantized();
                (e, dequantized)
            });
            out.embeddings.insert(table.to_string(), e);
            Some(dequantized)
        });
        (network, out)
    }

    /// Brings the quantisation up to date with `network`: a Linear whose weights are
    /// exactly the dequantised weights of a recorded layer (its own path's, else any other:
    /// a dropped layer renumbers the rest; [`Records`]) keeps that layer's int8 weights; any other (new, or trained
    /// further: fine-tuning through a quantised model is simulated, straight-through, on
    /// the f32 weights) is quantised afresh. Returns the network with dequantised weights.
    pub fn refresh(&self, network: SequenceClassifier) -> (SequenceClassifier, Quantization) {
        let mut known = Records::new(&self.layers);
        let mut layers = BTreeMap::new();
        let network = map_linear_weights(network, &mut |path, shape, values| {
            let (layer, dequantized) = known.find(path, shape, values).unwrap_or_else(|| {
                let layer = QuantizedLinear::quantize(values, shape, self.granularity);
                let dequantized = layer.dequantized();
                (layer, dequantized)
            });
            layers.insert(path.to_string(), layer);
            Some(dequantized)
        });
        let linear = Quantization { layers, ..self.clone() };
        linear.refresh_embeddings(network, false)
    }

    /// The `config.json` entry that marks a quantised folder.
    pub fn config_entry(&self) -> Value {
        json!({
            "scheme": self.scheme,
            "weights": format!("qint8 symmetric {} (zero point 0), scale = max|w| / 127.5", self.granularity.as_str()),
            "granularity": self.granularity,
            "activations": match self.scheme {
                Scheme::DynamicInt8 => "quint8 affine per tensor, per call, reduce_range (0..127)",
                Scheme::WeightOnlyInt8 => "f32",
            },
            "layers": "every Linear (nn.Linear in quantize_dynamic)",
            "tensors": "<linear>.weight as I8 [out, in], <linear>.weight_scale as F32 [1] or [out]",
            "embeddings": if self.embeddings.is_empty() {
                json!("f32")
            } else {
                json!("quint8 per row, float scale and zero point (nn.Embedding with float_qparams_weight_only_qconfig): <table>.weight as U8 [rows, dim], <table>.weight_scale and <table>.weight_zero_point as F32 [rows]")
            },
        })
    }

    /// The scheme and granularity a `config.json` declares, if any.
    pub fn declared(config: &Value) -> Result<Option<(Scheme, Granularity)>> {
        let Some(entry) = config.get(CONFIG_KEY) else { return Ok(None) };
        let scheme = serde_json::from_value(entry.get("scheme").cloned().unwrap_or(Value::Null));
        let granularity = serde_json::from_value(entry.get("granularity").cloned().unwrap_or(Value::Null));
        match (scheme, granularity) {
            (Ok(s), Ok(g)) => Ok(Some((s, g))),
            _ => bail!(
                "config.json: `{CONFIG_KEY}` needs `scheme` (dynamic-int8 or weight-only-int8) and `granularity` (per-tensor or per-channel)"
            ),
        }
    }

    /// Bytes of the int8 weights and scales (and of the int8 embedding tables).
    pub fn stored_bytes(&self) -> usize {
        self.layers.values().map(QuantizedLinear::stored_bytes).sum::<usize>()
            + self.embeddings.values().map(QuantizedEmbedding::stored_bytes).sum::<usize>()
    }

    /// Number of int8 weights (embedding values included).
    pub fn weights(&self) -> usize {
        self.layers.values().map(|l| l.q.len()).sum::<usize>()
            + self.embeddings.values().map(|e| e.q.len()).sum::<usize>()
    }
}

/// Quantisation parameters of one activation tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivationParams {
    /// Real value of one step.
    pub scale: f32,
    /// The quantised value of real 0.
    pub zero_point: i32,
}

/// `ChooseQuantizationParams(min, max, qmin = 0, qmax = 255, reduce_range = true)` (see the
/// module documentation).
pub fn activation_params(min: f32, max: f32) -> ActivationParams {
    const SMALL_SCALE: f32 = 6.1e-5;
    let (qmin, qmax) = (0i32, 127i32); // 0..255 halved by reduce_range
    let mut min = min.min(0.0);
    let mut max = max.max(0.0);
    let mut scale = (f64::from(max) - f64::from(min)) / f64::from(qmax - qmin);
    if scale as f32 == 0.0 || (1.0 / scale as f32).is_infinite() {
        scale = 0.1;
    }
    if scale < f64::from(SMALL_SCALE) {
        let original = scale as f32;
        scale = f64::from(SMALL_SCALE);
        if min == 0.0 {
            max = SMALL_SCALE * (qmax - qmin) as f32;
        } else if max == 0.0 {
            min = -SMALL_SCALE * (qmax - qmin) as f32;
        } else {
            let amplifier = SMALL_SCALE / original;
            min *= amplifier;
            max *= amplifier;
        }
    }
    let (lo, hi) = (f64::from(min) / scale, f64::from(max) / scale);
    let from_min = f64::from(qmin) - lo;
    let from_max = f64::from(qmax) - hi;
    // The end whose terms are smaller carries less rounding error.
    let initial = if f64::from(qmin.abs()) - lo.abs() < f64::from(qmax.abs()) - hi.abs() { from_min } else { from_max };
    let zero_point = if initial < f64::from(qmin) {
        qmin
    } else if initial > f64::from(qmax) {
        qmax
    } else {
        initial.round_ties_even() as i32
    };
    ActivationParams { scale: scale as f32, zero_point }
}

/// Largest quantised activation: qmax plus the half step the rounded zero point can add.
/// It keeps the AVX2 kernel's pairwise `u8 × i8` sums inside i16 (2 · 128 · 128 ≤ 32768).
pub const MAX_ACTIVATION: i32 = 128;

/// Quantises `x` with `p` into `out`: `clamp(nearbyint(x · (1/scale)) + zero_point, 0,
/// MAX_ACTIVATION)`, the product rounded to f32 first and then half to even, the zero point
/// added to the rounded integer (fbgemm's non-legacy `Quantize`; the fused multiply-add form
/// `nearbyint(fma(x, 1/scale, zero_point))` differs at rare ties, and the fixture's PyTorch
/// logits match this form, not that one). The clamp never binds: the largest input maps
/// to at most qmax + ½ before rounding.
#[inline(always)]
pub fn quantize_activations(x: &[f32], p: ActivationParams, out: &mut [u8]) {
    let inv = 1.0 / p.scale;
    // In f32 throughout so that it vectorises: the rounded product is an integer below 2^24
    // in magnitude after the clamp's range, so adding the zero point is exact.
    let zero_point = p.zero_point as f32;
    for (o, &v) in out.iter_mut().zip(x) {
        let q = (v * inv).round_ties_even() + zero_point;
        *o = q.clamp(0.0, MAX_ACTIVATION as f32) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_use_127_5_and_round_half_to_even() {
        // max|w| = 127.5 → scale exactly 1: halves round to even, 127.5 → 128 clamps to 127.
        let w = [127.5f32, 0.5, 1.5, 2.5, -0.5, -127.5, 3.49];
        let q = QuantizedLinear::quantize(&w, [7, 1], Granularity::PerTensor);
        assert_eq!(q.scales, vec![1.0]);
        assert_eq!(q.q, vec![127, 0, 2, 2, 0, -128, 3]);
        // A zero matrix gets the smallest scale, not a division by zero.
        let z = QuantizedLinear::quantize(&[0.0; 4], [2, 2], Granularity::PerChannel);
        assert_eq!((z.scales, z.q), (vec![f32::EPSILON; 2], vec![0; 4]));
    }

    #[test]
    fn per_channel_scales_follow_each_output() {
        // burn layout [2 inputs, 2 outputs]: output 0 has (1, −255) → scale 2, output 1 has
        // (31.875, 0.375) → scale 0.25 (both exact in f32).
        let w = [1.0f32, 31.875, -255.0, 0.375];
        let q = QuantizedLinear::quantize(&w, [2, 2], Granularity::PerChannel);
        assert_eq!(q.scales, vec![2.0, 0.25]);
        // PyTorch layout [out, in]: 0.5 → 0, −127.5 → −128, 127.5 → 127 (clamped), 1.5 → 2.
        assert_eq!(q.q, vec![0, -128, 127, 2]);
        assert_eq!(q.dequantized(), vec![0.0, 31.75, -256.0, 0.5]);
        let t = QuantizedLinear::quantize(&w, [2, 2], Granularity::PerTensor);
        assert_eq!((t.scales, t.q), (vec![2.0], vec![0, -128, 16, 0]));
    }

    #[test]
    fn activation_params_match_choose_quantization_params() {
        // [−1, 1]: scale 2/127, zero point from the min end: 63.5 → 64 (half to even).
        let p = activation_params(-1.0, 1.0);
        assert_eq!(p.scale, (2.0f64 / 127.0) as f32);
        assert_eq!(p.zero_point, 64);
        // Positive only: the range is widened to 0, zero point 0.
        let p = activation_params(0.5, 2.54);
        assert_eq!((p.scale, p.zero_point), ((2.54f32 as f64 / 127.0) as f32, 0));
        // Negative only: zero point at qmax.
        assert_eq!(activation_params(-3.0, -1.0).zero_point, 127);
        // Constant zero input: scale 0.1.
        assert_eq!(activation_params(0.0, 0.0).scale, 0.1);
        // Tiny range: the scale floor.
        assert_eq!(activation_params(0.0, 1e-4).scale, 6.1e-5);
        // Quantised values stay in 0..=128 and reproduce the ends.
        let x = [-1.0f32, 1.0, 0.0, 0.3];
        let mut q = [0u8; 4];
        quantize_activations(&x, activation_params(-1.0, 1.0), &mut q);
        assert_eq!(q, [0, 128, 64, 83]);
    }
}
