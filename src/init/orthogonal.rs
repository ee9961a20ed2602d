//! Orthogonal matrices for `torch.nn.init.orthogonal_`, sampled without a QR factorization.
//!
//! torch does (for a `rows x cols` matrix of standard normal samples):
//!
//! ```text
//! A = normal(rows, cols); if rows < cols: A = A^T   # always a tall m x k matrix, m >= k
//! Q, R = torch.linalg.qr(A)                         # thin QR (LAPACK geqrf + orgqr)
//! Q *= sign(diag(R))                                # sign(0) = 0
//! if rows < cols: Q = Q^T
//! W = Q * gain
//! ```
//!
//! # The method (Stewart 1980, "The efficient generation of random orthogonal matrices")
//!
//! Householder QR computes `H_1` from column 1 of `A` and applies it to the rest; since `H_1`
//! is orthogonal and depends on column 1 only, the trailing `(m-1) x (k-1)` block of `H_1 A` is
//! again i.i.d. N(0, 1) and independent of `H_1`. So the vectors `x_j` that LAPACK reflects
//! (column `j` of the partially reduced matrix, rows `j..m`) are independent standard normal
//! vectors of lengths `m - j` (0-based `j`), and `(Q, diag R)` is a function of them alone. We
//! draw the `x_j` directly and never factor anything: the result has exactly torch's
//! distribution (Haar on the Stiefel manifold), with only the Q formation left to compute
//! (LAPACK `orgqr`, about half the flops of `geqrf + orgqr`).
//!
//! Conventions (0-based `j`, `alpha = x_j[0]`, `s = +1` if `alpha >= 0` else `-1`):
//!
//! * `H_j = I - v v^T / tau` acts on rows `j..m`, `v = [1, x_j[1..] / (alpha + s ||x_j||)]`,
//!   `tau = v^T v / 2`; it maps `x_j` to `beta_j e_1` with `beta_j = -s ||x_j||` (LAPACK's
//!   `dlarfg` and faer's `make_householder` choose the same sign). `R[j, j] = beta_j`.
//! * If the tail `x_j[1..]` is empty or zero, `H_j = I` (faer's `tau = inf`) and
//!   `R[j, j] = alpha`. That is always the case for the last column of a square matrix
//!   (`x_{k-1}` has length 1), so there `d = sign(alpha)` rather than `-s`.
//! * `Q = H_0 H_1 ... H_{k-1} [I_k; 0] D`, `D = diag(sign(R[j, j]))` (torch's `sign`:
//!   `sign(0) = 0`, so `R[j, j] = 0`, which needs an all-zero `x_j`, gives a zero column, as
//!   in torch). Then `Q D` is the Q factor with a positive diagonal of R: Haar-distributed.
//!
//! Which normal number is which: `x_j[i - j]` (`i >= j`) is the value that element `(i, j)` of
//! the tall `A` would have had, i.e. the normal sample at C-order index `i * cols + j` of the
//! `rows x cols` matrix (`j * cols + i` when `rows < cols`). Only this lower trapezoid is drawn;
//! the generator still advances by a `normal_` fill of `rows * cols` elements (the caller
//! reserves it).
//!
//! # Memory layout and the Q formation
//!
//! Everything happens in one C-ordered `rows x cols` buffer (the caller's array when it is a
//! contiguous float32/float64 array). Wide (`rows < cols`), it is the column-major `m x k`
//! matrix `A`, then `Q`; tall, it is the column-major `k x m` matrix `A^T`, then `Q^T`. The
//! reflectors `v_j` (with an explicit `v_j[0] = 1`) are written over the lower trapezoid of `A`
//! (the rest zeroed) and Q is then formed in place, LAPACK `orgqr` style (tall: `orglq`, the
//! transposed steps, so the big products always read the buffer column-major): blocks of `bs`
//! reflectors, backwards; each block, as one block reflector `I - V T^{-1} V^T` (faer's
//! convention for `T`), is applied only to the part of Q that is not still identity/zero, then
//! forms its own columns from `[D; 0]` (so the sign fix costs nothing). See [`form_q`].
//!
//! Scratch, besides the buffer: `T`, `X` (`bs x bs`), `V^T [V | C]` (`bs x (bs + k)`), and
//! either `OWN_ROWS x bs` (wide) or a transposed copy of the block's reflectors (`m x bs`,
//! tall), plus faer's gemm packing buffers. Block size (`bs`, shape-only, see `block_size`):
//! 32 below `SEQ_BELOW` elements (run on the calling thread), 128 for `k < 2048`, 256 above;
//! chosen on the 2-core AVX2 EPYC this was developed on (sequential: 32/64 beat 128/256; at
//! 2048^2 128 and 256 tie, at 4096^2 256 beats 128, 320 and 384).
//!
//! # Determinism
//!
//! Results are bitwise identical regardless of the rayon pool size (`RAYON_NUM_THREADS`):
//!
//! * Our own passes are either element-wise or reduce in an order fixed by the shape: the
//!   column sums of squares of a row-major `A` are accumulated over `row_groups` groups of
//!   rows (a count that depends on `m` only), each group in row order, groups added in order.
//!   The block step's products are cut into `TASKS` fixed ranges, whatever the pool size.
//! * faer's parallel kernels split work according to the *degree* stored in `Par::Rayon(n)`,
//!   not according to the pool that happens to run them. Some of those splits *do* change the
//!   floating-point reduction order (e.g. the column-major matrix-vector product splits the
//!   inner dimension into `n` partial sums that are added afterwards), so `Par::rayon(0)`
//!   (= `rayon::current_num_threads()`) would make the bits depend on the machine's core count.
//!   We therefore always pass the fixed degree [`PAR_DEGREE`]; the pool only decides *who*
//!   executes the fixed set of jobs (spindle caps the number of workers at the pool size).
//! * All size-dependent decisions (block size, blocking/parallel thresholds, gemm `kc = 512`,
//!   nano-gemm vs. gemm cut-off) depend only on the matrix shape.
//!
//! `test_determinism_across_pools` checks pools of 1, 2, 3 and 16 threads bitwise.
//!
//! SIMD / cross-machine note: bits are *not* guaranteed to be identical across different CPUs.
//! * Our own passes are plain scalar-semantics loops (no fused multiply-add chosen by the
//!   compiler), the same bits everywhere.
//! * faer's own kernels (dot products, rank updates) dispatch through `pulp`. Without
//!   faer's `nightly` feature (which we do not enable) pulp on x86-64 tops out at its `V3`
//!   level (AVX2 + FMA), so every x86-64-v3 machine — including AVX-512 ones — runs the same
//!   V3 code for these kernels; only pre-AVX2 machines fall back to scalar code.
//! * Large matrix products go to `private-gemm-x86`, and faer (0.24.4) picks its instruction set
//!   at run time with `is_x86_feature_detected!("avx512f")`, falling back to AVX2+FMA. There is
//!   no public faer API (feature flag, env var or setter) to pin that choice, so AVX-512 and
//!   AVX2-only machines run different micro-kernels. The k-blocking is fixed (`kc = 512`)
//!   and independent of cache sizes, but we do not rely on the micro-kernels' accumulation
//!   order being identical, so bitwise reproducibility is only promised between machines
//!   with the same SIMD level (AVX2-only vs. AVX-512), not across them.

