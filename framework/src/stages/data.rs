//! The `data` stage: the loader reads each split, the row cap subsamples it, and the
//! splits are stored as Parquet with their row accounting in `dataset.json`.

use super::RunContext;
use crate::data::sample::stratified_cap;
use crate::data::table::{examples_frame, frame_examples};
use crate::data::{Dataset, Split};
use crate::plan::node_config::{DataConfig, SplitConfig};
use crate::plugin::dataset::DatasetLoaderEntry;
use crate::plugin::dataset::LoadRequest;
use crate::store::{NodeWriter, Store};
use crate::tables::io::{parquet_bytes, read_parquet};
use anyhow::{Context, Result, anyhow, bail};

pub use crate::tables::summary::DatasetMeta;

/// Loads, caps and stores the dataset of data node `i` (its [`DataConfig`]).
pub fn run(ctx: &RunContext, i: usize, w: &mut NodeWriter) -> Result<()> {
    let node = &ctx.plan.nodes[i];
    let cfg: DataConfig = node.config_as()?;
    let loader_name = node.plugin_name();
    let loader = DatasetLoaderEntry::find(loader_name)
        .ok_or_else(|| anyhow!("dataset loader `{loader_name}` is not registered in this build"))?;
    let base_dir = ctx.base_dir();
    let mut label_names: Option<Vec<String>> = None;
    let mut load = |split: &str, spec: &SplitConfig| -> Result<Split> {
        let paths: Vec<_> = spec.paths.iter().map(|p| base_dir.join(p)).collect();
        let request = LoadRequest { split, paths: &paths, on_bad_rows: cfg.on_bad_rows };
        let loaded = (loader.load)(&cfg.settings, base_dir, &request)
            .with_context(|| format!("loading the {split} split with loader `{loader_name}`"))?;
        if loaded.examples.is_empty() {
            bail!(
                "the {split} split has no example (files: {})",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        match &label_names {
            Some(names) if *names != loaded.label_names => {
                bail!("the {split} split has labels {:?} but the other split has {:?}", loaded.label_names, names)
            }
            _ => label_names = Some(loaded.label_names.clone()),
        }
        let mut counts = loaded.counts;
        let before = loaded.examples.len();
        let examples = match spec.max_rows {
            Some(cap) => stratified_cap(loaded.examples, cap.get(), cfg.seed),
            None => loaded.examples,
        };
        counts.capped = before - examples.len();
        counts.kept = examples.len();
        Ok(Split { examples, counts })
    };
    let eval = load("eval", &cfg.eval)?;
    let train = cfg.train.as_ref().map(|t| load("train", t)).transpose()?;
    let meta = DatasetMeta {
        name: cfg.name.clone(),
        label_names: label_names.unwrap_or_default(),
        eval: eval.counts.clone(),
        train: train.as_ref().map(|t| t.counts.clone()),
    };
    w.write("eval.parquet", &parquet_bytes(&mut examples_frame(&eval.examples)?)?)?;
    if let Some(t) = &train {
        w.write("train.parquet", &parquet_bytes(&mut examples_frame(&t.examples)?)?)?;
    }
    w.write_json("dataset.json", &meta)
}

/// Reads `dataset.json` of a data node: names and row counts, without the examples.
pub fn read_meta(store: &Store, key: &str) -> Result<DatasetMeta> {
    Ok(serde_json::from_slice(&store.read(key, "dataset.json")?)?)
}

/// Reads the dataset a data node stored.
pub fn read(store: &Store, key: &str) -> Result<Dataset> {
    let meta: DatasetMeta = serde_json::from_slice(&store.read(key, "dataset.json")?)?;
    let eval = frame_examples(&read_parquet(&store.artifact_path(key, "eval.parquet"))?)?;
    let train = match &meta.train {
        Some(counts) => Some(Split {
            examples: frame_examples(&read_parquet(&store.artifact_path(key, "train.parquet"))?)?,
            counts: counts.clone(),
        }),
        None => None,
    };
    Ok(Dataset {
        name: meta.name,
        label_names: meta.label_names,
        train,
        eval: Split { examples: eval, counts: meta.eval },
    })
}
