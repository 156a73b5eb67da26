//! Property tests of every parser a user's file reaches (issue 20.7): mutated manifests (bytes,
//! and values of every key swapped for hostile ones), every dataset loader's files, prediction
//! files, safetensors headers, checkpoint configs and tokenizer files. Each case must give an
//! error or a result — never a panic (a panic fails the property) and never an abort. The
//! seeds are the repository's own files; `pytorch_model.bin` is mutated where the shared
//! fixtures exist (`.ci/run` includes that test there).

mod common;

use common::checkpoint::checkpoint;
use common::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use trustx_framework::burn::tensor::Device;
use trustx_framework::data::{BadRows, Dataset, Split};
use trustx_framework::model::{HfModel, HfTokenizer, LoadOptions, TokenizerOptions};
use trustx_framework::plugin::dataset::{DatasetLoaderEntry, LoadRequest};
use trustx_framework::plugin::model_source::{ModelSourceEntry, PredictRequest};

/// Cases per property: enough to reach past the first bytes of each format, within the CI
/// budget (the whole file runs in well under a minute).
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    /// Set the byte at a position.
    Set(usize, u8),
    /// Remove a run of bytes.
    Remove(usize, usize),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Repeat a run of bytes in place.
    Repeat(usize, usize),
    /// Cut the file at a position.
    Truncate(usize),
}