use crate::buffer::element::Element;
use crate::error::{Error, Result};
use crate::init::fill::Poll;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Fixed parallelism degree handed to faer. It must NOT depend on the machine (see the module
/// docs); the rayon pool decides how many threads actually execute the jobs.
pub const PAR_DEGREE: usize = 16;

/// Parallel tasks of a block step (see [`form_q`]): a fixed split, whatever the pool size.
const TASKS: usize = 2;

/// Below this many elements (`m * k`) the Q formation runs on the calling thread.
const SEQ_BELOW: usize = 1 << 16;

/// Rows per chunk of the in-place formation of a block's own columns (wide case).
const OWN_ROWS: usize = 512;

/// Below this many elements the preparation passes run on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// How often the calling thread polls for Ctrl-C between blocks of the Q formation.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Element types supported by the kernel: float32 and float64.
pub trait Elem: Element + faer::traits::RealField + Copy + Send + Sync {
    const ZERO: Self;
    const INFINITY: Self;
    /// `torch.sign` (CPU): -1, 0 or +1; +-0 and NaN map to +0.
    fn sign(self) -> Self;
}

macro_rules! impl_elem {
    ($t:ty) => {
        impl Elem for $t {
            const ZERO: Self = 0.0;
            const INFINITY: Self = <$t>::INFINITY;
            #[inline]
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    // torch.sign(-0.0) == torch.sign(nan) == 0.0 (checked against torch 2.13).
                    0.0
                }
            }
        }
    };
}
impl_elem!(f32);
impl_elem!(f64);

/// Writes the standard normal values at C-order indices `first..first + out.len()` of the
/// `rows x cols` matrix.
pub type Draw<'a, T> = &'a (dyn Fn(u64, &mut [T]) + Sync);

/// Fills the C-ordered `rows x cols` buffer with torch's `Q * sign(diag(R))` (without the
/// gain), drawing the Householder vectors from `draw` (see the module docs). Checks `poll`
/// between blocks of the Q formation; on `Err(Interrupted)` the buffer holds partial results.
pub fn orthogonalize<T: Elem>(
    buf: &mut [T],
    rows: usize,
    cols: usize,
    draw: Draw<'_, T>,
    poll: Poll<'_>,
) -> Result<()> {
    assert_eq!(
        buf.len(),
        rows.checked_mul(cols).expect("rows * cols overflows"),
        "orthogonalize: buffer length must be rows * cols"
    );
    if buf.is_empty() {
        return Ok(());
    }
    let wide = rows < cols;
    let (m, k) = if wide { (cols, rows) } else { (rows, cols) };
    let refl = if wide {
        prepare_col_major(buf, m, k, draw)
    } else {
        prepare_row_major(buf, m, k, draw)
    };
    form_q(buf, m, k, wide, &refl, block_size(m, k), poll)
}

/// The block size for an `m x k` problem (shape-only: part of the determinism contract; see
/// the module docs for how it was chosen).
fn block_size(m: usize, k: usize) -> usize {
    let b = if m * k < SEQ_BELOW {
        32
    } else if k < 2048 {
        128
    } else {
        256
    };
    b.min(k).max(1)
}

/// One Householder reflector, as the Q formation needs it.
struct Reflector<T> {
    /// `v^T v / 2`, or infinity for the identity.
    tau: T,
    /// `sign(R[j, j])`: column j's factor in `D`.
    d: T,
}

