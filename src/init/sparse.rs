//! sparse_: exactly `k = ceil(sparsity * rows)` zeros in every column, N(0, std^2) elsewhere.
//!
//! The mask. Column `c` draws `m = min(k, rows - k)` distinct rows by Floyd's algorithm: the
//! nonzero rows when they are the fewer, else the zero rows (whose complement, a uniform
//! `(rows - k)`-subset, is then the nonzero set). Step `j` (for `j` in `rows - m..rows`) takes a
//! uniform integer `t` in `[0, j]` from 64 bits of stream 1 of the generator (multiply-shift,
//! bias below rows / 2^64) and adds `t`, or `j` if `t` is already in. Column `c`'s words start
//! at block `base + c * ceil(m / 2)`, two 64-bit draws per block (words 0-1, then 2-3). So the
//! mask is a pure function of (seed, position, rows, cols, k) and columns are independent.
//!
//! The values. The `j`-th nonzero of column `c`, in row order, is the value at logical index
//! `c * (rows - k) + j` of the ordinary normal sampler (stream 0 at `base`): a column's values
//! are one contiguous run of that stream, drawn only for the nonzeros.
//!
//! The writes. Work goes by panels of adjacent columns (up to 8 whole 64-byte lines of each
//! row when the columns are unit-stride). A panel draws its columns' masks and values, then
//! builds its rows a tile at a time in L1, zeros and values together, and writes each row
//! once (non-temporal stores for large arrays): the array's memory is written in whole lines,
//! never read. Temporary memory is per thread and per panel, never proportional to the array.
//! Which thread fills which panel, and how wide panels are, changes nothing: every value is
//! fixed by its row and column.

use crate::buffer::element::Element;
use crate::buffer::layout::Layout;
use crate::error::{Error, Result};
use crate::init::fill::Poll;
use crate::rng::aes_ctr::AesCtr;
use crate::sampler::normal::Normal;
use crate::sampler::{BlockKernel, Sampler};
use crate::simd::isa::Isa;

/// The stream id of mask draws (values use stream 0).
pub const MASK_STREAM: u32 = 1;

/// Number of zeros per column, as torch computes it: `ceil(sparsity * rows)`.
pub fn zeros_per_column(sparsity: f64, rows: usize) -> Result<usize> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(Error::Value(format!(
            "sparsity must be in [0, 1), but found sparsity={}",
            crate::error::py_float(sparsity)
        )));
    }
    Ok((sparsity * rows as f64).ceil() as usize)
}

/// How often an inline fill polls for Ctrl-C (as `fill`'s inline path does).
pub const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Rows Floyd's algorithm draws per column: the smaller of the zero and nonzero sets.
pub fn drawn_per_column(rows: usize, k: usize) -> usize {
    k.min(rows - k)
}

/// Blocks of stream 1 reserved for each column (two draws per block).
pub fn blocks_per_column(rows: usize, k: usize) -> u64 {
    (drawn_per_column(rows, k) as u64).div_ceil(2)
}

/// Counter blocks to 64-bit draws: words (0, 1) then (2, 3) of each block, high word first.
struct Draws;

impl BlockKernel<u64> for Draws {
    const PER_BLOCK: usize = 2;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [u64]) {
        let w = I::blocks::<L>(rng, block);
        let out = &mut out[..2 * L];
        for j in 0..L {
            out[2 * j] = ((w[0][j] as u64) << 32) | w[1][j] as u64;
            out[2 * j + 1] = ((w[2][j] as u64) << 32) | w[3][j] as u64;
        }
    }
}

/// Floyd's algorithm over `rows` bits: `draws[i]` is step `j = rows - m + i`'s 64-bit word.
/// Step `j` adds `t = r * (j + 1) >> 64` (uniform in `[0, j]`), or `j` if `t` is already in
/// (every member is below `j`, so `j` is not). Sets the `m` drawn rows in `bits` (zero on
/// entry, `rows` bits long).
///
/// A branch, not a select: the store's address then does not wait on the membership load,
/// so consecutive steps overlap (a branch-free select chains every step through memory and
/// measured about 1.5x slower; four steps at a time with the loads hoisted, or a cold
/// out-of-line collision path, were no faster). Since `m <= rows / 2`, collisions are the
/// less likely case at every step.
#[inline]
fn floyd(draws: &[u64], rows: usize, bits: &mut [u64]) {
    let j0 = rows - draws.len();
    for (i, &r) in draws.iter().enumerate() {
        let j = j0 + i;
        let t = ((r as u128 * (j as u128 + 1)) >> 64) as usize;
        let (w, b) = (t / 64, 1u64 << (t % 64));
        if bits[w] & b == 0 {
            bits[w] |= b;
        } else {
            bits[j / 64] |= 1u64 << (j % 64);
        }
    }
}

