"""orthogonal_ samples the Householder vectors of torch's QR directly (Stewart 1980) instead of
factoring a normal matrix. What that must preserve, and is checked here: orthonormality at
large and rectangular shapes, the Haar distribution (entry marginals, the determinant's sign,
and the law of the trace against torch's own QR-based orthogonal_), the independence of the
bits from the dtype path and the memory layout, huge gains saturating, and the memory the
in-place kernel needs. (The exact construction, sign conventions included, is pinned against
a float64 reference in test_structured.py.)"""

from __future__ import annotations

import math

import ferroinit as init
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import ks_2samp, ks_test


def _orthonormality_error(m):
    m = m.astype(np.float64)
    rows, cols = m.shape
    p = m.T @ m if rows >= cols else m @ m.T
    return np.abs(p - np.eye(min(rows, cols))).max()


# ---------------------------------------------------------------------------
# orthonormality
# ---------------------------------------------------------------------------

# Tall, wide, square, conv-shaped (rows x prod(rest)), very skinny; sizes that span several
# blocks of the kernel (128 or 256 reflectors) and end in partial ones.
LARGE_SHAPES = [
    (2048, 2048),
    (2100, 1000),
    (1000, 2100),
    (256, 64, 3, 3),
    (64, 256, 3, 3),
    (1024, 96, 3),
    (3000, 7),
    (7, 3000),
]
# Measured max |Q^T Q - I| at 2048^2: ~4.5e-7 (float32), ~1.1e-15 (float64); torch's own
# orthogonal_ gives ~6.5e-7 and ~2.2e-15 there.
LARGE_TOL = {np.float32: 5e-6, np.float64: 2e-14}


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_orthonormal_large_and_rectangular(shape, dtype):
    x = init.orthogonal(shape, dtype=dtype, generator=21)
    err = _orthonormality_error(x.reshape(shape[0], -1))
    assert err <= LARGE_TOL[dtype], f"max |QtQ - I| = {err:.3g} for {shape} {np.dtype(dtype).name}"


# ---------------------------------------------------------------------------
# Haar distribution
# ---------------------------------------------------------------------------


def _draws(shape, n, seed, dtype=np.float64):
    g = init.Generator(seed)
    x = np.empty(shape, dtype=dtype)
    out = np.empty((n,) + shape)
    for t in range(n):
        out[t] = init.orthogonal_(x, generator=g)
    return out


HAAR_N = 20_000


@pytest.mark.parametrize(
    "shape,i,j",
    [((6, 6), 0, 0), ((6, 6), 5, 5), ((6, 6), 2, 4), ((6, 6), 4, 1), ((7, 4), 6, 3),
     ((7, 4), 0, 0), ((4, 7), 3, 6), ((4, 7), 0, 0), ((2, 2), 1, 1)],
)
def test_haar_entry_marginal(shape, i, j):
    """Haar on the Stiefel manifold: every column (tall) or row (wide) of Q is uniform on the
    unit sphere of R^n (n = max(rows, cols)), so an entry q has q^2 ~ Beta(1/2, (n - 1)/2)
    and a symmetric sign. Without the sign fix Q[0, 0] would never be positive."""
    n = max(shape)
    q = _draws(shape, HAAR_N, seed=1000 + 10 * i + j)[:, i, j]
    beta = scipy.stats.beta(0.5, (n - 1) / 2)

    def cdf(v):
        return 0.5 + 0.5 * np.sign(v) * beta.cdf(v * v)

    ks_test(q, cdf, min_n=HAAR_N, label=f"orthogonal{shape}[{i}, {j}]")


@pytest.mark.parametrize("n", [2, 3, 4])
def test_haar_determinant_sign_is_fair(n):
    """det(Q) = +-1 with probability 1/2 each for Haar O(n). A Householder product without the
    sign fix has the fixed determinant (-1)^(n-1)."""
    d = np.linalg.det(_draws((n, n), 4000, seed=30 + n))
    np.testing.assert_allclose(np.abs(d), 1.0, atol=1e-12)
    k = int((d > 0).sum())
    p = scipy.stats.binomtest(k, len(d), 0.5).pvalue
    assert p > 1e-5, f"{k} of {len(d)} determinants positive (p = {p:.3g})"


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (4, 4)])
def test_trace_law_matches_torch(shape):
    """Two-sample KS against torch.nn.init.orthogonal_ (a QR of a normal matrix) on the trace
    sum_i Q[i, i], a statistic of the whole matrix, not of one column."""
    n = 4000
    torch.manual_seed(12345)
    t = torch.empty(shape, dtype=torch.float64)
    ref = np.array([float(torch.nn.init.orthogonal_(t).diagonal().sum()) for _ in range(n)])
    ours = np.trace(_draws(shape, n, seed=77), axis1=1, axis2=2)
    ks_2samp(ours, ref, min_n=n, label=f"trace of orthogonal{shape}")


