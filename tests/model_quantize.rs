//! End-to-end tests of `trustx model quantize` + `trustx model inspect --json`: the real
//! all-MiniLM-L6-v2 with the seeded head of `tests/fixtures/minilm-l6-dynamic-int8`,
//! quantised from the command line, against PyTorch 2.15's `quantize_dynamic` logits (the
//! tolerances and why they are what they are: that fixture's README and
//! `framework/src/model/quant_parity.rs`); and the errors of `model quantize`.

mod common;

use common::{minilm, repo, run, temp_dir, text};
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture() -> Value {
    let path = repo().join("tests/fixtures/minilm-l6-dynamic-int8/reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// MiniLM's folder with the fixture's head added (`bert.`-prefixed names, 2 classes).
fn minilm_with_head(dir: &Path) -> PathBuf {
    let src = minilm();
    let out = dir.join("minilm-head");
    std::fs::create_dir_all(&out).unwrap();
    for f in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
        std::fs::copy(src.join(f), out.join(f)).unwrap();
    }
    let mut config: Value = serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    config["id2label"] = serde_json::json!({"0": "LABEL_0", "1": "LABEL_1"});
    config["label2id"] = serde_json::json!({"LABEL_0": 0, "LABEL_1": 1});
    std::fs::write(out.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let body = std::fs::read(src.join("model.safetensors")).unwrap();
    let head = std::fs::read(repo().join("tests/fixtures/minilm-l6-dynamic-int8/head.safetensors")).unwrap();
    let (body, head) =
        (safetensors::SafeTensors::deserialize(&body).unwrap(), safetensors::SafeTensors::deserialize(&head).unwrap());
    let mut tensors: Vec<(String, TensorView)> = Vec::new();
    for (name, t) in body.tensors() {
        if t.dtype() == Dtype::F32 {
            tensors.push((format!("bert.{name}"), t));
        }
    }
    tensors.extend(head.tensors());
    safetensors::serialize_to_file(tensors, None, &out.join("model.safetensors")).unwrap();
    out
}

/// The fixture case's texts: the first segment is `text`; a pair's second is read back
/// from its ids (word pieces joined), which tokenizes to the same ids (checked).
fn texts(case: &Value, vocab: &[String]) -> (String, Option<String>) {
    let ids: Vec<usize> = case["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let seps: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == 102).collect();
    let pair = (seps.len() == 2).then(|| {
        let mut s = String::new();
        for &id in &ids[seps[0] + 1..seps[1]] {
            match vocab[id].strip_prefix("##") {
                Some(rest) => s.push_str(rest),
                None => {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(&vocab[id]);
                }
            }
        }
        s
    });
    (case["text"].as_str().unwrap().to_string(), pair)
}

/// A temporary folder for `test` with MiniLM + head (`float`) quantised from the command
/// line into `int8` with `extra` arguments; returns (folder, float, int8, the command's output).
fn quantized(test: &str, extra: &[&str]) -> (PathBuf, PathBuf, PathBuf, String) {
    let dir = temp_dir(test);
    let float = minilm_with_head(&dir);
    let int8 = dir.join("minilm-int8");
    let mut args = vec!["model", "quantize", float.to_str().unwrap(), "--out", int8.to_str().unwrap()];
    args.extend(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out));
    (dir, float, int8, text(&out))
}

/// The word pieces of `float`'s `vocab.txt`, by id.
fn vocab(float: &Path) -> Vec<String> {
    std::fs::read_to_string(float.join("vocab.txt")).unwrap().lines().map(String::from).collect()
}

fn inspect(dir: &Path, text_arg: &str, pair: Option<&str>) -> Value {
    inspect_with_kernel(dir, text_arg, pair, None)
}

/// `model inspect --json`, with `TRUSTX_INT8_KERNEL` set to `kernel` when given.
fn inspect_with_kernel(dir: &Path, text_arg: &str, pair: Option<&str>, kernel: Option<&str>) -> Value {
    let mut args = vec!["model", "inspect", dir.to_str().unwrap(), "--json", "--max-len", "64", "--text", text_arg];
    if let Some(p) = pair {
        args.extend(["--pair", p]);
    }
    let mut command = common::trustx();
    if let Some(k) = kernel {
        command.env("TRUSTX_INT8_KERNEL", k);
    }
    let out = command.args(&args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j])).unwrap()
}

