//! What the report says about how its numbers were computed: seconds per stage and the
//! versions, read from the `node.json` records of the nodes upstream of the report (the run's
//! own `run.json` is written after the report, so the report cannot read it). For a cached
//! node these are the seconds recorded when it was computed, so a rerun that computes nothing
//! renders the same bytes.

use crate::plan::Plan;
use crate::store::Store;
use crate::store::record::NodeRecord;
use serde::Serialize;
use std::collections::BTreeMap;

/// Seconds of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTiming {
    /// Stage name.
    pub stage: String,
    /// Nodes of the stage with a record.
    pub nodes: usize,
    /// Their total seconds, formatted.
    pub seconds: String,
    /// The slowest node and its seconds.
    pub slowest: String,
}

/// Timings and versions of the nodes behind a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Provenance {
    /// Per stage, in plan order.
    pub timings: Vec<StageTiming>,
    /// Every `name = version` recorded (trustx, plugins with their versions).
    pub versions: Vec<String>,
    /// What the timings are.
    pub note: String,
}

/// Collects the records of every node of `plan` except `skip` (the report node itself).
pub fn from_store(plan: &Plan, store: &Store, skip: usize) -> Provenance {
    let records: Vec<NodeRecord> = plan
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .filter_map(|(_, n)| std::fs::read(store.dir(&n.key).join("node.json")).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    from_records(&records)
}

/// Builds the provenance of `records`.
pub fn from_records(records: &[NodeRecord]) -> Provenance {
    let mut stages: Vec<(String, Vec<&NodeRecord>)> = Vec::new();
    let mut versions = BTreeMap::new();
    for r in records {
        match stages.iter_mut().find(|(s, _)| *s == r.stage) {
            Some((_, v)) => v.push(r),
            None => stages.push((r.stage.clone(), vec![r])),
        }
        for (k, v) in &r.versions {
            versions.insert(k.clone(), v.clone());
        }
        if let Some((p, v)) = &r.plugin {
            versions.insert(format!("{} plugin {p}", r.stage), v.clone());
        }
    }
    let timings = stages
        .into_iter()
        .map(|(stage, rs)| {
            let total: f64 = rs.iter().map(|r| r.seconds).sum();
            let slowest = rs
                .iter()
                .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
                .map(|r| format!("{} ({:.2} s)", r.name, r.seconds));
            StageTiming { stage, nodes: rs.len(), seconds: format!("{total:.2}"), slowest: slowest.unwrap_or_default() }
        })
        .collect();
    Provenance {
        timings,
        versions: versions.into_iter().map(|(k, v)| format!("{k} {v}")).collect(),
        note: "Seconds of computation each node recorded in its node.json when it was computed (cached nodes keep their original seconds); run.json has the wall-clock time of each run.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_stage_and_collects_versions() {
        let mut a = NodeRecord::new("k1", "predict/a@seed1", "predict");
        a.seconds = 1.5;
        a.plugin = Some(("predictions".into(), "1.0.0".into()));
        let mut b = NodeRecord::new("k2", "predict/b@seed1", "predict");
        b.seconds = 2.25;
        let c = NodeRecord::new("k3", "aggregate", "aggregate");
        let p = from_records(&[a, b, c]);
        assert_eq!(p.timings.len(), 2);
        assert_eq!(p.timings[0].stage, "predict");
        assert_eq!(p.timings[0].nodes, 2);
        assert_eq!(p.timings[0].seconds, "3.75");
        assert_eq!(p.timings[0].slowest, "predict/b@seed1 (2.25 s)");
        assert!(p.versions.contains(&"predict plugin predictions 1.0.0".to_string()), "{:?}", p.versions);
        assert!(p.versions.iter().any(|v| v.starts_with("trustx ")));
    }
}
