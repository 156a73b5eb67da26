//! Multi-head self-attention over sequences laid end to end (no padding, so no mask), with
//! the probabilities kept for the backward pass, and that backward pass.
//!
//! Per sequence and head, with `Q, K, V` the head's columns of the fused `[q | k | v]` rows
//! (read in place through strided views) and `s = 1/√dim`:
//! `P = softmax(s·Q·Kᵀ)`, `P̃ = P ⊙ M` (dropout, `M` 0 or `1/(1−p)`), `C = P̃·V`.
//! Backward: `dV = P̃ᵀ·dC`, `dP = (dC·Vᵀ) ⊙ M`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`,
//! `dQ = s·dS·K`, `dK = s·dSᵀ·Q`. Sequences run in parallel, each product on one thread.
//!
//! With [`Queries::First`] only the first token's query is computed (the last layer, whose
//! `[CLS]` row alone reaches the head): `P` has one row per head, the context one row per
//! sequence, and the gradient reaches every key and value but only the first query.

use rayon::prelude::*;

pub use crate::model::packed::attention::Queries;
use crate::model::packed::kernels::{Threads, View, exp, product};

/// Shapes of one attention call: `count` heads of width `dim`.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Number of heads.
    pub count: usize,
    /// Width of one head.
    pub dim: usize,
}

/// Query rows of a sequence of `len` tokens.
fn query_rows(len: usize, queries: Queries) -> usize {
    match queries {
        Queries::All => len,
        Queries::First => len.min(1),
    }
}

/// Values of the probabilities of every sequence and head: `Σ heads · queries · len`.
pub fn probs_len(sequences: &[(usize, usize)], heads: Heads, queries: Queries) -> usize {
    sequences.iter().map(|&(_, len)| heads.count * query_rows(len, queries) * len).sum()
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

/// The per-sequence pieces of a buffer of `rows(len)` rows of `width` per sequence.
fn rows_of<'a>(
    buf: &'a mut [f32],
    sequences: &[(usize, usize)],
    width: usize,
    rows: impl Fn(usize) -> usize,
) -> Vec<&'a mut [f32]> {
    split_sizes(buf, sequences.iter().map(|&(_, len)| rows(len) * width))
}

/// The per-sequence pieces of a probabilities buffer.
fn probs_of<'a>(
    buf: &'a mut [f32],
    sequences: &[(usize, usize)],
    heads: Heads,
    queries: Queries,
) -> Vec<&'a mut [f32]> {
    split_sizes(buf, sequences.iter().map(|&(_, len)| heads.count * query_rows(len, queries) * len))
}

/// Forward: fills `probs` (before dropout) and `ctx` (`[tokens, count·dim]`, or one row
/// per sequence with [`Queries::First`]) from `qkv` (`[tokens, 3·count·dim]`). `mask` (same
/// shape as `probs`) is the dropout multiplier; `scratch` is reused between calls.
/// Sequences must lie end to end from row 0.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    qkv: &[f32],
    sequences: &[(usize, usize)],
    heads: Heads,
    queries: Queries,
    mask: Option<&[f32]>,
    probs: &mut [f32],
    ctx: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (h, dim) = (heads.count * heads.dim, heads.dim);
    let stride = 3 * h;
    let scale = 1.0 / (dim as f32).sqrt();
    let total = probs_len(sequences, heads, queries);
    scratch.resize(total, 0.0);
    let masks: Vec<Option<&[f32]>> = match mask {
        Some(m) => {
            let mut rest = m;
            sequences
                .iter()
                .map(|&(_, len)| {
                    let (a, b) = rest.split_at(heads.count * query_rows(len, queries) * len);
                    rest = b;
                    Some(a)
                })
                .collect()
        }
        None => vec![None; sequences.len()],
    };
    let probs = probs_of(probs, sequences, heads, queries);
    let scratch = probs_of(scratch, sequences, heads, queries);
    let ctx = rows_of(ctx, sequences, h, |len| query_rows(len, queries));
    probs.into_par_iter().zip(scratch).zip(ctx).zip(masks).zip(sequences).for_each(
        |((((probs, scratch), ctx), mask), &(start, len))| {
            let block = &qkv[start * stride..(start + len) * stride];
            let rows = query_rows(len, queries);
            let n = rows * len;
            for head in 0..heads.count {
                let (q_at, k_at, v_at) = (head * dim, h + head * dim, 2 * h + head * dim);
                let p = &mut probs[head * n..(head + 1) * n];
                let q = View::rows(&block[q_at..], rows, dim, stride);
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
                        let s = &mut scratch[head * n..(head + 1) * n];
                        for ((s, &p), &m) in s.iter_mut().zip(p.iter()).zip(&m[head * n..]) {
                            *s = p * m;
                        }
                        s
                    }
                    None => p,
                };
                let v = View::rows(&block[v_at..], len, dim, stride);
                product(&mut ctx[head * dim..], h, View::rows(used, rows, len, len), v, 1.0, false, Threads::One);
            }
        },
    );
}

