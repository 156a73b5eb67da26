//! The training backward pass: from `∂loss/∂logits` to the gradient of every parameter,
//! written into the flat gradient buffer (same layout as the parameters).
//!
//! Each Linear layer `y = x·W + b` gives `dW = xᵀ·dy` (written, not added: every weight is
//! used once per step), `db = Σ_rows dy`, `dx = dy·Wᵀ`; LayerNorm, GELU and attention have
//! their own files. The embedding tables are the only gradients summed over tokens: the
//! rows the previous step touched are cleared first, so the rest of the table stays zero
//! without clearing it all.

use super::CpuNet;
use super::attention::{self, Heads, Queries};
use super::buffers::LinearAt;
use super::forward::{Mask, apply};
use super::layer_norm;
use crate::model::ModelType;
use crate::model::packed::kernels::{Threads, View, product};

/// Buffers of the backward pass, reused between steps.
#[derive(Debug, Default)]
pub struct Workspace {
    dy: Vec<f32>,
    ds: Vec<f32>,
    dmasked: Vec<f32>,
    dff: Vec<f32>,
    dres: Vec<f32>,
    dctx: Vec<f32>,
    dqkv: Vec<f32>,
    dsmall: Vec<f32>,
    dcls: Vec<f32>,
    scratch: Vec<f32>,
    dlogits: Vec<f32>,
    /// Word-table rows holding gradients from the last step.
    touched: Vec<u32>,
}

impl Workspace {
    /// The buffer of `∂loss/∂logits`, kept between steps.
    pub fn dlogits(&mut self) -> &mut Vec<f32> {
        &mut self.dlogits
    }
}

/// `dW = xᵀ·dy`, `db = Σ dy` into `grads`; with `dx`, also `dx (+)= dy·Wᵀ`.
fn linear_backward(
    x: &[f32],
    dy: &[f32],
    rows: usize,
    at: LinearAt,
    params: &[f32],
    grads: &mut [f32],
    dx: Option<(&mut Vec<f32>, bool)>,
) {
    let (k, n) = (at.inputs, at.outputs);
    let xv = View::rows(x, rows, k, k);
    let dyv = View::rows(dy, rows, n, n);
    product(&mut grads[at.w..at.w + k * n], n, xv.t(), dyv, 1.0, false, Threads::Pool);
    let db = &mut grads[at.b..at.b + n];
    db.fill(0.0);
    for row in dy.chunks_exact(n) {
        db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
    }
    if let Some((dx, accumulate)) = dx {
        dx.resize(rows * k, 0.0);
        let w = View::rows(&params[at.w..at.w + k * n], k, n, n);
        product(dx, k, dyv, w.t(), 1.0, accumulate, Threads::Pool);
    }
}

/// `dst = src ⊙ mask`, or a copy when the mask is off.
fn masked(dst: &mut Vec<f32>, src: &[f32], mask: &Mask) {
    dst.clear();
    dst.extend_from_slice(src);
    apply(dst, mask);
}

