//! Seeded bag-of-words baselines for SST-2, written as files for the `predictions` source.
//!
//! Trains three logistic-regression classifiers on the bundled 3,000-sentence SST-2 training
//! slice (`data/sst2/stsa.binary.train.head3000`) and writes their class probabilities on
//! GLUE SST-2 dev (`data/sst2/dev.tsv`) as `{model}-seed{seed}.csv` with the columns
//! `id,negative,positive`. The id is the 0-based data row index of `dev.tsv`, which is the
//! id the `glue` loader gives SST-2 rows, so a manifest can read the files with
//!
//! ```toml
//! [models.bow-reference]
//! source = "predictions"
//! path = "data/predictions/sst2-bow/bow-reference-seed{seed}.csv"
//! ```
//!
//! The models:
//!
//! | model | features | L2 (λ) |
//! |---|---|---|
//! | `bow-reference` | word unigrams + bigrams seen in the training sample | 1e-4 (light) |
//! | `bow-strong-l2` | the same | 1e-2 (strong: an under-confident variant) |
//! | `bow-small-vocab` | the 300 most frequent training words only (a "compressed" variant) | 1e-4 |
//!
//! Features are binary (word or bigram present), plus an unregularised bias. Each seed
//! (42, 43, 44) draws its own bootstrap resample of the training rows (3,000 draws with
//! replacement) and its own SGD shuffle order, from a ChaCha8 generator seeded with the
//! seed; for one seed the three models see the same resample and the same order. Training
//! is plain SGD on the log loss + λ/2·‖w‖² for 10 epochs with the step size
//! η_t = η₀ / (1 + η₀·λ·t), η₀ = 0.2.
//!
//! The training file writes brackets as `-lrb-`/`-rrb-` and dev as `(`/`)`; the training
//! text is normalised to `(`/`)`. Tokens are the whitespace-separated words.
//!
//! Determinism: the output bytes are the same on every run and machine. There is no
//! hash-map iteration, no threading, the random numbers come from a portable generator,
//! and `exp` is computed here from +, −, ×, ÷ only (the platform's `exp` may differ in the
//! last bit). Probabilities are written with Rust's shortest round-trip formatting; each
//! row is `(1 − p, p)` and sums to 1 within 1e-12.
//!
//! ```text
//! cargo run --release --example bow_baselines -- --out data/predictions/sst2-bow
//!     [--train data/sst2/stsa.binary.train.head3000] [--dev data/sst2/dev.tsv]
//! ```
//!
//! `tests/bow_baselines.rs` reruns this program and checks that the committed files in
//! `data/predictions/sst2-bow/` are byte-identical to its output. The unit tests below
//! (`exp`, sampling) run with `cargo test --example bow_baselines`.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustx_framework::anyhow::{Context, Result, bail};

/// The experiment seeds, one file per model and seed.
const SEEDS: [u64; 3] = [42, 43, 44];
/// SGD passes over the training sample.
const EPOCHS: usize = 10;
/// Initial SGD step size.
const ETA0: f64 = 0.2;
/// Label names, in class order (as the `glue` loader names SST-2's 0 and 1).
const LABELS: [&str; 2] = ["negative", "positive"];

/// Which features a model uses.
#[derive(Debug, Clone, Copy)]
enum Features {
    /// Every word unigram and bigram of the training sample.
    UniBigrams,
    /// The `k` most frequent words of the training sample (ties: alphabetical).
    TopUnigrams(usize),
}

/// One baseline model.
#[derive(Debug, Clone, Copy)]
struct Spec {
    name: &'static str,
    features: Features,
    l2: f64,
}

const MODELS: [Spec; 3] = [
    Spec { name: "bow-reference", features: Features::UniBigrams, l2: 1e-4 },
    Spec { name: "bow-strong-l2", features: Features::UniBigrams, l2: 1e-2 },
    Spec { name: "bow-small-vocab", features: Features::TopUnigrams(300), l2: 1e-4 },
];

/// A labelled sentence.
#[derive(Debug, Clone)]
struct Row {
    tokens: Vec<String>,
    label: usize,
}

/// Command-line arguments.
#[derive(Debug)]
struct Args {
    out: PathBuf,
    train: PathBuf,
    dev: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        out: PathBuf::from("data/predictions/sst2-bow"),
        train: PathBuf::from("data/sst2/stsa.binary.train.head3000"),
        dev: PathBuf::from("data/sst2/dev.tsv"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--out" => &mut args.out,
            "--train" => &mut args.train,
            "--dev" => &mut args.dev,
            "-h" | "--help" => {
                println!("usage: bow_baselines [--out DIR] [--train stsa.binary.train.head3000] [--dev dev.tsv]");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (expected --out, --train or --dev)"),
        };
        *slot = PathBuf::from(it.next().with_context(|| format!("{flag} needs a value"))?);
    }
    Ok(args)
}