#[test]
#[ignore = "needs models/ (scripts/fetch-minilm.sh)"]
fn quantize_and_inspect_reproduce_pytorch_dynamic_int8_from_the_command_line() {
    let (dir, float, int8, said) = quantized("model-quantize", &[]);
    assert!(said.contains("dynamic-int8, per-tensor, 38 Linear layers"), "{said}");

    // The stored form: I8 tensors plus scales. Every Linear weight (10.6 M of MiniLM's
    // 22.7 M parameters) shrinks to a quarter; the embeddings (11.9 M) stay f32, as
    // quantize_dynamic({nn.Linear}) keeps them: 90.9 MB → 58.6 MB.
    let (f32_bytes, i8_bytes) = (
        std::fs::metadata(float.join("model.safetensors")).unwrap().len(),
        std::fs::metadata(int8.join("model.safetensors")).unwrap().len(),
    );
    let linear_weights = 6 * (4 * 384 * 384 + 2 * 384 * 1536) + 384 * 384 + 2 * 384;
    let saved = f32_bytes as i64 - i8_bytes as i64;
    assert!((saved - 3 * linear_weights as i64).abs() < 100_000, "{i8_bytes} vs {f32_bytes} bytes");
    let bytes = std::fs::read(int8.join("model.safetensors")).unwrap();
    let stored = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let q = stored.tensor("bert.encoder.layer.0.attention.self.query.weight").unwrap();
    assert_eq!((q.dtype(), q.shape()), (Dtype::I8, &[384usize, 384][..]));
    assert_eq!(stored.tensor("classifier.weight").unwrap().dtype(), Dtype::I8, "the head is quantised too");

    let vocab = vocab(&float);
    let reference = fixture();
    let (mut diffs, mut exact, mut flipped) = (Vec::new(), 0, Vec::new());
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let (t, pair) = texts(case, &vocab);
        let got = inspect(&int8, &t, pair.as_deref());
        assert_eq!(got["ids"], case["input_ids"], "case {i}: tokenization");
        assert_eq!(got["quantization"], "dynamic-int8 per-tensor");
        let (logits, want) = (floats(&got["logits"]), floats(&case["int8_dynamic_logits"]));
        let probs = floats(&got["probabilities"]);
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5 && argmax(&probs) == argmax(&logits), "case {i}");
        let worst = logits.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        exact += usize::from(worst <= 1e-4);
        diffs.extend(logits.iter().zip(&want).map(|(a, b)| (a - b).abs()));
        if argmax(&logits) != argmax(&want) {
            flipped.push(i);
        }
        if i % 10 == 0 {
            // The float folder still matches PyTorch's float logits.
            let f = floats(&inspect(&float, &t, pair.as_deref())["logits"]);
            let fw = floats(&case["fp32_logits"]);
            let d = f.iter().zip(&fw).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(d <= 1e-4, "case {i}: float logits differ by {d}");
        }
    }
    diffs.sort_by(f64::total_cmp);
    let (median, max) = (diffs[diffs.len() / 2], diffs[diffs.len() - 1]);
    eprintln!("CLI dynamic-int8 vs PyTorch: median {median}, max {max}, {exact} of 43 within 1e-4");
    assert!(median <= 0.02, "median {median}");
    assert!(max <= 0.1, "max {max}");
    assert!(flipped.is_empty(), "argmax differs on cases {flipped:?}");
    assert_eq!(exact, 43, "{exact} of 43 cases within 1e-4");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs models/ (scripts/fetch-minilm.sh)"]