impl CpuNet {
    /// Backward pass of the last [`CpuNet::forward`] from `dlogits` (`[batch, labels]`);
    /// fills the gradient buffer.
    pub fn backward(&mut self, dlogits: &[f32]) {
        let (l, p, a) = (&self.layout, &self.params, &self.acts);
        let g = &mut self.grads;
        let w = &mut self.work;
        let (h, t, n) = (l.hidden, a.tokens(), a.sequences.len());
        let heads = Heads { count: l.heads, dim: h / l.heads };
        assert_eq!(dlogits.len(), n * l.labels, "backward: dlogits of another batch");

        // Head.
        linear_backward(&a.pooled_used, dlogits, n, l.classifier, p, g, Some((&mut w.dsmall, false)));
        apply(&mut w.dsmall, &a.classifier_mask);
        match l.model_type {
            ModelType::Bert => w.dsmall.iter_mut().zip(&a.pooled).for_each(|(d, &y)| *d *= 1.0 - y * y),
            ModelType::DistilBert => {
                w.dsmall.iter_mut().zip(&a.pooled).for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 })
            }
        }
        linear_backward(&a.cls, &w.dsmall, n, l.head, p, g, Some((&mut w.dcls, false)));
        // `dy`: the gradient of the current layer's output; `[batch, hidden]` for the last
        // layer (its [CLS] rows), `[tokens, hidden]` below.
        w.dy.clear();
        if l.layers.is_empty() {
            w.dy.resize(t * h, 0.0);
            for (&(start, _), d) in a.sequences.iter().zip(w.dcls.chunks_exact(h)) {
                w.dy[start * h..(start + 1) * h].copy_from_slice(d);
            }
        } else {
            w.dy.extend_from_slice(&w.dcls);
        }

        // Layers, last first.
        for (i, at) in l.layers.iter().enumerate().rev() {
            let la = &a.layers[i];
            let x = &a.xs[i];
            let (queries, r) = if i + 1 == l.layers.len() { (Queries::First, n) } else { (Queries::All, t) };
            // y = LN2(h + drop(ffn)).
            w.ds.resize(r * h, 0.0);
            let (gamma, beta) = split_norm(g, at.output_norm.gamma, at.output_norm.beta, h);
            let gamma_p = &p[at.output_norm.gamma..][..h];
            layer_norm::backward(&w.dy, &la.xhat2, &la.rstd2, gamma_p, h, &mut w.ds, (gamma, beta));
            masked(&mut w.dmasked, &w.ds, &la.ffn_mask);
            linear_backward(&la.g, &w.dmasked, r, at.ffn_out, p, g, Some((&mut w.dff, false)));
            super::gelu::backward(&la.u, &mut w.dff);
            // dh = ds (residual) + du·W1ᵀ.
            linear_backward(&la.h, &w.dff, r, at.ffn_in, p, g, Some((&mut w.ds, true)));
            // h = LN1(x + drop(attn)): the residual's gradient goes to `dres`.
            w.dres.resize(r * h, 0.0);
            let (gamma, beta) = split_norm(g, at.attention_norm.gamma, at.attention_norm.beta, h);
            let gamma_p = &p[at.attention_norm.gamma..][..h];
            layer_norm::backward(&w.ds, &la.xhat1, &la.rstd1, gamma_p, h, &mut w.dres, (gamma, beta));
            masked(&mut w.dmasked, &w.dres, &la.attention_out_mask);
            linear_backward(&la.ctx, &w.dmasked, r, at.output, p, g, Some((&mut w.dctx, false)));
            w.dqkv.resize(t * 3 * h, 0.0);
            let mask = la.attention_mask.get();
            let seqs = &a.sequences;
            attention::backward(&w.dctx, &la.qkv, &la.probs, mask, seqs, heads, queries, &mut w.dqkv, &mut w.scratch);
            // dx = dqkv·W_qkvᵀ + the residual's gradient.
            linear_backward(x, &w.dqkv, t, at.qkv, p, g, Some((&mut w.dy, false)));
            match queries {
                Queries::All => w.dy.iter_mut().zip(&w.dres).for_each(|(d, r)| *d += r),
                Queries::First => {
                    for (&(start, _), r) in a.sequences.iter().zip(w.dres.chunks_exact(h)) {
                        w.dy[start * h..(start + 1) * h].iter_mut().zip(r).for_each(|(d, r)| *d += r);
                    }
                }
            }
        }

        // Embeddings: dropout, LayerNorm, then the tables.
        apply(&mut w.dy, &a.emb_mask);
        w.ds.resize(t * h, 0.0);
        let (gamma, beta) = split_norm(g, l.embedding_norm.gamma, l.embedding_norm.beta, h);
        layer_norm::backward(
            &w.dy,
            &a.emb_xhat,
            &a.emb_rstd,
            &p[l.embedding_norm.gamma..][..h],
            h,
            &mut w.ds,
            (gamma, beta),
        );
        for &id in &w.touched {
            let at = l.word + id as usize * h;
            g[at..at + h].fill(0.0);
        }
        g[l.position..l.position + l.positions * h].fill(0.0);
        if let Some(types) = l.token_type {
            g[types..types + l.types * h].fill(0.0);
        }
        for (j, d) in w.ds.chunks_exact(h).enumerate() {
            let mut add = |at: usize| g[at..at + h].iter_mut().zip(d).for_each(|(g, d)| *g += d);
            add(l.word + a.ids[j] as usize * h);
            add(l.position + a.positions[j] as usize * h);
            if let Some(types) = l.token_type {
                add(types + a.types[j] as usize * h);
            }
        }
        w.touched.clone_from(&a.ids);
    }
}

/// The gradient slices of a LayerNorm's γ and β, cleared.
fn split_norm(g: &mut [f32], gamma: usize, beta: usize, h: usize) -> (&mut [f32], &mut [f32]) {
    assert_eq!(beta, gamma + h, "a LayerNorm's β follows its γ");
    let (dg, db) = g[gamma..gamma + 2 * h].split_at_mut(h);
    dg.fill(0.0);
    db.fill(0.0);
    (dg, db)
}
