"""Exact tests for constant_/ones_/zeros_/eye_/dirac_/sparse_ and orthogonal_."""

from __future__ import annotations

import math

import ferroinit as init
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import FLOAT_DTYPES, ks_2samp, ks_test, sentinel

TORCH_DTYPE = {np.float16: torch.float16, np.float32: torch.float32, np.float64: torch.float64}


# ---------------------------------------------------------------------------
# constant_ / ones_ / zeros_
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5), (1,), (1001, 3)])
@pytest.mark.parametrize("val", [0.5, -3, 1.0 / 3, 0.0, -0.0, 65504.0, 1e-5, 7])
def test_constant_inplace(float_dtype, shape, val):
    x = sentinel(shape, float_dtype)
    out = init.constant_(x, val)
    assert out is x
    expected = np.full(shape, val, dtype=float_dtype)
    np.testing.assert_array_equal(x, expected)
    if val == 0.0:
        assert np.array_equal(np.signbit(x), np.signbit(expected))
    # torch agrees
    t = torch.from_numpy(sentinel(shape, float_dtype))
    torch.nn.init.constant_(t, val)
    np.testing.assert_array_equal(x, t.numpy())


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5)])
def test_constant_allocating(float_dtype, shape):
    x = init.constant(shape, 2.5, dtype=float_dtype)
    assert x.dtype == float_dtype and x.shape == shape and x.flags.c_contiguous
    np.testing.assert_array_equal(x, np.full(shape, 2.5, dtype=float_dtype))


def test_constant_default_dtype_float32():
    x = init.constant((4, 4), 1.25)
    assert x.dtype == np.float32
    assert init.ones((3,)).dtype == np.float32
    assert init.zeros((3,)).dtype == np.float32


@pytest.mark.parametrize("shape", [(5,), (4, 6), (3, 1, 2, 7)])
def test_ones_zeros(float_dtype, shape):
    x = sentinel(shape, float_dtype)
    assert init.ones_(x) is x
    np.testing.assert_array_equal(x, np.ones(shape, dtype=float_dtype))
    assert init.zeros_(x) is x
    np.testing.assert_array_equal(x, np.zeros(shape, dtype=float_dtype))
    assert not np.any(np.signbit(x))
    a = init.ones(shape, dtype=float_dtype)
    assert a.dtype == float_dtype and a.shape == shape
    np.testing.assert_array_equal(a, np.ones(shape, dtype=float_dtype))
    z = init.zeros(shape, dtype=float_dtype)
    assert z.dtype == float_dtype and z.shape == shape
    np.testing.assert_array_equal(z, np.zeros(shape, dtype=float_dtype))


def test_constant_on_strided_view_touches_only_view():
    base = sentinel((6, 10), np.float32)
    ref = base.copy()
    v = base[1::2, ::-3]
    init.constant_(v, 9.0)
    ref[1::2, ::-3] = 9.0
    np.testing.assert_array_equal(base, ref)


# ---------------------------------------------------------------------------
# eye_
# ---------------------------------------------------------------------------

EYE_SHAPES = [(1, 1), (3, 3), (3, 5), (5, 3), (1, 7), (7, 1), (64, 100), (100, 64), (0, 3), (3, 0)]


@pytest.mark.parametrize("shape", EYE_SHAPES)
def test_eye_inplace_matches_torch(float_dtype, shape):
    x = sentinel(shape, float_dtype)
    assert init.eye_(x) is x
    t = torch.from_numpy(sentinel(shape, float_dtype))
    torch.nn.init.eye_(t)
    np.testing.assert_array_equal(x, t.numpy())
    np.testing.assert_array_equal(x, np.eye(*shape, dtype=float_dtype))


@pytest.mark.parametrize("n,m", [(1, None), (4, None), (3, 5), (5, 3), (10, 1), (0, None)])
def test_eye_allocating(float_dtype, n, m):
    x = init.eye(n, m, dtype=float_dtype)
    assert x.dtype == float_dtype and x.flags.c_contiguous
    np.testing.assert_array_equal(x, np.eye(n, m, dtype=float_dtype))
    if m is None:
        np.testing.assert_array_equal(init.eye(n, dtype=float_dtype), np.eye(n, dtype=float_dtype))


