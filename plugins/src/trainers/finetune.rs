//! `finetune`: the paper's fine-tuning recipe — AdamW (lr 1e-5, batch 32, no weight decay by
//! default), linear warm-up and decay, global gradient-norm clipping, cross-entropy, and an
//! evaluation on the eval split after every epoch keeping the best epoch, as the paper's
//! code did (`select_best = false` keeps the last epoch and leaves the eval split out of
//! training decisions).

use trustx_framework::anyhow::{self, Context};
use trustx_framework::model::train::{FinetuneConfig, finetune};
use trustx_framework::plugin::settings::SettingsError;
use trustx_framework::plugin::training::{TrainOutput, TrainRequest, TrainTick, Trainer, TrainerEntry};

/// The `finetune` trainer.
pub struct Finetune;

impl Trainer for Finetune {
    type Settings = FinetuneConfig;
    const NAME: &'static str = "finetune";
    // 2: trains on the CPU training path on the CPU device (dropout masks from the seed's
    // ChaCha generator instead of burn's), so its weights differ from version 1's.
    const VERSION: &'static str = "2";
    const SUMMARY: &'static str = "Fine-tune with AdamW, linear warm-up/decay, gradient clipping; best epoch on the eval split (the paper's recipe)";

    fn train(settings: &FinetuneConfig, request: TrainRequest) -> anyhow::Result<TrainOutput> {
        let train = request.dataset.train.as_ref().map(|s| s.examples.as_slice()).unwrap_or_default();
        let dev: &[_] = if settings.select_best { &request.dataset.eval.examples } else { &[] };
        let progress = request.progress;
        let mut tick = |p: &trustx_framework::model::train::TrainProgress| {
            progress(&TrainTick {
                step: p.step,
                total_steps: p.total_steps,
                message: format!("epoch {} loss {:.4} {:.1} ex/s", p.epoch, p.loss, p.examples_per_s),
            })
        };
        let (model, report) = finetune(request.model, train, dev, settings, request.seed, &mut tick)
            .with_context(|| format!("fine-tuning `{}`", request.model_name))?;
        Ok(TrainOutput { model, report: trustx_framework::serde_json::to_value(report)? })
    }

    fn check(settings: &FinetuneConfig) -> Vec<SettingsError> {
        settings.problems().into_iter().map(|(key, message)| SettingsError::at(key, message)).collect()
    }
}

inventory::submit! { TrainerEntry::of::<Finetune>() }