/// Sets `bits` (`rows.div_ceil(64)` words) to the nonzero rows of a column from its draws.
fn nonzero_bits(draws: &[u64], rows: usize, k: usize, bits: &mut [u64]) {
    bits.fill(0);
    let m = drawn_per_column(rows, k);
    floyd(&draws[..m], rows, bits);
    if m == k {
        // The zeros were drawn: the nonzeros are the complement (within `rows` bits).
        for w in bits.iter_mut() {
            *w = !*w;
        }
        if !rows.is_multiple_of(64) {
            let last = bits.len() - 1;
            bits[last] &= (1u64 << (rows % 64)) - 1;
        }
    }
}

/// Column `col`'s nonzero rows, ascending (exactly `rows - k` of them): the reference form
/// of what [`fill_panel`] computes for a whole panel at once.
pub fn nonzero_rows(rng: &AesCtr, base: u64, col: usize, rows: usize, k: usize) -> Vec<u32> {
    let bpc = blocks_per_column(rows, k);
    let mut draws = vec![0u64; 2 * bpc as usize];
    crate::sampler::run_kernel(
        &Draws,
        rng,
        base.wrapping_add(col as u64 * bpc),
        0,
        &mut draws,
    );
    let mut bits = vec![0u64; rows.div_ceil(64)];
    nonzero_bits(&draws, rows, k, &mut bits);
    (0..rows as u32)
        .filter(|&r| bits[r as usize / 64] >> (r % 64) & 1 != 0)
        .collect()
}

/// Everything a panel needs, shared by all threads, and the panel grid.
pub struct Plan<'a> {
    layout: &'a Layout,
    rows: usize,
    cols: usize,
    k: usize,
    mask: AesCtr,
    base: u64,
    values: &'a Sampler<Normal>,
    /// Memory strides in elements of a row step and a column step.
    rs: isize,
    cs: isize,
    /// Columns per panel, and the columns the grid is shifted by (see [`Plan::new`]).
    width: usize,
    shift: usize,
    /// Rows per band of values drawn at once (a multiple of `tile_rows`), and rows per tile
    /// (a power of two, at most 256).
    band: usize,
    tile_rows: usize,
    /// Column-major tiles, for views whose columns are contiguous (`rs == 1`, as `x.T`).
    cmajor: bool,
}

/// Widest panel: 8 lines of 64 bytes per row. Non-temporal stores of 512-byte runs, one per
/// row, measured 2-3x the bandwidth of 64-byte runs; end to end 8 lines beat 4 and 16.
const MAX_PANEL_LINES: usize = 8;
/// Most bytes of mask bitsets per panel (per thread): `width * rows / 8`.
const MAX_PANEL_BITS_BYTES: usize = 256 << 10;
/// Most bytes of values drawn at once per panel (per thread), unless a band of 64 rows
/// needs more.
const MAX_BAND_BYTES: usize = 1 << 20;
/// Bytes of one tile: built in L1 before it is written out.
const TILE_BYTES: usize = 32 << 10;
/// Arrays of at least this many bytes are written with non-temporal stores where the rows
/// allow it: they do not fit in cache anyway, and streaming skips reading each line first.
pub const STREAM_MIN_BYTES: usize = 8 << 20;