/// The reflector for `x = [alpha, tail]` with `tail_sumsq = ||tail||^2`: returns
/// `(1 / (alpha - beta), beta, tau)`; `tau = inf` (and factor 0) when the tail is zero.
fn reflector(alpha: f64, tail_sumsq: f64) -> (f64, f64, f64) {
    if tail_sumsq <= 0.0 {
        // H = I and R[j, j] = alpha (LAPACK's tau = 0, faer's tau = inf).
        return (0.0, alpha, f64::INFINITY);
    }
    let norm = (alpha * alpha + tail_sumsq).sqrt();
    let s = if alpha >= 0.0 { 1.0 } else { -1.0 };
    let u0 = alpha + s * norm; // |u0| = |alpha| + norm: no cancellation
    let f = 1.0 / u0;
    (f, -s * norm, 0.5 * (1.0 + tail_sumsq * f * f))
}

fn make_reflector<T: Elem>(alpha: T, tail_sumsq: f64) -> (f64, Reflector<T>) {
    let (f, beta, tau) = reflector(alpha.to_f64(), tail_sumsq);
    let r = Reflector {
        tau: <T as Element>::from_f64(tau),
        d: <T as Element>::from_f64(beta).sign(),
    };
    (f, r)
}

/// `sum(x^2)` in float64, in a fixed order (8 interleaved partial sums, then added in order).
fn sumsq<T: Elem>(x: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            let v = c[l].to_f64();
            acc[l] += v * v;
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        let v = v.to_f64();
        acc[l] += v * v;
    }
    let mut s = 0.0;
    for a in acc {
        s += a;
    }
    s
}

/// `x *= f`, the product taken in float64 and rounded once.
fn scale<T: Elem>(x: &mut [T], f: f64) {
    for v in x {
        *v = <T as Element>::from_f64(v.to_f64() * f);
    }
}

/// Wide case: the buffer is the column-major `m x k` A; column j is the contiguous `buf[j*m..]`.
/// Draws `x_j` into rows `j..m` of column j, turns it into the reflector `v_j` (an explicit 1
/// on the diagonal) and zeroes the rows above the diagonal.
fn prepare_col_major<T: Elem>(
    buf: &mut [T],
    m: usize,
    k: usize,
    draw: Draw<'_, T>,
) -> Vec<Reflector<T>> {
    let one = |(j, col): (usize, &mut [T])| {
        let (upper, lower) = col.split_at_mut(j);
        upper.fill(T::ZERO);
        draw((j * m + j) as u64, lower);
        let (head, tail) = lower.split_at_mut(1);
        let (f, r) = make_reflector(head[0], sumsq(tail));
        scale(tail, f);
        head[0] = T::one_impl(); // v[0] = 1, explicit
        r
    };
    if m * k < PAR_MIN {
        buf.chunks_mut(m).enumerate().map(one).collect()
    } else {
        buf.par_chunks_mut(m).enumerate().map(one).collect()
    }
}

/// The groups of rows whose partial column sums are added in order: a count that depends on
/// `m` only (never on the pool), at most 64 so the partial sums stay `O(64 k)`.
fn row_groups(m: usize) -> Vec<std::ops::Range<usize>> {
    let g = m.div_ceil(64).clamp(1, 64);
    (0..g).map(|i| i * m / g..(i + 1) * m / g).collect()
}

/// Tall case: the buffer is the row-major `m x k` A; row i is `buf[i*k..(i+1)*k]`. Same result
/// as [`prepare_col_major`] would give on the transposed storage: the column sums of squares
/// are accumulated over row groups (see [`row_groups`]), then each row is scaled.
fn prepare_row_major<T: Elem>(
    buf: &mut [T],
    m: usize,
    k: usize,
    draw: Draw<'_, T>,
) -> Vec<Reflector<T>> {
    let par = m * k >= PAR_MIN;
    // Pass 1: draw the lower trapezoid, zero the rest, column sums of squares below the
    // diagonal (row i contributes to columns j < i).
    let groups = row_groups(m);
    let mut parts: Vec<(usize, &mut [T])> = Vec::with_capacity(groups.len());
    let mut rest = &mut *buf;
    for r in &groups {
        let (a, b) = rest.split_at_mut(r.len() * k);
        parts.push((r.start, a));
        rest = b;
    }
    let group = |(start, part): (usize, &mut [T])| -> Vec<f64> {
        let ncols = (start + part.len() / k).min(k);
        let mut acc = vec![0.0f64; ncols];
        for (r, row) in part.chunks_mut(k).enumerate() {
            let i = start + r;
            let (lower, upper) = row.split_at_mut((i + 1).min(k));
            draw((i * k) as u64, lower);
            upper.fill(T::ZERO);
            for (a, &v) in acc.iter_mut().zip(&lower[..i.min(k)]) {
                let v = v.to_f64();
                *a += v * v;
            }
        }
        acc
    };
    let sums: Vec<Vec<f64>> = if par {
        parts.into_par_iter().map(group).collect()
    } else {
        parts.into_iter().map(group).collect()
    };
    let mut ss = vec![0.0f64; k];
    for s in &sums {
        for (a, &b) in ss.iter_mut().zip(s) {
            *a += b;
        }
    }
    // The reflectors; then pass 2 scales the sub-diagonal part of every column.
    let mut factors = vec![0.0f64; k];
    let refl: Vec<Reflector<T>> = (0..k)
        .map(|j| {
            let (f, r) = make_reflector(buf[j * k + j], ss[j]);
            factors[j] = f;
            r
        })
        .collect();
    let row = |(i, row): (usize, &mut [T])| {
        let n = i.min(k);
        for (v, &f) in row[..n].iter_mut().zip(&factors[..n]) {
            *v = <T as Element>::from_f64(v.to_f64() * f);
        }
        if i < k {
            row[i] = T::one_impl(); // v[0] = 1, explicit
        }
    };
    if par {
        buf.par_chunks_mut(k).enumerate().for_each(row);
    } else {
        buf.chunks_mut(k).enumerate().for_each(row);
    }
    refl
}

