//! `smooth-ece`: the smooth expected calibration error of Błasiok & Nakkiran ("Smooth ECE:
//! Principled Reliability Diagrams via Kernel Smoothing", ICLR 2024), computed as their library
//! relplot 1.0.3 computes it (`relplot.smECE`), top label.
//!
//! Each of the N rows evaluated (repeats counted) gives its top-label confidence f = max_c p_c
//! and y = 1[arg max = label] (lowest class index on ties). With a Gaussian kernel of bandwidth σ
//! reflected at 0 and 1, the residuals r = f − y are kernel-smoothed over the confidence:
//! r̂(t) = Σ_i K_σ(t, f_i) r_i / δ(t), δ(t) = Σ_i K_σ(t, f_i) + 10⁻⁴, and
//! smECE_σ = Σ_t |r̂(t)| δ(t) / Σ_t δ(t) over T = max(200, round(10/σ)) equally spaced t in
//! [0, 1]. The bandwidth is relplot's fixed point: the smallest σ (to 2⁻¹⁰, by bisection from
//! σ = 1) with σ ≥ smECE_σ; the value reported is smECE at that σ. No bins: unlike binned ECE
//! the estimate does not jump with bin edges, and its bias on small samples is bounded.
//!
//! relplot's discretisation is reproduced step by step so the values agree to 1e-9
//! (`scripts/reference/calibration.py` writes the reference): the points are spread linearly
//! onto a grid of M = max(2000, round(20/σ)) // 2 + 1 nodes, the grid is reflected at both ends
//! and convolved with the Gaussian sampled on M nodes (numpy `convolve`, mode `valid`), and
//! the result is interpolated linearly at the T evaluation points. Only the grid nodes the
//! interpolation reads are computed, and only from the non-empty grid nodes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustx_framework::plugin::convention::Convention;
use trustx_framework::plugin::metric::{CalibrationMetric, CalibrationMetricEntry, MetricInput};

/// Settings of `smooth-ece`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmoothEceSettings {
    /// A fixed kernel bandwidth σ in (0, 1] (relplot's `smECE_sigma`); unset: relplot's
    /// automatic choice (the fixed point σ = smECE_σ, found by bisection).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub bandwidth: Option<Bandwidth>,
}

/// A kernel bandwidth σ, checked to lie in (0, 1] when the manifest is read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Bandwidth(f64);

impl TryFrom<f64> for Bandwidth {
    type Error = String;
    fn try_from(sigma: f64) -> Result<Self, String> {
        if sigma > 0.0 && sigma <= 1.0 {
            Ok(Bandwidth(sigma))
        } else {
            Err(format!("bandwidth must lie in (0, 1], got {sigma}"))
        }
    }
}

impl From<Bandwidth> for f64 {
    fn from(b: Bandwidth) -> f64 {
        b.0
    }
}

/// The `smooth-ece` metric.
pub struct SmoothEce;

impl CalibrationMetric for SmoothEce {
    type Settings = SmoothEceSettings;
    const NAME: &'static str = "smooth-ece";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str = "Smooth ECE, top label, kernel smoothing (Błasiok & Nakkiran, relplot)";
    const DEFINITION: &'static str = "smECE = Σ_t |r̂(t)| δ(t) / Σ_t δ(t), where the residuals f − y (f the \
        top-label confidence, y = 1 when the arg max is the label) are smoothed by a Gaussian kernel \
        reflected at 0 and 1: r̂(t) = Σ_i K_σ(t, f_i)(f_i − y_i) / δ(t), δ(t) = Σ_i K_σ(t, f_i) + 10⁻⁴, \
        over max(200, 10/σ) points t in [0, 1]; σ is relplot's fixed point σ = smECE_σ (bisection from \
        1, 10 steps). Computed as relplot 1.0.3's smECE.";
    const LOWER_IS_BETTER: bool = true;
    const CONVENTION: Convention = Convention {
        binning: "none: Gaussian kernel, relplot's bandwidth",
        norm: "L1",
        mode: "top-label",
        estimator: "kernel-smoothed (Błasiok & Nakkiran 2024)",
    };

    fn compute(settings: &SmoothEceSettings, input: &MetricInput) -> f64 {
        let p = input.preds;
        let f: Vec<f64> = input.rows.iter().map(|&r| p.confidence(r)).collect();
        let y: Vec<f64> = input.rows.iter().map(|&r| if p.correct(r) { 1.0 } else { 0.0 }).collect();
        match settings.bandwidth {
            Some(Bandwidth(sigma)) => smooth_ece_at(&f, &y, sigma),
            None => smooth_ece(&f, &y).0,
        }
    }
}

inventory::submit! { CalibrationMetricEntry::of::<SmoothEce>() }

