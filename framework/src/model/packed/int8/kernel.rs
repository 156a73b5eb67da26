//! Which int8 product runs ([`Kernel`]: chosen once per process from the CPU, capped by
//! `TRUSTX_INT8_KERNEL`) and the dispatch to it: the x86 kernels ([`super::x86`],
//! [`super::amx`]) and the portable ones (the scalar reference, and the rescale of i32
//! sums to f32 for the kernels that do not rescale their own tiles).

use super::{Int8Scratch, PANEL, QLinear, ROWS, grow};
#[cfg(target_arch = "x86_64")]
use super::{amx, x86};
use crate::model::packed::kernels::with_avx2;
use crate::model::quant::MAX_ACTIVATION;

/// `out[r, o] = fma(c[r, o] − zero_points[r]·col_sums[o], row_scales[r]·scales[o], bias[o])`
/// for the rows of `out` (`c`'s rows are `np` wide).
fn rescale_rows(c: &[i32], np: usize, layer: &QLinear, zero_points: &[i32], row_scales: &[f32], out: &mut [f32]) {
    let n = layer.outputs;
    for (r, row) in out.chunks_exact_mut(n).enumerate() {
        rescale(&c[r * np..r * np + n], zero_points[r], row_scales[r], layer, row);
    }
}

#[inline(always)]
fn rescale_impl(acc: &[i32], zero_point: i32, row_scale: f32, layer: &QLinear, row: &mut [f32]) {
    let per_output = layer.col_sums.iter().zip(&layer.scales).zip(&layer.bias);
    for ((y, &a), ((&c, &w), &b)) in row.iter_mut().zip(acc).zip(per_output) {
        *y = ((a - zero_point * c) as f32).mul_add(row_scale * w, b);
    }
}

with_avx2!(
    /// One output row from its i32 accumulators: `fma(acc − zero_point·col_sum,
    /// row_scale·scale, bias)` per output, as fbgemm's `ReQuantizeForFloat` computes it
    /// (the two scales multiplied first, then one fused multiply-add).
    rescale => rescale_impl(acc: &[i32], zero_point: i32, row_scale: f32, layer: &QLinear, row: &mut [f32])
);

/// The implementations of the int8 product, ordered slowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// Plain Rust.
    Scalar,
    /// AVX2 `vpmaddubsw` + `vpmaddwd`.
    Avx2,
    /// AVX-512 VNNI `vpdpbusd`.
    Avx512Vnni,
    /// AMX `tdpbusd` tiles for layers whose inputs are a multiple of 64, AVX-512 VNNI for
    /// the others.
    Amx,
}

