//! End to end: with stdout piped (`trustx run … > log`), each node's `ran` line arrives when
//! the node finishes, while the run is still going, not at exit.

mod common;

use common::checkpoint::checkpoint;
use common::{repo, temp_dir, trustx};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn ran_lines_reach_a_pipe_as_nodes_finish() {
    let dir = temp_dir("piped-log");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    // The data node finishes in a fraction of a second; predicting the 872 sentences and
    // explaining 20 keep the run going for seconds after it.
    let manifest = format!(
        r#"[experiment]
name = "piped"
seeds = [1, 2]
results = "{results}"

[dataset]
loader = "sst"

[dataset.eval]
path = "{data}/sst2/dev.tsv"

[models.a]
checkpoint = "{model}"
finetuned = true
reference = true

[[explainers]]
explainer = "occlusion"

[alignment]
k = [3]
examples = 20
metrics = ["top-k-jaccard"]
"#,
        results = dir.join("results").display(),
        data = repo().join("data").display(),
        model = model.display(),
    );
    let path = dir.join("piped.toml");
    std::fs::write(&path, manifest).unwrap();
    let mut child = trustx().args(["run", path.to_str().unwrap()]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("results: "), "{first}");
    let data = lines.next().unwrap().unwrap();
    assert!(data.starts_with("ran     data "), "{data}");
    assert!(child.try_wait().unwrap().is_none(), "the line came while the run was still going");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("ran     explain/a/occlusion")), "{rest:?}");
    assert!(rest.last().unwrap().starts_with("trustx: "), "{rest:?}");
}