fn quantize_with_embeddings_reproduces_pytorch_and_takes_a_quarter_of_the_size() {
    let (dir, float, int8, said) = quantized("model-quantize-embeddings", &["--embeddings"]);
    assert!(said.contains("38 Linear layers and 3 embedding tables in int8"), "{said}");
    let (f32_bytes, i8_bytes) = (
        std::fs::metadata(float.join("model.safetensors")).unwrap().len(),
        std::fs::metadata(int8.join("model.safetensors")).unwrap().len(),
    );
    // All-MiniLM-L6-v2's 22.7 M parameters nearly all in 8 bits: about a quarter.
    let ratio = i8_bytes as f64 / f32_bytes as f64;
    assert!((0.24..0.28).contains(&ratio), "{i8_bytes} of {f32_bytes} bytes");
    let bytes = std::fs::read(int8.join("model.safetensors")).unwrap();
    let stored = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(stored.tensor("bert.embeddings.word_embeddings.weight").unwrap().dtype(), Dtype::U8);

    let vocab = vocab(&float);
    let path = repo().join("tests/fixtures/minilm-l6-dynamic-int8/int8-embeddings.json");
    let want: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let reference = fixture();
    // Every fourth case (with a pair), to keep the test short; the library test takes all 43.
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate().filter(|(i, _)| i % 4 == 0 || *i >= 40) {
        let (t, pair) = texts(case, &vocab);
        let got = inspect(&int8, &t, pair.as_deref());
        assert_eq!(got["quantization"], "dynamic-int8 per-tensor, int8 embeddings");
        let theirs = floats(&want["cases"][i]["int8_embeddings_logits"]);
        let worst = floats(&got["logits"]).iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-4, "case {i}: logits differ from PyTorch's by {worst}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs models/ (scripts/fetch-minilm.sh)"]
fn every_int8_kernel_gives_the_same_logits_from_the_command_line() {
    let (dir, float, int8, _) = quantized("model-quantize-kernels", &[]);
    let vocab = vocab(&float);
    let reference = fixture();
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate().filter(|(i, _)| i % 8 == 0) {
        let (t, pair) = texts(case, &vocab);
        let fastest = inspect(&int8, &t, pair.as_deref())["logits"].clone();
        // Capping the kernel (a kernel this CPU lacks gives the fastest below it) changes
        // no logit's bits: every kernel sums the same integers and rescales them alike.
        for kernel in ["scalar", "avx2", "avx512-vnni", "amx"] {
            let got = inspect_with_kernel(&int8, &t, pair.as_deref(), Some(kernel));
            assert_eq!(got["logits"], fastest, "case {i}, kernel {kernel}");
        }
    }
    // A name that is not a kernel is reported and ignored.
    let out = common::trustx()
        .env("TRUSTX_INT8_KERNEL", "avx1024")
        .args(["model", "inspect", int8.to_str().unwrap(), "--json", "--text", "a fine film"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("TRUSTX_INT8_KERNEL is not one of"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quantize_refuses_a_headless_folder_and_a_full_output_folder() {
    let dir = temp_dir("model-quantize-errors");
    let headless = common::checkpoint::headless(&dir.join("headless"));
    let out = run(&["model", "quantize", headless.to_str().unwrap(), "--out", dir.join("q").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no classification head"), "{}", text(&out));

    let model = common::checkpoint::checkpoint(&dir.join("tiny"), ["neg", "pos"], false);
    let full = dir.join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "x").unwrap();
    let out = run(&["model", "quantize", model.to_str().unwrap(), "--out", full.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not an empty folder"), "{}", text(&out));

    // A tiny folder quantises per channel and inspects, with its scheme named.
    let q = dir.join("q-pc");
    let out = run(&["model", "quantize", model.to_str().unwrap(), "--out", q.to_str().unwrap(), "--per-channel"]);
    assert!(out.status.success(), "{}", text(&out));
    let got = inspect(&q, "a fine film", None);
    assert_eq!(got["quantization"], "dynamic-int8 per-channel");
    assert_eq!(floats(&got["logits"]).len(), 2);
    let out = run(&[
        "model",
        "quantize",
        model.to_str().unwrap(),
        "--out",
        dir.join("bad").to_str().unwrap(),
        "--scheme",
        "int4",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("dynamic-int8"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}
