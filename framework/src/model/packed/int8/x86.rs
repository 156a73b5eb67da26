//! The x86 kernels of the int8 product: AVX2 (`vpmaddubsw` + `vpmaddwd`) and AVX-512 VNNI
//! (`vpdpbusd`), the latter blocked for the caches and able to rescale its accumulators
//! to f32 as it finishes each tile ([`Rescale`]), so that the i32 products never go
//! through memory.

use super::{PANEL, ROWS};
use std::arch::x86_64::*;

/// Inputs per block of the VNNI kernel, in groups of four: 4 panels × 384 inputs of
/// weights are 24 KiB and stay in the L1 cache while every row block passes over them.
pub(super) const BLOCK_GROUPS: usize = 96;
/// Panels (of 16 outputs) per VNNI tile: [`ROWS`] × 4 accumulators, 4 weight registers.
const TILE_PANELS: usize = 4;

/// Four activations of row `r` at group `g` (`a`'s rows `4·k4` bytes), as one i32 to
/// broadcast: one unaligned 4-byte read.
#[inline(always)]
fn four(a: &[u8], r: usize, k4: usize, g: usize) -> i32 {
    let at = (r * k4 + g) * 4;
    let bytes: [u8; 4] = a[at..at + 4].try_into().unwrap_or([0; 4]);
    i32::from_le_bytes(bytes)
}

/// The AVX2 kernel: [`ROWS`] rows × one panel (16 outputs, two registers) per block,
/// `vpmaddubsw` (pairs of u8 × i8 into i16) then `vpmaddwd` with ones (into i32).
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)] // SIMD loads and stores through pointers into checked slices.
pub(super) fn avx2(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32]) {
    let panel_len = k4 * PANEL * 4;
    let np = packed.len() / panel_len.max(1) * PANEL;
    let ones = _mm256_set1_epi16(1);
    for rb in (0..rows).step_by(ROWS) {
        for (p, panel) in packed.chunks_exact(panel_len).enumerate() {
            let mut acc = [_mm256_setzero_si256(); 2 * ROWS];
            for (g, w) in panel.chunks_exact(PANEL * 4).enumerate() {
                // SAFETY: `w` is 64 bytes; each load reads 32 of them.
                let (w0, w1) = unsafe {
                    (
                        _mm256_loadu_si256(w.as_ptr().cast::<__m256i>()),
                        _mm256_loadu_si256(w.as_ptr().add(32).cast::<__m256i>()),
                    )
                };
                for r in 0..ROWS {
                    let x = _mm256_set1_epi32(four(a, rb + r, k4, g));
                    let lo = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones);
                    let hi = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones);
                    acc[2 * r] = _mm256_add_epi32(acc[2 * r], lo);
                    acc[2 * r + 1] = _mm256_add_epi32(acc[2 * r + 1], hi);
                }
            }
            for r in 0..ROWS {
                let out = &mut c[(rb + r) * np + p * PANEL..(rb + r) * np + (p + 1) * PANEL];
                // SAFETY: `out` is 16 i32 (64 bytes); each store writes 32 of them.
                unsafe {
                    _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), acc[2 * r]);
                    _mm256_storeu_si256(out.as_mut_ptr().add(8).cast::<__m256i>(), acc[2 * r + 1]);
                }
            }
        }
    }
}

/// What the VNNI kernel does with a finished tile instead of storing its i32 sums:
/// `out[r, o] = fma(acc − zero_points[r]·col_sums[o], row_scales[r]·scales[o], bias[o])`
/// for the real rows and outputs (fbgemm's `ReQuantizeForFloat`, the same operations as
/// [`super::rescale_rows`]).
pub(super) struct Rescale<'a> {
    /// Per row (padded rows included): its example's activation zero point.
    pub zero_points: &'a [i32],
    /// Per row: its example's activation scale.
    pub row_scales: &'a [f32],
    /// Per padded output: `Σ_k q[o, k]`.
    pub col_sums: &'a [i32],
    /// Per padded output: the weight scale.
    pub scales: &'a [f32],
    /// Per padded output: the bias.
    pub bias: &'a [f32],
    /// `[rows, outputs]`, written.
    pub out: &'a mut [f32],
    /// Real rows (`out`'s).
    pub rows: usize,
    /// Real outputs (`out`'s width).
    pub outputs: usize,
}

