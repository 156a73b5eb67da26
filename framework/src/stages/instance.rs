//! Which folder holds a model instance's weights: the one lookup every stage that loads a
//! neural model (predict, explain) goes through, so that a new kind of weight-producing
//! node (a `compress` node, say) is taught here once. [`ExplainedModel`] is what the
//! explain stage runs: that network, or the black box a model source gives (a served model).

use super::{RunContext, neural};
use crate::data::Dataset;
use crate::explain::{Classifier, GradientClassifier};
use crate::manifest::schema::Backend;
use crate::model::labels::LabelTarget;
use crate::model::{HfModel, LoadOptions};
use crate::plan::Task;
use crate::plan::node_config::{ExplainConfig, NeuralPredictConfig, SourcePredictConfig};
use crate::plugin::model_source::{ModelSourceEntry, PredictRequest};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

/// The model an explain node explains.
pub enum ExplainedModel {
    /// A network trustx runs (white box: gradients on an autodiff device).
    Neural(Box<HfModel>),
    /// A source's black box: texts in, probabilities out.
    BlackBox(Box<dyn Classifier>),
}

impl ExplainedModel {
    /// Opens the model explain node `i` explains (its inputs are [data, predict, weight
    /// holder if any]) on `backend`; `gradients` asks for an autodiff device. A source's
    /// settings, and a checkpoint's label renaming, are its predict node's (the second input).
    pub fn open(ctx: &RunContext, i: usize, dataset: &Dataset, backend: Backend, gradients: bool) -> Result<Self> {
        let node = &ctx.plan.nodes[i];
        let cfg: ExplainConfig = node.config_as()?;
        let predict = &ctx.plan.nodes[node.inputs[1]];
        match ModelSourceEntry::find(predict.plugin_name()) {
            None => {
                let predict: NeuralPredictConfig = predict.config_as()?;
                let holder = weights_holder(ctx, i);
                let dir = model_folder(ctx, i, holder)?;
                let base = neural::device(backend)?;
                let device = if gradients { base.autodiff() } else { base };
                let mapping = predict.init.map(|init| init.labels).unwrap_or_default();
                let labels = LabelTarget { names: &dataset.label_names, mapping: &mapping };
                let batch_size = cfg.batch_size.unwrap_or(LoadOptions::default().batch_size);
                let options = predict.run.load_options(batch_size);
                let net = neural::load_for_prediction_with(&dir, &labels, options, &device)
                    .with_context(|| format!("model `{}`", cfg.model))?;
                Ok(ExplainedModel::Neural(Box::new(net)))
            }
            Some(source) => {
                if gradients {
                    bail!(
                        "model `{}` (source `{}`) is a black box: it gives no gradients",
                        cfg.model,
                        source.info.name
                    );
                }
                let predict: SourcePredictConfig = predict.config_as()?;
                let request = PredictRequest { model: &cfg.model, dataset, seed: node.seed, base_dir: ctx.base_dir() };
                let classifier = (source.classifier)(&predict.settings, &request)
                    .with_context(|| format!("model `{}`", cfg.model))?;
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

/// The folder of the model weights node `i` reads: those its weight-holding input `holder`
/// stored (a train or compress node), or, with none, the checkpoint in node `i`'s place.
pub fn model_folder(ctx: &RunContext, i: usize, holder: Option<usize>) -> Result<PathBuf> {
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
        None => {
            let node = &ctx.plan.nodes[i];
            Ok(node.place.checkpoint(&node.name)?.to_path_buf())
        }
    }
}
