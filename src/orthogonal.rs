//! Orthogonalization kernel for `torch.nn.init.orthogonal_`.
//!
//! torch does (for a `rows x cols` matrix `A` of standard normal samples):
//!
//! ```text
//! if rows < cols: A = A^T                     # always factor a tall m x n matrix, m >= n
//! Q, R = torch.linalg.qr(A)                   # thin ("reduced") QR
//! Q *= sign(diag(R))                          # column j scaled by sign(R[j, j]); sign(0) = 0
//! if rows < cols: Q = Q^T
//! W = Q * gain
//! ```
//!
//! We do exactly that with faer's blocked Householder QR
//! (`faer::linalg::qr::no_pivoting::factor::qr_in_place`) and form the thin Q in place,
//! LAPACK `?orgqr` style: block reflectors are applied backwards, each only to the part of Q
//! that is not still identity/zero.
//!
//! Memory: one `m x n` column-major working matrix (holds the reflectors/R, then Q), a small
//! `block_size x n` factor matrix, an `m x block_size` reflector copy and faer's scratch. The
//! caller's slice is only read (to fill the working matrix) and finally written with Q: a plain
//! copy in the wide case (a row-major `rows x cols` buffer *is* the column-major `m x n` A^T /
//! Q^T), a transposing copy in the tall case. All faer kernels thus see column-major operands.
//!
//! Math note: for a full-rank `A` the QR factorization with a positive diagonal of `R` is unique,
//! and `Q * sign(diag(R))` is exactly that unique factor. So the result is independent of the
//! Householder sign convention (faer and LAPACK agree up to rounding).
//!
//! Caveat (measure-zero in practice): faer's unpivoted QR is mildly rank-revealing. A column
//! whose remaining (sub-diagonal) norm is below `16 * eps * (m - j) * ||column||` is skipped
//! instead of being reflected. For Gaussian input this needs a near-exact linear dependence;
//! the worst case is the second-to-last column of a square f32 matrix, with probability of
//! roughly `1e-8` for n = 4096. LAPACK would emit a tiny `R[j, j]` there; we emit a `Q` that is
//! still orthonormal but whose corresponding columns can differ from torch's. Inputs containing
//! exact zero columns (never produced by `normal_`) hit the same path.
//!
//! # Determinism
//!
//! Results are bitwise identical regardless of the rayon pool size (`RAYON_NUM_THREADS`):
//!
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
//! * faer's own kernels (dot products, norms, rank updates) dispatch through `pulp`. Without
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

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::factor as qr;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Conj, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Fixed parallelism degree handed to faer. It must NOT depend on the machine (see the module
/// docs); the rayon pool decides how many threads actually execute the jobs.
pub const PAR_DEGREE: usize = 16;

/// Element types supported by the kernel.
trait Elem:
    faer::traits::RealField + Copy + Send + Sync + core::ops::Mul<Output = Self> + core::ops::MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    /// `torch.sign` (CPU): -1, 0 or +1; +-0 and NaN map to +0.
    fn sign(self) -> Self;
}

