//! The `aggregate` stage: per-seed tables joined across seeds (mean, standard deviation,
//! bootstrap interval of the seed mean), written as Parquet and CSV, plus `summary.json`,
//! the structured content the report renders. With explainers, the alignment tables come
//! from [`super::alignment_tables`] and the highlighted examples from [`super::highlights`].

//!
//! One file a concern: [`seeds`] joins the per-seed calibration and similarity nodes,
//! [`explanations`] the explanation side, [`frames`] lays the tables out, [`definitions`]
//! says what each metric is; [`run`] puts them together and writes them.

mod definitions;
mod explanations;
mod frames;
mod seeds;

use super::RunContext;
use crate::plan::node_config::AggregateConfig;
use crate::plan::{Stage, Task};
use crate::store::NodeWriter;
use crate::tables::io::{csv_bytes, parquet_bytes};
pub use crate::tables::summary::{AggregateRow, FloorSummary, ModelCard, ModelSummary, Summary};
use anyhow::Result;
use polars::prelude::DataFrame;

/// The names of the tables the aggregate node writes (each as `.parquet` and `.csv`).
pub const TABLES: [&str; 14] = [
    "models",
    "calibration",
    "calibration_by_seed",
    "similarity",
    "similarity_by_seed",
    "reliability",
    "predictions",
    "rows",
    "alignment",
    "alignment_by_seed",
    "floor",
    "attributions",
    "faithfulness",
    "flipped",
];

/// Builds every table and the summary.
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let agg: AggregateConfig = node.config_as()?;
    // The data node's key also seeds the across-seed bootstraps (with the model and the
    // purpose), so that an interval depends on the examples it resamples and not on unrelated
    // inputs: this node's own key changes with every input (another model, an added K).
    let data_key = ctx.input_key(i, 0);
    let dataset: super::data::DatasetMeta = serde_json::from_slice(&ctx.store.read(data_key, "dataset.json")?)?;

    // Gather the inputs by stage and model.
    let mut preds = seeds::SeedPredictions::new();
    let mut cal_nodes: Vec<usize> = Vec::new();
    let mut sim_nodes: Vec<usize> = Vec::new();
    for &k in &node.inputs {
        let n = &ctx.plan.nodes[k];
        match (&n.task, n.stage) {
            (Task::Predict { model }, _) => {
                preds.entry(*model).or_default().push((n.seed, k, super::predict::read(ctx.store, &n.key)?));
            }
            (_, Stage::Calibration) => cal_nodes.push(k),
            (_, Stage::Similarity) => sim_nodes.push(k),
            _ => {}
        }
    }

    let calibration = seeds::calibration(ctx, i, &agg, &preds, &cal_nodes, data_key)?;
    let eval_examples = crate::data::table::frame_examples(&crate::tables::io::read_parquet(
        &ctx.store.artifact_path(data_key, "eval.parquet"),
    )?)?;
    let similarity = seeds::similarity(ctx, &agg, &preds, &sim_nodes, data_key, &eval_examples, &dataset.label_names)?;
    let names: Vec<String> = agg.models.iter().map(|m| m.name.clone()).collect();
    let predictions = frames::predictions_frame(&preds, &names)?;
    let rows = frames::rows_frame(&dataset)?;
    let explained = explanations::explanations(ctx, i, &agg, &dataset, eval_examples, &preds, &similarity.flipped)?;

    let conventions = definitions::conventions(&agg.calibration);
    let with_conventions =
        |rows: &[AggregateRow]| frames::with_conventions(frames::aggregate_frame(rows)?, rows, &conventions);
    let mut tables: Vec<(&str, DataFrame)> = vec![
        ("models", frames::models_frame(&calibration.models, &calibration.rows)?),
        ("calibration", with_conventions(&calibration.rows)?),
        ("calibration_by_seed", calibration.by_seed.frame()?),
        ("similarity", with_conventions(&similarity.rows)?),
        ("similarity_by_seed", similarity.by_seed.frame()?),
        ("reliability", calibration.reliability.frame()?),
        ("predictions", predictions),
        ("rows", rows),
        ("flipped", frames::flipped_frame(&similarity.flipped)?),
    ];
    tables.extend(explained.frames);
    for (name, df) in tables.iter_mut() {
        w.write(&format!("{name}.parquet"), &parquet_bytes(df)?)?;
        if *name != "predictions" {
            w.write(&format!("{name}.csv"), &csv_bytes(df)?)?;
        }
    }

    let (definitions, lower_is_better) = definitions::definitions(&agg);
    let cfg = &agg.calibration;
    let summary = Summary {
        dataset,
        models: calibration.models,
        calibration: calibration.rows,
        similarity: similarity.rows,
        definitions,
        lower_is_better,
        bins: cfg.bins,
        bootstrap: cfg.bootstrap,
        confidence: cfg.confidence,
        alignment: explained.alignment,
        faithfulness: explained.faithfulness,
        highlights: explained.highlights,
        alignment_notes: explained.notes,
        floors: explained.floors,
        flipped: similarity.flipped,
        flip_explanations: explained.flip_explanations,
    };
    w.write_json("summary.json", &summary)
}
