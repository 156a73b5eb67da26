//! Multi-head self-attention over sequences laid end to end (no padding, so no mask), with
//! the probabilities kept for the backward pass, and that backward pass.
//!
//! Per sequence and head, with `Q, K, V` the head's columns of the fused `[q | k | v]` rows
//! (read in place through strided views) and `s = 1/√dim`:
//! `P = softmax(s·Q·Kᵀ)`, `P̃ = P ⊙ M` (dropout, `M` 0 or `1/(1−p)`), `C = P̃·V`.
//! Backward: `dV = P̃ᵀ·dC`, `dP = (dC·Vᵀ) ⊙ M`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`,
//! `dQ = s·dS·K`, `dK = s·dSᵀ·Q`. Sequences run in parallel, each product on one thread.

use rayon::prelude::*;

use crate::model::packed::kernels::{Threads, View, exp, product};

/// Shapes of one attention call: `count` heads of width `dim`.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Number of heads.
    pub count: usize,
    /// Width of one head.
    pub dim: usize,
}

/// Values of the probabilities of every sequence and head: `Σ heads · len²`.
pub fn probs_len(sequences: &[(usize, usize)], heads: Heads) -> usize {
    sequences.iter().map(|&(_, len)| heads.count * len * len).sum()
}

/// `buf` cut into consecutive pieces of the given sizes.
pub fn split_sizes(mut buf: &mut [f32], sizes: impl Iterator<Item = usize>) -> Vec<&mut [f32]> {
    let mut out = Vec::new();
    for n in sizes {
        let (head, tail) = buf.split_at_mut(n);
        out.push(head);
        buf = tail;
    }
    out
}

/// The per-sequence pieces of a `[tokens, width]` buffer.
fn rows_of<'a>(buf: &'a mut [f32], sequences: &[(usize, usize)], width: usize) -> Vec<&'a mut [f32]> {
    split_sizes(buf, sequences.iter().map(|&(_, len)| len * width))
}

/// The per-sequence pieces of a probabilities buffer.
fn probs_of<'a>(buf: &'a mut [f32], sequences: &[(usize, usize)], heads: Heads) -> Vec<&'a mut [f32]> {
    split_sizes(buf, sequences.iter().map(|&(_, len)| heads.count * len * len))
}

/// Forward: fills `probs` (before dropout) and `ctx` (`[tokens, count·dim]`) from `qkv`
/// (`[tokens, 3·count·dim]`). `mask` (same shape as `probs`) is the dropout multiplier;
/// `scratch` is reused between calls. Sequences must lie end to end from row 0.
pub fn forward(
    qkv: &[f32],
    sequences: &[(usize, usize)],
    heads: Heads,
    mask: Option<&[f32]>,
    probs: &mut [f32],
    ctx: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (h, dim) = (heads.count * heads.dim, heads.dim);
    let stride = 3 * h;
    let scale = 1.0 / (dim as f32).sqrt();
    let total = probs_len(sequences, heads);
    scratch.resize(total, 0.0);
    let masks: Vec<Option<&[f32]>> = match mask {
        Some(m) => {
            let mut rest = m;
            sequences
                .iter()
                .map(|&(_, len)| {
                    let (a, b) = rest.split_at(heads.count * len * len);
                    rest = b;
                    Some(a)
                })
                .collect()
        }
        None => vec![None; sequences.len()],
    };
    let probs = probs_of(probs, sequences, heads);
    let scratch = probs_of(scratch, sequences, heads);
    let ctx = rows_of(ctx, sequences, h);
    probs.into_par_iter().zip(scratch).zip(ctx).zip(masks).zip(sequences).for_each(
        |((((probs, scratch), ctx), mask), &(start, len))| {
            let block = &qkv[start * stride..(start + len) * stride];
            for head in 0..heads.count {
                let (q_at, k_at, v_at) = (head * dim, h + head * dim, 2 * h + head * dim);
                let p = &mut probs[head * len * len..(head + 1) * len * len];
                let q = View::rows(&block[q_at..], len, dim, stride);
                let k = View::rows(&block[k_at..], len, dim, stride);
                product(p, len, q, k.t(), scale, false, Threads::One);
                for row in p.chunks_exact_mut(len) {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    for v in row.iter_mut() {
                        *v = exp(*v - max);
                    }
                    let inv = 1.0 / row.iter().sum::<f32>();
                    for v in row.iter_mut() {
                        *v *= inv;
                    }
                }
                let used: &[f32] = match mask {
                    Some(m) => {
                        let s = &mut scratch[head * len * len..(head + 1) * len * len];
                        for ((s, &p), &m) in s.iter_mut().zip(p.iter()).zip(&m[head * len * len..]) {
                            *s = p * m;
                        }
                        s
                    }
                    None => p,
                };
                let v = View::rows(&block[v_at..], len, dim, stride);
                product(&mut ctx[head * dim..], h, View::rows(used, len, len, len), v, 1.0, false, Threads::One);
            }
        },
    );
}