impl<'a> Plan<'a> {
    /// The panel grid. Every value is fixed by its column and row, so the grid (which may
    /// depend on the thread count and the array's alignment) never changes the result.
    pub fn new(
        layout: &'a Layout,
        k: usize,
        mask: AesCtr,
        base: u64,
        values: &'a Sampler<Normal>,
    ) -> Self {
        let (rows, cols) = (layout.shape[0], layout.shape[1]);
        let size = layout.dtype.itemsize();
        // A 2-D view's offsets are linear in (row, col): read the two strides off the layout.
        let rs = if rows > 1 { layout.offset_of(cols) } else { 0 };
        let cs = if cols > 1 { layout.offset_of(1) } else { 1 };
        let line = 64 / size;
        let (width, shift) = if cs == 1 {
            let lines = cols.div_ceil(line);
            let by_bits = (MAX_PANEL_BITS_BYTES * 8 / (rows.max(1) * line)).max(1);
            let by_threads = (lines / (4 * rayon::current_num_threads())).max(1);
            let panel_lines = MAX_PANEL_LINES.min(by_bits).min(by_threads);
            // Full panels start on a 64-byte line (NumPy's large arrays start 16 bytes in).
            (panel_lines * line, (layout.ptr as usize % 64) / size)
        } else {
            (line, 0)
        };
        let cmajor = cs != 1 && rs == 1;
        let tile_rows = (TILE_BYTES / (width * size))
            .clamp(8, 256)
            .next_power_of_two()
            .min(if cmajor { 256 } else { 64 });
        let nz = rows - k;
        let band = if width * nz * size <= MAX_BAND_BYTES {
            rows.max(1)
        } else {
            // Enough rows for about MAX_BAND_BYTES of values.
            let r = (MAX_BAND_BYTES as u128 * rows as u128 / (width * nz * size) as u128) as usize;
            (r / tile_rows).max(1) * tile_rows
        };
        Plan {
            layout,
            rows,
            cols,
            k,
            mask,
            base,
            values,
            rs,
            cs,
            width,
            shift,
            band,
            tile_rows,
            cmajor,
        }
    }

    /// Number of panels.
    pub fn panels(&self) -> usize {
        (self.cols + self.shift).div_ceil(self.width)
    }

    /// Columns of panel `p`.
    fn panel(&self, p: usize) -> (usize, usize) {
        let (w, s) = (self.width, self.shift);
        ((p * w).saturating_sub(s), ((p + 1) * w - s).min(self.cols))
    }
}

/// Per-thread scratch of one panel: its columns' draws, bitsets, values and cursors, and a
/// tile. Bounded by the `MAX_*` constants (and `rows` through the bitsets), never by `cols`.
pub struct PanelScratch<T> {
    draws: Vec<u64>,
    bits: Vec<u64>,
    vals: Vec<T>,
    f32s: Vec<f32>,
    tile: Vec<T>,
    /// Per column: the next value to place (an index into `vals`), and the values drawn.
    cur: Vec<usize>,
    done: Vec<usize>,
}

impl<T> Default for PanelScratch<T> {
    fn default() -> Self {
        PanelScratch {
            draws: Vec::new(),
            bits: Vec::new(),
            vals: Vec::new(),
            f32s: Vec::new(),
            tile: Vec::new(),
            cur: Vec::new(),
            done: Vec::new(),
        }
    }
}

/// Runs the panels as `fill` runs blocks: on the calling thread (polling Ctrl-C by time)
/// below `PARALLEL_MIN` elements or with a one-thread pool, else on the pool.
pub fn run<T: Element>(plan: &Plan<'_>, poll: Poll<'_>) -> Result<()> {
    let n = plan.panels();
    if plan.layout.len < crate::init::fill::PARALLEL_MIN || rayon::current_num_threads() <= 1 {
        let mut sc = PanelScratch::<T>::default();
        let mut last = std::time::Instant::now();
        for p in 0..n {
            if last.elapsed() >= POLL_EVERY {
                if poll() {
                    return Err(Error::Interrupted);
                }
                last = std::time::Instant::now();
            }
            fill_panel(plan, p, &mut sc);
        }
        Ok(())
    } else {
        crate::init::fill::run_parallel(n, poll, |p, sc: &mut PanelScratch<T>| {
            fill_panel(plan, p, sc)
        })
    }
}

/// Columns whose draws are made in one call (the calls are SIMD over 16 blocks).
const DRAW_GROUP: usize = 16;