macro_rules! impl_elem {
    ($t:ty) => {
        impl Elem for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
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

/// Orthogonalize a row-major `rows x cols` f32 matrix in place (torch `orthogonal_` semantics,
/// times `gain`). See the module docs.
pub fn orthogonalize_f32(a: &mut [f32], rows: usize, cols: usize, gain: f64) {
    orthogonalize(a, rows, cols, gain);
}

/// Orthogonalize a row-major `rows x cols` f64 matrix in place (torch `orthogonal_` semantics,
/// times `gain`). See the module docs.
pub fn orthogonalize_f64(a: &mut [f64], rows: usize, cols: usize, gain: f64) {
    orthogonalize(a, rows, cols, gain);
}

/// Block size for the blocked QR and for forming Q.
fn block_size<T: Elem>(m: usize, n: usize) -> usize {
    qr::recommended_block_size::<T>(m, n)
}

fn orthogonalize<T: Elem>(a: &mut [T], rows: usize, cols: usize, gain: f64) {
    assert_eq!(
        a.len(),
        rows.checked_mul(cols).expect("rows * cols overflows"),
        "orthogonalize: slice length must be rows * cols"
    );
    if a.is_empty() {
        return;
    }
    let transposed = rows < cols;
    // Factor the tall m x n matrix (A, or A^T when wide).
    let (m, n) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let par = Par::rayon(PAR_DEGREE);

    // Working matrix: column-major copy of the tall matrix.
    // Wide: the row-major rows x cols buffer is the column-major m x n matrix A^T (plain copy).
    // Tall: the row-major buffer viewed as an m x n row-major matrix (transposing copy).
    let load = |w: &mut Mat<T>, a: &[T]| {
        if transposed {
            w.copy_from(MatRef::from_column_major_slice(a, m, n));
        } else {
            w.copy_from(MatRef::from_row_major_slice(a, m, n));
        }
    };
    let mut w = Mat::<T>::zeros(m, n);
    load(&mut w, a);

    let bs = block_size::<T>(m, n);
    let mut h = Mat::<T>::zeros(bs, n);
    let params = Default::default();
    let mut mem = MemBuffer::new(StackReq::any_of(&[
        qr::qr_in_place_scratch::<T>(m, n, bs, par, params),
        householder::apply_block_householder_on_the_left_in_place_scratch::<T>(m, bs, n),
        householder::apply_block_householder_transpose_on_the_left_in_place_scratch::<T>(m, bs, n),
    ]));
    let stack = MemStack::new(&mut mem);

    let info = qr::qr_in_place(w.as_mut(), h.as_mut(), par, stack, params);
    if info.rank < n {
        // faer skipped a (numerically) dependent column; its factorization is then not the
        // LAPACK one torch uses. Redo it with plain unthresholded Householder (rare; see docs).
        load(&mut w, a);
        h = Mat::<T>::zeros(1, n);
        householder_qr_unthresholded(w.as_mut(), h.as_mut(), par, stack);
    }

    // d_j = sign(R[j, j]) (torch's `d.sign()`, sign(0) = 0), times gain. Multiplying by
    // (d_j * gain) equals torch's `(q * d) * gain` bitwise since d_j is exactly -1, 0 or 1.
    let g = T::from_f64(gain);
    let scale: Vec<T> = (0..n).map(|j| w[(j, j)].sign() * g).collect();

    form_q_in_place(w.as_mut(), h.as_ref(), par, stack);

    // Scale the columns of Q (contiguous in the column-major W), then write back.
    w.par_col_iter_mut()
        .zip(scale.par_iter())
        .for_each(|(col, &s)| {
            col.try_as_col_major_mut()
                .unwrap()
                .as_slice_mut()
                .iter_mut()
                .for_each(|x| *x *= s)
        });
    if transposed {
        // Wide: output row j (row-major rows x cols) is column j of the m x n Q: plain copy.
        MatMut::from_column_major_slice_mut(a, m, n).copy_from(w.as_ref());
    } else {
        // Tall: row-major output = transposing copy.
        MatMut::from_row_major_slice_mut(a, m, n).copy_from(w.as_ref());
    }
}

/// LAPACK `?orgqr`-style in-place formation of the thin Q from the blocked Householder
/// factorization stored in `w` (reflectors below the diagonal, R on and above it) and the block
/// factors `h` (`bs x n`). On return `w` holds Q (m x n). R is destroyed, so read diag(R) first.
///
/// Blocks are processed backwards. For block [j0, j1): the already formed columns j1.. of Q
/// have zeros in rows ..j1, so (after clearing R's block row j0..j1) the block reflector is
/// applied to W[j0.., j1..] only; then the block's own columns are formed by applying it to
/// the identity, using a copy of its reflectors (`m x bs` scratch).
fn form_q_in_place<T: Elem>(
    mut w: MatMut<'_, T>,
    h: MatRef<'_, T>,
    par: Par,
    stack: &mut MemStack,
) {
    let (m, n) = w.shape();
    let bs = h.nrows();
    let mut v = Mat::<T>::zeros(m, bs);
    let mut j1 = n;
    let mut cur = match n % bs {
        0 => bs,
        r => r,
    };
    while j1 > 0 {
        let j0 = j1 - cur;
        let factor = h.get(..cur, j0..j1);
        let (left, mut right) = w.rb_mut().split_at_col_mut(j1);
        // Rows j0..j1 of the formed part must be zero (they hold R entries right now).
        right.rb_mut().get_mut(j0..j1, ..).fill(T::ZERO);
        if j1 < n {
            householder::apply_block_householder_on_the_left_in_place_with_conj(
                left.rb().get(j0.., j0..j1),
                factor,
                Conj::No,
                right.get_mut(j0.., ..),
                par,
                stack,
            );
        }
        // Columns j0..j1: Q[:, j0..j1] = H_block * I[:, j0..j1] (zero above row j0).
        let mut blk = left.get_mut(.., j0..);
        let mut vb = v.get_mut(..m - j0, ..cur);
        vb.copy_from(blk.rb().get(j0.., ..));
        blk.fill(T::ZERO);
        blk.rb_mut().get_mut(j0.., ..).diagonal_mut().fill(T::ONE);
        householder::apply_block_householder_on_the_left_in_place_with_conj(
            vb.rb(),
            factor,
            Conj::No,
            blk.get_mut(j0.., ..),
            par,
            stack,
        );
        j1 = j0;
        cur = bs;
    }
}

/// Unblocked Householder QR without faer's rank threshold (LAPACK `?geqr2` semantics: a column
/// with a zero tail gets the identity reflector and keeps its diagonal entry, possibly 0).
/// Stores the reflectors in faer's format with block size 1 (`h` is `1 x n`, holding tau).
/// Only used as a fallback when the blocked QR reports `rank < n`; it is level-2 (matrix-vector)
/// work, so it is slower, but still runs on faer's vectorized/parallel kernels.
fn householder_qr_unthresholded<T: Elem>(
    mut w: MatMut<'_, T>,
    mut h: MatMut<'_, T>,
    par: Par,
    stack: &mut MemStack,
) {
    let n = w.ncols();
    for j in 0..n {
        let (_, _, rest_l, rest_r) = w.rb_mut().split_at_mut(j, j + 1);
        let (mut head_col, trailing) = (rest_l.get_mut(.., j..), rest_r);
        let (mut head, tail) = head_col.rb_mut().col_mut(0).split_at_row_mut(1);
        let info = householder::make_householder_in_place(&mut head[0], tail);
        h[(0, j)] = info.tau;
        if j + 1 < n {
            // Identity reflector (tau = inf) is handled by faer (1 / inf = 0), like qr_in_place.
            householder::apply_block_householder_transpose_on_the_left_in_place_with_conj(
                head_col.rb(),
                h.rb().get(..1, j..j + 1),
                Conj::Yes,
                trailing,
                par,
                stack,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic standard-normal generator (splitmix64 + Box-Muller).
    fn normals(len: usize, seed: u64) -> Vec<f64> {
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

    /// max |Q Q^T - I| or |Q^T Q - I| (whichever is the small Gram matrix) in f64.
    fn ortho_err(q: &[f64], rows: usize, cols: usize) -> f64 {
        let mut err = 0.0f64;
        if rows >= cols {
            // columns orthonormal
            for i in 0..cols {
                for j in 0..cols {
                    let mut s = 0.0;
                    for r in 0..rows {
                        s += q[r * cols + i] * q[r * cols + j];
                    }
                    let e = if i == j { 1.0 } else { 0.0 };
                    err = err.max((s - e).abs());
                }
            }
        } else {
            // rows orthonormal
            for i in 0..rows {
                for j in 0..rows {
                    let s: f64 = (0..cols).map(|c| q[i * cols + c] * q[j * cols + c]).sum();
                    let e = if i == j { 1.0 } else { 0.0 };
                    err = err.max((s - e).abs());
                }
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
        (64, 64),
        (130, 129),
        (129, 130),
        (1000, 3),
    ];

    #[test]
    fn test_orthonormal_f64() {
        for (k, &(r, c)) in SHAPES.iter().enumerate() {
            let mut a = normals(r * c, k as u64 + 1);
            orthogonalize_f64(&mut a, r, c, 1.0);
            let e = ortho_err(&a, r, c);
            assert!(e <= 1e-12, "f64 {r}x{c}: err {e:e}");
        }
    }

    #[test]
    fn test_orthonormal_f32() {
        for (k, &(r, c)) in SHAPES.iter().enumerate() {
            let mut a: Vec<f32> = normals(r * c, k as u64 + 100)
                .into_iter()
                .map(|x| x as f32)
                .collect();
            orthogonalize_f32(&mut a, r, c, 1.0);
            let a64: Vec<f64> = a.iter().map(|&x| x as f64).collect();
            let e = ortho_err(&a64, r, c);
            assert!(e <= 1e-5, "f32 {r}x{c}: err {e:e}");
        }
    }

    /// Naive reference: modified Gram-Schmidt in f64 on the tall matrix gives the Q with
    /// positive diag(R), which is exactly torch's `Q * sign(diag(R))`.
    fn reference(a: &[f64], rows: usize, cols: usize, gain: f64) -> Vec<f64> {
        let transposed = rows < cols;
        let (m, n) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        // t[i][j] = tall matrix entry (i, j)
        let get = |i: usize, j: usize| {
            if transposed {
                a[j * cols + i]
            } else {
                a[i * cols + j]
            }
        };
        let mut qc: Vec<Vec<f64>> = (0..n)
            .map(|j| (0..m).map(|i| get(i, j)).collect())
            .collect();
        for j in 0..n {
            let (done, rest) = qc.split_at_mut(j);
            let v = &mut rest[0];
            for u in done.iter() {
                let d: f64 = u.iter().zip(v.iter()).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(u).for_each(|(x, y)| *x -= d * y);
            }
            let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= nrm);
        }
        let mut out = vec![0.0; rows * cols];
        for i in 0..m {
            for j in 0..n {
                let v = qc[j][i] * gain;
                if transposed {
                    out[j * cols + i] = v;
                } else {
                    out[i * cols + j] = v;
                }
            }
        }
        out
    }

    #[test]
    fn test_sign_convention_vs_reference() {
        for &(r, c) in &[(7, 4), (4, 7), (6, 6), (1, 5), (5, 1), (40, 40)] {
            let a = normals(r * c, (r * 31 + c) as u64);
            let want = reference(&a, r, c, 1.0);

            let mut got = a.clone();
            orthogonalize_f64(&mut got, r, c, 1.0);
            let e = got
                .iter()
                .zip(&want)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(e <= 1e-10, "f64 {r}x{c}: max diff {e:e}");

            let mut got32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            orthogonalize_f32(&mut got32, r, c, 1.0);
            let e = got32
                .iter()
                .zip(&want)
                .map(|(&x, y)| (x as f64 - y).abs())
                .fold(0.0, f64::max);
            assert!(e <= 1e-4, "f32 {r}x{c}: max diff {e:e}");
        }
    }

    #[test]
    fn test_known_small_case() {
        // A = [[0, 2], [3, 0]] (2x2). Gram-Schmidt on columns: q0 = [0, 1], q1 = [1, 0].
        let mut a = vec![0.0f64, 2.0, 3.0, 0.0];
        orthogonalize_f64(&mut a, 2, 2, 1.0);
        assert_eq!(a, vec![0.0, 1.0, 1.0, 0.0]);
        // 1x3 row -> normalized row (positive diag of R means same direction).
        let mut a = vec![-3.0f64, 0.0, 4.0];
        orthogonalize_f64(&mut a, 1, 3, 2.0);
        let want = [-1.2, 0.0, 1.6];
        for (x, y) in a.iter().zip(want) {
            assert!((x - y).abs() < 1e-15);
        }
    }

    #[test]
    fn test_sign_of_zero_diag_is_zero() {
        // First column is exactly zero -> R[0,0] = 0 -> torch's sign gives 0 -> column 0 of the
        // result is 0, while column 1 is still LAPACK's (torch's) answer:
        // torch.nn.init.orthogonal_ on [[0,1],[0,2],[0,3]] -> [[0,0],[0,2/sqrt13],[0,3/sqrt13]].
        // (This exercises the unthresholded fallback, since faer's QR reports rank 1.)
        let s13 = 13f64.sqrt();
        let want = [0.0, 0.0, 0.0, 2.0 / s13, 0.0, 3.0 / s13];
        let mut a = vec![0.0f64, 1.0, 0.0, 2.0, 0.0, 3.0];
        orthogonalize_f64(&mut a, 3, 2, 1.0);
        for (x, y) in a.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{a:?}");
        }
        let mut a = vec![0.0f32, 0.0, 0.0, 1.0, 2.0, 3.0];
        orthogonalize_f32(&mut a, 2, 3, 1.0);
        let want = [0.0, 0.0, 0.0, 0.0, 2.0 / s13, 3.0 / s13];
        for (x, y) in a.iter().zip(want) {
            assert!((*x as f64 - y).abs() < 1e-6, "{a:?}");
        }
    }

    #[test]
    fn test_gain() {
        for &(r, c) in &[(50, 20), (20, 50), (33, 33)] {
            let a = normals(r * c, 7);
            let mut one = a.clone();
            orthogonalize_f64(&mut one, r, c, 1.0);
            let mut g = a.clone();
            orthogonalize_f64(&mut g, r, c, 2.5);
            for (x, y) in one.iter().zip(&g) {
                assert_eq!(x * 2.5, *y);
            }
            let mut g32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let mut one32 = g32.clone();
            orthogonalize_f32(&mut one32, r, c, 1.0);
            orthogonalize_f32(&mut g32, r, c, -0.3);
            for (x, y) in one32.iter().zip(&g32) {
                assert_eq!(x * (-0.3f64 as f32), *y);
            }
        }
    }

    #[test]
    fn test_empty() {
        let mut a: Vec<f32> = vec![];
        orthogonalize_f32(&mut a, 0, 5, 1.0);
        orthogonalize_f32(&mut a, 5, 0, 1.0);
    }

    fn bits_f32(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn test_determinism_across_pools() {
        // Large enough to take faer's blocked + parallel paths (par thresholds, gemm, rayon).
        let shapes: &[(usize, usize)] = &[(600, 600), (900, 300), (300, 900), (1024, 512)];
        for &(r, c) in shapes {
            let a64 = normals(r * c, (r + c) as u64);
            let a32: Vec<f32> = a64.iter().map(|&x| x as f32).collect();
            let mut ref32: Option<Vec<u32>> = None;
            let mut ref64: Option<Vec<u64>> = None;
            for threads in [1, 2, 3, 16] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (o32, o64) = pool.install(|| {
                    let mut x = a32.clone();
                    orthogonalize_f32(&mut x, r, c, 1.0);
                    let mut y = a64.clone();
                    orthogonalize_f64(&mut y, r, c, 1.0);
                    (x, y)
                });
                let b32 = bits_f32(&o32);
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