/// Reads the `<label> <sentence>` training file, brackets normalised to `(` / `)`.
fn read_train(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (label, sentence) = line
            .split_once(' ')
            .with_context(|| format!("{}:{}: expected `<label> <sentence>`", path.display(), i + 1))?;
        let label = match label {
            "0" => 0,
            "1" => 1,
            _ => bail!("{}:{}: label `{label}` is not 0 or 1", path.display(), i + 1),
        };
        let tokens = sentence
            .split_whitespace()
            .map(|t| match t {
                "-lrb-" => "(".to_string(),
                "-rrb-" => ")".to_string(),
                t => t.to_string(),
            })
            .collect();
        rows.push(Row { tokens, label });
    }
    Ok(rows)
}

/// Reads the GLUE `sentence<TAB>label` file (with its header); row `i` has id `i`.
fn read_dev(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, "sentence\tlabel")) => {}
        _ => bail!("{}:1: expected the header `sentence<TAB>label`", path.display()),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let (sentence, label) = line
            .rsplit_once('\t')
            .with_context(|| format!("{}:{}: expected `sentence<TAB>label`", path.display(), i + 1))?;
        let label = match label.trim() {
            "0" => 0,
            "1" => 1,
            other => bail!("{}:{}: label `{other}` is not 0 or 1", path.display(), i + 1),
        };
        rows.push(Row { tokens: sentence.split_whitespace().map(str::to_string).collect(), label });
    }
    Ok(rows)
}

/// The distinct features of a sentence, sorted.
fn sentence_features(tokens: &[String], features: Features) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = tokens.iter().cloned().collect();
    if let Features::UniBigrams = features {
        out.extend(tokens.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    }
    out
}

/// The vocabulary of a model, built from its training sample: feature → index.
fn vocabulary(sample: &[&Row], features: Features) -> BTreeMap<String, u32> {
    let names: Vec<String> = match features {
        Features::UniBigrams => {
            let all: BTreeSet<String> = sample.iter().flat_map(|r| sentence_features(&r.tokens, features)).collect();
            all.into_iter().collect()
        }
        Features::TopUnigrams(k) => {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for row in sample {
                for t in &row.tokens {
                    *counts.entry(t.as_str()).or_default() += 1;
                }
            }
            let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            by_count.into_iter().take(k).map(|(t, _)| t.to_string()).collect()
        }
    };
    names.into_iter().enumerate().map(|(i, n)| (n, i as u32)).collect()
}

/// A sentence as the sorted indices of its in-vocabulary features.
fn encode(row: &Row, features: Features, vocab: &BTreeMap<String, u32>) -> Vec<u32> {
    sentence_features(&row.tokens, features).iter().filter_map(|f| vocab.get(f).copied()).collect()
}

/// A uniform integer in `0..n` from 64 random bits (portable: no `usize` sampling).
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// `e^x` from +, −, ×, ÷ only, so that every machine computes the same bits.
fn exp(x: f64) -> f64 {
    // ln 2 split as in fdlibm: LN2_HI has trailing zero bits, so k·LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    let x = x.clamp(-700.0, 700.0);
    let k = (x * std::f64::consts::LOG2_E).round();
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.0;
    for i in (1..=14).rev() {
        p = 1.0 + p * r / f64::from(i);
    }
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// The logistic function.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + exp(-z))
}

/// A trained binary logistic regression: `p(positive) = σ(w·x + b)`.
struct Model {
    weights: Vec<f64>,
    bias: f64,
}

impl Model {
    fn positive(&self, x: &[u32]) -> f64 {
        sigmoid(x.iter().map(|&j| self.weights[j as usize]).sum::<f64>() + self.bias)
    }
}

/// SGD on the mean log loss + λ/2·‖w‖², weights kept as `scale · v` so that the L2
/// shrinkage of every step costs O(1).
fn train(xs: &[Vec<u32>], ys: &[usize], dim: usize, l2: f64, rng: &mut ChaCha8Rng) -> Model {
    let mut v = vec![0.0f64; dim];
    let mut scale = 1.0f64;
    let mut bias = 0.0f64;
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut t = 0usize;
    for _ in 0..EPOCHS {
        for i in (1..order.len()).rev() {
            let j = below(rng, i + 1);
            order.swap(i, j);
        }
        for &i in &order {
            let eta = ETA0 / (1.0 + ETA0 * l2 * t as f64);
            let z = scale * xs[i].iter().map(|&j| v[j as usize]).sum::<f64>() + bias;
            let g = sigmoid(z) - ys[i] as f64;
            scale *= 1.0 - eta * l2;
            let step = eta * g / scale;
            for &j in &xs[i] {
                v[j as usize] -= step;
            }
            bias -= eta * g;
            if scale < 1e-6 {
                v.iter_mut().for_each(|w| *w *= scale);
                scale = 1.0;
            }
            t += 1;
        }
    }
    v.iter_mut().for_each(|w| *w *= scale);
    Model { weights: v, bias }
}

