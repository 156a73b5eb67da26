//! GPUs a Slurm job would hold and not use: a stage whose jobs ask for `gpus` while the
//! stage runs on the CPU backend (`backend`, or `explain_backend` for explanations), or a
//! stage that never uses a backend at all. `trustx plan --executor slurm` and `trustx run`
//! under Slurm print these warnings; they do not stop the run.

use crate::manifest::Resolved;
use crate::manifest::schema::Backend;
use crate::plan::Stage;

/// The backend a stage's jobs compute on, or `None` for a stage without neural work.
fn stage_backend(r: &Resolved, stage: Stage) -> Option<Backend> {
    match stage {
        Stage::Train | Stage::Compress | Stage::Predict => Some(r.manifest.experiment.backend),
        Stage::Explain => Some(r.manifest.experiment.explain_backend()),
        _ => None,
    }
}

/// One warning per stage whose jobs would hold GPUs they do not use.
pub fn idle_gpu_warnings(r: &Resolved) -> Vec<String> {
    let spec = &r.manifest.executor.slurm;
    Stage::ALL
        .into_iter()
        .filter_map(|stage| {
            let gpus = spec.resources(stage.as_str()).gpus?;
            let name = stage.as_str();
            match stage_backend(r, stage) {
                Some(Backend::Cuda) => None,
                Some(Backend::Cpu) => {
                    let key = if stage == Stage::Explain { "explain_backend" } else { "backend" };
                    Some(format!(
                        "warning: the {name} jobs ask for GPUs (gpus = \"{gpus}\") but compute on the CPU ({key} = \"cpu\"): \
                         they would hold GPUs they do not use. Set [experiment] {key} = \"cuda\" (a `--features cuda` build) \
                         or remove gpus from [executor.slurm{}]",
                        if spec.stages.get(name).is_some_and(|s| s.gpus.is_some()) {
                            format!(".stages.{name}")
                        } else {
                            String::new()
                        }
                    ))
                }
                None => Some(format!(
                    "warning: the {name} jobs ask for GPUs (gpus = \"{gpus}\") but the {name} stage never uses one; \
                     give gpus to [executor.slurm.stages.train] (and predict, compress, explain) rather than to every job"
                )),
            }
        })
        .collect()
}