/// Backward of [`forward`]: writes `dqkv` (`[tokens, 3·count·dim]`) from `dctx` (shaped
/// as the forward's `ctx`).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dctx: &[f32],
    qkv: &[f32],
    probs: &[f32],
    mask: Option<&[f32]>,
    sequences: &[(usize, usize)],
    heads: Heads,
    queries: Queries,
    dqkv: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (h, dim) = (heads.count * heads.dim, heads.dim);
    let stride = 3 * h;
    let scale = 1.0 / (dim as f32).sqrt();
    let total = probs_len(sequences, heads, queries);
    scratch.resize(2 * total, 0.0);
    let (first, second) = scratch.split_at_mut(total);
    let first = probs_of(first, sequences, heads, queries);
    let second = probs_of(second, sequences, heads, queries);
    let dqkv = rows_of(dqkv, sequences, stride, |len| len);
    // Where each sequence's probabilities and context rows start.
    let (mut offset, mut row) = (0, 0);
    let at: Vec<(usize, usize)> = sequences
        .iter()
        .map(|&(_, len)| {
            let rows = query_rows(len, queries);
            offset += heads.count * rows * len;
            row += rows;
            (offset - heads.count * rows * len, row - rows)
        })
        .collect();
    dqkv.into_par_iter().zip(first).zip(second).zip(at).zip(sequences).for_each(
        |((((dqkv, dropped), dp), (at, ctx_row)), &(start, len))| {
            let block = &qkv[start * stride..(start + len) * stride];
            let rows = query_rows(len, queries);
            let dc = &dctx[ctx_row * h..(ctx_row + rows) * h];
            if rows < len {
                // Only the first query has a gradient: the others' columns stay zero.
                dqkv.fill(0.0);
            }
            for head in 0..heads.count {
                let (q_at, k_at, v_at) = (head * dim, h + head * dim, 2 * h + head * dim);
                let n = rows * len;
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
                let dc_h = View::rows(&dc[head * dim..], rows, dim, h);
                let v = View::rows(&block[v_at..], len, dim, stride);
                product(
                    &mut dqkv[v_at..],
                    stride,
                    View::rows(used, rows, len, len).t(),
                    dc_h,
                    1.0,
                    false,
                    Threads::One,
                );
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
                let ds = View::rows(dp, rows, len, len);
                let q = View::rows(&block[q_at..], rows, dim, stride);
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
    fn loss(
        qkv: &[f32],
        seqs: &[(usize, usize)],
        heads: Heads,
        queries: Queries,
        mask: Option<&[f32]>,
        w: &[f32],
    ) -> f64 {
        let mut probs = vec![0.0; probs_len(seqs, heads, queries)];
        let mut ctx = vec![0.0; w.len()];
        forward(qkv, seqs, heads, queries, mask, &mut probs, &mut ctx, &mut Vec::new());
        ctx.iter().zip(w).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    }

    #[test]
    fn backward_matches_finite_differences_with_and_without_dropout() {
        let heads = Heads { count: 2, dim: 3 };
        let seqs = [(0, 3), (3, 2)];
        let h = 6;
        let qkv: Vec<f32> = (0..5 * 3 * h).map(|i| ((i * 13) % 17) as f32 * 0.1 - 0.8).collect();
        for (queries, rows) in [(Queries::All, 5), (Queries::First, 2)] {
            let w: Vec<f32> = (0..rows * h).map(|i| ((i * 7) % 9) as f32 * 0.2 - 0.8).collect();
            let n = probs_len(&seqs, heads, queries);
            let mask: Vec<f32> = (0..n).map(|i| if i % 3 == 1 { 0.0 } else { 1.5 }).collect();
            for mask in [None, Some(&mask[..])] {
                let mut probs = vec![0.0; n];
                let mut ctx = vec![0.0; rows * h];
                forward(&qkv, &seqs, heads, queries, mask, &mut probs, &mut ctx, &mut Vec::new());
                let mut dqkv = vec![f32::NAN; qkv.len()];
                backward(&w, &qkv, &probs, mask, &seqs, heads, queries, &mut dqkv, &mut Vec::new());
                for i in 0..qkv.len() {
                    let (mut up, mut down) = (qkv.clone(), qkv.clone());
                    up[i] += 1e-2;
                    down[i] -= 1e-2;
                    let numeric = (loss(&up, &seqs, heads, queries, mask, &w)
                        - loss(&down, &seqs, heads, queries, mask, &w))
                        / 2e-2;
                    assert!(
                        (numeric - f64::from(dqkv[i])).abs() < 2e-3,
                        "{queries:?} dqkv[{i}] = {} vs {numeric}",
                        dqkv[i]
                    );
                }
            }
        }
    }

    #[test]
    fn each_row_of_probabilities_sums_to_one_and_first_query_is_the_first_row() {
        let heads = Heads { count: 1, dim: 2 };
        let qkv: Vec<f32> = (0..4 * 6).map(|i| (i % 5) as f32 * 0.3).collect();
        let mut probs = vec![0.0; 16];
        let mut ctx = vec![0.0; 8];
        forward(&qkv, &[(0, 4)], heads, Queries::All, None, &mut probs, &mut ctx, &mut Vec::new());
        for row in probs.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let mut first = vec![0.0; 4];
        let mut cls = vec![0.0; 2];
        forward(&qkv, &[(0, 4)], heads, Queries::First, None, &mut first, &mut cls, &mut Vec::new());
        assert_eq!(first, probs[..4]);
        assert_eq!(cls, ctx[..2]);
    }
}