/// Fills panel `p`: every row of its columns, each element written once.
pub fn fill_panel<T: Element>(plan: &Plan<'_>, p: usize, sc: &mut PanelScratch<T>) {
    let (rows, k) = (plan.rows, plan.k);
    let nz = rows - k;
    let (c0, c1) = plan.panel(p);
    let wp = c1 - c0;
    let words = rows.div_ceil(64);
    // The mask: columns own consecutive blocks of stream 1, so one call draws a group of
    // them (`2 * bpc` draws per column, of which the first `m` are used).
    let bpc = blocks_per_column(rows, k) as usize;
    sc.bits.resize(wp * words, 0);
    for g0 in (0..wp).step_by(DRAW_GROUP) {
        let g1 = (g0 + DRAW_GROUP).min(wp);
        sc.draws.resize((g1 - g0) * 2 * bpc, 0);
        let first = ((c0 + g0) * 2 * bpc) as u64;
        crate::sampler::run_kernel(&Draws, &plan.mask, plan.base, first, &mut sc.draws);
        for ci in g0..g1 {
            let d = &sc.draws[(ci - g0) * 2 * bpc..(ci - g0 + 1) * 2 * bpc];
            nonzero_bits(d, rows, k, &mut sc.bits[ci * words..(ci + 1) * words]);
        }
    }
    sc.cur.resize(wp, 0);
    sc.done.clear();
    sc.done.resize(wp, 0);
    sc.tile.resize(plan.tile_rows * plan.width, T::default());
    let out = Out::<T>::new(plan, c0, wp);
    let tr = plan.tile_rows;
    for b0 in (0..rows).step_by(plan.band) {
        let b1 = (b0 + plan.band).min(rows);
        // The values of the band: column c's j-th nonzero is value c * nz + j, so a column's
        // run in a band is one call, and a band of all rows is one call for the panel.
        if b1 - b0 == rows {
            sc.vals.resize(wp * nz, T::default());
            plan.values
                .fill((c0 * nz) as u64, &mut sc.vals, &mut sc.f32s);
            for (ci, c) in sc.cur.iter_mut().enumerate() {
                *c = ci * nz;
            }
        } else {
            let mut off = 0;
            for ci in 0..wp {
                let w = &sc.bits[ci * words + b0 / 64..ci * words + b1.div_ceil(64)];
                let n = w.iter().map(|x| x.count_ones() as usize).sum::<usize>();
                sc.vals.resize(off + n, T::default());
                let first = ((c0 + ci) * nz + sc.done[ci]) as u64;
                plan.values
                    .fill(first, &mut sc.vals[off..off + n], &mut sc.f32s);
                sc.cur[ci] = off;
                sc.done[ci] += n;
                off += n;
            }
        }
        // Tile element (r, ci): row-major, or column-major for contiguous columns.
        let (r_step, c_step) = if plan.cmajor {
            (1, tr)
        } else {
            (plan.width, 1)
        };
        for t0 in (b0..b1).step_by(tr) {
            let t1 = (t0 + tr).min(b1);
            let tile = &mut sc.tile[..tr * plan.width];
            tile.fill(T::default());
            for ci in 0..wp {
                let col = &sc.bits[ci * words..(ci + 1) * words];
                let mut at = sc.cur[ci];
                for wi in t0 / 64..t1.div_ceil(64) {
                    // The word's rows in t0..t1 (tr is a power of two: a tile is a piece of
                    // one word or whole words).
                    let (lo, hi) = (t0.max(wi * 64) - wi * 64, t1.min(wi * 64 + 64) - wi * 64);
                    let keep = (!0u64 >> (64 - hi)) & (!0u64 << lo);
                    let mut x = col[wi] & keep;
                    while x != 0 {
                        let r = wi * 64 + x.trailing_zeros() as usize - t0;
                        tile[r * r_step + ci * c_step] = sc.vals[at];
                        at += 1;
                        x &= x - 1;
                    }
                }
                sc.cur[ci] = at;
            }
            // SAFETY: Layout::new checked that the view's elements are distinct and in
            // bounds; rows t0..t1 of columns c0..c1 are elements of the view, and panels hold
            // disjoint columns, so no other thread writes them.
            unsafe { out.write(plan, t0, t1 - t0, tile) };
        }
    }
    out.finish();
}

/// How a panel's tiles reach memory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Unit column stride, a full panel, every row 64-byte aligned, and a large array:
    /// non-temporal stores of each row's whole lines.
    Stream,
    /// Unit column stride: one copy per row.
    Copy,
    /// Unit row stride (column-major tiles), every column 64-byte aligned, a large array:
    /// non-temporal stores of each column's run of rows.
    StreamCols,
    /// Unit row stride: one copy per column.
    CopyCols,
    /// Anything else: element by element through the strides.
    Strided,
}

/// The destination of one panel: its first element and how to write it.
struct Out<T> {
    /// Element (row 0, column c0) of the panel.
    at: *mut T,
    wp: usize,
    mode: Mode,
}

