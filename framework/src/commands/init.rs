//! `trustx init [--model DIR] [--dataset FILE] [--out FILE]`: writes a commented starter
//! manifest for the user's own model and data: the model as the reference (used as is when
//! its `config.json` says it is a sequence classifier, else fine-tuned), an int8 variant of
//! it, calibration, and explainers left commented out. Paths are written relative to the
//! manifest's folder. The file is then validated, and the command says what to edit.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// What `init` was given.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// A Hugging Face model folder.
    pub model: Option<PathBuf>,
    /// The evaluation data file.
    pub dataset: Option<PathBuf>,
    /// The manifest to write (must not exist).
    pub out: PathBuf,
}

/// Writes the starter manifest; returns its text.
pub fn init(o: &InitOptions) -> Result<String> {
    if o.out.exists() {
        bail!("{} already exists; choose another --out", o.out.display());
    }
    let base = o.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let text = starter(o, base);
    std::fs::create_dir_all(base)?;
    crate::store::write_atomic(&o.out, text.as_bytes())?;
    Ok(text)
}

/// `path` relative to the manifest's folder `base` when both are absolute-able, else as given.
fn relative(path: &Path, base: &Path) -> String {
    let (Ok(p), Ok(b)) = (std::path::absolute(path), std::path::absolute(base)) else {
        return path.display().to_string();
    };
    let common = p.components().zip(b.components()).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in b.components().skip(common) {
        rel.push("..");
    }
    for c in p.components().skip(common) {
        rel.push(c);
    }
    rel.display().to_string().replace('\\', "/")
}

/// Whether the folder's `config.json` names a sequence-classification architecture.
fn is_classifier(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("architectures").cloned())
        .is_some_and(|a| a.to_string().contains("ForSequenceClassification"))
}

fn starter(o: &InitOptions, base: &Path) -> String {
    let model = o.model.as_deref().map_or("models/my-model".to_string(), |m| relative(m, base));
    let finetuned = o.model.as_deref().is_some_and(is_classifier);
    let data = o.dataset.as_deref().map_or("data/eval.csv".to_string(), |d| relative(d, base));
    let ext = Path::new(&data).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let dataset = if ext == "tsv" {
        "loader = \"glue\"               # a GLUE TSV file; `trustx plugins --kind dataset` lists the loaders\ntask = \"sst2\"                  # mrpc, qqp, sst2, mnli, qnli or rte".to_string()
    } else {
        "loader = \"table\"              # CSV, JSON lines or Parquet; `trustx plugins --kind dataset`\ntext = \"text\"                  # the column of the text\n# text_pair = \"hypothesis\"     # the second text of a pair task\nlabel = \"label\"                # the column of the label (index or name)\n# labels = [\"negative\", \"positive\"]   # label names in class order (match the model's id2label)".to_string()
    };
    let model_lines = if finetuned {
        "finetuned = true                # it has a classification head for this task: used as is\n# labels = { LABEL_0 = \"negative\", LABEL_1 = \"positive\" }   # if its id2label names differ from the dataset's"
    } else {
        "# finetuned = true              # set it if the folder already has a head for this task; else trustx fine-tunes it on [dataset.train]"
    };
    let train = if finetuned {
        "# [dataset.train]               # only needed to fine-tune (a model without `finetuned = true`)\n# path = \"data/train.csv\""
            .to_string()
    } else {
        format!(
            "[dataset.train]                 # the split the model is fine-tuned on\npath = \"{data}\"               # replace with your training file"
        )
    };
    format!(
        r#"# A trustx audit: is the compressed model trust-equivalent to the reference?
# Check it with `trustx validate FILE`, see what will run with `trustx plan FILE`,
# run it with `trustx run FILE`. Every key: README "Writing a manifest"; plugins: `trustx plugins`.

[experiment]
name = "my-audit"                # also the results folder: results/my-audit/
seeds = [42, 43, 44]             # every random stage runs once per seed

[dataset]
{dataset}

[dataset.eval]
path = "{data}"                  # relative paths resolve against this file's folder
# max_rows = 1000                # a stratified, seeded subsample

{train}

[models.reference]
checkpoint = "{model}"           # a Hugging Face folder: config.json, weights, vocab.txt / tokenizer.json
reference = true
{model_lines}
max_len = 128

[variants.reference-int8]        # a compressed copy derived by trustx; add more (layer-drop, prune, distill)
from = "reference"
compressor = "quantize"

[calibration]
bins = 10
bootstrap = 1000

[calibration.tolerances]         # the verdict's margins, by metric name (these are the defaults)
ece = 0.02                       # |ECE(model) − ECE(reference)|
confidence-tv = 0.1
agreement = 0.95

# Explanations and their alignment (slower: minutes per explainer on a CPU):
# [[explainers]]
# explainer = "lime"
# num_samples = 1000
#
# [alignment]
# k = [10]
# examples = 50
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_manifest() {
        assert_eq!(relative(Path::new("/a/b/models/m"), Path::new("/a/b/experiments")), "../models/m");
        assert_eq!(relative(Path::new("/a/b/data.csv"), Path::new("/a/b")), "data.csv");
    }
}
