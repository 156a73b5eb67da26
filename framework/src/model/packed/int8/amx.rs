//! The AMX kernel of the int8 product (Intel Advanced Matrix Extensions: `tdpbusd` on
//! tile registers, Sapphire Rapids and later), for layers whose inputs are a multiple of
//! 64. One `tdpbusd` multiplies a 16-row × 64-input tile of `u8` activations by a
//! 64-input × 16-output tile of `i8` weights into 16 × 16 i32 sums; it is exact integer
//! arithmetic like the other kernels, so the sums, and after [`Rescale`] the f32 outputs,
//! are the same bits.
//!
//! The packed weights need no repacking: a panel's 16 groups of four inputs (16 × 64
//! bytes) are exactly the weight tile `tdpbusd` reads (a row per group of four inputs,
//! 16 outputs × 4 bytes each). An activation tile is 16 rows of `a` at a 64-byte offset
//! (row stride `4·k4`).
//!
//! Blocking: 32 rows × 2 panels at a time, the eight tile registers being four sums,
//! two activation tiles and two weight tiles; rows outermost, so a block's activations
//! stay in L1 while the weights stream from L2. Rows past a multiple of 16 use a second
//! tile configuration with fewer rows.
//!
//! Linux hands out AMX's tile state only to a process that asks for it
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`); [`available`] asks once and
//! says no when the kernel refuses, so the product then takes the VNNI kernel. The
//! instructions are written as inline assembly: Rust's AMX intrinsics are not stable.

use super::x86::{Rescale, rescale_panel};
use super::{PANEL, ROWS};
use std::arch::asm;
use std::arch::x86_64::*;
use std::sync::OnceLock;

/// Groups of four inputs per tile (64 inputs): layers whose `k4` is not a multiple of
/// this take the VNNI kernel.
pub(super) const TILE_GROUPS: usize = 16;
/// Rows per activation tile.
const TILE_ROWS: usize = 16;

/// Whether this CPU has AMX-INT8 and the operating system lets this process use it (asked
/// once per process), along with the AVX-512 the rescale needs.
pub(super) fn available() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        if !(std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")) {
            return false;
        }
        // CPUID leaf 7: EDX bit 24 AMX-TILE, bit 25 AMX-INT8 (leaf 7 exists: AVX-512F
        // is reported there).
        let leaf7 = __cpuid_count(7, 0);
        if leaf7.edx & (0b11 << 24) != 0b11 << 24 {
            return false;
        }
        request_tile_data()
    })
}

/// Asks Linux for the tile data state (`ARCH_REQ_XCOMP_PERM` = 0x1023, feature 18,
/// XTILEDATA); true when granted.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // a system call with two integer arguments.
fn request_tile_data() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with this request only changes the process's permissions.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

/// Other systems: not used.
#[cfg(not(target_os = "linux"))]
fn request_tile_data() -> bool {
    false
}

/// A tile configuration (`ldtilecfg`'s 64 bytes, palette 1): tiles 0–3 the sums of (row
/// block 0, panel 0), (0, 1), (1, 0), (1, 1); tiles 4 and 5 the two row blocks'
/// activations; tiles 6 and 7 the two panels' weights.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    /// Row blocks of `h0` and `h1` rows (`h1` may be 0: its tiles stay unconfigured).
    fn new(h0: usize, h1: usize) -> Self {
        let mut c = [0u8; 64];
        c[0] = 1; // palette 1
        let bytes_per_row = (PANEL * 4) as u16; // 16 i32 sums, or 64 u8/i8 inputs
        let rows = [h0, h0, h1, h1, h0, h1, TILE_GROUPS, TILE_GROUPS];
        for (t, &r) in rows.iter().enumerate() {
            if r > 0 {
                c[16 + 2 * t..18 + 2 * t].copy_from_slice(&bytes_per_row.to_le_bytes());
                c[48 + t] = u8::try_from(r).unwrap_or(16);
            }
        }
        Self(c)
    }

    /// Loads this configuration (which also zeroes every tile).
    #[allow(unsafe_code)]
    fn load(&self) {
        // SAFETY: the AMX state was granted ([`available`]); the pointer is 64 readable bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) self.0.as_ptr(), options(nostack, readonly)) };
    }
}

/// `a[rows, 4·k4] · W` with AMX (`rows` a multiple of [`ROWS`], `k4` of [`TILE_GROUPS`]):
/// the sums go to `c` (`[rows, padded outputs]`), or through `rescale` into its `out`
/// (then `c` may be empty). The caller checks [`available`].
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(unsafe_code)] // tile loads and stores through pointers into checked slices.
pub(super) fn amx(a: &[u8], rows: usize, k4: usize, packed: &[i8], c: &mut [i32], rescale: Option<Rescale>) {
    let panel_len = k4 * PANEL * 4;
    let panels = packed.len() / panel_len.max(1);
    let np = panels * PANEL;
    let kp = k4 * 4;
    assert!(k4.is_multiple_of(TILE_GROUPS), "AMX product: inputs not a multiple of 64");
    assert!(rows.is_multiple_of(ROWS) && a.len() >= rows * kp, "AMX product: short activations");
    assert!(packed.len() == panels * panel_len, "AMX product: ragged weights");
    assert!(c.len() >= rows * np || rescale.is_some(), "AMX product: short accumulators");
    let mut rescale = rescale;
    if let Some(r) = &rescale {
        assert!(r.zero_points.len() >= r.rows && r.row_scales.len() >= r.rows && r.rows <= rows);
        assert!(r.col_sums.len() >= np && r.scales.len() >= np && r.bias.len() >= np);
        assert!(r.out.len() >= r.rows * r.outputs && r.outputs <= np);
    }
    let mut config = (usize::MAX, usize::MAX);
    let block = Block { a, kp, packed, panel_len, k4 };
    let mut sums = Sums([[0; TILE_ROWS * PANEL]; 4]);
    for rb in (0..rows).step_by(2 * TILE_ROWS) {
        let h0 = (rows - rb).min(TILE_ROWS);
        let h1 = (rows - rb - h0).min(TILE_ROWS);
        if config != (h0, h1) {
            TileConfig::new(h0, h1).load();
            config = (h0, h1);
        }
        for p in (0..panels).step_by(2) {
            let at = Corner { rb, p };
            match (h1 > 0, p + 1 < panels) {
                (true, true) => block.product::<true, true>(at),
                (true, false) => block.product::<true, false>(at),
                (false, true) => block.product::<false, true>(at),
                (false, false) => block.product::<false, false>(at),
            }
            match &mut rescale {
                Some(r) => {
                    // SAFETY: the configured sum tiles go to 1 KiB buffers, 64-byte rows.
                    unsafe { store_sums(&mut sums, h1 > 0, p + 1 < panels) };
                    for (t, tile) in sums.0.iter().enumerate() {
                        let (row0, panel) = (rb + (t / 2) * TILE_ROWS, p + t % 2);
                        let height = if t < 2 { h0 } else { h1 };
                        if panel >= panels {
                            continue;
                        }
                        for (i, row) in tile.chunks_exact(PANEL).take(height).enumerate() {
                            if row0 + i >= r.rows {
                                break;
                            }
                            // SAFETY: 16 i32 of a 64-byte aligned buffer.
                            let sum = unsafe { _mm512_loadu_si512(row.as_ptr().cast::<__m512i>()) };
                            rescale_panel(sum, row0 + i, panel, r);
                        }
                    }
                }
                None => {
                    let stride = np * 4;
                    let base = c.as_mut_ptr();
                    // SAFETY: each tile's rows `rb + 16·i ..` (at most `rows`) and outputs
                    // `16·(p + j)..` (at most `np`) lie inside `c` (asserted above).
                    unsafe {
                        let tile0 = base.add(rb * np + p * PANEL);
                        asm!("tilestored [{} + {}*1], tmm0", in(reg) tile0, in(reg) stride, options(nostack));
                        if p + 1 < panels {
                            asm!("tilestored [{} + {}*1], tmm1", in(reg) tile0.add(PANEL), in(reg) stride, options(nostack));
                        }
                        if h1 > 0 {
                            let tile2 = tile0.add(TILE_ROWS * np);
                            asm!("tilestored [{} + {}*1], tmm2", in(reg) tile2, in(reg) stride, options(nostack));
                            if p + 1 < panels {
                                let tile3 = tile2.add(PANEL);
                                asm!("tilestored [{} + {}*1], tmm3", in(reg) tile3, in(reg) stride, options(nostack));
                            }
                        }
                    }
                }
            }
        }
    }
    // SAFETY: releases the tile state this thread configured.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// The four sum tiles of a block, stored (64-byte aligned rows of 16 i32).
#[repr(C, align(64))]
struct Sums([[i32; TILE_ROWS * PANEL]; 4]);

/// Stores the configured sum tiles into `sums` (tile `t` into `sums.0[t]`).
///
/// # Safety
/// The tile configuration must have tiles 0 and 4 configured, tiles 2 and 3 when
/// `two_rows`, and the AMX state granted.
#[allow(unsafe_code)]
unsafe fn store_sums(sums: &mut Sums, two_rows: bool, two_panels: bool) {
    let stride = PANEL * 4;
    let [s0, s1, s2, s3] = &mut sums.0;
    // SAFETY: each buffer holds 16 rows of 64 bytes, the most a tile stores.
    unsafe {
        asm!("tilestored [{} + {}*1], tmm0", in(reg) s0.as_mut_ptr(), in(reg) stride, options(nostack));
        if two_panels {
            asm!("tilestored [{} + {}*1], tmm1", in(reg) s1.as_mut_ptr(), in(reg) stride, options(nostack));
        }
        if two_rows {
            asm!("tilestored [{} + {}*1], tmm2", in(reg) s2.as_mut_ptr(), in(reg) stride, options(nostack));
            if two_panels {
                asm!("tilestored [{} + {}*1], tmm3", in(reg) s3.as_mut_ptr(), in(reg) stride, options(nostack));
            }
        }
    }
}

/// The operands of one product: activations `a` (rows of `kp` bytes), packed weights.
struct Block<'a> {
    a: &'a [u8],
    kp: usize,
    packed: &'a [i8],
    panel_len: usize,
    k4: usize,
}

/// A block's first row and first panel.
#[derive(Clone, Copy)]
struct Corner {
    rb: usize,
    p: usize,
}

impl Block<'_> {
    /// Sums of rows `rb..rb + 16·(1 + R1)` × panels `p..p + 1 + P1` over every input into
    /// tiles 0–3 (zeroed first).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn product<const R1: bool, const P1: bool>(&self, at: Corner) {
        let Corner { rb, p } = at;
        let (kp, panel_len) = (self.kp, self.panel_len);
        let a0 = self.a[rb * kp..].as_ptr();
        // The second row block (when there is one) starts 16 rows further.
        let a1 = if R1 { self.a[(rb + TILE_ROWS) * kp..].as_ptr() } else { a0 };
        let w0 = self.packed[p * panel_len..].as_ptr();
        let w1 = if P1 { self.packed[(p + 1) * panel_len..].as_ptr() } else { w0 };
        let wstride = PANEL * 4;
        // SAFETY: (for every instruction below) the configuration has the tiles used; an
        // activation tile reads 64 bytes of each of its configured rows at input offset
        // `4g < kp` (rows `< rows`, `a` holds `rows·kp` bytes, asserted by the caller); a
        // weight tile reads 16 groups × 64 bytes of one panel (`g + 16 <= k4`).
        unsafe {
            asm!("tilezero tmm0", options(nostack, nomem));
            if P1 {
                asm!("tilezero tmm1", options(nostack, nomem));
            }
            if R1 {
                asm!("tilezero tmm2", options(nostack, nomem));
                if P1 {
                    asm!("tilezero tmm3", options(nostack, nomem));
                }
            }
            for g in (0..self.k4).step_by(TILE_GROUPS) {
                let off = g * 4;
                let woff = g * wstride;
                asm!("tileloadd tmm4, [{} + {}*1]", in(reg) a0.add(off), in(reg) kp, options(nostack, readonly));
                asm!("tileloadd tmm6, [{} + {}*1]", in(reg) w0.add(woff), in(reg) wstride, options(nostack, readonly));
                asm!("tdpbusd tmm0, tmm4, tmm6", options(nostack, nomem));
                if P1 {
                    asm!("tileloadd tmm7, [{} + {}*1]", in(reg) w1.add(woff), in(reg) wstride, options(nostack, readonly));
                    asm!("tdpbusd tmm1, tmm4, tmm7", options(nostack, nomem));
                }
                if R1 {
                    asm!("tileloadd tmm5, [{} + {}*1]", in(reg) a1.add(off), in(reg) kp, options(nostack, readonly));
                    asm!("tdpbusd tmm2, tmm5, tmm6", options(nostack, nomem));
                    if P1 {
                        asm!("tdpbusd tmm3, tmm5, tmm7", options(nostack, nomem));
                    }
                }
            }
        }
    }
}