def test_eye_default_dtype():
    assert init.eye(3).dtype == np.float32


def test_eye_on_transposed_and_reversed_view():
    base = sentinel((5, 8), np.float64)
    init.eye_(base.T)  # logical shape (8, 5)
    np.testing.assert_array_equal(base.T, np.eye(8, 5))
    base = sentinel((5, 8), np.float64)
    init.eye_(base[::-1])
    np.testing.assert_array_equal(base[::-1], np.eye(5, 8))


# ---------------------------------------------------------------------------
# dirac_
# ---------------------------------------------------------------------------

DIRAC_CASES = [
    ((4, 4, 3), 1),
    ((6, 4, 5), 2),
    ((6, 4, 5), 3),
    ((2, 8, 3), 1),
    ((8, 2, 4), 1),
    ((8, 2, 3, 3), 1),
    ((8, 2, 3, 3), 2),
    ((8, 2, 3, 3), 4),
    ((8, 2, 3, 3), 8),
    ((6, 3, 4, 4), 3),
    ((12, 5, 1, 1), 4),
    ((9, 9, 5, 5), 3),
    ((5, 7, 2, 6), 1),
    ((4, 4, 3, 3, 3), 1),
    ((6, 2, 2, 3, 4), 2),
    ((6, 2, 2, 3, 4), 6),
    ((1, 1, 1, 1, 1), 1),
    ((0, 3, 3), 1),
    ((4, 0, 3, 3), 2),
]


@pytest.mark.parametrize("shape,groups", DIRAC_CASES)
def test_dirac_inplace_matches_torch_bit_exact(float_dtype, shape, groups):
    x = sentinel(shape, float_dtype)
    out = init.dirac_(x, groups)
    assert out is x
    t = torch.from_numpy(sentinel(shape, float_dtype))
    torch.nn.init.dirac_(t, groups)
    expected = t.numpy()
    assert x.tobytes() == expected.tobytes()


@pytest.mark.parametrize("shape,groups", DIRAC_CASES)
def test_dirac_allocating_matches_torch(shape, groups):
    for dtype in FLOAT_DTYPES:
        x = init.dirac(shape, groups, dtype=dtype)
        assert x.dtype == dtype and x.shape == shape and x.flags.c_contiguous
        t = torch.zeros(shape, dtype=TORCH_DTYPE[dtype])
        torch.nn.init.dirac_(t, groups=groups)
        np.testing.assert_array_equal(x, t.numpy())


def test_dirac_groups_keyword_and_default_dtype():
    x = init.dirac((4, 2, 3, 3), groups=2)
    assert x.dtype == np.float32
    t = torch.empty(4, 2, 3, 3)
    torch.nn.init.dirac_(t, groups=2)
    np.testing.assert_array_equal(x, t.numpy())


def test_dirac_on_noncontiguous_view():
    shape = (6, 4, 3, 5)
    base = sentinel((5, 3, 4, 6), np.float32)
    v = base.transpose(3, 2, 1, 0)  # logical shape (6, 4, 3, 5)
    assert v.shape == shape
    init.dirac_(v, 2)
    t = torch.empty(shape)
    torch.nn.init.dirac_(t, groups=2)
    np.testing.assert_array_equal(v, t.numpy())


# ---------------------------------------------------------------------------
# sparse_
# ---------------------------------------------------------------------------

SPARSE_CASES = [
    ((10, 7), 0.3),  # 0.3*10 = 3.0000000000000004 -> ceil = 4 (torch semantics)
    ((100, 50), 0.1),
    ((1, 5), 0.5),
    ((7, 3), 0.0),
    ((1000, 300), 0.9),
    ((64, 64), 0.99),
    ((33, 17), 0.25),
    ((3, 1000), 0.6),
    ((257, 129), 0.5),
]


