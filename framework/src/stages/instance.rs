//! Which folder holds a model instance's weights: the one lookup every stage that loads a
//! neural model (predict, explain) goes through, so that a new kind of weight-producing
//! node (a `compress` node, say) is taught here once. [`ExplainedModel`] is what the
//! explain stage runs: that network, or the black box a model source gives (a served model).

use super::{RunContext, neural};
use crate::data::Dataset;
use crate::explain::{Classifier, GradientClassifier};
use crate::manifest::schema::Backend;
use crate::manifest::{ModelKind, NeuralInit};
use crate::model::HfModel;
use crate::model::labels::LabelTarget;
use crate::plan::Task;
use crate::plan::node_config::SourcePredictConfig;
use crate::plugin::model_source::PredictRequest;
use anyhow::{Context, Result, anyhow, bail};
use std::path::PathBuf;

/// The model an explain node explains.
pub enum ExplainedModel {
    /// A network trustx runs (white box: gradients on an autodiff device).
    Neural(Box<HfModel>),
    /// A source's black box: texts in, probabilities out.
    BlackBox(Box<dyn Classifier>),
}

impl ExplainedModel {
    /// Opens model `model` for explain node `i` (whose inputs are [data, predict, weight
    /// holder if any]) on `backend`; `gradients` asks for an autodiff device. A source's
    /// settings are its predict node's (the explain node's second input).
    pub fn open(
        ctx: &RunContext,
        i: usize,
        model: usize,
        dataset: &Dataset,
        backend: Backend,
        gradients: bool,
    ) -> Result<Self> {
        let m = &ctx.resolved.models[model];
        let node = &ctx.plan.nodes[i];
        match &m.kind {
            ModelKind::Neural(n) => {
                let dir = model_folder(ctx, model, weights_holder(ctx, i))?;
                let base = neural::device(backend)?;
                let device = if gradients { base.autodiff() } else { base };
                let labels = LabelTarget { names: &dataset.label_names, mapping: &n.labels };
                let net = neural::load_for_prediction_with(&dir, &labels, neural::load_options(n), &device)
                    .with_context(|| format!("model `{}`", m.name))?;
                Ok(ExplainedModel::Neural(Box::new(net)))
            }
            ModelKind::Source { source, .. } => {
                if gradients {
                    bail!("model `{}` (source `{}`) is a black box: it gives no gradients", m.name, source.info.name);
                }
                let predict: SourcePredictConfig = ctx.plan.nodes[node.inputs[1]].config_as()?;
                let request = PredictRequest { model: &m.name, dataset, seed: node.seed, base_dir: ctx.base_dir() };
                let classifier =
                    (source.classifier)(&predict.settings, &request).with_context(|| format!("model `{}`", m.name))?;
                Ok(ExplainedModel::BlackBox(classifier))
            }
        }
    }

    /// The model as a black box.
    pub fn classifier(&self) -> &dyn Classifier {
        match self {
            ExplainedModel::Neural(net) => net.as_ref(),
            ExplainedModel::BlackBox(c) => c.as_ref(),
        }
    }

    /// The model's gradients, when it is a network.
    pub fn gradients(&self) -> Option<&dyn GradientClassifier> {
        match self {
            ExplainedModel::Neural(net) => Some(net.as_ref()),
            ExplainedModel::BlackBox(_) => None,
        }
    }
}

/// The input of node `i` holding the model's weights (a train or compress node), if any: the
/// third input of an explain node, when the model was trained or compressed.
pub fn weights_holder(ctx: &RunContext, i: usize) -> Option<usize> {
    ctx.plan.nodes[i]
        .inputs
        .iter()
        .skip(2)
        .copied()
        .find(|&k| matches!(ctx.plan.nodes[k].task, Task::Train { .. } | Task::Compress { .. }))
}

/// The folder of model `model`'s weights for a node whose weight-holding input is
/// `holder` (a node index; `None` when the weights are the manifest's checkpoint itself).
pub fn model_folder(ctx: &RunContext, model: usize, holder: Option<usize>) -> Result<PathBuf> {
    let m = &ctx.resolved.models[model];
    let n = m.neural().ok_or_else(|| anyhow!("model `{}` is not a neural model (internal error)", m.name))?;
    match holder {
        Some(h) => {
            let node = &ctx.plan.nodes[h];
            match node.task {
                Task::Train { .. } | Task::Compress { .. } => {
                    Ok(ctx.store.dir(&node.key).join(super::train::MODEL_DIR))
                }
                _ => bail!("node {} does not hold model weights (internal error)", node.name),
            }
        }
        None => match &n.init {
            NeuralInit::Checkpoint(dir) => Ok(dir.clone()),
            NeuralInit::Architecture(_) | NeuralInit::Variant { .. } => {
                bail!("model `{}` was not trained or compressed (internal error)", m.name)
            }
        },
    }
}