/// Non-temporal copy of `n` elements (`n * size_of::<T>()` a multiple of 16, `dst` 16-byte
/// aligned).
///
/// # Safety
/// `src` and `dst` must be valid for `n` elements and not overlap.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn stream_copy<T>(src: *const T, dst: *mut T, n: usize) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
    let (src, dst) = (src as *const __m128i, dst as *mut __m128i);
    // SSE2 is part of the x86-64 baseline.
    for q in 0..n * std::mem::size_of::<T>() / 16 {
        _mm_stream_si128(dst.add(q), _mm_loadu_si128(src.add(q)));
    }
}

impl<T: Element> Out<T> {
    fn new(plan: &Plan<'_>, c0: usize, wp: usize) -> Self {
        let size = std::mem::size_of::<T>();
        // SAFETY: column c0 exists, so its row-0 element is inside the view.
        let at = unsafe { (plan.layout.ptr as *mut T).offset(c0 as isize * plan.cs) };
        let stream = cfg!(target_arch = "x86_64")
            && (at as usize).is_multiple_of(64)
            && plan.layout.len * size >= STREAM_MIN_BYTES;
        let mode = if plan.cmajor {
            if stream && (plan.cs * size as isize) % 64 == 0 {
                Mode::StreamCols
            } else {
                Mode::CopyCols
            }
        } else if plan.cs != 1 && wp > 1 {
            Mode::Strided
        } else if stream
            && wp == plan.width
            && (wp * size).is_multiple_of(64)
            && (plan.rs * size as isize) % 64 == 0
        {
            Mode::Stream
        } else {
            Mode::Copy
        };
        Out { at, wp, mode }
    }

    /// Writes `n` rows of a tile (`plan.tile_rows x plan.width`, laid out as `fill_panel`
    /// built it) to rows `r0..r0 + n` of the panel.
    ///
    /// # Safety
    /// The rows must be elements of the plan's view that no other thread writes.
    #[inline(always)]
    unsafe fn write(&self, plan: &Plan<'_>, r0: usize, n: usize, tile: &[T]) {
        let (rs, cs, w, tr) = (plan.rs, plan.cs, plan.width, plan.tile_rows);
        let size = std::mem::size_of::<T>();
        match self.mode {
            Mode::Stream | Mode::Copy => {
                for (i, row) in tile.chunks_exact(w).take(n).enumerate() {
                    let dst = self.at.offset((r0 + i) as isize * rs);
                    #[cfg(target_arch = "x86_64")]
                    if self.mode == Mode::Stream {
                        stream_copy(row.as_ptr(), dst, self.wp);
                        continue;
                    }
                    std::ptr::copy_nonoverlapping(row.as_ptr(), dst, self.wp);
                }
            }
            Mode::StreamCols | Mode::CopyCols => {
                // Whole lines when the run is; the last, partial tile of a column is copied.
                let nt = self.mode == Mode::StreamCols && (n * size).is_multiple_of(64);
                for (ci, col) in tile.chunks_exact(tr).take(self.wp).enumerate() {
                    let dst = self.at.offset(ci as isize * cs + r0 as isize);
                    #[cfg(target_arch = "x86_64")]
                    if nt {
                        stream_copy(col.as_ptr(), dst, n);
                        continue;
                    }
                    let _ = nt;
                    std::ptr::copy_nonoverlapping(col.as_ptr(), dst, n);
                }
            }
            Mode::Strided => {
                for (i, row) in tile.chunks_exact(w).take(n).enumerate() {
                    let dst = self.at.offset((r0 + i) as isize * rs);
                    for (ci, &v) in row[..self.wp].iter().enumerate() {
                        *dst.offset(ci as isize * cs) = v;
                    }
                }
            }
        }
    }