@pytest.mark.parametrize("shape,sparsity", SPARSE_CASES)
def test_sparse_exact_zero_count_per_column(float_dtype, shape, sparsity):
    rows, cols = shape
    num_zeros = math.ceil(sparsity * rows)
    # std=1 so that no float16 normal value underflows to an exact 0
    std = 1.0 if float_dtype == np.float16 else 0.01
    x = sentinel(shape, float_dtype)
    assert init.sparse_(x, sparsity, std, generator=91) is x
    zeros_per_col = np.count_nonzero(x == 0, axis=0)
    np.testing.assert_array_equal(zeros_per_col, np.full(cols, num_zeros))
    assert np.all(np.isfinite(x))
    # torch gives the same count on the same shape
    t = torch.empty(shape, dtype=TORCH_DTYPE[float_dtype])
    torch.nn.init.sparse_(t, sparsity, std, generator=torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(zeros_per_col, (t == 0).sum(0).numpy())


def test_sparse_nonzeros_are_normal_ks(wide_dtype):
    std = 0.01
    x = init.sparse((2000, 1000), 0.5, std, dtype=wide_dtype, generator=92)
    assert x.dtype == wide_dtype
    nz = x[x != 0].astype(np.float64)
    assert nz.size == 2000 * 1000 // 2
    ks_test(nz, scipy.stats.norm(scale=std).cdf, min_n=10**6, label="sparse nonzeros")


def test_sparse_nonzeros_match_torch():
    shape, sparsity, std = (2500, 800), 0.5, 0.05
    x = init.sparse(shape, sparsity, std, generator=93)
    t = torch.empty(shape)
    torch.manual_seed(0)
    torch.nn.init.sparse_(t, sparsity, std, generator=torch.Generator().manual_seed(93))
    tn = t.numpy()
    ks_2samp(x[x != 0], tn[tn != 0], label="sparse nonzeros vs torch")


def test_sparse_mask_same_seed_same_mask():
    a = init.sparse((300, 200), 0.4, generator=94)
    b = np.empty((300, 200), dtype=np.float32)
    init.sparse_(b, 0.4, generator=94)
    np.testing.assert_array_equal(a == 0, b == 0)
    np.testing.assert_array_equal(a, b)
    g1, g2 = init.Generator(95), init.Generator(95)
    np.testing.assert_array_equal(init.sparse((50, 40), 0.5, generator=g1), init.sparse((50, 40), 0.5, generator=g2))
    assert g1.get_state() == g2.get_state()


def test_sparse_mask_different_seed_different_mask():
    a = init.sparse((300, 200), 0.4, generator=96)
    b = init.sparse((300, 200), 0.4, generator=97)
    ma, mb = a == 0, b == 0
    assert not np.array_equal(ma, mb)
    # and not just slightly: two independent masks agree on ~ 0.4^2 + 0.6^2 = 52% of entries
    agree = np.mean(ma == mb)
    assert 0.45 < agree < 0.59, agree


def test_sparse_successive_calls_differ():
    g = init.Generator(98)
    a = init.sparse((100, 100), 0.5, generator=g)
    pos = g.position
    assert pos > 0
    b = init.sparse((100, 100), 0.5, generator=g)
    assert g.position > pos
    assert not np.array_equal(a == 0, b == 0)


def test_sparse_mask_positions_uniform():
    # every row is zeroed in each column with probability num_zeros/rows, independently per column
    rows, cols, sparsity = 100, 20000, 0.3
    x = init.sparse((rows, cols), sparsity, generator=99)
    per_row = np.count_nonzero(x == 0, axis=1)
    p = math.ceil(sparsity * rows) / rows
    mean, sd = cols * p, math.sqrt(cols * p * (1 - p))
    assert np.all(np.abs(per_row - mean) < 6 * sd), (per_row.min(), per_row.max(), mean, sd)
    # chi-square of the per-row counts is consistent with uniform selection
    chi2 = np.sum((per_row - mean) ** 2 / (mean * (1 - p)))
    assert scipy.stats.chi2.sf(chi2, rows - 1) > 1e-5, chi2
    # columns are not all the same mask
    cols_masks = (x == 0).T
    n_unique = len({c.tobytes() for c in cols_masks[:500]})
    assert n_unique > 495


def test_sparse_zero_sparsity_has_no_zeros():
    x = init.sparse((400, 300), 0.0, 1.0, generator=100)
    assert np.count_nonzero(x == 0) == 0


# ---------------------------------------------------------------------------
# orthogonal_
# ---------------------------------------------------------------------------

ORTHO_SHAPES = [
    (200, 50),
    (50, 200),
    (128, 128),
    (16, 4, 8),
    (64, 3, 3, 3),
    (8, 3, 3, 3),
    (5, 2, 3, 2, 2),
    (1, 10),
    (10, 1),
    (1, 1),
    (300, 301),
]

ORTHO_TOL = {np.float16: 1e-2, np.float32: 1e-5, np.float64: 1e-12}


def _as_matrix(x):
    rows = x.shape[0]
    return x.reshape(rows, -1)


def _orthonormality_error(m):
    m = m.astype(np.float64)
    rows, cols = m.shape
    if rows >= cols:
        p = m.T @ m
        return np.abs(p - np.eye(cols)).max()
    p = m @ m.T
    return np.abs(p - np.eye(rows)).max()


@pytest.mark.parametrize("shape", ORTHO_SHAPES)
def test_orthogonal_is_orthonormal(float_dtype, shape):
    if float_dtype == np.float16 and math.prod(shape) > 64 * 64:
        shape = (16, 16)
    x = sentinel(shape, float_dtype)
    assert init.orthogonal_(x, generator=101) is x
    err = _orthonormality_error(_as_matrix(x))
    assert err <= ORTHO_TOL[float_dtype], f"max |QtQ - I| = {err:.3g} for {shape} {np.dtype(float_dtype)}"


@pytest.mark.parametrize("dtype,n", [(np.float32, 512), (np.float64, 512), (np.float32, 700)])
def test_orthogonal_large_square_tolerance(dtype, n):
    x = init.orthogonal((n, n), dtype=dtype, generator=102)
    err = _orthonormality_error(x)
    assert err <= ORTHO_TOL[dtype], err


@pytest.mark.parametrize("shape", [(200, 50), (50, 200), (16, 4, 8)])
@pytest.mark.parametrize("gain", [2.5, 0.1, math.sqrt(2)])
def test_orthogonal_gain(wide_dtype, shape, gain):
    q = init.orthogonal(shape, dtype=wide_dtype, generator=103)
    qg = init.orthogonal(shape, gain, dtype=wide_dtype, generator=103)
    assert init.orthogonal(shape, gain=gain, dtype=wide_dtype, generator=103).tobytes() == qg.tobytes()
    rtol = 1e-6 if wide_dtype == np.float32 else 1e-14
    np.testing.assert_allclose(qg.astype(np.float64), gain * q.astype(np.float64), rtol=rtol, atol=rtol * gain)
    err = _orthonormality_error(_as_matrix(qg) / wide_dtype(gain))
    assert err <= 10 * ORTHO_TOL[wide_dtype]


def _reference_orthogonal(a_rows_cols):
    """The documented construction, in float64: the Householder vectors are x_j = A[j:, j]
    of the tall normal matrix A (its lower trapezoid; A is transposed when rows < cols);
    H_j maps x_j to beta_j e_1, beta_j = -sign(x_j[0]) ||x_j|| (sign(0) = +1), or is the
    identity with beta_j = x_j[0] when x_j has length 1; Q = H_0 ... H_{k-1} [I; 0] and
    column j is multiplied by sign(beta_j) = sign(diag R), as torch does."""
    a = a_rows_cols.astype(np.float64)
    rows, cols = a.shape
    if rows < cols:
        a = a.T
    m, k = a.shape
    q = np.eye(m, k)
    betas, us = [], []
    for j in range(k):
        x = a[j:, j].copy()
        if len(x) == 1:
            betas.append(x[0])
            us.append(None)
            continue
        s = 1.0 if x[0] >= 0 else -1.0
        norm = np.linalg.norm(x)
        betas.append(-s * norm)
        x[0] += s * norm
        us.append(x)
    for j in reversed(range(k)):
        u = us[j]
        if u is not None:
            q[j:] -= np.outer(u, 2.0 / (u @ u) * (u @ q[j:]))
    q = q * np.sign(betas)
    if rows < cols:
        q = q.T
    return q


SIGN_SHAPES = [(64, 32), (32, 64), (40, 40), (16, 4, 8), (64, 3, 3, 3), (8, 3, 3, 3), (100, 1), (1, 100), (128, 127),
               (300, 300), (600, 257), (257, 600)]


@pytest.mark.parametrize("shape", SIGN_SHAPES)
def test_orthogonal_is_householder_product_of_the_normal_draws(wide_dtype, shape):
    """The documented stream: the Householder vectors are the lower trapezoid of the normal
    matrix the same generator state gives (in the target dtype's stream), and the result is
    their product with torch's sign fix. Pins the sign conventions and which number goes where
    (blocked and unblocked paths: 600 x 257 spans several blocks)."""
    seed = 104
    rows = shape[0]
    cols = math.prod(shape) // rows
    x = init.orthogonal(shape, dtype=wide_dtype, generator=seed)
    assert x.shape == shape and x.dtype == wide_dtype
    got = _as_matrix(x).astype(np.float64)
    a = init.normal((rows, cols), 0.0, 1.0, dtype=wide_dtype, generator=seed)
    expected = _reference_orthogonal(a)
    tol = 2e-5 if wide_dtype == np.float32 else 1e-12
    err = np.abs(got - expected).max()
    assert err <= tol, f"orthogonal({shape}) differs from the Householder product of its draws by {err:.3g}"


def test_orthogonal_generator_advance_like_normal():
    g = init.Generator(3)
    init.orthogonal((37, 29), generator=g)
    assert g.position == -(-37 * 29 // 4)
    g = init.Generator(3)
    init.orthogonal((37, 29), dtype="float64", generator=g)
    assert g.position == -(-37 * 29 // 2)


def test_orthogonal_haar_diag_unbiased():
    # Q*sign(diag R) makes Q Haar-distributed: E[Q_ii] = 0. Without the sign fix, a
    # Householder QR gives diag(Q) entries of a fixed sign.
    x = init.orthogonal((400, 400), dtype=np.float64, generator=105)
    d = np.diag(x)
    assert abs(np.mean(d)) < 6 / 400 * 2, np.mean(d)
    assert 0.35 < np.mean(d > 0) < 0.65


def test_orthogonal_matches_torch_distribution():
    n = 700  # 490k elements each; (entries of a Haar matrix are ~ N(0, 1/n))
    x = init.orthogonal((n, n), generator=106)
    t = torch.empty(n, n)
    torch.nn.init.orthogonal_(t, generator=torch.Generator().manual_seed(106))
    ks_2samp(x, t.numpy(), min_n=n * n, label="orthogonal vs torch")


def test_orthogonal_deterministic_and_seed_dependent():
    a = init.orthogonal((60, 40), generator=107)
    b = np.empty((60, 40), dtype=np.float32)
    init.orthogonal_(b, generator=107)
    assert a.tobytes() == b.tobytes()
    c = init.orthogonal((60, 40), generator=108)
    assert not np.allclose(a, c)
    g = init.Generator(109)
    d1 = init.orthogonal((60, 40), generator=g)
    p1 = g.position
    assert p1 > 0
    d2 = init.orthogonal((60, 40), generator=g)
    assert g.position > p1
    assert not np.allclose(d1, d2)
