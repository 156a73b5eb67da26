//! `trustx bench`'s pruned rows: all-MiniLM-L6-v2 magnitude-pruned (each encoder Linear
//! weight matrix on its own) at 50 % and 90 %, with the size its folder takes on disk
//! ([`crate::model::sparse_io`]), its packed forward (dense products: the zeros are
//! multiplied), and its encoder Linear products alone, dense packed gemm against the CSR
//! kernel ([`crate::model::packed::sparse`]); and the model with half the heads of every
//! layer removed, whose packed forward computes only the heads left. GFLOP/s count the dense
//! model's products, so the rows compare directly.

use super::bench::{BenchResult, load_average, median_seconds, random_inputs, time_packed};
use crate::model::HfModel;
use crate::model::packed::PackedClassifier;
use crate::model::packed::sparse::time_encoder_products;
use crate::model::surgery::{map_linear_weights, remove_heads};
use anyhow::{Context, Result};

/// The sparsities measured.
pub const SPARSITIES: [f64; 2] = [0.5, 0.9];

/// `model` with the `sparsity` smallest-magnitude weights of each encoder Linear matrix set
/// to 0.
pub fn magnitude_pruned(model: &HfModel, sparsity: f64) -> HfModel {
    let network = map_linear_weights(model.network().clone(), &mut |path, _dims, values| {
        if !path.contains(".encoder.") && !path.contains(".transformer.") {
            return None;
        }
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()));
        let mut out = values.to_vec();
        for &i in &order[..(sparsity * values.len() as f64).round() as usize] {
            out[i] = 0.0;
        }
        Some(out)
    });
    model.clone().with_network(network)
}

/// Bytes of `model.safetensors` when `model` is saved.
fn stored_bytes(model: &HfModel) -> Result<u64> {
    let dir = std::env::temp_dir().join(format!("trustx-bench-sparse-{}", std::process::id()));
    model.save_hf(&dir)?;
    let path = dir.join("model.safetensors");
    let bytes = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.len();
    std::fs::remove_dir_all(&dir).ok();
    Ok(bytes)
}

/// The pruned rows for `model` (all-MiniLM-L6-v2) at `batch` × `length`, those whose name
/// `want` accepts. Names carry stored sizes, known only after pruning and saving a model:
/// that work is skipped when `want` refuses the name with `…` for the sizes.
pub fn rows(
    model: &HfModel,
    batch: usize,
    length: usize,
    reps: usize,
    want: &dyn Fn(&str) -> bool,
) -> Result<Vec<BenchResult>> {
    let spec = model.spec().clone();
    let mut out = Vec::new();
    let dense = |percent: f64, mb: &str, dense_mb: &str| {
        format!("all-MiniLM-L6-v2 pruned {percent:.0} % (stored {mb} MB, dense {dense_mb} MB), packed dense")
    };
    let products = |percent: f64, kernel: &str| {
        format!("all-MiniLM-L6-v2 pruned {percent:.0} %, encoder Linear products only, {kernel}")
    };
    let heads = spec.num_heads;
    let heads_name = |mb: &str| {
        format!("all-MiniLM-L6-v2, {} of {heads} heads removed per layer (stored {mb} MB), packed", heads / 2)
    };
    let wanted = |percent: f64| {
        want(&dense(percent, "…", "…")) || want(&products(percent, "dense gemm")) || want(&products(percent, "CSR"))
    };
    if !SPARSITIES.iter().any(|s| wanted(s * 100.0)) && !want(&heads_name("…")) {
        return Ok(out);
    }
    let dense_mb = format!("{:.1}", stored_bytes(model)? as f64 / 1e6);
    for sparsity in SPARSITIES {
        let percent = sparsity * 100.0;
        if !wanted(percent) {
            continue;
        }
        let pruned = magnitude_pruned(model, sparsity);
        let mb = format!("{:.1}", stored_bytes(&pruned)? as f64 / 1e6);
        let packed = PackedClassifier::new(pruned.network(), &spec, None)?;
        let name = dense(percent, &mb, &dense_mb);
        if want(&name) {
            out.push(time_packed(&name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
        }
        if !want(&products(percent, "dense gemm")) && !want(&products(percent, "CSR")) {
            continue;
        }
        if let Some(t) = time_encoder_products(&packed, batch * length, &mut |run| median_seconds(reps, run).median) {
            for (kernel, seconds) in [("dense gemm", t.dense_seconds), ("CSR", t.sparse_seconds)] {
                out.push(BenchResult {
                    name: products(percent, kernel),
                    batch,
                    length,
                    reps: reps.max(1),
                    sequences_per_s: batch as f64 / seconds,
                    gflops: t.flops / seconds / 1e9,
                    load_average: load_average(),
                    cpu_ms_per_sequence: None,
                });
            }
        }
    }
    // Structured: half the heads of every layer removed, which the packed path leaves out
    // ([`crate::model::packed`]'s removed heads) instead of multiplying their zeros.
    if !want(&heads_name("…")) {
        return Ok(out);
    }
    let removed: Vec<(usize, usize)> = (0..spec.num_layers).flat_map(|l| (0..heads / 2).map(move |h| (l, h))).collect();
    let network = remove_heads(model.network().clone(), spec.model_type, spec.hidden_size / heads, &removed);
    let pruned = model.clone().with_network(network);
    let name = heads_name(&format!("{:.1}", stored_bytes(&pruned)? as f64 / 1e6));
    if want(&name) {
        let packed = PackedClassifier::new(pruned.network(), &spec, None)?;
        out.push(time_packed(&name, &packed, &spec, &random_inputs(&spec, batch, length), reps));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::surgery::linear_weights;
    use crate::model::surgery::tests::tiny;

    #[test]
    fn pruning_zeroes_the_encoder_matrices_only_and_shrinks_the_folder() {
        let model = tiny(2, 1);
        let pruned = magnitude_pruned(&model, 0.5);
        for w in linear_weights(pruned.network()) {
            let zeros = w.values.iter().filter(|v| **v == 0.0).count() as f64 / w.values.len() as f64;
            if w.path.contains(".encoder.") {
                assert!((zeros - 0.5).abs() < 0.01, "{}: {zeros}", w.path);
            } else {
                assert_eq!(zeros, 0.0, "{}", w.path);
            }
        }
        assert!(stored_bytes(&pruned).unwrap() < stored_bytes(&model).unwrap());
    }
}