/// Forms `Q D` in place from the reflectors in `buf` (see [`prepare_col_major`] and
/// [`prepare_row_major`]), blocks of `bs` reflectors backwards, polling between blocks.
///
/// Wide: `buf` is the column-major `m x k` matrix A (reflectors below the diagonal), formed
/// into Q. Tall: `buf` is the column-major `k x m` matrix `B = A^T` (reflectors right of the
/// diagonal, LAPACK's LQ storage), formed into `Q^T` by the transposed steps, so that every
/// product reads its big operand column-major (faer's own block-Householder routines apply from
/// the left only; on the row-major view of a column-major `Q^T` they read it across columns).
///
/// Block `[j0, j1)`, `b = j1 - j0`, `V` its reflectors (rows j0.., unit lower trapezoidal,
/// stored explicitly: ones on the diagonal, zeros above), `H = I - V T^{-1} V^T` the product
/// of its reflectors (`diag(T) = tau`, strict upper part of `T` = that of `V^T V`, faer's
/// convention). The already formed columns j1.. of Q are zero in rows ..j1, so `H` is applied
/// to `C = Q[j0.., j1..]` only: `R = V^T [V | C]` (one product gives both `V^T V` for `T`
/// and `V^T C`), then `C -= V (T^{-1} R_C)`. Then the block's own columns are
/// `H [D_block; 0] = [D_block; 0] - V X` with `X = T^{-1} V_top^T D_block`.
/// The products are cut into [`TASKS`] column (tall: row) ranges run in parallel, each with
/// faer's parallelism `PAR_DEGREE / TASKS`: a fixed split, so the bits do not depend on it
/// being run by 1 or 16 threads.
fn form_q<T: Elem>(
    buf: &mut [T],
    m: usize,
    k: usize,
    wide: bool,
    refl: &[Reflector<T>],
    bs: usize,
    poll: Poll<'_>,
) -> Result<()> {
    // Small problems run on the calling thread (waking the pool costs more than it saves).
    let small = m * k < SEQ_BELOW;
    let tasks = if small { 1 } else { TASKS };
    let par = if small { Par::Seq } else { inner_par(tasks) };
    let full = if small {
        Par::Seq
    } else {
        Par::rayon(PAR_DEGREE)
    };
    // Scratch, all O(bs * max(m, k)): T and X (bs x bs), R (bs x (bs + k), tall: its
    // transpose), and (tall) a transposed copy of the block's reflectors V (m x bs) or (wide)
    // a chunk of the block's own columns (OWN_ROWS x bs).
    let mut v = Mat::<T>::zeros(if wide { 0 } else { m }, bs);
    let mut scratch = Mat::<T>::zeros(if wide { OWN_ROWS } else { 0 }, bs);
    let mut r = if wide {
        Mat::<T>::zeros(bs, bs + k)
    } else {
        Mat::<T>::zeros(bs + k, bs)
    };
    let mut t = Mat::<T>::zeros(bs, bs);
    let mut x = Mat::<T>::zeros(bs, bs);
    let mut w = if wide {
        MatMut::from_column_major_slice_mut(buf, m, k)
    } else {
        MatMut::from_column_major_slice_mut(buf, k, m)
    };
    let mut last = Instant::now();
    let mut j1 = k;
    let mut cur = match k % bs {
        0 => bs,
        r => r,
    };
    while j1 > 0 {
        if last.elapsed() >= POLL_EVERY {
            if poll() {
                return Err(Error::Interrupted);
            }
            last = Instant::now();
        }
        let j0 = j1 - cur;
        let b = cur;
        let refl = &refl[j0..j1];
        let mut tb = t.get_mut(..b, ..b);
        let mut xb = x.get_mut(..b, ..b);
        if wide {
            // [V | C] = w[j0.., j0..]; R = V^T [V | C].
            let mut rb = r.get_mut(..b, ..b + k - j1);
            {
                let vc = w.rb().get(j0.., j0..);
                let vt = vc.get(.., ..b).transpose();
                split_cols(rb.rb_mut(), vc, tasks, |mut r, vc| {
                    faer::linalg::matmul::matmul(
                        r.rb_mut(),
                        Accum::Replace,
                        vt,
                        vc,
                        T::one_impl(),
                        par,
                    )
                });
            }
            let (left, right) = w.rb_mut().split_at_col_mut(j1);
            let (mut above, mut vblk) = left.split_at_row_mut(j0);
            let mut vblk = vblk.rb_mut().get_mut(.., j0..); // V, then the block's columns
            factors(
                tb.rb_mut(),
                xb.rb_mut(),
                rb.rb().get(.., ..b),
                vblk.rb(),
                refl,
                par,
            );
            // C -= V T^{-1} R_C
            if j1 < k {
                let rc = rb.rb_mut().get_mut(.., b..);
                let (tb, v_) = (tb.rb(), vblk.rb());
                split_cols2(right.get_mut(j0.., ..), rc, tasks, |c, mut rc| {
                    faer::linalg::triangular_solve::solve_upper_triangular_in_place(
                        tb,
                        rc.rb_mut(),
                        par,
                    );
                    faer::linalg::matmul::matmul(c, Accum::Add, v_, rc.rb(), minus_one(), par);
                });
            }
            // Columns j0..j1: zero above row j0, then [D; 0] - V X, in place by chunks of
            // rows (row i of the result needs row i of V only).
            above.rb_mut().get_mut(.., j0..).fill(T::ZERO);
            let mut i0 = 0;
            while i0 < m - j0 {
                let i1 = (i0 + OWN_ROWS).min(m - j0);
                let mut tmp = scratch.get_mut(..i1 - i0, ..b);
                let mut rows = vblk.rb_mut().get_mut(i0..i1, ..);
                faer::linalg::matmul::matmul(
                    tmp.rb_mut(),
                    Accum::Replace,
                    rows.rb(),
                    xb.rb(),
                    minus_one(),
                    full,
                );
                rows.copy_from(tmp.rb());
                for (c, r) in refl.iter().enumerate() {
                    if (i0..i1).contains(&c) {
                        rows[(c - i0, c)] += r.d;
                    }
                }
                i0 = i1;
            }
        } else {
            // The same, transposed: [V^T; F] = w[j0.., j0..] (F = rows j1.. of Q^T);
            // R = [V^T; F] V.
            let mut rb = r.get_mut(..b + k - j1, ..b);
            let mut vb = v.get_mut(..m - j0, ..b);
            {
                let vf = w.rb().get(j0.., j0..);
                transpose_into(vb.rb_mut(), vf.get(..b, ..));
                let v_ = vb.rb();
                split_rows(rb.rb_mut(), vf, tasks, |mut r, vf| {
                    faer::linalg::matmul::matmul(
                        r.rb_mut(),
                        Accum::Replace,
                        vf,
                        v_,
                        T::one_impl(),
                        par,
                    )
                });
            }
            factors(
                tb.rb_mut(),
                xb.rb_mut(),
                rb.rb().get(..b, ..),
                vb.rb(),
                refl,
                par,
            );
            // F -= (R_F T^{-T}) V^T
            let (top, bottom) = w.rb_mut().split_at_row_mut(j1);
            if j1 < k {
                let rf = rb.rb_mut().get_mut(b.., ..);
                let vt = top.rb().get(j0.., j0..);
                let tb = tb.rb();
                split_rows2(bottom.get_mut(.., j0..), rf, tasks, |f, mut rf| {
                    faer::linalg::triangular_solve::solve_upper_triangular_in_place(
                        tb,
                        rf.rb_mut().transpose_mut(),
                        par,
                    );
                    faer::linalg::matmul::matmul(f, Accum::Add, rf.rb(), vt, minus_one(), par);
                });
            }
            // Rows j0..j1 of Q^T: zero left of column j0, then [D 0] - X^T V^T.
            let (mut before, mut blk) = top.get_mut(j0.., ..).split_at_col_mut(j0);
            before.fill(T::ZERO);
            blk.fill(T::ZERO);
            for (c, r) in refl.iter().enumerate() {
                blk[(c, c)] = r.d;
            }
            faer::linalg::matmul::matmul(
                blk,
                Accum::Add,
                xb.rb().transpose(),
                vb.rb().transpose(),
                minus_one(),
                full,
            );
        }
        j1 = j0;
        cur = bs;
    }
    Ok(())
}