/// Dev-set summary of one model and seed.
struct Scores {
    accuracy: f64,
    mean_confidence: f64,
    ece: f64,
}

/// Accuracy, mean confidence and the expected calibration error (10 equal-width bins).
fn scores(positive: &[f64], dev: &[Row]) -> Scores {
    let n = dev.len() as f64;
    let mut bins = [(0usize, 0.0f64, 0.0f64); 10];
    let (mut correct, mut confidence) = (0usize, 0.0f64);
    for (p, row) in positive.iter().zip(dev) {
        // Ties go to the lowest class, as in `Predictions::pred`.
        let pred = usize::from(*p > 1.0 - p);
        let conf = if pred == 1 { *p } else { 1.0 - p };
        let hit = pred == row.label;
        correct += usize::from(hit);
        confidence += conf;
        let bin = &mut bins[((conf * 10.0) as usize).min(9)];
        bin.0 += 1;
        bin.1 += conf;
        bin.2 += f64::from(u8::from(hit));
    }
    let ece = bins.iter().filter(|b| b.0 > 0).map(|b| (b.1 - b.2).abs() / n).sum();
    Scores { accuracy: correct as f64 / n, mean_confidence: confidence / n, ece }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let train_rows = read_train(&args.train)?;
    let dev = read_dev(&args.dev)?;
    if train_rows.is_empty() || dev.is_empty() {
        bail!("empty training or dev file");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    println!(
        "{} training sentences ({}), {} dev sentences ({})",
        train_rows.len(),
        args.train.display(),
        dev.len(),
        args.dev.display()
    );
    println!("{:<16} {:>5} {:>10} {:>9} {:>9} {:>8}", "model", "seed", "features", "accuracy", "mean conf", "ECE");
    let mut summary: BTreeMap<&str, Vec<Scores>> = BTreeMap::new();
    for seed in SEEDS {
        let mut resample_rng = ChaCha8Rng::seed_from_u64(seed);
        let n = train_rows.len();
        let sample: Vec<&Row> = (0..n).map(|_| &train_rows[below(&mut resample_rng, n)]).collect();
        for spec in MODELS {
            // Every model of a seed continues from the same generator state: same order.
            let mut rng = resample_rng.clone();
            let vocab = vocabulary(&sample, spec.features);
            let xs: Vec<Vec<u32>> = sample.iter().map(|r| encode(r, spec.features, &vocab)).collect();
            let ys: Vec<usize> = sample.iter().map(|r| r.label).collect();
            let model = train(&xs, &ys, vocab.len(), spec.l2, &mut rng);
            let positive: Vec<f64> = dev.iter().map(|r| model.positive(&encode(r, spec.features, &vocab))).collect();
            let mut csv = format!("id,{},{}\n", LABELS[0], LABELS[1]);
            for (id, p) in positive.iter().enumerate() {
                let _ = writeln!(csv, "{id},{},{}", 1.0 - p, p);
            }
            let path = args.out.join(format!("{}-seed{seed}.csv", spec.name));
            std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
            let s = scores(&positive, &dev);
            println!(
                "{:<16} {:>5} {:>10} {:>9.4} {:>9.4} {:>8.4}",
                spec.name,
                seed,
                vocab.len(),
                s.accuracy,
                s.mean_confidence,
                s.ece
            );
            summary.entry(spec.name).or_default().push(s);
        }
    }
    println!("\nmean over seeds {SEEDS:?}:");
    for spec in MODELS {
        let all = &summary[spec.name];
        let mean = |f: fn(&Scores) -> f64| all.iter().map(f).sum::<f64>() / all.len() as f64;
        println!(
            "{:<16} accuracy {:.4}  mean confidence {:.4}  ECE {:.4}",
            spec.name,
            mean(|s| s.accuracy),
            mean(|s| s.mean_confidence),
            mean(|s| s.ece)
        );
    }
    println!("wrote {} files to {}", SEEDS.len() * MODELS.len(), args.out.display());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bow_baselines: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_closely() {
        for x in [-30.0, -5.5, -1.0, -1e-9, 0.0, 0.3, 1.0, 2.5, 10.0, 40.0] {
            let (ours, std) = (exp(x), f64::exp(x));
            assert!(((ours - std) / std).abs() < 1e-14, "{x}: {ours} vs {std}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1e6) >= 0.0 && exp(1e6).is_finite());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!((0..1000).all(|_| below(&mut rng, 7) < 7));
    }
}