/// Backward of [`forward`]: writes `dqkv` (`[tokens, 3·count·dim]`) from `dctx`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dctx: &[f32],
    qkv: &[f32],
    probs: &[f32],
    mask: Option<&[f32]>,
    sequences: &[(usize, usize)],
    heads: Heads,
    dqkv: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (h, dim) = (heads.count * heads.dim, heads.dim);
    let stride = 3 * h;
    let scale = 1.0 / (dim as f32).sqrt();
    let total = probs_len(sequences, heads);
    scratch.resize(2 * total, 0.0);
    let (first, second) = scratch.split_at_mut(total);
    let first = probs_of(first, sequences, heads);
    let second = probs_of(second, sequences, heads);
    let dqkv = rows_of(dqkv, sequences, stride);
    let mut offset = 0;
    let at: Vec<usize> = sequences
        .iter()
        .map(|&(_, len)| {
            offset += heads.count * len * len;
            offset - heads.count * len * len
        })
        .collect();
    dqkv.into_par_iter().zip(first).zip(second).zip(at).zip(sequences).for_each(
        |((((dqkv, dropped), dp), at), &(start, len))| {
            let block = &qkv[start * stride..(start + len) * stride];
            let dc = &dctx[start * h..(start + len) * h];
            for head in 0..heads.count {
                let (q_at, k_at, v_at) = (head * dim, h + head * dim, 2 * h + head * dim);
                let n = len * len;
                let p = &probs[at + head * n..at + (head + 1) * n];
                let m = mask.map(|m| &m[at + head * n..at + (head + 1) * n]);
                let dropped = &mut dropped[head * n..(head + 1) * n];
                let used: &[f32] = match m {
                    Some(m) => {
                        for ((d, &p), &m) in dropped.iter_mut().zip(p).zip(m) {
                            *d = p * m;
                        }
                        dropped
                    }
                    None => p,
                };
                let dc_h = View::rows(&dc[head * dim..], len, dim, h);
                let v = View::rows(&block[v_at..], len, dim, stride);
                product(&mut dqkv[v_at..], stride, View::rows(used, len, len, len).t(), dc_h, 1.0, false, Threads::One);
                let dp = &mut dp[head * n..(head + 1) * n];
                product(dp, len, dc_h, v.t(), 1.0, false, Threads::One);
                if let Some(m) = m {
                    for (d, &m) in dp.iter_mut().zip(m) {
                        *d *= m;
                    }
                }
                for (drow, prow) in dp.chunks_exact_mut(len).zip(p.chunks_exact(len)) {
                    let dot: f32 = drow.iter().zip(prow).map(|(d, p)| d * p).sum();
                    for (d, &p) in drow.iter_mut().zip(prow) {
                        *d = p * (*d - dot);
                    }
                }
                let ds = View::rows(dp, len, len, len);
                let q = View::rows(&block[q_at..], len, dim, stride);
                let k = View::rows(&block[k_at..], len, dim, stride);
                product(&mut dqkv[q_at..], stride, ds, k, scale, false, Threads::One);
                product(&mut dqkv[k_at..], stride, ds.t(), q, scale, false, Threads::One);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ w ⊙ ctx for the given qkv.
    fn loss(qkv: &[f32], seqs: &[(usize, usize)], heads: Heads, mask: Option<&[f32]>, w: &[f32]) -> f64 {
        let h = heads.count * heads.dim;
        let tokens: usize = seqs.iter().map(|s| s.1).sum();
        let mut probs = vec![0.0; probs_len(seqs, heads)];
        let mut ctx = vec![0.0; tokens * h];
        forward(qkv, seqs, heads, mask, &mut probs, &mut ctx, &mut Vec::new());
        ctx.iter().zip(w).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    }

    #[test]
    fn backward_matches_finite_differences_with_and_without_dropout() {
        let heads = Heads { count: 2, dim: 3 };
        let seqs = [(0, 3), (3, 2)];
        let h = 6;
        let qkv: Vec<f32> = (0..5 * 3 * h).map(|i| ((i * 13) % 17) as f32 * 0.1 - 0.8).collect();
        let w: Vec<f32> = (0..5 * h).map(|i| ((i * 7) % 9) as f32 * 0.2 - 0.8).collect();
        let mask: Vec<f32> = (0..probs_len(&seqs, heads)).map(|i| if i % 3 == 1 { 0.0 } else { 1.5 }).collect();
        for mask in [None, Some(&mask[..])] {
            let mut probs = vec![0.0; probs_len(&seqs, heads)];
            let mut ctx = vec![0.0; 5 * h];
            forward(&qkv, &seqs, heads, mask, &mut probs, &mut ctx, &mut Vec::new());
            let mut dqkv = vec![0.0; qkv.len()];
            backward(&w, &qkv, &probs, mask, &seqs, heads, &mut dqkv, &mut Vec::new());
            for i in 0..qkv.len() {
                let (mut up, mut down) = (qkv.clone(), qkv.clone());
                up[i] += 1e-2;
                down[i] -= 1e-2;
                let numeric = (loss(&up, &seqs, heads, mask, &w) - loss(&down, &seqs, heads, mask, &w)) / 2e-2;
                assert!((numeric - f64::from(dqkv[i])).abs() < 2e-3, "dqkv[{i}] = {} vs {numeric}", dqkv[i]);
            }
        }
    }

    #[test]
    fn each_row_of_probabilities_sums_to_one() {
        let heads = Heads { count: 1, dim: 2 };
        let qkv: Vec<f32> = (0..4 * 6).map(|i| (i % 5) as f32 * 0.3).collect();
        let mut probs = vec![0.0; 16];
        let mut ctx = vec![0.0; 8];
        forward(&qkv, &[(0, 4)], heads, None, &mut probs, &mut ctx, &mut Vec::new());
        for row in probs.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