/// Bytes that matter to parsers: delimiters, quotes, digits, signs, high bytes, NUL.
fn hostile_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b'\t'),
        Just(b'\n'),
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b']'),
        Just(b'='),
        Just(b':'),
        Just(b'-'),
        Just(b'9'),
        Just(0u8),
        Just(0xff),
        Just(0xc3),
        any::<u8>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), hostile_byte()).prop_map(|(p, b)| Edit::Set(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Remove(p, n)),
        (any::<usize>(), prop::collection::vec(hostile_byte(), 1..16)).prop_map(|(p, b)| Edit::Insert(p, b)),
        (any::<usize>(), 1usize..256).prop_map(|(p, n)| Edit::Repeat(p, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

/// Applies `edits` to `bytes`, positions taken modulo the current length; positions below
/// `focus` are favoured when `focus` is given (a header at the start of a binary file).
fn mutate(bytes: &[u8], edits: &[Edit], focus: Option<usize>) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for e in edits {
        let span = focus.unwrap_or(b.len()).min(b.len()).max(1);
        let at = |p: usize| p % span;
        match e {
            Edit::Set(p, v) if !b.is_empty() => {
                let i = at(*p);
                b[i] = *v;
            }
            Edit::Remove(p, n) if !b.is_empty() => {
                let i = at(*p);
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Edit::Insert(p, v) => {
                let i = at(*p).min(b.len());
                b.splice(i..i, v.iter().copied());
            }
            Edit::Repeat(p, n) if !b.is_empty() => {
                let i = at(*p);
                let end = (i + n).min(b.len());
                let run = b[i..end].to_vec();
                b.splice(i..i, run);
            }
            Edit::Truncate(p) => b.truncate(at(*p)),
            _ => {}
        }
    }
    b
}

/// A folder for one property's cases.
fn scratch(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The SST-2 tiny manifest with absolute data paths and results under `dir`.
fn tiny_manifest(dir: &Path) -> String {
    tiny_manifest_text()
        .replace("[experiment]\n", &format!("[experiment]\nresults = \"{}\"\n", dir.join("results").display()))
}

/// Hostile TOML values for a key's value.
fn hostile_value() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        Just(toml::Value::Integer(0)),
        Just(toml::Value::Integer(-1)),
        Just(toml::Value::Integer(i64::MAX)),
        Just(toml::Value::Integer(1_000_000_000_000)),
        Just(toml::Value::Float(f64::NAN)),
        Just(toml::Value::Float(f64::INFINITY)),
        Just(toml::Value::Float(-0.5)),
        Just(toml::Value::Float(1.5)),
        Just(toml::Value::Boolean(true)),
        Just(toml::Value::String(String::new())),
        Just(toml::Value::String("/etc/shadow".into())),
        Just(toml::Value::String("../../../../tmp/x".into())),
        Just(toml::Value::String("<script>\u{1b}[2J".into())),
        Just(toml::Value::Array(vec![])),
        Just(toml::Value::Array(vec![toml::Value::Integer(-3), toml::Value::String("a".into())])),
        Just(toml::Value::Table(toml::map::Map::new())),
    ]
}

/// Every path to a value in `v`.
fn leaves(v: &toml::Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let toml::Value::Table(t) = v {
        for (k, x) in t {
            at.push(k.clone());
            out.push(at.clone());
            leaves(x, at, out);
            at.pop();
        }
    }
}

/// `doc` with the value at `path` replaced (`Some`) or its key removed (`None`).
fn replace(doc: &mut toml::Value, path: &[String], value: Option<toml::Value>) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut t = doc;
    for p in parents {
        match t.get_mut(p) {
            Some(x) => t = x,
            None => return,
        }
    }
    if let toml::Value::Table(map) = t {
        match value {
            Some(v) => {
                map.insert(last.clone(), v);
            }
            None => {
                map.remove(last);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Byte-mutated manifests: load, validate and plan give a manifest error or a plan.
    #[test]
    fn mutated_manifest_bytes_are_errors_or_plans(e in edits()) {
        let dir = scratch("props-manifest-bytes");
        let path = dir.join("m.toml");
        std::fs::write(&path, mutate(tiny_manifest(&dir).as_bytes(), &e, None)).unwrap();
        if let Ok(r) = trustx_framework::manifest::load(&path) {
            let _ = trustx_framework::plan::build::build(&r);
        }
    }

    /// Manifests with values swapped for hostile ones and keys removed: the same.
    #[test]
    fn mutated_manifest_values_are_errors_or_plans(
        picks in prop::collection::vec((any::<prop::sample::Index>(), prop::option::weighted(0.85, hostile_value())), 1..4)
    ) {
        let dir = scratch("props-manifest-values");
        let mut doc: toml::Value = toml::from_str(&tiny_manifest(&dir)).unwrap();
        for (index, value) in picks {
            let mut all = Vec::new();
            leaves(&doc, &mut Vec::new(), &mut all);
            if all.is_empty() {
                break;
            }
            let path = index.get(&all).clone();
            replace(&mut doc, &path, value);
        }
        let path = dir.join("m.toml");
        std::fs::write(&path, toml::to_string(&doc).unwrap_or_default()).unwrap();
        if let Ok(r) = trustx_framework::manifest::load(&path) {
            let _ = trustx_framework::plan::build::build(&r);
        }
    }

    /// Every dataset loader on mutated copies of the files it reads, under both bad-row
    /// policies.
    #[test]
    fn mutated_dataset_files_are_errors_or_examples(which in 0usize..5, e in edits()) {
        trustx_plugins::link();
        let data = repo().join("data");
        let csv = "id,text,label\n0,a fine film,1\n1,\"dull, \"\"slow\"\"\",0\n2,ok,1\n";
        let msr = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta b\tc d\n0\t3\t4\te\tf\n";
        let (loader, settings, seed): (&str, serde_json::Value, Vec<u8>) = match which {
            0 => ("sst", serde_json::json!({}), head(&data.join("sst2/stsa.binary.train.head3000"), 4000)),
            1 => ("glue", serde_json::json!({"task": "sst2"}), head(&data.join("sst2/dev.tsv"), 4000)),
            2 => ("snli", serde_json::json!({}), head(&data.join("snli/snli_1.0_dev.head1000.jsonl"), 6000)),
            3 => ("table", serde_json::json!({"id": "id"}), csv.as_bytes().to_vec()),
            _ => ("mrpc-msr", serde_json::json!({}), msr.as_bytes().to_vec()),
        };
        let entry = DatasetLoaderEntry::find(loader).unwrap();
        let settings = (entry.info.resolve)(&settings).unwrap();
        let dir = scratch("props-loaders");
        let file = dir.join(if loader == "table" { "t.csv" } else if loader == "snli" { "s.jsonl" } else { "f.tsv" });
        std::fs::write(&file, mutate(&seed, &e, None)).unwrap();
        for on_bad_rows in [BadRows::Error, BadRows::Skip] {
            let request = LoadRequest { split: "eval", paths: std::slice::from_ref(&file), on_bad_rows };
            let _ = (entry.load)(&settings, &dir, &request);
        }
    }

    /// The `predictions` source on mutated prediction files.
    #[test]
    fn mutated_prediction_files_are_errors_or_predictions(e in edits()) {
        trustx_plugins::link();
        let data = repo().join("data");
        let dataset = sst2_dev();
        let seed = head(&data.join("predictions/sst2-bow/bow-reference-seed42.csv"), 1 << 20);
        let dir = scratch("props-predictions");
        let file = dir.join("p.csv");
        std::fs::write(&file, mutate(&seed, &e, None)).unwrap();
        let source = ModelSourceEntry::find("predictions").unwrap();
        let settings = (source.info.resolve)(&serde_json::json!({"path": file})).unwrap();
        let request = PredictRequest { model: "m", dataset: &dataset, seed: None, base_dir: &dir };
        let _ = (source.predict)(&settings, &request);
    }

    /// A checkpoint folder whose safetensors header (its first bytes), `config.json`,
    /// `vocab.txt` or `tokenizer_config.json` is mutated: loading gives an error or a model
    /// that runs.
    #[test]
    fn mutated_checkpoints_are_errors_or_models(which in 0usize..4, e in edits()) {
        let dir = scratch("props-checkpoint");
        let original = checkpoint_seed();
        let folder = dir.join("model");
        std::fs::remove_dir_all(&folder).ok();
        std::fs::create_dir_all(&folder).unwrap();
        for f in std::fs::read_dir(&original).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, folder.join(f.file_name().unwrap())).unwrap();
        }
        let (name, focus) = match which {
            0 => ("model.safetensors", Some(header_len(&original.join("model.safetensors")))),
            1 => ("config.json", None),
            2 => ("vocab.txt", None),
            _ => ("tokenizer_config.json", None),
        };
        let path = folder.join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|_| b"{}".to_vec());
        std::fs::write(&path, mutate(&bytes, &e, focus)).unwrap();
        if let Ok(model) = HfModel::load(&folder, &LoadOptions::default(), &Device::flex()) {
            let encoded = model.tokenize("a fine [SEP] film", Some("x"));
            if let Ok(enc) = encoded {
                let _ = model.forward_batch(&[enc]);
            }
        }
    }

    /// A mutated `tokenizer.json` (a BERT tokenizer of the shared fixtures, copied into
    /// `tests/hostile/seeds/`): loading gives an error or a tokenizer that encodes.
    #[test]
    fn mutated_tokenizer_json_is_an_error_or_a_tokenizer(e in edits()) {
        let dir = scratch("props-tokenizer");
        let seeds = repo().join("tests/hostile/seeds");
        let bytes = std::fs::read(seeds.join("tokenizer.json")).unwrap();
        std::fs::write(dir.join("tokenizer.json"), mutate(&bytes, &e, None)).unwrap();
        std::fs::copy(seeds.join("tokenizer_config.json"), dir.join("tokenizer_config.json")).unwrap();
        let options = TokenizerOptions { allow_vocab_mismatch: true, max_len: 32, ..TokenizerOptions::default() };
        if let Ok(t) = HfTokenizer::load(&dir, 1 << 16, &options) {
            let _ = t.encode("a fine [MASK] film", Some("[SEP] x"));
            let _ = t.visible_bytes(&"word ".repeat(100), None);
        }
    }
}

/// The first `n` bytes of a file (a whole-line prefix is not needed: mutations cut anyway).
fn head(path: &Path, n: usize) -> Vec<u8> {
    let mut b = std::fs::read(path).unwrap();
    b.truncate(n);
    b
}

/// The SST-2 dev split as a dataset (the examples the prediction files cover).
fn sst2_dev() -> Dataset {
    let entry = DatasetLoaderEntry::find("glue").unwrap();
    let settings = (entry.info.resolve)(&serde_json::json!({"task": "sst2"})).unwrap();
    let path = repo().join("data/sst2/dev.tsv");
    let request = LoadRequest { split: "eval", paths: std::slice::from_ref(&path), on_bad_rows: BadRows::Error };
    let loaded = (entry.load)(&settings, &repo(), &request).unwrap();
    Dataset {
        name: "sst2".into(),
        label_names: loaded.label_names,
        train: None,
        eval: Split { examples: loaded.examples, counts: loaded.counts },
    }
}

/// The tiny checkpoint every checkpoint case starts from (written once per process).
fn checkpoint_seed() -> PathBuf {
    static SEED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SEED.get_or_init(|| checkpoint(&temp_dir("props-checkpoint-seed").join("model"), ["negative", "positive"], false))
        .clone()
}

/// The length of a safetensors file's header: 8 bytes of size, then the JSON.
fn header_len(path: &Path) -> usize {
    let b = std::fs::read(path).unwrap();
    8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize
}

/// `pytorch_model.bin` of the shared fixtures' `bert-tiny-random-bin`, mutated (its zip
/// directory and pickle): an error or a model, never a panic.
#[test]
#[ignore = "needs ../shared/fixtures (or TRUSTX_FIXTURES): run with --include-ignored where they exist"]
fn mutated_pytorch_bin_is_an_error_or_a_model() {
    let original = fixtures().join("bert-tiny-random-bin");
    let bytes = std::fs::read(original.join("pytorch_model.bin")).unwrap();
    let dir = scratch("props-pytorch-bin");
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"] {
        std::fs::copy(original.join(f), dir.join(f)).unwrap();
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 48, ..config() });
    runner
        .run(&(edits(), any::<bool>()), |(e, tail)| {
            // The pickle sits near the start, the zip directory at the end: mutate one or the other.
            let b = if tail {
                let cut = bytes.len().saturating_sub(4096);
                let mut b = bytes[..cut].to_vec();
                b.extend(mutate(&bytes[cut..], &e, None));
                b
            } else {
                mutate(&bytes, &e, Some(4096))
            };
            std::fs::write(dir.join("pytorch_model.bin"), b).unwrap();
            let _ = HfModel::load(&dir, &LoadOptions::default(), &Device::flex());
            Ok(())
        })
        .unwrap();
}
