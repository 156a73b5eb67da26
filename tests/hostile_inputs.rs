//! End to end: hostile inputs a review reproduced (issue 20). Settings that cannot run are
//! refused at `validate`, every one at once with its key, instead of failing mid-run or
//! aborting the process; a system file given as data is refused unread; a checkpoint with
//! NaN weights is an error, not a `NaN` logit with exit 0; terminal control characters in
//! label names are escaped.

mod common;

use common::checkpoint::checkpoint;
use common::{invalid, run, sst2_manifest, temp_dir, text, tiny_manifest_text};

#[test]
fn training_settings_out_of_range_are_all_named_at_validate() {
    let dir = temp_dir("hostile-train");
    let t = invalid(
        &dir,
        "\n[train]\nlr = -1\nepochs = 0\nwarmup_ratio = 2\nbetas = [0.9, 1.5]\nmax_grad_norm = -1\nweight_decay = -0.1\nmax_steps = 0\neps = 0\n",
    );
    for key in [
        "train.lr",
        "train.epochs",
        "train.warmup_ratio",
        "train.betas",
        "train.max_grad_norm",
        "train.weight_decay",
        "train.max_steps",
        "train.eps",
    ] {
        assert!(t.contains(key), "{key} is not named:\n{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_rbo_persistence_outside_the_unit_interval_is_refused() {
    let dir = temp_dir("hostile-rbo");
    let t = invalid(&dir, "\n[alignment]\nmetrics = [{ metric = \"rbo\", p = 1.5 }]\n");
    assert!(t.contains("alignment.metrics.0.p") && t.contains("strictly between 0 and 1"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_explainer_budget_beyond_memory_is_refused_not_aborted() {
    let dir = temp_dir("hostile-budget");
    let t = invalid(&dir, "\n[[explainers]]\nexplainer = \"lime\"\nnum_samples = 100000000000\n");
    assert!(t.contains("explainers.0.num_samples") && t.contains("model evaluations"), "{t}");
    let out = run(&[
        "explain",
        dir.to_str().unwrap(),
        "--text",
        "a film",
        "--explainer",
        "lime",
        "--set",
        "num_samples=100000000000",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("num_samples") && t.contains("above the limit"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_system_file_as_data_is_refused_without_quoting_it() {
    let dir = temp_dir("hostile-data");
    let manifest = sst2_manifest(&dir, "");
    let text_of = std::fs::read_to_string(&manifest).unwrap();
    let data_line = text_of.lines().find(|l| l.contains("dev.tsv")).unwrap().to_string();
    std::fs::write(&manifest, text_of.replace(&data_line, "path = \"/proc/self/environ\"")).unwrap();
    let out = trustx_with_secret(&["validate", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("dataset.eval.path") && t.contains("system file"), "{t}");
    assert!(!t.contains("TRUSTX_TEST_SECRET"), "the environment leaked:\n{t}");
    std::fs::remove_dir_all(dir).ok();
}

fn trustx_with_secret(args: &[&str]) -> std::process::Output {
    common::trustx().args(args).env("TRUSTX_TEST_SECRET", "hunter2").output().unwrap()
}

/// Overwrites every value of tensor `name` in a safetensors file (F32) with `value`.
fn poison(file: &std::path::Path, name: &str, value: f32) {
    let mut bytes = std::fs::read(file).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let offsets = &header[name]["data_offsets"];
    let (start, end) = (offsets[0].as_u64().unwrap() as usize, offsets[1].as_u64().unwrap() as usize);
    for chunk in bytes[8 + n + start..8 + n + end].chunks_mut(4) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn nan_weights_are_an_error_not_a_nan_logit() {
    let dir = temp_dir("hostile-nan");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    poison(&model.join("model.safetensors"), "classifier.bias", f32::NAN);
    let m = model.to_str().unwrap();
    let out = run(&["model", "inspect", m, "--text", "a fine film"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("NaN or infinite") && t.contains("model.safetensors"), "{t}");
    let out = run(&["explain", m, "--text", "a fine film", "--explainer", "occlusion"]);
    let t = text(&out);
    assert!(!out.status.success() && t.contains("NaN or infinite"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn control_characters_in_label_names_are_escaped() {
    let dir = temp_dir("hostile-escapes");
    let model = checkpoint(&dir.join("model"), ["neg\u{1b}[2J", "pos"], false);
    let m = model.to_str().unwrap();
    for args in [
        vec!["model", "inspect", m, "--text", "a fine film"],
        vec!["explain", m, "--text", "a \u{1b}[31mfine film", "--explainer", "occlusion"],
    ] {
        let out = run(&args);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(!t.contains('\u{1b}'), "a raw escape reached the terminal:\n{t}");
        assert!(t.contains("\\u{1b}"), "{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn nan_and_rust_type_names_are_said_in_words() {
    let dir = temp_dir("hostile-words");
    for (extra, said) in [
        ("\n[calibration]\nconfidence = nan\n", "not a finite number"),
        ("\n[calibration]\nbins = 0\n", "a whole number of at least 1"),
    ] {
        let t = invalid(&dir, extra);
        assert!(t.contains(said), "{t}");
        assert!(!t.contains("f64") && !t.contains("usize"), "a Rust type name reached the user:\n{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_dashed_model_name_can_be_overridden_from_the_environment() {
    let dir = temp_dir("hostile-env-dash");
    let manifest = sst2_manifest(&dir, "");
    let out = common::trustx()
        .args(["validate", manifest.to_str().unwrap()])
        .env("TRUSTX_MODELS__BOW_STRONG_L2__BATCH_SIZE", "0")
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("TRUSTX_MODELS__BOW_STRONG_L2__BATCH_SIZE") && t.contains("at least 1"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn words_past_the_model_window_are_not_perturbed() {
    let dir = temp_dir("hostile-window");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    let m = model.to_str().unwrap();
    let requested = |words: usize| {
        let input = vec!["a fine film"; words / 3].join(" ");
        let out = run(&["explain", m, "--text", &input, "--explainer", "occlusion", "--json"]);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let beyond = v["diagnostics"]["words_beyond_window"].as_f64().unwrap_or(0.0) as usize;
        (v["counts"]["requested"].as_u64().unwrap() as usize, beyond)
    };
    // 1,000 and 2,000 words: the second may cost at most twice the first; it costs the same.
    let (short, beyond_short) = requested(999);
    let (long, beyond_long) = requested(1998);
    // The model reads at most 128 tokens: occlusion asks one evaluation per word it reads.
    assert!(short <= 130, "{short} evaluations for a 128-token window");
    assert_eq!(short, long, "the cost grew with words the model never reads");
    assert!(beyond_short >= 800 && beyond_long >= 1800, "{beyond_short} {beyond_long}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_runaway_template_stops_with_an_error() {
    let dir = temp_dir("hostile-fuel");
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let runaway = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}";
    std::fs::write(templates.join("report.md.j2"), runaway).unwrap();
    let manifest =
        sst2_manifest(&dir, &format!("\n[report]\nformats = [\"md\"]\ntemplates = \"{}\"\n", templates.display()));
    let out = run(&["run", manifest.to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("runaway loop"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bins_tolerances_backend_and_max_len_are_checked_at_validate() {
    let dir = temp_dir("hostile-ranges");
    let t =
        invalid(&dir, "\n[calibration]\nbins = 1000000000000\nmetrics = [{ metric = \"ece\", bins = 99999999999 }]\n");
    assert!(t.contains("`calibration.bins`") && t.contains("calibration.metrics.0.bins"), "{t}");
    let t = invalid(&dir, "\n[calibration.tolerances]\nece = -0.1\nagreement = 1.5\n");
    assert!(t.contains("calibration.tolerances.ece") && t.contains("calibration.tolerances.agreement"), "{t}");
    // Tolerances are keyed by metric name: a typo and a margin set twice (`_` = `-`) are named.
    let t = invalid(&dir, "\n[calibration.tolerances]\necee = 0.02\nconfidence_tv = 0.1\nconfidence-tv = 0.2\n");
    assert!(t.contains("calibration.tolerances.ecee") && t.contains("no calibration or similarity metric"), "{t}");
    assert!(t.contains("already sets the margin of `confidence-tv`"), "{t}");
    let neural = format!(
        "\n[models.tiny]\narchitecture = {{ type = \"bert\", layers = 1, hidden = 8, heads = 2, ffn = 16, vocab = \"{}\" }}\nmax_len = 2\n",
        common::repo().join("data/vocab/sst2-words.txt").display()
    );
    let t = invalid(&dir, &neural);
    assert!(t.contains("models.tiny.max_len") && t.contains("leaves no room"), "{t}");
    if !cfg!(feature = "cuda") {
        let manifest = sst2_manifest(&dir, "");
        let text_of = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text_of.replacen("[experiment]\n", "[experiment]\nbackend = \"cuda\"\n", 1)).unwrap();
        let out = run(&["validate", manifest.to_str().unwrap()]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains("experiment.backend") && t.contains("--features cuda"), "{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn pruning_every_head_of_a_layer_is_refused_at_validate() {
    let dir = temp_dir("hostile-prune-heads");
    let tiny = tiny_manifest_text();
    for (extra, key, said) in [
        ("heads = 99", "variants.pruned.heads", "99 heads per layer, but the model has 2"),
        ("head_fraction = 0.9", "variants.pruned.head_fraction", "rounds to 2: every head of a layer"),
    ] {
        let manifest = dir.join("m.toml");
        std::fs::write(
            &manifest,
            format!("{tiny}\n[variants.pruned]\nfrom = \"tiny-2l\"\ncompressor = \"prune\"\n{extra}\n"),
        )
        .unwrap();
        let out = run(&["validate", manifest.to_str().unwrap()]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(key) && t.contains(said), "{t}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn special_tokens_typed_in_a_text_are_text_unless_kept() {
    let dir = temp_dir("hostile-special-tokens");
    let model = checkpoint(&dir.join("model"), ["negative", "positive"], false);
    let m = model.to_str().unwrap();
    let input = "a fine [SEP] film [MASK]";
    let tokens = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["model", "inspect", m, "--text", input, "--json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
    };
    // Escaped (the default): the only [SEP] is the one trustx adds at the end; no [MASK].
    let escaped = tokens(&[]);
    assert_eq!(escaped.iter().filter(|t| *t == "[SEP]").count(), 1, "{escaped:?}");
    assert!(!escaped.iter().any(|t| t == "[MASK]"), "{escaped:?}");
    // Kept: transformers' reading, two [SEP] and a [MASK].
    let kept = tokens(&["--special-tokens", "keep"]);
    assert_eq!(kept.iter().filter(|t| *t == "[SEP]").count(), 2, "{kept:?}");
    assert!(kept.iter().any(|t| t == "[MASK]"), "{kept:?}");
    // The explainer's words: `[`, `SEP`, `]` when escaped; one word `[SEP]` when kept,
    // never split.
    let words = |extra: &[&str]| -> String {
        let mut args = vec!["explain", m, "--text", input, "--explainer", "occlusion", "--json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let escaped = words(&[]);
    assert!(escaped.contains("\"SEP\"") && !escaped.contains("\"[SEP]\""), "{escaped}");
    let kept = words(&["--special-tokens", "keep"]);
    assert!(kept.contains("\"[SEP]\"") && kept.contains("\"[MASK]\"") && !kept.contains("\"SEP\""), "{kept}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn keeping_special_tokens_is_a_model_setting_in_its_nodes_keys() {
    let dir = temp_dir("hostile-special-keys");
    let tiny = tiny_manifest_text();
    let keys = |manifest_text: &str| -> Vec<(String, String)> {
        let manifest = dir.join("m.toml");
        std::fs::write(&manifest, manifest_text).unwrap();
        let out = run(&["plan", manifest.to_str().unwrap(), "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["name"].as_str().unwrap().to_string(), n["key"].as_str().unwrap().to_string()))
            .collect()
    };
    let default = keys(&tiny);
    let kept = keys(&tiny.replacen("max_len = 64\n", "max_len = 64\nspecial_tokens = \"keep\"\n", 1));
    for ((name, a), (_, b)) in default.iter().zip(&kept) {
        // Only the first model (tiny-4l) keeps them: its own nodes change, the other's own
        // train and predict nodes and the data do not (comparisons with it change too).
        let own = |m: &str| ["train/", "predict/"].iter().any(|s| name.starts_with(&format!("{s}{m}")));
        if own("tiny-4l") {
            assert_ne!(a, b, "{name}");
        } else if own("tiny-2l") || name == "data" {
            assert_eq!(a, b, "{name}");
        }
    }
    let manifest = dir.join("bad.toml");
    std::fs::write(&manifest, tiny.replacen("max_len = 64\n", "max_len = 64\nspecial_tokens = \"maybe\"\n", 1))
        .unwrap();
    let out = run(&["validate", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("special_tokens"), "{}", text(&out));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_label_is_named_on_its_own_line_and_skipping_drops_that_row_only() {
    let dir = temp_dir("hostile-bad-label");
    std::fs::create_dir_all(&dir).unwrap();
    // 20 rows of integer labels; line 17 (row 16: the header is line 1) says "x".
    let mut csv = String::from("id,text,label\n");
    let mut preds = String::from("id,negative,positive\n");
    for i in 0..20 {
        let label = if i == 15 { "x".to_string() } else { (i % 2).to_string() };
        csv.push_str(&format!("{i},text number {i},{label}\n"));
        preds.push_str(&format!("{i},0.3,0.7\n"));
    }
    std::fs::write(dir.join("data.csv"), csv).unwrap();
    std::fs::write(dir.join("a.csv"), &preds).unwrap();
    std::fs::write(dir.join("b.csv"), &preds).unwrap();
    let manifest = |policy: &str| {
        let path = dir.join(format!("m-{policy}.toml"));
        std::fs::write(
            &path,
            format!(
                "[experiment]\nname = \"bad-label\"\nseeds = [1]\nresults = \"{results}\"\n\n[dataset]\nloader = \"table\"\nid = \"id\"\nlabels = [\"negative\", \"positive\"]\non_bad_rows = \"{policy}\"\n\n[dataset.eval]\npath = \"{d}/data.csv\"\n\n[models.a]\nsource = \"predictions\"\npath = \"{d}/a.csv\"\nreference = true\n\n[models.b]\nsource = \"predictions\"\npath = \"{d}/b.csv\"\n",
                results = dir.join(format!("results-{policy}")).display(),
                d = dir.display()
            ),
        )
        .unwrap();
        path
    };
    let out = run(&["run", manifest("error").to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("data.csv:17: label `x`") && !t.contains("data.csv:2:"), "the error must name line 17:\n{t}");
    let out = run(&["run", manifest("skip").to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let md = std::fs::read_to_string(dir.join("results-skip/bad-label/report.md")).unwrap();
    // split | read | unlabelled | malformed (skipped) | excluded | capped | kept
    assert!(md.contains("| eval | 20 | 0 | 1 | 0 | 0 | 19 |"), "one row skipped of 20:\n{md}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_manifest_memory_limit_bounds_the_explainers_at_validate() {
    let dir = temp_dir("hostile-memory-limit");
    std::fs::create_dir_all(&dir).unwrap();
    let tiny = tiny_manifest_text() + "\n[[explainers]]\nexplainer = \"lime\"\nnum_samples = 5000\n";
    let manifest = dir.join("m.toml");
    let validate = |text: &str| {
        std::fs::write(&manifest, text).unwrap();
        run(&["validate", manifest.to_str().unwrap()])
    };
    // Within the machine's default limit; refused under a manifest limit of 1 MB (a batch of
    // LIME's samples needs more).
    let ok = validate(&tiny);
    assert!(ok.status.success(), "{}", text(&ok));
    let out = validate(&tiny.replacen("[experiment]\n", "[experiment]\nmemory_limit = \"1 MB\"\n", 1));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("explainers.0.num_samples") && t.contains("memory_limit"), "{t}");
    let t = text(&validate(&tiny.replacen("[experiment]\n", "[experiment]\nmemory_limit = \"lots\"\n", 1)));
    assert!(t.contains("experiment.memory_limit") && t.contains("not an amount of memory"), "{t}");
    std::fs::remove_dir_all(dir).ok();
}
