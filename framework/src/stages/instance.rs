//! Which folder holds a model instance's weights: the one lookup every stage that loads a
//! neural model (predict, explain) goes through, so that a new kind of weight-producing
//! node (a `compress` node, say) is taught here once.

use super::RunContext;
use crate::manifest::NeuralInit;
use crate::plan::Task;
use anyhow::{Result, anyhow, bail};
use std::path::PathBuf;

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