/// `dst = src^T` in 32 x 32 tiles (faer's `copy_from` of a transposed view goes element by
/// element across memory, an order of magnitude slower).
fn transpose_into<T: Elem>(dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let (r, c) = src.shape();
    assert!(dst.nrows() == c && dst.ncols() == r);
    const TILE: usize = 32;
    let (sp, srs, scs) = (src.as_ptr(), src.row_stride(), src.col_stride());
    let (dp, drs, dcs) = (dst.as_ptr_mut(), dst.row_stride(), dst.col_stride());
    for c0 in (0..c).step_by(TILE) {
        for r0 in (0..r).step_by(TILE) {
            for j in c0..(c0 + TILE).min(c) {
                for i in r0..(r0 + TILE).min(r) {
                    // SAFETY: i < r and j < c index both views in bounds.
                    unsafe {
                        *dp.offset(j as isize * drs + i as isize * dcs) =
                            *sp.offset(i as isize * srs + j as isize * scs);
                    }
                }
            }
        }
    }
}

fn minus_one<T: Elem>() -> T {
    T::zero_impl() - T::one_impl()
}

/// `T` (`diag = tau`, strict upper part that of `V^T V`, given as `vtv`) and
/// `X = T^{-1} V_top^T D` (upper triangular): `H [D; 0] = [D; 0] - V X`, since
/// `V^T [D; 0] = V_top^T D` (`V_top`, the top `b x b` of `V`, is unit lower triangular).
/// Knowing that the block's own columns start as `[D; 0]` saves the product with zero rows.
fn factors<T: Elem>(
    mut t: MatMut<'_, T>,
    mut x: MatMut<'_, T>,
    vtv: MatRef<'_, T>,
    v: MatRef<'_, T>,
    refl: &[Reflector<T>],
    par: Par,
) {
    let b = t.nrows();
    for c in 0..b {
        for r in 0..b {
            t[(r, c)] = if r < c {
                vtv[(r, c)]
            } else if r == c {
                refl[c].tau
            } else {
                T::ZERO
            };
            x[(r, c)] = if r <= c {
                v[(c, r)] * refl[c].d
            } else {
                T::ZERO
            };
        }
    }
    faer::linalg::triangular_solve::solve_upper_triangular_in_place(t.rb(), x.rb_mut(), par);
}