def test_entry_product_law_matches_torch():
    """Q[0, 0] * Q[1, 1] - Q[0, 1] * Q[1, 0] (a 2x2 minor) of 4x4 matrices, against torch."""
    n = 4000
    torch.manual_seed(54321)
    t = torch.empty((4, 4), dtype=torch.float64)
    ref = []
    for _ in range(n):
        q = torch.nn.init.orthogonal_(t)
        ref.append(float(q[0, 0] * q[1, 1] - q[0, 1] * q[1, 0]))
    q = _draws((4, 4), n, seed=78)
    ours = q[:, 0, 0] * q[:, 1, 1] - q[:, 0, 1] * q[:, 1, 0]
    ks_2samp(ours, np.array(ref), min_n=n, label="2x2 minor of orthogonal((4, 4))")


# ---------------------------------------------------------------------------
# the same bits whatever the dtype path and the layout
# ---------------------------------------------------------------------------

SHAPES = [(40, 30), (30, 40), (300, 301), (257, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_float16_and_bfloat16_are_the_float32_result_rounded(shape):
    """float16/bfloat16 are computed in float32 (in a separate working matrix) and rounded once
    to nearest even (300 x 301 has float32 values just above a bfloat16 midpoint, which a
    rounding from float64 that ignores the low mantissa bits gets wrong)."""
    q32 = init.orthogonal(shape, dtype="float32", generator=5)
    q16 = init.orthogonal(shape, dtype="float16", generator=5)
    assert q16.tobytes() == q32.astype(np.float16).tobytes()
    tb = torch.empty(shape, dtype=torch.bfloat16)
    init.orthogonal_(tb, generator=5)
    assert torch.equal(tb, torch.from_numpy(q32).to(torch.bfloat16))
    for gain in (2.5, -0.3):
        q16 = init.orthogonal(shape, gain, dtype="float16", generator=5)
        assert q16.tobytes() == (q32.astype(np.float64) * gain).astype(np.float16).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_noncontiguous_views_get_the_same_bits(dtype, gain):
    """A contiguous float32/float64 array is the working matrix itself; any other view goes
    through a separate buffer: the values must not depend on which."""
    want = init.orthogonal((130, 70), gain, dtype=dtype, generator=3)
    base = np.zeros((70, 130), dtype=dtype)
    v = base.T  # Fortran-ordered (130, 70)
    init.orthogonal_(v, gain, generator=3)
    assert np.array_equal(v, want)
    base = np.zeros((260, 141), dtype=dtype)
    v = base[::2, 1::2]  # strided (130, 70)
    init.orthogonal_(v, gain, generator=3)
    assert np.array_equal(v, want)
    assert not base[1::2].any() and not base[:, ::2].any()
    want3 = init.orthogonal((20, 4, 5), gain, dtype=dtype, generator=4)
    v3 = np.zeros((5, 4, 20), dtype=dtype).transpose(2, 1, 0)
    init.orthogonal_(v3, gain, generator=4)
    assert np.array_equal(v3, want3)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_huge_gain_saturates_at_the_dtype_max(dtype):
    # float16 is computed in float32: Q * gain is rounded once, from the float32 Q
    work = "float32" if dtype == "float16" else dtype
    q = init.orthogonal((50, 30), dtype=work, generator=1).astype(np.float64)
    fmax = float(np.finfo(dtype).max)
    for gain in (1e300, -1e300, 1e5, 1e30):
        big = init.orthogonal((50, 30), gain, dtype=dtype, generator=1)
        assert np.isfinite(big).all() and not np.isnan(big).any()
        want = np.clip(q * gain, -fmax, fmax).astype(dtype)
        np.testing.assert_array_equal(big, want)
    # the same through the non-contiguous path
    v = np.zeros((30, 50), dtype=dtype).T
    init.orthogonal_(v, 1e300, generator=1)
    np.testing.assert_array_equal(v, np.clip(q * 1e300, -fmax, fmax).astype(dtype))


def test_gain_is_one_rounding_of_q_times_gain():
    q = init.orthogonal((64, 48), dtype="float32", generator=9)
    for gain in (math.sqrt(2), 0.1, -3.0, 0.0):
        qg = init.orthogonal((64, 48), gain, dtype="float32", generator=9)
        np.testing.assert_array_equal(qg, (q.astype(np.float64) * gain).astype(np.float32))


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2048, 2048), (4096, 1024), (1024, 4096)], ids=str)
def test_in_place_peak_memory_is_a_fraction_of_the_matrix(shape):
    """A contiguous float32 array is the working matrix: the extra peak memory is scratch
    (O(block x n): a block's reflectors, T, V^T [V | C]) and gemm packing buffers, well under
    one matrix (the previous QR-based kernel held two extra matrices)."""
    from ferroinit.bench import peak_extra_bytes

    x = np.ones(shape, dtype=np.float32)
    init.orthogonal_(x, generator=0)  # warm up thread pools and thread-local buffers
    extra = peak_extra_bytes(lambda: init.orthogonal_(x, generator=1))
    if extra is None:
        pytest.skip("/proc/self/clear_refs is not available")
    assert extra <= 0.4 * x.nbytes, f"{extra} extra bytes for a {x.nbytes}-byte matrix"