impl Kernel {
    /// The fastest kernel this CPU runs, or the fastest up to the one
    /// `TRUSTX_INT8_KERNEL` names (decided once per process).
    pub fn detect() -> Kernel {
        static CHOSEN: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let available = Self::available();
            let cap = std::env::var("TRUSTX_INT8_KERNEL").ok().and_then(|name| {
                let kernel = Self::named(&name);
                if kernel.is_none() {
                    tracing::warn!(value = %name, "TRUSTX_INT8_KERNEL is not one of scalar, avx2, avx512-vnni, amx: ignored");
                }
                kernel
            });
            available.into_iter().rfind(|k| cap.is_none_or(|c| *k <= c)).unwrap_or(Kernel::Scalar)
        })
    }

    /// The kernel called `name` (`scalar`, `avx2`, `avx512-vnni`, `amx`).
    pub fn named(name: &str) -> Option<Kernel> {
        match name {
            "scalar" => Some(Kernel::Scalar),
            "avx2" => Some(Kernel::Avx2),
            "avx512-vnni" => Some(Kernel::Avx512Vnni),
            "amx" => Some(Kernel::Amx),
            _ => None,
        }
    }

    /// Every kernel this CPU runs, slowest first.
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut out = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                out.push(Kernel::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                out.push(Kernel::Avx512Vnni);
                if amx::available() {
                    out.push(Kernel::Amx);
                }
            }
        }
        out
    }

    /// The kernel that runs `layer`: AMX only takes inputs in whole tiles (a multiple of
    /// 64), so a layer of another width takes AVX-512 VNNI; every other kernel is itself.
    fn for_layer(self, layer: &QLinear) -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if self == Kernel::Amx && !layer.k4().is_multiple_of(amx::TILE_GROUPS) {
            return Kernel::Avx512Vnni;
        }
        self
    }

    /// `c[rows, padded outputs] = a[rows, 4·k4] · W` (`rows` a multiple of [`ROWS`]; `a`'s
    /// values at most [`MAX_ACTIVATION`]). Panics if the CPU lacks the kernel's features.
    #[allow(unsafe_code)] // the SIMD copies need their CPU features, checked first.
    pub fn product(self, a: &[u8], rows: usize, layer: &QLinear, c: &mut [i32]) {
        let (k4, np) = (layer.k4(), layer.padded_outputs());
        assert!(rows.is_multiple_of(ROWS) && a.len() == rows * k4 * 4 && c.len() == rows * np);
        debug_assert!(a.iter().all(|&v| i32::from(v) <= MAX_ACTIVATION));
        match self.for_layer(layer) {
            Kernel::Scalar => scalar(a, rows, k4, &layer.packed, c),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"), "the CPU has no AVX2");
                // SAFETY: AVX2 is present (asserted above).
                unsafe { x86::avx2(a, rows, k4, &layer.packed, c) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => {
                Self::assert_amx();
                // SAFETY: AMX is granted and AVX-512F and BW are present (asserted above).
                unsafe { amx::amx(a, rows, k4, &layer.packed, c, None) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                Self::assert_vnni();
                // SAFETY: AVX-512F, BW and VNNI are present (asserted above).
                unsafe { x86::avx512_vnni(a, rows, k4, &layer.packed, c, None) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => scalar(a, rows, k4, &layer.packed, c),
        }
    }

    /// The first `real_rows` rows of `s.a · W` (`s.a` starts with `rows` rows, the real ones
    /// padded to a multiple of [`ROWS`]) rescaled to f32 into `out` (`[real_rows, outputs]`)
    /// with each row's activation zero point and scale (`s.zero_points`, `s.row_scales`):
    /// the AMX and VNNI kernels rescale their tiles as they finish them, the others go
    /// through `s.c` and [`rescale`]. The same bits either way.
    #[allow(unsafe_code)] // the AMX and VNNI kernels need their CPU features, checked first.
    pub(super) fn product_rescaled(
        self,
        s: &mut Int8Scratch,
        rows: usize,
        real_rows: usize,
        layer: &QLinear,
        out: &mut [f32],
    ) {
        let Int8Scratch { a, c, zero_points, row_scales } = s;
        let (np, kp) = (layer.padded_outputs(), layer.k4() * 4);
        assert!(
            zero_points.len() == real_rows && row_scales.len() == real_rows && out.len() == real_rows * layer.outputs
        );
        assert!(real_rows <= rows && rows.is_multiple_of(ROWS) && a.len() >= rows * kp);
        let a = &a[..rows * kp];
        let kernel = self.for_layer(layer);
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Amx {
            Self::assert_amx();
            let rescale = rescale_into(layer, zero_points, row_scales, out, real_rows);
            // SAFETY: AMX is granted and AVX-512F and BW are present (asserted above).
            return unsafe { amx::amx(a, rows, layer.k4(), &layer.packed, &mut [], Some(rescale)) };
        }
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Avx512Vnni {
            Self::assert_vnni();
            // Partial sums go through `c` only when the inputs span several blocks.
            let c: &mut [i32] = if layer.k4() > x86::BLOCK_GROUPS {
                grow(c, rows * np);
                &mut c[..rows * np]
            } else {
                &mut []
            };
            let rescale = rescale_into(layer, zero_points, row_scales, out, real_rows);
            // SAFETY: AVX-512F, BW and VNNI are present (asserted above).
            return unsafe { x86::avx512_vnni(a, rows, layer.k4(), &layer.packed, c, Some(rescale)) };
        }
        // Every element is written by the product: no need to clear it.
        grow(c, rows * np);
        let c = &mut c[..rows * np];
        kernel.product(a, rows, layer, c);
        rescale_rows(c, np, layer, zero_points, row_scales, out);
    }

    #[cfg(target_arch = "x86_64")]
    fn assert_amx() {
        assert!(amx::available(), "the CPU has no AMX-INT8, or the system did not grant it");
    }

    #[cfg(target_arch = "x86_64")]
    fn assert_vnni() {
        assert!(
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni"),
            "the CPU has no AVX-512 VNNI"
        );
    }
}

/// What the x86 kernels do with finished sums: rescale them into `out` (`[rows, outputs]`,
/// one zero point and scale per row; `rows` are the real ones).
#[cfg(target_arch = "x86_64")]
fn rescale_into<'a>(
    layer: &'a QLinear,
    zero_points: &'a [i32],
    row_scales: &'a [f32],
    out: &'a mut [f32],
    rows: usize,
) -> x86::Rescale<'a> {
    x86::Rescale {
        zero_points,
        row_scales,
        col_sums: &layer.col_sums,
        scales: &layer.scales,
        bias: &layer.bias,
        out,
        rows,
        outputs: layer.outputs,
    }
}

/// The reference kernel.
fn scalar(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32]) {
    let panels = packed.len() / (k4 * PANEL * 4).max(1);
    let np = panels * PANEL;
    for (p, panel) in packed.chunks_exact(k4 * PANEL * 4).enumerate() {
        for r in 0..rows {
            let row = &a[r * k4 * 4..(r + 1) * k4 * 4];
            let mut acc = [0i32; PANEL];
            for (a4, w) in row.chunks_exact(4).zip(panel.chunks_exact(PANEL * 4)) {
                for (sum, w4) in acc.iter_mut().zip(w.chunks_exact(4)) {
                    *sum += a4.iter().zip(w4).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum::<i32>();
                }
            }
            c[r * np + p * PANEL..r * np + (p + 1) * PANEL].copy_from_slice(&acc);
        }
    }
}