/// faer's parallelism inside each of `tasks` tasks.
fn inner_par(tasks: usize) -> Par {
    if PAR_DEGREE >= 2 * tasks {
        Par::rayon(PAR_DEGREE / tasks)
    } else {
        Par::Seq
    }
}

/// `f(dst_part, src_part)` on `tasks` matching column ranges, in parallel.
fn split_cols<T: Elem>(
    dst: MatMut<'_, T>,
    src: MatRef<'_, T>,
    tasks: usize,
    f: impl Fn(MatMut<'_, T>, MatRef<'_, T>) + Sync,
) {
    let n = tasks.min(dst.ncols()).max(1);
    if n == 1 {
        return f(dst, src);
    }
    dst.par_col_partition_mut(n)
        .zip(src.par_col_partition(n))
        .for_each(|(d, s)| f(d, s));
}

/// `f(a_part, b_part)` on `tasks` matching column ranges of two mutable matrices.
fn split_cols2<T: Elem>(
    a: MatMut<'_, T>,
    b: MatMut<'_, T>,
    tasks: usize,
    f: impl Fn(MatMut<'_, T>, MatMut<'_, T>) + Sync,
) {
    let n = tasks.min(a.ncols()).max(1);
    if n == 1 {
        return f(a, b);
    }
    a.par_col_partition_mut(n)
        .zip(b.par_col_partition_mut(n))
        .for_each(|(a, b)| f(a, b));
}

/// [`split_cols`] on matching row ranges (the column split of the transposes).
fn split_rows<T: Elem>(
    dst: MatMut<'_, T>,
    src: MatRef<'_, T>,
    tasks: usize,
    f: impl Fn(MatMut<'_, T>, MatRef<'_, T>) + Sync,
) {
    split_cols(dst.transpose_mut(), src.transpose(), tasks, |d, s| {
        f(d.transpose_mut(), s.transpose())
    })
}

