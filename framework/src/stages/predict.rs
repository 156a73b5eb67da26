//! The `predict` stage: a model source's probabilities on the eval split, checked and
//! stored as `predictions.parquet` (example_id, label, pred, confidence, probs). A neural
//! model (a fine-tuned checkpoint, or the output of its `train` node) is run in batches
//! sorted by length, duplicates once, and its card (`model_card.json`) is written beside.

use super::{RunContext, neural};
use crate::model::labels::LabelTarget;
use crate::plan::node_config::{NeuralPredictConfig, SourcePredictConfig};
use crate::plugin::model_source::{ModelSourceEntry, PredictRequest};
use crate::predictions::Predictions;
use crate::store::{NodeWriter, Store};
use crate::tables::io::{column_f64, column_f64_lists, column_strings, parquet_bytes, read_parquet};
use anyhow::{Context, Result, anyhow, bail};
use polars::prelude::{Column, DataFrame, DataType, IntoSeries, ListChunked, NamedFrom, Series};

/// Predicts with the model of node `i` and stores the table (and, for a neural model, its
/// card).
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let dataset = super::data::read(ctx.store, ctx.input_key(i, 0))?;
    let (name, preds) = match ModelSourceEntry::find(node.plugin_name()) {
        Some(source) => {
            let cfg: SourcePredictConfig = node.config_as()?;
            let request =
                PredictRequest { model: &cfg.model, dataset: &dataset, seed: node.seed, base_dir: ctx.base_dir() };
            let preds = (source.predict)(&cfg.settings, &request).with_context(|| format!("model `{}`", cfg.model))?;
            let expected: Vec<&str> = dataset.eval.examples.iter().map(|e| e.id.as_str()).collect();
            if preds.ids.iter().map(String::as_str).ne(expected.iter().copied()) {
                bail!(
                    "model `{}`: source `{}` returned predictions not in the dataset's order (internal error)",
                    cfg.model,
                    source.info.name
                );
            }
            (cfg.model, preds)
        }
        None => {
            let cfg: NeuralPredictConfig = node.config_as()?;
            let holder = node.inputs.get(1).copied();
            let dir = super::instance::model_folder(ctx, i, holder)?;
            let device = neural::device(cfg.run.backend)?;
            let mapping = cfg.init.as_ref().map(|init| init.labels.clone()).unwrap_or_default();
            let labels = LabelTarget { names: &dataset.label_names, mapping: &mapping };
            let options = cfg.run.load_options(cfg.batch_size);
            let net = neural::load_for_prediction_with(&dir, &labels, options, &device)
                .with_context(|| format!("model `{}`", cfg.model))?;
            let (preds, timing) = neural::predict_examples(&net, &dataset.eval.examples)
                .with_context(|| format!("model `{}`", cfg.model))?;
            let mut card = neural::ModelCard::measure(
                &cfg.model,
                &net,
                preds.len(),
                timing,
                cfg.run.max_len,
                cfg.batch_size,
                cfg.run.backend,
            )?;
            // A variant predicted straight from its compress node: the compressor's fields.
            if let Some(src) = holder.map(|h| &ctx.plan.nodes[h])
                && src.stage == crate::plan::Stage::Compress
            {
                card.apply(&super::compress::read_card(ctx.store, &src.key)?);
            }
            w.write_json(MODEL_CARD, &card)?;
            (cfg.model, preds)
        }
    };
    if preds.num_classes != dataset.label_names.len() {
        bail!(
            "model `{name}` predicts {} classes but the dataset has {}",
            preds.num_classes,
            dataset.label_names.len()
        );
    }
    preds.check().map_err(|e| anyhow!("model `{name}`: {e}"))?;
    w.write("predictions.parquet", &parquet_bytes(&mut predictions_frame(&preds)?)?)
}

/// The file name of a neural model's card.
pub const MODEL_CARD: &str = "model_card.json";

/// The predictions table.
pub fn predictions_frame(p: &Predictions) -> Result<DataFrame> {
    let n = p.len();
    let rows: Vec<Series> = (0..n).map(|i| Series::new("".into(), p.row(i))).collect();
    let probs = ListChunked::from_iter(rows.into_iter().map(Some)).into_series().with_name("probs".into());
    Ok(DataFrame::new_infer_height(vec![
        Column::new("example_id".into(), p.ids.clone()),
        Column::new("label".into(), p.labels.iter().map(|&l| l as u32).collect::<Vec<_>>()),
        Column::new("pred".into(), (0..n).map(|i| p.pred(i) as u32).collect::<Vec<_>>()),
        Column::new("confidence".into(), (0..n).map(|i| p.confidence(i)).collect::<Vec<_>>()),
        probs.cast(&DataType::List(Box::new(DataType::Float64)))?.into(),
    ])?)
}

/// Reads the predictions a predict node stored.
pub fn read(store: &Store, key: &str) -> Result<Predictions> {
    let df = read_parquet(&store.artifact_path(key, "predictions.parquet"))?;
    let ids: Vec<String> = column_strings(&df, "example_id")?.into_iter().map(Option::unwrap_or_default).collect();
    let labels: Vec<usize> = column_f64(&df, "label")?.into_iter().map(|v| v.unwrap_or(0.0) as usize).collect();
    let lists = column_f64_lists(&df, "probs")?;
    let num_classes = lists.first().and_then(|r| r.as_ref().map(Vec::len)).unwrap_or(0);
    let probs: Vec<f64> =
        lists.into_iter().flat_map(|r| r.unwrap_or_default().into_iter().map(|p| p.unwrap_or(f64::NAN))).collect();
    Ok(Predictions { ids, labels, num_classes, probs })
}