    fn finish(&self) {
        #[cfg(target_arch = "x86_64")]
        if matches!(self.mode, Mode::Stream | Mode::StreamCols) {
            // SAFETY: SSE is part of the x86-64 baseline. Orders the streamed lines before
            // anything the thread does next (the pool's completion signal included).
            unsafe { std::arch::x86_64::_mm_sfence() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(seed: u64, base: u64, col: usize, rows: usize, k: usize) -> Vec<u32> {
        nonzero_rows(&AesCtr::new(seed, MASK_STREAM), base, col, rows, k)
    }

    #[test]
    fn distinct_sorted_and_reproducible() {
        for (rows, k) in [
            (100, 37),
            (100, 63),
            (1, 0),
            (5, 4),
            (64, 1),
            (65, 64),
            (130, 65),
            (7, 0),
        ] {
            let p = rows_of(5, 0, 3, rows, k);
            assert_eq!(p.len(), rows - k, "{rows} {k}");
            assert!(p.windows(2).all(|w| w[0] < w[1]), "{rows} {k}");
            assert!(p.iter().all(|&r| (r as usize) < rows));
            assert_eq!(p, rows_of(5, 0, 3, rows, k));
        }
    }

    /// Floyd's algorithm as written in the paper, with a set of integers. Returns the number
    /// of collisions (steps that took `j`).
    fn floyd_reference(draws: &[u64], rows: usize, bits: &mut [u64]) -> usize {
        let mut set = std::collections::BTreeSet::new();
        let mut collisions = 0;
        for (i, &r) in draws.iter().enumerate() {
            let j = (rows - draws.len() + i) as u64;
            let t = ((r as u128 * (j + 1) as u128) >> 64) as u64;
            if !set.insert(t) {
                assert!(set.insert(j));
                collisions += 1;
            }
        }
        for x in set {
            bits[(x / 64) as usize] |= 1u64 << (x % 64);
        }
        collisions
    }

    #[test]
    fn floyd_matches_a_plain_set() {
        // Small rows and m up to rows make collisions common; large rows make them rare.
        // Draws from a weak generator are fine: any words must agree.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut collisions = 0;
        for case in 0..6_000 {
            let rows = if case % 2 == 0 {
                1 + (next() % 40) as usize
            } else {
                1 + (next() % 5000) as usize
            };
            let m = (next() % (rows as u64 + 1)) as usize;
            let draws: Vec<u64> = (0..m).map(|_| next()).collect();
            let mut a = vec![0u64; rows.div_ceil(64)];
            let mut b = a.clone();
            floyd(&draws, rows, &mut a);
            collisions += floyd_reference(&draws, rows, &mut b);
            assert_eq!(a, b, "rows {rows} m {m}");
            assert_eq!(a.iter().map(|w| w.count_ones() as usize).sum::<usize>(), m);
        }
        assert!(collisions > 20_000, "{collisions}");
    }

    #[test]
    fn columns_and_seeds_differ() {
        let a = rows_of(5, 0, 3, 1000, 500);
        assert_ne!(a, rows_of(5, 0, 4, 1000, 500));
        assert_ne!(a, rows_of(6, 0, 3, 1000, 500));
        assert_ne!(a, rows_of(5, 1, 3, 1000, 500));
        // column c + 1 starts where column c's blocks end
        assert_eq!(rows_of(5, 250, 0, 1000, 500), rows_of(5, 0, 1, 1000, 500));
    }

    #[test]
    fn every_subset_is_equally_likely() {
        // rows = 5, two nonzeros (zeros drawn, complemented) and two zeros (nonzeros drawn):
        // each of the 10 subsets in about 1/10 of the columns.
        for k in [3, 2] {
            let mut count = std::collections::HashMap::new();
            let n = 20_000;
            let rng = AesCtr::new(11, MASK_STREAM);
            for c in 0..n {
                *count
                    .entry(nonzero_rows(&rng, 7, c, 5, k))
                    .or_insert(0usize) += 1;
            }
            assert_eq!(count.len(), 10);
            for &v in count.values() {
                // binomial(20000, 0.1): sd 42
                assert!((v as f64 - 2000.0).abs() < 250.0, "{k}: {count:?}");
            }
        }
    }

    /// The whole fill against the per-column reference: column c's nonzero rows from
    /// `nonzero_rows`, holding values c * nz.. of the normal stream, zeros elsewhere; for
    /// C order, a transposed view and a strided view, three dtypes, rows on both sides of 64,
    /// starts on and off a 64-byte line; through `sparse_` (its own grid), then through forced
    /// grids: panel widths, value bands and tile heights that the defaults reach only on some
    /// shapes and thread counts.
    #[test]
    fn fill_matches_reference() {
        use crate::rng::generator::Generator;
        use crate::sampler::normal::Normal;
        fn check<T: Element>(rows: usize, cols: usize, sparsity: f64, view: &str, skew: usize) {
            let k = zeros_per_column(sparsity, rows).unwrap();
            let nz = rows - k;
            // (row stride, col stride) in elements over a buffer of 2 * rows * cols.
            let (rs, cs) = match view {
                "c" => (cols, 1),
                "t" => (1, rows),
                _ => (2 * cols, 2),
            };
            let item = std::mem::size_of::<T>();
            let mut store = vec![T::from_f64(7.0); 2 * rows * cols + 2 + 64];
            // 64-byte aligned plus `skew` bytes: the grid shifts to keep full panels aligned.
            let skip =
                (store.as_ptr() as usize).next_multiple_of(64) - store.as_ptr() as usize + skew;
            let buf = &mut store[skip / item..];
            let l = Layout::new(
                buf.as_mut_ptr() as *mut u8,
                T::DTYPE,
                &[rows, cols],
                &[(rs * item) as isize, (cs * item) as isize],
                None,
            )
            .unwrap();
            let normal = Normal::new(0.0, 0.5).unwrap();
            let s = Sampler::new(&normal, T::DTYPE, AesCtr::new(42, 0), 1000).unwrap();
            let rng = AesCtr::new(42, MASK_STREAM);
            let mut want = vec![T::default(); rows * cols]; // C order
            let mut vals = vec![T::default(); nz];
            for c in 0..cols {
                let nzr = nonzero_rows(&rng, 1000, c, rows, k);
                assert_eq!(nzr.len(), nz);
                s.fill((c * nz) as u64, &mut vals, &mut Vec::new());
                for (&r, &v) in nzr.iter().zip(&vals) {
                    want[r as usize * cols + c] = v;
                }
            }
            let verify = |buf: &[T], how: &str| {
                for r in 0..rows {
                    for c in 0..cols {
                        let (got, w) = (buf[r * rs + c * cs], want[r * cols + c]);
                        assert!(
                            got.to_f64().to_bits() == w.to_f64().to_bits(),
                            "{rows}x{cols} {sparsity} {view} +{skew} {:?} {how}: ({r}, {c})",
                            T::DTYPE
                        );
                        if view == "s" {
                            // The elements between the view's are untouched.
                            assert_eq!(buf[r * rs + c * cs + 1].to_f64(), 7.0);
                        }
                    }
                }
            };
            let g = Generator::new(42);
            g.set_state(42, 1000);
            crate::init::sparse_(&l, sparsity, 0.5, &g, &mut || false).unwrap();
            let want_blocks = ((rows * cols) as u64)
                .div_ceil(T::DTYPE.per_block())
                .max(cols as u64 * blocks_per_column(rows, k));
            assert_eq!(g.position(), 1000 + want_blocks);
            verify(buf, "default grid");
            let line = 64 / item;
            for (lines, band, tile_rows) in [
                (1, 64, 64),
                (3, 128, 8),
                (16, 192, 32),
                (2, usize::MAX, 16),
                (1, 256, 256),
                (4, 384, 128),
            ] {
                let mut plan = Plan::new(&l, k, rng, 1000, &s);
                let width = if cs == 1 { lines * line } else { lines * 5 };
                plan.width = width;
                plan.shift %= width;
                // A band is a multiple of the tile (or all rows).
                plan.band = if band >= rows { rows.max(1) } else { band };
                plan.tile_rows = tile_rows;
                buf[..2 * rows * cols].fill(T::from_f64(7.0));
                run::<T>(&plan, &mut || false).unwrap();
                verify(buf, &format!("width {width} band {band} tile {tile_rows}"));
            }
        }
        let cases = [
            (1, 1, 0.0),
            (5, 3, 0.5),
            (70, 33, 0.9),
            (130, 17, 0.1),
            (64, 40, 0.5),
            (200, 1, 0.99),
            (300, 90, 0.3),
        ];
        for (rows, cols, sp) in cases {
            for view in ["c", "t", "s"] {
                for skew in [0, 16] {
                    check::<f32>(rows, cols, sp, view, skew);
                    check::<f64>(rows, cols, sp, view, skew);
                    check::<half::bf16>(rows, cols, sp, view, skew);
                }
            }
        }
        // Large enough for the parallel path and (C order) the streaming stores; the tall one
        // draws its values in bands under the default grid.
        const { assert!(1536 * 1400 * 4 >= STREAM_MIN_BYTES) };
        check::<f32>(1536, 1400, 0.9, "c", 0);
        check::<f32>(1536, 1400, 0.9, "c", 16);
        check::<f32>(1536, 1400, 0.3, "t", 0);
        check::<f64>(1200, 1000, 0.6, "c", 8);
        check::<half::f16>(2048, 2048, 0.5, "c", 2);
        check::<f32>(40_000, 20, 0.1, "c", 0);
    }
}