/// The shape of one VNNI product.
#[derive(Clone, Copy)]
struct Shape {
    /// Groups of four inputs (`a`'s rows are `4·k4` bytes).
    k4: usize,
    /// Bytes of one packed panel.
    panel_len: usize,
    /// Padded outputs (`c`'s width).
    np: usize,
}

/// The AVX-512 VNNI kernel: `a[rows, 4·k4] · W` (`rows` a multiple of [`ROWS`]). Tiles of
/// [`ROWS`] rows × [`TILE_PANELS`] panels (24 accumulators, one `vpdpbusd` per row and panel
/// for every four inputs); panels outermost and inputs in blocks of [`BLOCK_GROUPS`], so a
/// block of weights stays in L1 while every row passes. Sums of a block that is not the last
/// go to `c` (`[rows, padded outputs]`); the last block's sums go to `c` too, or through
/// `rescale` into its `out`. `c` may be empty when `rescale` is given and the inputs fit in
/// one block.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn avx512_vnni(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32], rescale: Option<Rescale>) {
    let panel_len = k4 * PANEL * 4;
    let panels = packed.len() / panel_len.max(1);
    let shape = Shape { k4, panel_len, np: panels * PANEL };
    assert!(rows.is_multiple_of(ROWS) && a.len() >= rows * k4 * 4, "int8 product: short activations");
    assert!(
        c.len() >= rows * shape.np || (rescale.is_some() && k4 <= BLOCK_GROUPS),
        "int8 product: short accumulators"
    );
    if let Some(r) = &rescale {
        assert!(r.zero_points.len() >= r.rows && r.row_scales.len() >= r.rows && r.rows <= rows);
        assert!(r.col_sums.len() >= shape.np && r.scales.len() >= shape.np && r.bias.len() >= shape.np);
        assert!(r.out.len() >= r.rows * r.outputs && r.outputs <= shape.np);
    }
    let mut rescale = rescale;
    let mut p = 0;
    while p < panels {
        let width = if panels - p >= TILE_PANELS { TILE_PANELS } else { 1 };
        let w = &packed[p * panel_len..(p + width) * panel_len];
        for g0 in (0..k4).step_by(BLOCK_GROUPS) {
            let g1 = (g0 + BLOCK_GROUPS).min(k4);
            for rb in (0..rows).step_by(ROWS) {
                let tile = Tile { rb, p, g0, g1 };
                if width == TILE_PANELS {
                    tile_product::<TILE_PANELS>(a, w, shape, tile, c, &mut rescale);
                } else {
                    tile_product::<1>(a, w, shape, tile, c, &mut rescale);
                }
            }
        }
        p += width;
    }
}

/// Where one tile lies: rows `rb..rb + ROWS`, panels from `p`, input groups `g0..g1`.
#[derive(Clone, Copy)]
struct Tile {
    rb: usize,
    p: usize,
    g0: usize,
    g1: usize,
}