/// relplot's `smECE(f, y, eps=0.001)`: the value and the bandwidth it chose.
pub fn smooth_ece(f: &[f64], y: &[f64]) -> (f64, f64) {
    const EPS: f64 = 0.001;
    let fixed_point = |sigma: f64| sigma < EPS || sigma < smooth_ece_at(f, y, sigma);
    // relplot's `search_param(predicate, start=1, refine=10)`.
    let sigma = if fixed_point(1.0) {
        1.0
    } else {
        let (mut start, mut end) = (1.0f64, 0.0f64);
        for _ in 0..10 {
            let mid = (start + end) / 2.0;
            if fixed_point(mid) {
                end = mid;
            } else {
                start = mid;
            }
        }
        start
    };
    (smooth_ece_at(f, y, sigma), sigma)
}

/// relplot's `smooth_ece(f, y, sigma)` with the reflected Gaussian kernel.
pub fn smooth_ece_at(f: &[f64], y: &[f64], sigma: f64) -> f64 {
    let points = ((10.0 / sigma).round_ties_even() as usize).max(200);
    let t = linspace(points);
    let residual: Vec<f64> = f.iter().zip(y).map(|(f, y)| f - y).collect();
    let (num, dens) = ReflectedGaussian::new(sigma).apply(f, &residual, &t);
    let (mut weighted, mut total) = (0.0, 0.0);
    for (n, d) in num.iter().zip(&dens) {
        let d = d + 1e-4;
        weighted += (n / d).abs() * d;
        total += d;
    }
    weighted / total
}

/// numpy's `linspace(0, 1, n)`: `i * (1 / (n − 1))`, the last point exactly 1.
fn linspace(n: usize) -> Vec<f64> {
    let step = 1.0 / (n - 1) as f64;
    let mut t: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
    t[n - 1] = 1.0;
    t
}

/// relplot's `ReflectedGaussianKernel` at bandwidth σ, on its grid of M nodes.
struct ReflectedGaussian {
    /// Grid nodes M.
    m: usize,
    /// The Gaussian density of standard deviation σ sampled at `linspace(0, 1, M) − 0.5`.
    kernel: Vec<f64>,
}

impl ReflectedGaussian {
    fn new(sigma: f64) -> Self {
        let eval_points = ((20.0 / sigma).round_ties_even() as usize).max(2000);
        let m = eval_points / 2 + 1;
        let var = sigma * sigma;
        let norm = (2.0 * std::f64::consts::PI).sqrt() * sigma;
        let kernel = linspace(m).iter().map(|t| (-(t - 0.5) * (t - 0.5) / (2.0 * var)).exp() / norm).collect();
        ReflectedGaussian { m, kernel }
    }

    /// Smooths `values` (and a column of ones) located at `f`, read at `t`: relplot's
    /// `apply(f, values, t)` and `apply(f, ones, t)`.
    fn apply(&self, f: &[f64], values: &[f64], t: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        let top = (m - 1) as f64;
        // `smooth_round_to_grid`: each point split linearly between its two grid nodes.
        let mut grid = vec![(0.0, 0.0); m];
        for (&f, &v) in f.iter().zip(values) {
            let bin = ((f * top) as usize).min(m - 2);
            let frac = f * top - bin as f64;
            grid[bin].0 += (1.0 - frac) * v;
            grid[bin].1 += 1.0 - frac;
            grid[bin + 1].0 += frac * v;
            grid[bin + 1].1 += frac;
        }
        let occupied: Vec<(usize, f64, f64)> =
            grid.iter().enumerate().filter(|(_, g)| g.1 != 0.0 || g.0 != 0.0).map(|(i, g)| (i, g.0, g.1)).collect();
        // `interpolate(t, smoothed)` reads nodes `ind` and `ind + 1`.
        let bucket = 1.0 / top;
        let index = |t: f64| ((t * top) as usize).min(m - 2);
        let mut smoothed: Vec<Option<(f64, f64)>> = vec![None; m];
        for &x in t {
            let i = index(x);
            for node in [i, i + 1] {
                if smoothed[node].is_none() {
                    smoothed[node] = Some(self.node(node, &occupied));
                }
            }
        }
        let mut num = Vec::with_capacity(t.len());
        let mut dens = Vec::with_capacity(t.len());
        for &x in t {
            let i = index(x);
            let residual = (x - i as f64 * bucket) / bucket;
            let (a, b) = (smoothed[i].expect("computed"), smoothed[i + 1].expect("computed"));
            num.push(a.0 * (1.0 - residual) + b.0 * residual);
            dens.push(a.1 * (1.0 - residual) + b.1 * residual);
        }
        (num, dens)
    }