/// [`split_cols2`] on matching row ranges (the column split of the transposes).
fn split_rows2<T: Elem>(
    a: MatMut<'_, T>,
    b: MatMut<'_, T>,
    tasks: usize,
    f: impl Fn(MatMut<'_, T>, MatMut<'_, T>) + Sync,
) {
    split_cols2(a.transpose_mut(), b.transpose_mut(), tasks, |a, b| {
        f(a.transpose_mut(), b.transpose_mut())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic standard-normal generator (splitmix64 + Box-Muller).
    pub(super) fn normals(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..len)
            .map(|_| {
                let (u1, u2) = (next(), next());
                (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    /// Runs the kernel with draws taken from `a` (the C-order `rows x cols` normal matrix).
    fn run<T: Elem>(a: &[f64], rows: usize, cols: usize) -> Vec<T> {
        let src: Vec<T> = a.iter().map(|&x| <T as Element>::from_f64(x)).collect();
        let draw = |first: u64, out: &mut [T]| {
            let f = first as usize;
            out.copy_from_slice(&src[f..f + out.len()]);
        };
        // Garbage everywhere: the kernel must not read anything it did not write.
        let mut buf = vec![<T as Element>::from_f64(f64::NAN); rows * cols];
        orthogonalize(&mut buf, rows, cols, &draw, &mut || false).unwrap();
        buf
    }

    fn run64(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        run::<f64>(a, rows, cols)
    }

    fn run32(a: &[f64], rows: usize, cols: usize) -> Vec<f32> {
        run::<f32>(a, rows, cols)
    }

    /// max |Q Q^T - I| or |Q^T Q - I| (whichever is the small Gram matrix) in f64.
    fn ortho_err(q: &[f64], rows: usize, cols: usize) -> f64 {
        let mut err = 0.0f64;
        let (n, get): (usize, Box<dyn Fn(usize, usize) -> f64>) = if rows >= cols {
            (cols, Box::new(|i, r| q[r * cols + i]))
        } else {
            (rows, Box::new(|i, c| q[i * cols + c]))
        };
        let len = rows.max(cols);
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..len).map(|r| get(i, r) * get(j, r)).sum();
                let e = if i == j { 1.0 } else { 0.0 };
                err = err.max((s - e).abs());
            }
        }
        err
    }

    const SHAPES: &[(usize, usize)] = &[
        (300, 100),
        (100, 300),
        (257, 257),
        (1, 5),
        (5, 1),
        (1, 1),
        (2, 2),
        (64, 64),
        (65, 64),
        (130, 129),
        (129, 130),
        (1000, 3),
        (3, 1000),
    ];

    #[test]
    fn test_orthonormal_f64() {
        for (s, &(r, c)) in SHAPES.iter().enumerate() {
            let a = normals(r * c, s as u64 + 1);
            let e = ortho_err(&run64(&a, r, c), r, c);
            assert!(e <= 1e-12, "f64 {r}x{c}: err {e:e}");
        }
    }

    #[test]
    fn test_orthonormal_f32() {
        for (s, &(r, c)) in SHAPES.iter().enumerate() {
            let a = normals(r * c, s as u64 + 100);
            let q: Vec<f64> = run32(&a, r, c).iter().map(|&x| x as f64).collect();
            let e = ortho_err(&q, r, c);
            assert!(e <= 1e-5, "f32 {r}x{c}: err {e:e}");
        }
    }

    /// Plain dense f64 reference, independent of the kernel's code: the tall A's lower
    /// trapezoid gives the vectors x_j; H_j = I - 2 u u^T / u^T u with u = x + s ||x|| e_1
    /// (identity for a length-1 x_j); R[j, j] = -s ||x_j|| (x_j[0] for length 1). Returns
    /// (Q_thin = H_0 ... H_{k-1} [I; 0] as m x k rows, diag R), in the tall orientation.
    fn householder_product(a: &[f64], rows: usize, cols: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let wide = rows < cols;
        let (m, k) = if wide { (cols, rows) } else { (rows, cols) };
        let get = |i: usize, j: usize| {
            if wide {
                a[j * cols + i]
            } else {
                a[i * cols + j]
            }
        };
        let mut q: Vec<Vec<f64>> = (0..m)
            .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        let mut diag = vec![0.0; k];
        let mut us = vec![];
        for j in 0..k {
            let x: Vec<f64> = (j..m).map(|i| get(i, j)).collect();
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            if x.len() == 1 {
                diag[j] = x[0];
                us.push(None);
                continue;
            }
            let s = if x[0] >= 0.0 { 1.0 } else { -1.0 };
            diag[j] = -s * norm;
            let mut u = x.clone();
            u[0] += s * norm;
            us.push(Some(u));
        }
        for j in (0..k).rev() {
            if let Some(u) = &us[j] {
                let uu: f64 = u.iter().map(|v| v * v).sum();
                for c in 0..k {
                    let d: f64 = (j..m).map(|i| u[i - j] * q[i][c]).sum();
                    for i in j..m {
                        q[i][c] -= 2.0 * d / uu * u[i - j];
                    }
                }
            }
        }
        (q, diag)
    }

    /// Modified Gram-Schmidt in f64 on the columns of the tall m x k matrix `t`: the Q with
    /// positive diag(R), which is exactly torch's `Q * sign(diag(R))`.
    fn gram_schmidt(t: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let (m, k) = (t.len(), t[0].len());
        let mut qc: Vec<Vec<f64>> = (0..k).map(|j| (0..m).map(|i| t[i][j]).collect()).collect();
        for j in 0..k {
            let (done, rest) = qc.split_at_mut(j);
            let v = &mut rest[0];
            for u in done.iter() {
                let d: f64 = u.iter().zip(v.iter()).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(u).for_each(|(x, y)| *x -= d * y);
            }
            let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= nrm);
        }
        (0..m).map(|i| (0..k).map(|j| qc[j][i]).collect()).collect()
    }

    /// Back to the caller's C-ordered `rows x cols` orientation.
    fn untall(t: &[Vec<f64>], rows: usize, cols: usize) -> Vec<f64> {
        let wide = rows < cols;
        let mut out = vec![0.0; rows * cols];
        for (i, row) in t.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if wide {
                    out[j * cols + i] = v;
                } else {
                    out[i * cols + j] = v;
                }
            }
        }
        out
    }

    /// The sign conventions, against torch's definition: build B = (H_0 ... H_{k-1} [I; 0]) R
    /// with diag(R) = the betas and a random strict upper part, so B's Householder QR uses
    /// exactly these reflectors; torch's `Q * sign(diag R)` of B is the Gram-Schmidt Q of B,
    /// and the kernel must return it.
    #[test]
    fn test_sign_convention_vs_qr_of_householder_product() {
        let shapes = [
            (7, 4),
            (4, 7),
            (6, 6),
            (1, 5),
            (5, 1),
            (1, 1),
            (2, 2),
            (40, 40),
            (90, 70),
        ];
        for &(r, c) in &shapes {
            let a = normals(r * c, (r * 31 + c) as u64);
            let (qt, diag) = householder_product(&a, r, c);
            let (m, k) = (qt.len(), qt[0].len());
            let upper = normals(k * k, 99);
            let b: Vec<Vec<f64>> = (0..m)
                .map(|i| {
                    (0..k)
                        .map(|j| {
                            (0..=j)
                                .map(|l| qt[i][l] * if l == j { diag[j] } else { upper[l * k + j] })
                                .sum()
                        })
                        .collect()
                })
                .collect();
            let want = untall(&gram_schmidt(&b), r, c);
            // and without Gram-Schmidt: Q_thin * sign(diag R) directly
            let direct: Vec<Vec<f64>> = qt
                .iter()
                .map(|row| row.iter().zip(&diag).map(|(q, d)| q * d.signum()).collect())
                .collect();
            let direct = untall(&direct, r, c);

            let got = run64(&a, r, c);
            let e = got
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(e <= 1e-9, "f64 {r}x{c}: max diff to QR {e:e}");
            let e = got
                .iter()
                .zip(&direct)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(e <= 1e-12, "f64 {r}x{c}: max diff to H_0..H_k-1 D {e:e}");

            let a32: Vec<f64> = a.iter().map(|&x| x as f32 as f64).collect();
            let (qt32, diag32) = householder_product(&a32, r, c);
            let direct32: Vec<Vec<f64>> = qt32
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&diag32)
                        .map(|(q, d)| q * d.signum())
                        .collect()
                })
                .collect();
            let direct32 = untall(&direct32, r, c);
            let got = run32(&a, r, c);
            let e = got
                .iter()
                .zip(&direct32)
                .map(|(&x, y)| (x as f64 - y).abs())
                .fold(0.0, f64::max);
            assert!(e <= 1e-5, "f32 {r}x{c}: max diff {e:e}");
        }
    }

    #[test]
    fn test_known_small_cases() {
        // 1x1: sign(x).
        assert_eq!(run64(&[-0.3], 1, 1), vec![-1.0]);
        assert_eq!(run64(&[2.0], 1, 1), vec![1.0]);
        // 1x3 row -> the normalized row (positive R means the same direction).
        let got = run64(&[-3.0, 0.0, 4.0], 1, 3);
        for (x, y) in got.iter().zip([-0.6, 0.0, 0.8]) {
            assert!((x - y).abs() < 1e-15, "{got:?}");
        }
        // 2x2 with A = [[3, 9], [4, 9]]: x_0 = [3, 4], beta_0 = -5, H_0 = [[-0.6, -0.8],
        // [-0.8, 0.6]] -> Q[:, 0] = H_0 e_0 * sign(-5) = [0.6, 0.8]; x_1 = [A(1, 1)] = [9]
        // (A(0, 1) is never used), H_1 = I, R[1, 1] = 9 -> Q[:, 1] = H_0 e_1 = [-0.8, 0.6].
        let got = run64(&[3.0, 9.0, 4.0, 9.0], 2, 2);
        for (x, y) in got.iter().zip([0.6, -0.8, 0.8, 0.6]) {
            assert!((x - y).abs() < 1e-15, "{got:?}");
        }
        // The same with x_1 = [-9]: R[1, 1] = -9, the second column flips.
        let got = run64(&[3.0, 9.0, 4.0, -9.0], 2, 2);
        for (x, y) in got.iter().zip([0.6, 0.8, 0.8, -0.6]) {
            assert!((x - y).abs() < 1e-15, "{got:?}");
        }
    }

    #[test]
    fn test_zero_vector_gives_zero_column() {
        // x_0 = 0 -> R[0, 0] = 0 -> torch's sign gives 0 -> column 0 is 0 (as torch does for
        // an exactly zero first column); column 1 is H_0 e_1 * sign(x_1) with H_0 = I.
        let got = run64(&[0.0, 5.0, 0.0, 2.0, 0.0, 3.0], 3, 2);
        let s13 = 13f64.sqrt();
        // x_1 = [2, 3] (rows 1.. of column 1); column 1 of Q = [0, 2, 3] / sqrt(13).
        let want = [0.0, 0.0, 0.0, 2.0 / s13, 0.0, 3.0 / s13];
        for (x, y) in got.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{got:?}");
        }
    }

    #[test]
    fn test_only_lower_trapezoid_is_drawn() {
        // The values above the diagonal of the tall A never matter.
        for &(r, c) in &[(9, 5), (5, 9), (7, 7)] {
            let a = normals(r * c, 5);
            let mut b = a.clone();
            let wide = r < c;
            for i in 0..r {
                for j in 0..c {
                    let (ti, tj) = if wide { (j, i) } else { (i, j) };
                    if tj > ti {
                        b[i * c + j] = 1e30;
                    }
                }
            }
            assert_eq!(run64(&a, r, c), run64(&b, r, c));
        }
    }

    #[test]
    fn test_empty() {
        let mut a: Vec<f32> = vec![];
        let draw = |_: u64, _: &mut [f32]| unreachable!();
        orthogonalize(&mut a, 0, 5, &draw, &mut || false).unwrap();
        orthogonalize(&mut a, 5, 0, &draw, &mut || false).unwrap();
    }

    #[test]
    fn test_interrupt() {
        let (r, c) = (600, 600);
        let a = normals(r * c, 3);
        let draw = |first: u64, out: &mut [f64]| {
            let f = first as usize;
            out.copy_from_slice(&a[f..f + out.len()]);
        };
        let mut buf = vec![0.0; r * c];
        let t = Instant::now();
        let res = orthogonalize(&mut buf, r, c, &draw, &mut || t.elapsed() >= POLL_EVERY);
        // Either it finished within one poll interval or it stopped at a block boundary.
        assert!(res.is_ok() || res == Err(Error::Interrupted));
    }

    #[test]
    fn test_determinism_across_pools() {
        // Large enough to take faer's blocked + parallel paths (par thresholds, gemm, rayon)
        // and the parallel preparation passes.
        let shapes: &[(usize, usize)] = &[(600, 600), (900, 300), (300, 900), (1024, 512)];
        for &(r, c) in shapes {
            let a = normals(r * c, (r + c) as u64);
            let mut ref32: Option<Vec<u32>> = None;
            let mut ref64: Option<Vec<u64>> = None;
            for threads in [1, 2, 3, 16] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (o32, o64) = pool.install(|| (run32(&a, r, c), run64(&a, r, c)));
                let b32: Vec<u32> = o32.iter().map(|x| x.to_bits()).collect();
                let b64: Vec<u64> = o64.iter().map(|x| x.to_bits()).collect();
                match (&ref32, &ref64) {
                    (Some(r32), Some(r64)) => {
                        assert!(
                            *r32 == b32,
                            "f32 {r}x{c}: bits differ with {threads} threads"
                        );
                        assert!(
                            *r64 == b64,
                            "f64 {r}x{c}: bits differ with {threads} threads"
                        );
                    }
                    _ => {
                        ref32 = Some(b32);
                        ref64 = Some(b64);
                    }
                }
            }
        }
    }
}
