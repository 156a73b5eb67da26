//! Test support for the metric plugins: building [`Predictions`], seeded random inputs that
//! hit the edge cases (one-hot rows, ties, confidences on bin edges, repeated rows), and the
//! oracle primitives the per-metric oracles are built from.
//!
//! The oracle primitives are written independently of the code under test: [`oracle_bin`]
//! compares against the edges `i/B` with an explicit loop instead of calling `bin_index`, and
//! [`oracle_top`] finds the top label by a first-maximum scan instead of `Predictions::pred`.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use trustx_framework::plugin::parse_settings;
use trustx_framework::predictions::Predictions;

/// Tolerance of every oracle comparison.
pub const TOL: f64 = 1e-12;

/// Predictions of `num_classes` classes from row-major `probs` and `labels`; checked.
pub fn preds(num_classes: usize, probs: &[f64], labels: &[usize]) -> Predictions {
    let p = Predictions {
        ids: (0..labels.len()).map(|i| format!("e{i}")).collect(),
        labels: labels.to_vec(),
        num_classes,
        probs: probs.to_vec(),
    };
    p.check().expect("test predictions are valid");
    p
}

/// `0..n`, every row once.
pub fn all_rows(p: &Predictions) -> Vec<usize> {
    (0..p.len()).collect()
}

/// Asserts `|got − want| ≤ TOL`.
#[track_caller]
pub fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= TOL, "{what}: got {got:.17}, want {want:.17} (diff {:e})", got - want);
}

/// The equal-width bin of `c` among `bins` bins, by explicit comparison with the edges
/// `lo = i/B`, `hi = (i+1)/B`: `(lo, hi]`, the first bin also taking `c == 0`. A value above 1
/// (a row summing to 1 + 1e-4 within tolerance) goes to the last bin.
pub fn oracle_bin(c: f64, bins: usize) -> usize {
    let b = bins as f64;
    for i in 0..bins {
        let lo = i as f64 / b;
        let hi = (i + 1) as f64 / b;
        if lo < c && c <= hi || (i == 0 && c == lo) {
            return i;
        }
    }
    assert!(c > 1.0, "value {c} in no bin");
    bins - 1
}

/// Top label and its probability: the first class whose probability equals the row maximum.
pub fn oracle_top(row: &[f64]) -> (usize, f64) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let class = row.iter().position(|&p| p == max).expect("non-empty row");
    (class, max)
}

/// How many times each example occurs in `rows` (bootstrap multiplicities).
pub fn multiplicities(n: usize, rows: &[usize]) -> Vec<usize> {
    let mut m = vec![0; n];
    for &r in rows {
        m[r] += 1;
    }
    m
}

/// One random probability row of `c` classes, of one of several kinds: smooth (sometimes
/// sharpened towards high confidence), on the grid k/20 (exact bin edges for B = 1, 2, 4, 5, 10,
/// 20, and frequent ties), one-hot (confidence 1 and probabilities 0), or uniform (all tied).
fn random_row(rng: &mut ChaCha8Rng, c: usize) -> Vec<f64> {
    match rng.random_range(0..10) {
        0..=4 => {
            let power = [1.0, 3.0, 8.0][rng.random_range(0..3)];
            let w: Vec<f64> = (0..c).map(|_| rng.random::<f64>().powf(power) + 1e-300).collect();
            let s: f64 = w.iter().sum();
            w.iter().map(|x| x / s).collect()
        }
        5..=7 => {
            let mut k = vec![0u32; c];
            for _ in 0..20 {
                k[rng.random_range(0..c)] += 1;
            }
            k.iter().map(|&x| f64::from(x) / 20.0).collect()
        }
        8 => {
            let mut r = vec![0.0; c];
            r[rng.random_range(0..c)] = 1.0;
            r
        }
        _ => vec![1.0 / c as f64; c],
    }
}

/// A gold label for `row`: its top label half the time, otherwise uniform.
fn random_label(rng: &mut ChaCha8Rng, row: &[f64]) -> usize {
    if rng.random_range(0..2) == 0 { oracle_top(row).0 } else { rng.random_range(0..row.len()) }
}

/// Rows for a case: all rows once, a bootstrap resample of size n, or a resample of random size.
fn random_rows(rng: &mut ChaCha8Rng, n: usize, kind: usize) -> Vec<usize> {
    match kind {
        0 => (0..n).collect(),
        1 => (0..n).map(|_| rng.random_range(0..n)).collect(),
        _ => {
            let len = rng.random_range(1..=2 * n);
            (0..len).map(|_| rng.random_range(0..n)).collect()
        }
    }
}

