//! `distill`: knowledge distillation into a smaller student, as a compressor (it needs
//! the teacher, which is the variant's `from` model, and builds the student itself).
//!
//! The student is a layer-dropped copy of the teacher (`layers = [..]` or `keep_every =
//! k`: DistilBERT's initialisation from every other teacher layer) or a model built from
//! scratch (`architecture = { type, layers, hidden, heads, ffn, vocab }`, vocab relative to
//! the manifest). Loss = α · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α) ·
//! CE(labels), with the teacher's logits computed once on the train split; training is the
//! `finetune` recipe (`train = { lr, epochs, batch_size, warmup_ratio, … }`, same keys and
//! defaults as `[train]` of `finetune`), seeded by the node's seed.

use serde::{Deserialize, Serialize};
use trustx_framework::anyhow::{self, Context, bail};
use trustx_framework::model::distill::{distill, mean_kl, teacher_logits};
use trustx_framework::model::scratch::Architecture;
use trustx_framework::model::train::FinetuneConfig;
use trustx_framework::model::{HfModel, LoadOptions};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::compressor::{
    CardOverrides, CompressOutput, CompressRequest, Compressor, CompressorEntry, ModelShape,
};
use trustx_framework::plugin::training::TrainTick;
use trustx_framework::schemars::{self, JsonSchema};
use trustx_framework::serde_json::{self, json};

use super::layer_drop::LayerChoice;

/// Settings of `distill`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistillSettings {
    /// Student = these teacher layers (0-based), e.g. `[0, 2, 4]`.
    #[serde(default)]
    pub layers: Option<Vec<usize>>,
    /// Student = teacher layers 0, k, 2k, … Default 2 when neither `layers` nor
    /// `architecture` is given.
    #[serde(default)]
    pub keep_every: Option<usize>,
    /// Student built from scratch instead: `{ type = "bert", layers, hidden, heads, ffn,
    /// vocab }` (vocab relative to the manifest).
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Softmax temperature T of the soft targets. Default 2.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Weight α of the distillation term; 1 − α goes to the labels' cross-entropy. Default 0.5.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Optimisation, as `finetune`'s settings (lr, epochs, batch_size, warmup_ratio, …).
    #[serde(default)]
    pub train: FinetuneConfig,
}

fn default_temperature() -> f64 {
    2.0
}
fn default_alpha() -> f64 {
    0.5
}

impl DistillSettings {
    fn layer_choice(&self) -> LayerChoice {
        match (&self.layers, self.keep_every) {
            (None, None) => LayerChoice { layers: None, keep_every: Some(2) },
            (l, k) => LayerChoice { layers: l.clone(), keep_every: k },
        }
    }
}

/// The `distill` compressor.
pub struct Distill;

impl Compressor for Distill {
    type Settings = DistillSettings;
    const NAME: &'static str = "distill";
    // 2: trains on the CPU training path on the CPU device (dropout masks from the seed's
    // ChaCha generator instead of burn's), so its weights differ from version 1's.
    const VERSION: &'static str = "2";
    const SUMMARY: &'static str = "Distil the source model into a layer-dropped copy or a model from scratch: α·T²·KL(teacher‖student) + (1−α)·CE";

    fn check(settings: &DistillSettings, shape: ModelShape) -> Result<(), SettingsError> {
        let layers = shape.layers;
        if !(settings.temperature > 0.0 && settings.temperature.is_finite()) {
            return Err(SettingsError::at("temperature", "must be a positive number"));
        }
        if !(0.0..=1.0).contains(&settings.alpha) {
            return Err(SettingsError::at("alpha", "lies in [0, 1]"));
        }
        settings.train.validate().map_err(|e| SettingsError::at("train", e.to_string()))?;
        match &settings.architecture {
            Some(_) if settings.layers.is_some() || settings.keep_every.is_some() => {
                Err(SettingsError::at("architecture", "give `architecture` or `layers`/`keep_every`, not both"))
            }
            Some(_) => Ok(()),
            None => settings.layer_choice().resolve(layers).map(|_| ()),
        }
    }

    fn compress(settings: &DistillSettings, request: CompressRequest) -> anyhow::Result<CompressOutput> {
        let teacher = request.model;
        if let Err(e) =
            Self::check(settings, ModelShape { layers: teacher.spec().num_layers, heads: teacher.spec().num_heads })
        {
            bail!("{}: {}", e.path.join("."), e.message);
        }
        let Some(train) = request.dataset.train.as_ref().map(|s| s.examples.as_slice()).filter(|t| !t.is_empty())
        else {
            bail!("distillation needs a train split; add [dataset.train]");
        };
        let (student, student_desc) = match &settings.architecture {
            Some(arch) => {
                let mut arch = arch.clone();
                arch.vocab = request.base_dir.join(&arch.vocab);
                let options = LoadOptions {
                    seed: request.seed,
                    num_labels: Some(teacher.num_labels()),
                    max_len: request.max_len,
                    batch_size: teacher.batch_size(),
                    ..LoadOptions::default()
                };
                let s =
                    HfModel::from_architecture(&arch, &options, teacher.device()).context("building the student")?;
                (s, json!({"architecture": serde_json::to_value(&arch)?}))
            }
            None => {
                let keep = settings
                    .layer_choice()
                    .resolve(teacher.spec().num_layers)
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
                (teacher.with_layers(&keep)?, json!({"teacher_layers_kept": keep}))
            }
        };
        let logits = teacher_logits(&teacher, train).context("teacher logits on the train split")?;
        let kl_before = mean_kl(&logits, &teacher_logits(&student, train)?, settings.temperature);
        let progress = request.progress;
        let mut tick = |p: &trustx_framework::model::train::TrainProgress| {
            progress(&TrainTick {
                step: p.step,
                total_steps: p.total_steps,
                message: format!("epoch {} loss {:.4} {:.1} ex/s", p.epoch, p.loss, p.examples_per_s),
            })
        };
        let dev: &[_] = if settings.train.select_best { &request.dataset.eval.examples } else { &[] };
        let (student, train_report) = distill(
            student,
            &logits,
            train,
            dev,
            &settings.train,
            settings.temperature,
            settings.alpha,
            request.seed,
            &mut tick,
        )
        .with_context(|| format!("distilling variant `{}`", request.variant))?;
        let kl_after = mean_kl(&logits, &teacher_logits(&student, train)?, settings.temperature);
        let report = json!({
            "student": student_desc,
            "student_layers": student.spec().num_layers,
            "student_parameters": student.num_parameters(),
            "teacher_parameters": teacher.num_parameters(),
            "temperature": settings.temperature,
            "alpha": settings.alpha,
            "loss": "alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(labels)",
            "train_kl_before": kl_before,
            "train_kl_after": kl_after,
            "training": serde_json::to_value(train_report)?,
        });
        Ok(CompressOutput { model: student, report, card: CardOverrides::default() })
    }
}

inventory::submit! { CompressorEntry::of::<Distill>() }
