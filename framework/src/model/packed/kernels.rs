//! The single-threaded f32 kernels of the packed inference path: the matrix product of a
//! Linear layer (gemm's microkernels, bias folded in), tanh and ReLU, and the exp and erf
//! that training's GELU derivative uses (LayerNorm, attention and GELU, which follow
//! PyTorch's kernels bit for bit, have their own files).
//!
//! Every kernel runs on one thread: the caller runs independent batches on the rayon pool,
//! which on two cores beats splitting each small product between threads.

use super::weights::Linear;

/// `c := c + a · b` for row-major matrices given by their row strides: `a` is `m × k`
/// (rows `a_rs` apart), `b` is `k × n` (rows `b_rs` apart), `c` is `m × n` (rows `c_rs`
/// apart). Panics when a slice is too short or rows would overlap.
#[allow(unsafe_code)] // gemm's only entry point is unsafe; every bound is checked first.
fn gemm_add(m: usize, n: usize, k: usize, a: (&[f32], usize), b: (&[f32], usize), c: (&mut [f32], usize)) {
    let ((a, a_rs), (b, b_rs), (c, c_rs)) = (a, b, c);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let fits =
        |len: usize, rows: usize, stride: usize, cols: usize| stride >= cols && len >= (rows - 1) * stride + cols;
    assert!(fits(a.len(), m, a_rs, k), "gemm: lhs is not {m} rows of {k} (stride {a_rs}, {} values)", a.len());
    assert!(fits(b.len(), k, b_rs, n), "gemm: rhs is not {k} rows of {n} (stride {b_rs}, {} values)", b.len());
    assert!(fits(c.len(), m, c_rs, n), "gemm: dst is not {m} rows of {n} (stride {c_rs}, {} values)", c.len());
    // SAFETY: the asserts above keep every element gemm reads or writes inside the three
    // slices, rows of `c` do not overlap (c_rs >= n), and `c` (a unique borrow) cannot
    // alias `a` or `b`. gemm computes c := 1·c + 1·(a · b).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            true,
            a.as_ptr(),
            1,
            a_rs as isize,
            b.as_ptr(),
            1,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A read-only matrix view: `rows × cols`, element `(i, j)` at `data[i·rs + j·cs]`. A
/// transposed view swaps the shape and the strides, so products with transposed operands
/// (`dX = dY·Wᵀ`, `dW = Xᵀ·dY`) need no copy.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The values (the view starts at `data[0]`).
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows × cols` matrix whose rows are `rs` apart.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        Self { data, rows, cols, rs, cs: 1 }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self { rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs, ..self }
    }

    fn fits(&self) -> bool {
        self.rows == 0 || self.cols == 0 || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// Whether [`product`] splits its work between the threads of the rayon pool (the split is
/// over output blocks, never over the summed dimension, so the result does not depend on
/// the number of threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// On the calling thread.
    One,
    /// On the current rayon pool.
    Pool,
}

/// `c := (accumulate ? c : 0) + scale · a · b` for strided views `a` (`m × k`) and `b`
/// (`k × n`) into the row-major `m × n` block of `c` whose rows are `c_rs` apart. Panics
/// when a view or `c` is too short for its shape or rows of `c` would overlap.
#[allow(unsafe_code)] // gemm's only entry point is unsafe; every bound is checked first.
pub fn product(c: &mut [f32], c_rs: usize, a: View, b: View, scale: f32, accumulate: bool, threads: Threads) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "product: {m}×{k} times {}×{n}", b.rows);
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.fits() && b.fits(), "product: a view is shorter than its shape");
    assert!(c_rs >= n && c.len() >= (m - 1) * c_rs + n, "product: dst is not {m} rows of {n} (stride {c_rs})");
    if k == 0 {
        if !accumulate {
            for row in c.chunks_mut(c_rs).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Pool => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the asserts above keep every element gemm reads or writes inside the three
    // slices, rows of `c` do not overlap (c_rs >= n), and `c` (a unique borrow) cannot
    // alias `a` or `b`. gemm computes c := α·c + β·(a · b), reading c only when asked.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `out[rows, outputs] = x[rows, inputs] · W + b` for a [`Linear`] stored `[inputs, outputs]`
/// row-major. `out` is resized to fit.
pub fn linear(x: &[f32], rows: usize, layer: &Linear, out: &mut Vec<f32>) {
    let n = layer.outputs;
    out.resize(rows * n, 0.0);
    linear_columns(x, rows, layer, 0..n, out, n);
}

/// Output columns `cols` of a [`Linear`] for the `rows` rows of `x`, written into `out`
/// with rows `out_stride` apart (starting at `out[0]`).
pub fn linear_columns(
    x: &[f32],
    rows: usize,
    layer: &Linear,
    cols: std::ops::Range<usize>,
    out: &mut [f32],
    out_stride: usize,
) {
    let (k, n) = (layer.inputs, layer.outputs);
    assert!(cols.end <= n, "linear: columns {cols:?} of {n}");
    assert_eq!(x.len(), rows * k, "linear: input is not [{rows}, {k}]");
    let width = cols.len();
    for r in 0..rows {
        out[r * out_stride..r * out_stride + width].copy_from_slice(&layer.bias[cols.clone()]);
    }
    gemm_add(rows, width, k, (x, k), (&layer.weight[cols.start..], n), (out, out_stride));
}

/// Defines `pub fn $name(args)` running `$imp(args)`, compiled a second time for AVX2 with
/// FMA (so that `mul_add` is one instruction) and chosen at run time when the CPU has them
/// (our crates are built for baseline x86-64, whose SSE2 vectors are half as wide and which
/// computes `mul_add` in a library call; gemm does the same for its own kernels).
macro_rules! with_avx2 {
    ($(#[$doc:meta])* $name:ident => $imp:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        #[allow(unsafe_code)] // calling the AVX2 copy needs it; the feature is checked first.
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

pub(super) use with_avx2;

with_avx2!(
    /// `a += b`, element by element.
    add_assign => add_assign_impl(a: &mut [f32], b: &[f32])
);

#[inline(always)]
fn add_assign_impl(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// e^x for x ≤ 88.7 (relative error below 2e-7; 0 below −87.3), without branches so
/// that loops over it vectorise: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its degree-7
/// Taylor polynomial, 2^n from the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5·2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.7);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // Wrapping operations: debug builds check overflow, which would stop vectorisation
    // (n + 127 is in 1..=255 here).
    p * f32::from_bits(((n as i32).wrapping_add(127) as u32).wrapping_shl(23))
}

/// erf by Abramowitz & Stegun 7.1.26 in f32 (|error| below 2e-7).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_72, 1.421_413_8, -1.453_152, 1.061_405_4];
    let s = x.abs();
    let t = 1.0 / (1.0 + P * s);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    (1.0 - poly * exp(-s * s)).copysign(x)
}

/// tanh in place.
pub fn tanh(x: &mut [f32]) {
    for v in x {
        *v = v.tanh();
    }
}

/// ReLU in place.
pub fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_is_x_times_w_plus_b() {
        // x [2, 3], W [3, 2].
        let layer = Linear::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0.5, -1.0], 3, 2).unwrap();
        let mut out = Vec::new();
        linear(&[1.0, 0.0, -1.0, 2.0, 1.0, 0.0], 2, &layer, &mut out);
        assert_eq!(out, vec![1.0 - 5.0 + 0.5, 2.0 - 6.0 - 1.0, 2.0 + 3.0 + 0.5, 4.0 + 4.0 - 1.0]);
    }

    #[test]
    fn linear_columns_writes_a_strided_slice() {
        let layer = Linear::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0.5, -1.0], 3, 2).unwrap();
        // Column 1 only, into every other slot.
        let mut out = vec![9.0; 4];
        linear_columns(&[1.0, 0.0, -1.0, 2.0, 1.0, 0.0], 2, &layer, 1..2, &mut out, 2);
        assert_eq!(out, vec![2.0 - 6.0 - 1.0, 9.0, 4.0 + 4.0 - 1.0, 9.0]);
    }

    #[test]
    fn exp_is_within_2e_7_of_std() {
        for i in -8700..=8800 {
            let x = i as f32 * 0.01;
            let (got, want) = (exp(x), x.exp());
            assert!(((got - want) / want).abs() < 2e-7, "exp({x}) = {got}, not {want}");
        }
        // Clamped below: tiny and never negative or NaN.
        assert!((0.0..1e-37).contains(&exp(-200.0)));
        assert!(exp(f32::NEG_INFINITY) >= 0.0);
    }
}