/// One tile of [`avx512_vnni`] (`w` holds its `P` panels, one after the other).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
#[allow(unsafe_code)] // reads through pointers whose ranges the caller's asserts cover.
fn tile_product<const P: usize>(
    a: &[u8],
    w: &[i8],
    shape: Shape,
    tile: Tile,
    c: &mut [i32],
    rescale: &mut Option<Rescale>,
) {
    let Shape { k4, panel_len, np } = shape;
    let Tile { rb, p, g0, g1 } = tile;
    let mut acc = [[_mm512_setzero_si512(); P]; ROWS];
    if g0 > 0 {
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, sum) in row.iter_mut().enumerate() {
                let at = (rb + r) * np + (p + j) * PANEL;
                // SAFETY: `at + 16 <= rows·np <= c.len()` (asserted by the caller when
                // there is more than one block).
                *sum = unsafe { _mm512_loadu_si512(c[at..at + PANEL].as_ptr().cast::<__m512i>()) };
            }
        }
    }
    assert!(w.len() >= P * panel_len && g0 <= g1 && g1 <= k4 && a.len() >= (rb + ROWS) * k4 * 4);
    // Pointers advance by plain additions: no checked arithmetic in the loop (overflow
    // checks stay on in this crate and would keep the loop from being unrolled).
    let row_bytes = k4 * 4;
    let mut rows = [std::ptr::null::<u8>(); ROWS];
    for (r, row) in rows.iter_mut().enumerate() {
        // SAFETY: row `rb + r` starts inside `a` (asserted above).
        *row = unsafe { a.as_ptr().add((rb + r) * row_bytes + g0 * 4) };
    }
    // SAFETY: group `g0` of panel 0 lies inside `w` (asserted above).
    let mut wp = unsafe { w.as_ptr().add(g0 * PANEL * 4) };
    for _ in g0..g1 {
        let mut wv = [_mm512_setzero_si512(); P];
        for (j, v) in wv.iter_mut().enumerate() {
            // SAFETY: panel `j`'s 64 bytes of this group lie inside `w` (`g < g1 <= k4`,
            // `j < P`, asserted above).
            *v = unsafe { _mm512_loadu_si512(wp.wrapping_add(j * panel_len).cast::<__m512i>()) };
        }
        for (row, sums) in rows.iter_mut().zip(acc.iter_mut()) {
            // SAFETY: the row's bytes `4g..4g + 4` lie inside `a` (asserted above).
            let x = _mm512_set1_epi32(unsafe { row.cast::<i32>().read_unaligned() });
            for (sum, &wj) in sums.iter_mut().zip(&wv) {
                *sum = _mm512_dpbusd_epi32(*sum, x, wj);
            }
            *row = row.wrapping_add(4);
        }
        wp = wp.wrapping_add(PANEL * 4);
    }
    match rescale {
        Some(r) if g1 == k4 => rescale_tile(&acc, rb, p, r),
        _ => {
            for (r, row) in acc.iter().enumerate() {
                for (j, sum) in row.iter().enumerate() {
                    let at = (rb + r) * np + (p + j) * PANEL;
                    let out = &mut c[at..at + PANEL];
                    // SAFETY: `out` is 16 i32, one store.
                    unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast::<__m512i>(), *sum) };
                }
            }
        }
    }
}

/// The last block of a tile through [`Rescale`]: rows past `r.rows` are padding and
/// dropped, and the last panel's outputs past `r.outputs` are masked off.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn rescale_tile<const P: usize>(acc: &[[__m512i; P]; ROWS], rb: usize, p: usize, r: &mut Rescale) {
    for (i, row) in acc.iter().enumerate() {
        if rb + i >= r.rows {
            break;
        }
        for (j, &sum) in row.iter().enumerate() {
            rescale_panel(sum, rb + i, p + j, r);
        }
    }
}

/// One row's sums for one panel (`sum`: row `at`, outputs `16·panel..`) through
/// [`Rescale`] into `r.out`; outputs past `r.outputs` are masked off, a panel past them
/// writes nothing. `at` must be a real row (`< r.rows`).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
#[allow(unsafe_code)] // loads and stores through pointers into checked slices.
pub(super) fn rescale_panel(sum: __m512i, at: usize, panel: usize, r: &mut Rescale) {
    let o = panel * PANEL;
    if o >= r.outputs {
        return;
    }
    let zero_point = _mm512_set1_epi32(r.zero_points[at]);
    let row_scale = _mm512_set1_ps(r.row_scales[at]);
    // SAFETY: `o + 16 <= np`, within the three per-output slices (asserted by the
    // kernels).
    let (col_sums, scales, bias) = unsafe {
        (
            _mm512_loadu_si512(r.col_sums[o..o + PANEL].as_ptr().cast::<__m512i>()),
            _mm512_loadu_ps(r.scales[o..o + PANEL].as_ptr()),
            _mm512_loadu_ps(r.bias[o..o + PANEL].as_ptr()),
        )
    };
    let centred = _mm512_cvtepi32_ps(_mm512_sub_epi32(sum, _mm512_mullo_epi32(zero_point, col_sums)));
    let y = _mm512_fmadd_ps(centred, _mm512_mul_ps(row_scale, scales), bias);
    let lanes = (r.outputs - o).min(PANEL);
    let out = &mut r.out[at * r.outputs + o..at * r.outputs + o + lanes];
    if lanes == PANEL {
        // SAFETY: `out` is 16 f32, one store.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), y) };
    } else {
        // SAFETY: the mask writes the first `lanes` values, `out`'s length.
        unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), (1u16 << lanes) - 1, y) };
    }
}