    /// Node `i` of the reflected convolution: Σ over the images p of each occupied node g
    /// (g itself, −g for g ≥ 1, 2(M − 1) − g for g ≤ M − 2) of grid[g] · kernel[i − p + M/2],
    /// where that index lies on the kernel (numpy's `convolve(..., "valid")` sliced as relplot does).
    fn node(&self, i: usize, occupied: &[(usize, f64, f64)]) -> (f64, f64) {
        let m = self.m as i64;
        let half = m / 2;
        let i = i as i64;
        let (mut a, mut b) = (0.0, 0.0);
        let mut add = |p: i64, va: f64, vb: f64| {
            let k = i - p + half;
            if (0..m).contains(&k) {
                let w = self.kernel[k as usize];
                a += va * w;
                b += vb * w;
            }
        };
        for &(g, va, vb) in occupied {
            let g = g as i64;
            add(g, va, vb);
            if g >= 1 {
                add(-g, va, vb);
            }
            if g <= m - 2 {
                add(2 * (m - 1) - g, va, vb);
            }
        }
        (a, b)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::testing::*;
    use serde::Deserialize;
    use trustx_framework::predictions::Predictions;

    /// One case of `scripts/reference/calibration.json`.
    #[derive(Deserialize)]
    pub(crate) struct Reference {
        pub name: String,
        pub num_classes: usize,
        pub probs: Vec<f64>,
        pub labels: Vec<usize>,
        pub bins: usize,
        pub smooth_ece: f64,
        pub smooth_ece_sigma: f64,
        pub debiased_ece_top_label: f64,
        pub debiased_ece_marginal: f64,
    }

    /// The committed reference cases, computed by relplot and uncertainty-calibration.
    pub(crate) fn references() -> Vec<(Reference, Predictions)> {
        #[derive(Deserialize)]
        struct Doc {
            cases: Vec<Reference>,
        }
        let doc: Doc = serde_json::from_str(include_str!("../../../scripts/reference/calibration.json"))
            .expect("scripts/reference/calibration.json parses");
        assert!(doc.cases.len() >= 8, "reference cases present");
        doc.cases
            .into_iter()
            .map(|c| {
                let p = Predictions {
                    ids: (0..c.labels.len()).map(|i| format!("e{i}")).collect(),
                    labels: c.labels.clone(),
                    num_classes: c.num_classes,
                    probs: c.probs.clone(),
                };
                (c, p)
            })
            .collect()
    }

    #[test]
    fn matches_relplot() {
        for (case, p) in references() {
            let rows = all_rows(&p);
            let input = MetricInput { preds: &p, rows: &rows, bins: 10 };
            let got = SmoothEce::compute(&SmoothEceSettings::default(), &input);
            assert!((got - case.smooth_ece).abs() <= 1e-9, "{}: {got} vs relplot {}", case.name, case.smooth_ece);
            let f: Vec<f64> = rows.iter().map(|&r| p.confidence(r)).collect();
            let y: Vec<f64> = rows.iter().map(|&r| f64::from(u8::from(p.correct(r)))).collect();
            assert_eq!(smooth_ece(&f, &y).1, case.smooth_ece_sigma, "{}: bandwidth", case.name);
            let fixed = SmoothEceSettings { bandwidth: Some(Bandwidth(case.smooth_ece_sigma)) };
            assert!((SmoothEce::compute(&fixed, &input) - case.smooth_ece).abs() <= 1e-9, "{}", case.name);
        }
    }

    #[test]
    fn perfect_and_worst() {
        // All correct at confidence 1: the residuals are 0 everywhere.
        let p = preds(2, &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[0, 1, 0]);
        assert_eq!(
            SmoothEce::compute(&SmoothEceSettings::default(), &MetricInput { preds: &p, rows: &[0, 1, 2], bins: 10 }),
            0.0
        );
        // All wrong at confidence 1: the residual is 1 wherever there is mass; smECE is the
        // share of the smoothed density carrying it, which is below 1 and grows as σ shrinks.
        let p = preds(2, &[1.0, 0.0, 0.0, 1.0], &[1, 0]);
        let input = MetricInput { preds: &p, rows: &[0, 1], bins: 10 };
        let wide = SmoothEce::compute(&SmoothEceSettings { bandwidth: Some(Bandwidth(0.5)) }, &input);
        let narrow = SmoothEce::compute(&SmoothEceSettings { bandwidth: Some(Bandwidth(0.05)) }, &input);
        assert!(0.0 < wide && wide < narrow && narrow <= 1.0, "{wide} {narrow}");
    }

    #[test]
    fn bootstrap_rows_count_repeats() {
        // Repeating every row twice changes nothing (the kernel sums scale, the ratio does not,
        // up to the fixed 10⁻⁴ added to the density, which is why the tolerance is loose).
        let (_, p) = references().remove(1);
        let once = all_rows(&p);
        let twice: Vec<usize> = once.iter().chain(&once).copied().collect();
        let a = SmoothEce::compute(&SmoothEceSettings::default(), &MetricInput { preds: &p, rows: &once, bins: 10 });
        let b = SmoothEce::compute(&SmoothEceSettings::default(), &MetricInput { preds: &p, rows: &twice, bins: 10 });
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }

    #[test]
    fn settings() {
        let s: SmoothEceSettings = serde_json::from_value(serde_json::json!({"bandwidth": 0.1})).unwrap();
        assert_eq!(s.bandwidth, Some(Bandwidth(0.1)));
        for bad in [
            serde_json::json!({"bogus": 1}),
            serde_json::json!({"bandwidth": 0.0}),
            serde_json::json!({"bandwidth": 1.5}),
        ] {
            assert!(serde_json::from_value::<SmoothEceSettings>(bad.clone()).is_err(), "{bad}");
        }
    }
}