/// One random single-model input.
pub struct Case {
    /// The predictions.
    pub preds: Predictions,
    /// The rows (possibly with repeats).
    pub rows: Vec<usize>,
    /// A bin count.
    pub bins: usize,
}

/// Sizes of the random cases, including N = 1.
const SIZES: [usize; 6] = [1, 2, 3, 10, 57, 400];
/// Class counts of the random cases.
const CLASSES: [usize; 3] = [2, 3, 5];
/// Bin counts the random cases draw from.
const BINS: [usize; 8] = [1, 2, 3, 4, 5, 10, 15, 20];

/// Seeded random single-model cases: every C in {2, 3, 5} × N in {1, 2, 3, 10, 57, 400} × three
/// kinds of rows (all, bootstrap, random-size resample), plus cases where every label is class 0.
pub fn cases(seed: u64) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for &c in &CLASSES {
        for &n in &SIZES {
            for kind in 0..4 {
                let rows_p: Vec<Vec<f64>> = (0..n).map(|_| random_row(&mut rng, c)).collect();
                let labels: Vec<usize> =
                    if kind == 3 { vec![0; n] } else { rows_p.iter().map(|r| random_label(&mut rng, r)).collect() };
                let p = preds(c, &rows_p.concat(), &labels);
                let rows = random_rows(&mut rng, n, kind);
                let bins = BINS[rng.random_range(0..BINS.len())];
                out.push(Case { preds: p, rows, bins });
            }
        }
    }
    out
}

/// One random reference/model input on the same examples.
pub struct PairCase {
    /// The reference predictions.
    pub reference: Predictions,
    /// The model predictions (same ids and labels); about half its rows copy the reference.
    pub model: Predictions,
    /// The rows (possibly with repeats).
    pub rows: Vec<usize>,
    /// A bin count.
    pub bins: usize,
}

/// Seeded random pair cases, over the same sizes as [`cases`].
pub fn pair_cases(seed: u64) -> Vec<PairCase> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for &c in &CLASSES {
        for &n in &SIZES {
            for kind in 0..3 {
                let ref_rows: Vec<Vec<f64>> = (0..n).map(|_| random_row(&mut rng, c)).collect();
                let model_rows: Vec<Vec<f64>> = ref_rows
                    .iter()
                    .map(|r| if rng.random_range(0..2) == 0 { r.clone() } else { random_row(&mut rng, c) })
                    .collect();
                let labels: Vec<usize> = ref_rows.iter().map(|r| random_label(&mut rng, r)).collect();
                let reference = preds(c, &ref_rows.concat(), &labels);
                let model = preds(c, &model_rows.concat(), &labels);
                let rows = random_rows(&mut rng, n, kind);
                let bins = BINS[rng.random_range(0..BINS.len())];
                out.push(PairCase { reference, model, rows, bins });
            }
        }
    }
    out
}

/// Checks the settings contract shared by every metric: `{}` parses, an unknown key is
/// rejected naming the key.
pub fn assert_settings_basics<S: DeserializeOwned + Serialize + JsonSchema + std::fmt::Debug>() {
    parse_settings::<S>(&json!({})).expect("empty settings parse");
    let e = parse_settings::<S>(&json!({"binz": 3})).expect_err("unknown key rejected");
    assert_eq!(e.path, vec!["binz"], "{}", e.message);
}

/// Checks a `bins` setting: absent or null uses the default, 15 is accepted, 0 and −1 are
/// rejected naming `bins`, and the field is documented in the schema.
pub fn assert_bins_setting<S: DeserializeOwned + Serialize + JsonSchema + std::fmt::Debug>(
    bins_of: impl Fn(&S) -> Option<usize>,
) {
    assert_settings_basics::<S>();
    assert_eq!(bins_of(&parse_settings::<S>(&json!({})).unwrap()), None);
    assert_eq!(bins_of(&parse_settings::<S>(&json!({"bins": null})).unwrap()), None);
    assert_eq!(bins_of(&parse_settings::<S>(&json!({"bins": 15})).unwrap()), Some(15));
    for bad in [json!(0), json!(-1), json!(2.5), json!("10")] {
        let e = parse_settings::<S>(&json!({ "bins": bad })).expect_err("bad bins rejected");
        assert_eq!(e.path, vec!["bins"], "{}", e.message);
    }
    let schema = schemars::schema_for!(S).to_value();
    let doc = schema["properties"]["bins"]["description"].as_str().unwrap_or("");
    assert!(doc.contains("calibration"), "bins is documented: {schema}");
}
