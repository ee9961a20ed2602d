"""The JAX and Keras initializer families (ferroinit.families) against their formulas.

Statistics are tested as statistics (KS on >= 10**6 samples, moments within standard errors),
structure exactly (zeros are exact zeros, identities exact), orthogonality to a tolerance.
When jax (and keras) can be imported, the same shapes are compared with their initializers.
"""

from __future__ import annotations

import math
import zlib

import ferroinit as init
import numpy as np
import pytest
import scipy.special
import scipy.stats
from conftest import KS_N, check_moments, ks_2samp, ks_test, sentinel, truncnorm_cdf
from ferroinit import families as F

TRUNC = 0.87962566103423978
MODES = ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
DISTRIBUTIONS = ["truncated_normal", "normal", "uniform"]

# (shape, axis kwargs): each with >= 10**6 elements and fan_in != fan_out, so that every mode
# gives a different variance.
LAYOUTS = {
    "dense": ((800, 1300), {}),
    "jax_conv": ((3, 3, 128, 896), {}),
    "torch_conv": ((896, 128, 3, 3), {"in_axis": 1, "out_axis": 0}),
    "batched": ((5, 400, 600), {"batch_axis": 0}),
    "multi_axis": ((2, 10, 20, 3, 900), {"in_axis": (1, 2), "out_axis": -1, "batch_axis": 0}),
}


def direct_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """Fans computed from scratch: receptive field = product of the other axes."""
    nd = len(shape)

    def norm(ax):
        return {a % nd for a in ([ax] if isinstance(ax, int) else ax)}

    ins, outs, batch = norm(in_axis), norm(out_axis), norm(batch_axis)
    rf = math.prod(shape[i] for i in range(nd) if i not in ins | outs | batch)
    return math.prod(shape[i] for i in ins) * rf, math.prod(shape[i] for i in outs) * rf


def target_variance(shape, scale, mode, axes):
    fi, fo = direct_fans(shape, **axes)
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2,
         "fan_geo_avg": math.sqrt(fi * fo)}[mode]
    return scale / n


def reference_dist(distribution, variance):
    """The frozen scipy distribution the values must follow."""
    if distribution == "truncated_normal":
        sigma = math.sqrt(variance) / TRUNC
        return scipy.stats.truncnorm(-2.0, 2.0, scale=sigma)
    if distribution == "normal":
        return scipy.stats.norm(scale=math.sqrt(variance))
    b = math.sqrt(3 * variance)
    return scipy.stats.uniform(loc=-b, scale=2 * b)


def fast_cdf(distribution, variance):
    if distribution == "truncated_normal":
        sigma = math.sqrt(variance) / TRUNC
        return truncnorm_cdf(0.0, sigma, -2 * sigma, 2 * sigma)
    return reference_dist(distribution, variance).cdf


# ---------------------------------------------------------------------------
# fans
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, axes",
    [
        ((5, 7), {}),
        ((7, 5), {"in_axis": 0, "out_axis": 1}),
        ((3, 3, 16, 32), {}),
        ((32, 16, 3, 3), {"in_axis": 1, "out_axis": 0}),
        ((32, 16, 3, 3), {"in_axis": -3, "out_axis": -4}),
        ((4, 5, 6, 7, 8), {"in_axis": (1, 2), "out_axis": -1, "batch_axis": 0}),
        ((2, 3, 4, 5), {"batch_axis": 0}),
        ((2, 3, 4, 5), {"batch_axis": (0, 1)}),
        ((6, 5, 4), {"in_axis": 0, "out_axis": (1, 2)}),
        ((3, 5, 7, 11, 2), {"in_axis": [3], "out_axis": (0, 4), "batch_axis": 2}),
        ((9, 1, 4), {}),
    ],
)
def test_compute_fans_against_direct(shape, axes):
    fi, fo = F.compute_fans(shape, **axes)
    assert (fi, fo) == direct_fans(shape, **axes)
    assert isinstance(fi, float) and isinstance(fo, float)
    # an array works as well as a shape
    assert F.compute_fans(np.empty(shape, dtype=np.float32), **axes) == (fi, fo)


@pytest.mark.parametrize("shape", [(5, 7), (64, 32, 3, 3), (8, 4, 5), (2, 3, 2, 3, 2)])
def test_compute_fans_torch_layout_matches_torch(shape):
    assert F.compute_fans(shape, in_axis=1, out_axis=0) == init.calculate_fan_in_and_fan_out(
        shape
    )


def test_compute_fans_jax_and_torch_layouts_agree():
    jax_kernel = (3, 5, 16, 32)  # (kh, kw, in, out)
    torch_kernel = (32, 16, 3, 5)  # (out, in, kh, kw)
    assert F.compute_fans(jax_kernel) == F.compute_fans(torch_kernel, in_axis=1, out_axis=0)
    assert F.compute_fans(jax_kernel) == (16 * 15.0, 32 * 15.0)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_compute_fans_needs_2d(shape):
    msg = (f"Can't compute input and output sizes of a {len(shape)}-dimensional weights "
           "tensor with default in_axis. Must be at least 2D or specify in_axis explicitly.")
    with pytest.raises(ValueError) as e:
        F.compute_fans(shape)
    assert str(e.value) == msg


def test_compute_fans_1d_with_explicit_in_axis():
    """Current JAX: a 1-D shape is allowed when in_axis is given; JAX's formula applies."""
    assert F.compute_fans((5,), in_axis=0) == (1.0, 1.0)  # rf = 5 / 5 / 5
    assert F.compute_fans((6,), in_axis=(0,), out_axis=()) == (6.0, 1.0)
    with pytest.raises(IndexError):
        F.compute_fans((), in_axis=0)


@pytest.mark.parametrize("axes", [{"in_axis": 4}, {"out_axis": -5}, {"batch_axis": (0, 9)}])
def test_compute_fans_axis_out_of_range(axes):
    with pytest.raises(IndexError):
        F.compute_fans((2, 3, 4, 5), **axes)


# ---------------------------------------------------------------------------
# variance_scaling: every mode x distribution x layout, moments and KS
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_variance_scaling_distribution(mode, distribution, layout):
    shape, axes = LAYOUTS[layout]
    scale = 1.7
    var = target_variance(shape, scale, mode, axes)
    x = F.variance_scaling(shape, scale, mode, distribution, **axes, dtype="float64",
                           generator=zlib.crc32(f"{mode}/{distribution}/{layout}".encode()))
    assert x.shape == shape and x.dtype == np.float64
    assert x.size >= KS_N
    label = f"{mode}/{distribution}/{layout}"
    # the standard deviation is sqrt(variance) for every distribution (after truncation)
    check_moments(x, 0.0, math.sqrt(var), label=label)
    ks_test(x, fast_cdf(distribution, var), label=label)
    # hard bounds
    if distribution == "truncated_normal":
        assert np.abs(x).max() <= 2 * math.sqrt(var) / TRUNC
    elif distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3 * var)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_variance_scaling_float32_ks(mode, distribution):
    shape, axes = (1024, 1536), {}
    var = target_variance(shape, 0.5, mode, axes)
    x = F.variance_scaling_(np.empty(shape, dtype=np.float32), 0.5, mode, distribution,
                            generator=7)
    ks_test(x, fast_cdf(distribution, var), label=f"float32 {mode}/{distribution}")


def test_trunc_constant_is_std_of_truncated_standard_normal():
    assert scipy.stats.truncnorm(-2, 2).std() == pytest.approx(TRUNC, rel=1e-15, abs=0)
    assert F.TRUNC_STD_2 == TRUNC


@pytest.mark.parametrize("mode", MODES)
def test_truncated_normal_variance_is_target(mode):
    """The whole point of the 0.8796 constant: the *truncated* variance is scale / n."""
    shape = (2000, 2000)
    fi, fo = 2000.0, 2000.0
    scale = 3.0
    x = F.variance_scaling(shape, scale, mode, "truncated_normal", dtype="float64",
                           generator=11)
    target = scale / fi  # all modes agree on a square matrix
    assert fi == fo
    n = x.size
    # s.e. of the sample variance: sqrt((mu4 - var^2) / n), mu4 of the 2-sigma truncated normal
    k = scipy.stats.truncnorm(-2, 2).stats(moments="k") + 3.0  # kurtosis (not excess)
    se = target * math.sqrt((k - 1) / n)
    assert abs(x.var() - target) <= 6 * se, (x.var(), target, se)
    # and a non-square one where the fans differ
    y = F.variance_scaling((700, 1500), scale, mode, "truncated_normal", dtype="float64",
                           generator=12)
    t2 = target_variance((700, 1500), scale, mode, {})
    se2 = t2 * math.sqrt((k - 1) / y.size)
    assert abs(y.var() - t2) <= 6 * se2, (mode, y.var(), t2)


def test_modes_differ():
    """fan_in, fan_out, fan_avg and fan_geo_avg give four different variances."""
    stds = {m: float(F.variance_scaling((400, 2500), 1.0, m, "normal", dtype="float64",
                                        generator=1).std()) for m in MODES}
    expected = {"fan_in": 1 / 400, "fan_out": 1 / 2500, "fan_avg": 1 / 1450, "fan_geo_avg": 1e-3}
    for m in MODES:
        assert stds[m] == pytest.approx(math.sqrt(expected[m]), rel=5e-3), m


def test_scale_zero_gives_zeros_and_advances_like_a_fill():
    for dist in DISTRIBUTIONS:
        g = init.Generator(5)
        x = F.variance_scaling_(sentinel((10, 6)), 0.0, "fan_in", dist, generator=g)
        assert not x.any()
        assert g.position == math.ceil(60 / 4)


# ---------------------------------------------------------------------------
# determinism, generator rules, dtypes, views
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_uses_core_samplers_with_computed_params(distribution):
    """Bit-exact: variance_scaling_ is the core sampler with the formula's parameters."""
    shape = (3, 3, 16, 48)
    fi, fo = 144.0, 432.0
    var = 2.0 / ((fi + fo) / 2)
    a = F.variance_scaling(shape, 2.0, "fan_avg", distribution, generator=99)
    if distribution == "truncated_normal":
        s = math.sqrt(var) / TRUNC
        b = init.trunc_normal(shape, 0.0, s, -2 * s, 2 * s, generator=99)
    elif distribution == "normal":
        b = init.normal(shape, 0.0, math.sqrt(var), generator=99)
    else:
        lim = math.sqrt(3 * var)
        b = init.uniform(shape, -lim, lim, generator=99)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_inplace_equals_allocating_and_position(dtype, distribution):
    shape = (7, 5, 9)
    g1, g2 = init.Generator(3), init.Generator(3)
    a = F.variance_scaling(shape, 1.0, "fan_avg", distribution, dtype=dtype, generator=g1)
    x = init.empty(shape, dtype=dtype)
    b = F.variance_scaling_(x, 1.0, "fan_avg", distribution, generator=g2)
    assert b is x
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a.astype(np.float64), b.astype(np.float64))
    per = 2 if dtype == "float64" else 4
    assert g1.position == g2.position == math.ceil(a.size / per)
    # int seeds: a fresh generator per call
    c = F.variance_scaling(shape, 1.0, "fan_avg", distribution, dtype=dtype, generator=3)
    np.testing.assert_array_equal(a.astype(np.float64), c.astype(np.float64))


def test_global_generator():
    init.manual_seed(2024)
    a = F.he_uniform((30, 20))
    b = F.he_uniform((30, 20))
    assert not np.array_equal(a, b)
    init.manual_seed(2024)
    np.testing.assert_array_equal(F.he_uniform((30, 20)), a)


def test_generator_type_error():
    x = sentinel((4, 4))
    with pytest.raises(TypeError):
        F.lecun_normal_(x, generator="seed")
    np.testing.assert_array_equal(x, sentinel((4, 4)))


def test_noncontiguous_view_follows_logical_order():
    base = np.zeros((40, 30), dtype=np.float32)
    v = base.T  # logical shape (30, 40): fan_in 30, fan_out 40
    F.variance_scaling_(v, 1.0, "fan_out", "uniform", generator=4)
    np.testing.assert_array_equal(
        v, F.variance_scaling((30, 40), 1.0, "fan_out", "uniform", generator=4)
    )
    assert np.abs(v).max() <= math.sqrt(3 / 40)


def test_zero_element_is_noop():
    g = init.Generator(1)
    x = np.empty((0, 5), dtype=np.float32)
    assert F.variance_scaling_(x, generator=g) is x
    assert F.he_normal((3, 0, 4), generator=g).shape == (3, 0, 4)
    assert g.position == 0
    # still validated
    with pytest.raises(ValueError):
        F.variance_scaling_(x, mode="bad")


# ---------------------------------------------------------------------------
# the named specialisations
# ---------------------------------------------------------------------------

SPECIALISATIONS = [
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
]


@pytest.mark.parametrize("name, scale, mode, distribution", SPECIALISATIONS)
@pytest.mark.parametrize("layout", ["dense", "jax_conv", "torch_conv"])
def test_specialisations(name, scale, mode, distribution, layout):
    shape, axes = LAYOUTS[layout]
    a = getattr(F, name)(shape, **axes, dtype="float32", generator=21)
    x = np.empty(shape, dtype=np.float32)
    assert getattr(F, name + "_")(x, **axes, generator=21) is x
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(
        a, F.variance_scaling(shape, scale, mode, distribution, **axes, generator=21)
    )
    # and directly against the formula, independently of variance_scaling
    fi, fo = direct_fans(shape, **axes)
    n = {"fan_in": fi, "fan_avg": (fi + fo) / 2}[mode]
    ks_test(a, fast_cdf(distribution, scale / n), label=f"{name}/{layout}")


def test_he_normal_is_truncated_unlike_torch():
    x = F.he_normal((1000, 1000), generator=0, dtype="float64")
    sigma = math.sqrt(2 / 1000) / TRUNC
    assert np.abs(x).max() <= 2 * sigma
    assert np.abs(x).max() > 1.99 * sigma


# ---------------------------------------------------------------------------
# delta_orthogonal
# ---------------------------------------------------------------------------


def _orth_tol(dtype):
    return {np.float16: 5e-3, np.float32: 1e-5, np.float64: 1e-12}[dtype]


@pytest.mark.parametrize(
    "shape",
    [(3, 4, 8), (1, 5, 5), (4, 2, 6), (3, 3, 16, 16), (5, 3, 8, 32), (2, 4, 3, 7),
     (3, 3, 3, 4, 4), (1, 2, 5, 6, 9)],
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("column_axis", [-1, 0])
def test_delta_orthogonal_structure(shape, dtype, column_axis):
    scale = 1.5
    x = sentinel(shape, dtype)
    assert F.delta_orthogonal_(x, scale, column_axis, generator=8) is x
    centre = tuple((k - 1) // 2 for k in shape[:-2])  # JAX's centre, also for even k
    tap = x[centre].astype(np.float64)
    n_in, n_out = shape[-2:]
    # the centre tap has orthonormal rows (in <= out), times scale
    np.testing.assert_allclose(tap @ tap.T / scale**2, np.eye(n_in), atol=_orth_tol(dtype))
    # everything else is exactly zero
    mask = np.ones(shape[:-2], dtype=bool)
    mask[centre] = False
    off = x[mask]
    assert off.size == (math.prod(shape[:-2]) - 1) * n_in * n_out
    assert np.count_nonzero(off) == 0
    # the tap is ferroinit.orthogonal_ on (in, out) (or on (out, in), transposed)
    g = init.Generator(8)
    if column_axis == -1:
        ref = init.orthogonal((n_in, n_out), scale, dtype=np.dtype(dtype).name, generator=g)
    else:
        ref = init.orthogonal((n_out, n_in), scale, dtype=np.dtype(dtype).name, generator=g).T
    np.testing.assert_array_equal(x[centre], ref)
    # the allocating form agrees
    np.testing.assert_array_equal(
        F.delta_orthogonal(shape, scale, column_axis, dtype=np.dtype(dtype).name, generator=8), x
    )


def test_delta_orthogonal_square_tap_is_orthogonal_both_ways():
    x = F.delta_orthogonal((3, 3, 32, 32), dtype="float64", generator=2)
    c = x[1, 1]
    np.testing.assert_allclose(c @ c.T, np.eye(32), atol=1e-12)
    np.testing.assert_allclose(c.T @ c, np.eye(32), atol=1e-12)


def test_delta_orthogonal_tap_is_haar():
    """Entries of a Haar orthogonal n x n matrix, times sqrt(n), are close to N(0, 1)
    (first coordinate of a uniform point on the sphere: exactly a scaled Beta)."""
    n = 256
    taps = []
    g = init.Generator(13)
    for _ in range(16):
        taps.append(F.delta_orthogonal((1, n, n), dtype="float64", generator=g)[0])
    v = np.concatenate([t.ravel() for t in taps])
    assert v.size >= KS_N
    # each entry q satisfies (q^2) ~ Beta(1/2, (n-1)/2); KS on the signed value

    def cdf(q):
        return 0.5 + 0.5 * np.sign(q) * scipy.special.betainc(
            0.5, (n - 1) / 2, np.minimum(q * q, 1.0)
        )

    ks_test(v, cdf, label="delta_orthogonal Haar entries")


def test_delta_orthogonal_position():
    g1, g2 = init.Generator(0), init.Generator(0)
    F.delta_orthogonal((3, 3, 4, 6), generator=g1)
    init.orthogonal((4, 6), generator=g2)
    assert g1.position == g2.position > 0


@pytest.mark.parametrize("shape", [(4, 4), (2, 2, 2, 2, 2, 2), (5,)])
def test_delta_orthogonal_bad_rank(shape):
    x = sentinel(shape)
    with pytest.raises(ValueError) as e:
        F.delta_orthogonal_(x, generator=0)
    assert str(e.value) == "Delta orthogonal initializer requires a 3D, 4D or 5D shape."
    np.testing.assert_array_equal(x, sentinel(shape))
    with pytest.raises(ValueError):
        F.delta_orthogonal(shape)


@pytest.mark.parametrize("shape", [(3, 8, 4), (3, 3, 5, 4), (1, 1, 1, 3, 2)])
def test_delta_orthogonal_in_greater_than_out(shape):
    x = sentinel(shape)
    g = init.Generator(0)
    with pytest.raises(ValueError) as e:
        F.delta_orthogonal_(x, generator=g)
    assert str(e.value) == "`fan_in` must be less or equal than `fan_out`. "
    np.testing.assert_array_equal(x, sentinel(shape))
    assert g.position == 0


def test_delta_orthogonal_bad_column_axis_and_readonly():
    x = sentinel((3, 4, 4))
    with pytest.raises(IndexError):
        F.delta_orthogonal_(x, column_axis=2)
    x.flags.writeable = False
    g = init.Generator(0)
    with pytest.raises(ValueError, match="read-only"):
        F.delta_orthogonal_(x, generator=g)
    assert g.position == 0
    np.testing.assert_array_equal(x, sentinel((3, 4, 4)))


# ---------------------------------------------------------------------------
# Keras identity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2), (1, 1), (0, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5, -2.0, 3.3])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_identity_exact(shape, gain, dtype):
    d = init.empty((1,), dtype=dtype).dtype
    expected = (gain * np.eye(*shape, dtype=np.float64)).astype(d)
    x = np.asarray(sentinel(shape, np.float32)).astype(d)
    assert F.identity_(x, gain) is x
    np.testing.assert_array_equal(x.astype(np.float64), expected.astype(np.float64))
    np.testing.assert_array_equal(
        F.identity(shape, gain, dtype=dtype).astype(np.float64), expected.astype(np.float64)
    )


def test_identity_view():
    base = sentinel((6, 4), np.float64)
    F.identity_(base.T, 2.0)  # (4, 6) view
    np.testing.assert_array_equal(base.T, 2.0 * np.eye(4, 6))


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), ()])
def test_identity_not_2d(shape):
    x = sentinel(shape)
    with pytest.raises(ValueError) as e:
        F.identity_(x)
    assert str(e.value) == (
        "Identity matrix initializer can only be used for 2D matrices. "
        f"Received: shape={shape} of rank {len(shape)}."
    )
    np.testing.assert_array_equal(x, sentinel(shape))
    with pytest.raises(ValueError):
        F.identity(shape)


def test_identity_nonfinite_gain():
    x = sentinel((3, 3))
    with pytest.raises(ValueError, match="finite"):
        F.identity_(x, float("nan"))
    np.testing.assert_array_equal(x, sentinel((3, 3)))


# ---------------------------------------------------------------------------
# Keras orthogonal
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(6, 4), (4, 6), (3, 3, 4, 16), (2, 3, 12), (2, 2, 5, 3), (3, 4, 5), (7, 1, 1)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keras_orthogonal(shape, dtype):
    gain = 0.7
    x = sentinel(shape, dtype)
    assert F.keras_orthogonal_(x, gain, generator=5) is x
    rows, cols = math.prod(shape[:-1]), shape[-1]  # Keras' flattening
    m = x.reshape(rows, cols).astype(np.float64) / gain
    tol = 1e-5 if dtype == np.float32 else 1e-12
    if rows >= cols:
        np.testing.assert_allclose(m.T @ m, np.eye(cols), atol=tol)
    else:
        np.testing.assert_allclose(m @ m.T, np.eye(rows), atol=tol)
    # exactly ferroinit.orthogonal_ on the (rows, cols) matrix, reshaped in C order
    ref = init.orthogonal((rows, cols), gain, dtype=np.dtype(dtype).name, generator=5)
    np.testing.assert_array_equal(x, ref.reshape(shape))
    np.testing.assert_array_equal(
        F.keras_orthogonal(shape, gain, dtype=np.dtype(dtype).name, generator=5), x
    )


def test_keras_flattening_differs_from_torch():
    """(3, 4, 5): Keras orthonormalises the 5 columns of a 12 x 5 matrix, torch the 3 rows of
    a 3 x 20 matrix."""
    x = F.keras_orthogonal((3, 4, 5), dtype="float64", generator=0)
    k = x.reshape(12, 5)
    np.testing.assert_allclose(k.T @ k, np.eye(5), atol=1e-12)
    t = x.reshape(3, 20)
    assert not np.allclose(t @ t.T, np.eye(3), atol=1e-3)


def test_keras_orthogonal_noncontiguous():
    base = np.zeros((16, 4, 3, 3), dtype=np.float64)
    v = base.transpose(2, 3, 1, 0)  # a (3, 3, 4, 16) Keras kernel view of a torch buffer
    F.keras_orthogonal_(v, generator=9)
    np.testing.assert_array_equal(v, F.keras_orthogonal((3, 3, 4, 16), dtype="float64",
                                                        generator=9))
    ro = np.zeros((2, 3, 4)).transpose(1, 0, 2)
    ro.flags.writeable = False
    g = init.Generator(0)
    with pytest.raises(ValueError, match="read-only"):
        F.keras_orthogonal_(ro, generator=g)
    assert g.position == 0


@pytest.mark.parametrize("shape", [(5,), ()])
def test_keras_orthogonal_needs_2d(shape):
    x = sentinel(shape)
    with pytest.raises(ValueError) as e:
        F.keras_orthogonal_(x)
    assert str(e.value) == (
        "The tensor to initialize must be at least two-dimensional. "
        f"Received: shape={shape} of rank {len(shape)}."
    )
    np.testing.assert_array_equal(x, sentinel(shape))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fan", "FAN_IN", "fan_mean", None])
def test_bad_mode(mode):
    x = sentinel((4, 5))
    g = init.Generator(0)
    with pytest.raises(ValueError) as e:
        F.variance_scaling_(x, 1.0, mode, "normal", generator=g)
    assert str(e.value) == f"invalid mode for variance scaling initializer: {mode}"
    np.testing.assert_array_equal(x, sentinel((4, 5)))
    assert g.position == 0
    with pytest.raises(ValueError):
        F.variance_scaling((4, 5), 1.0, mode)


@pytest.mark.parametrize("distribution", ["gaussian", "untruncated_normal", "Uniform", None])
def test_bad_distribution(distribution):
    x = sentinel((4, 5))
    g = init.Generator(0)
    with pytest.raises(ValueError) as e:
        F.variance_scaling_(x, 1.0, "fan_in", distribution, generator=g)
    assert str(e.value) == (
        f"invalid distribution for variance scaling initializer: {distribution}"
    )
    np.testing.assert_array_equal(x, sentinel((4, 5)))
    assert g.position == 0


@pytest.mark.parametrize("scale", [-1.0, float("nan"), float("inf")])
def test_bad_scale(scale):
    x = sentinel((4, 5))
    with pytest.raises(ValueError):
        F.variance_scaling_(x, scale)
    np.testing.assert_array_equal(x, sentinel((4, 5)))


@pytest.mark.parametrize(
    "fn", [F.variance_scaling_, F.lecun_uniform_, F.lecun_normal_, F.glorot_uniform_,
           F.glorot_normal_, F.he_uniform_, F.he_normal_]
)
def test_one_dimensional_refused(fn):
    x = sentinel((7,))
    with pytest.raises(ValueError, match="Must be at least 2D"):
        fn(x, generator=0)
    np.testing.assert_array_equal(x, sentinel((7,)))


def test_readonly_and_int_dtype_refused():
    x = sentinel((4, 5))
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        F.glorot_uniform_(x, generator=0)
    with pytest.raises(TypeError):
        F.he_uniform_(np.zeros((4, 5), dtype=np.int32), generator=0)
    with pytest.raises(TypeError):
        F.delta_orthogonal_(np.zeros((3, 4, 5), dtype=np.int32), generator=0)


# ---------------------------------------------------------------------------
# against JAX and Keras, when installed
# ---------------------------------------------------------------------------

JAX_SHAPES = [((1000, 1100), {}), ((3, 3, 128, 1000), {}),
              ((1000, 128, 3, 3), {"in_axis": 1, "out_axis": 0})]


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.fixture(autouse=True)
def _jax_x64_restored():
    """_jax() turns on float64 in jax for the comparisons; turn it back to what it was after
    each test, so that tests in other files see jax's default (float32) again."""
    import sys

    jax = sys.modules.get("jax")
    before = bool(jax.config.jax_enable_x64) if jax is not None else False
    yield
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", before)


@pytest.mark.parametrize(
    "shape, axes",
    JAX_SHAPES + [((5,), {"in_axis": 0}), ((6,), {"in_axis": (0,), "out_axis": ()}),
                  ((2, 3, 4, 5), {"in_axis": (1, 2), "out_axis": 0, "batch_axis": -1})],
)
def test_compute_fans_matches_jax(shape, axes):
    _jax()
    from jax._src.nn.initializers import _compute_fans

    fi, fo = _compute_fans(shape, **axes)
    assert F.compute_fans(shape, **axes) == (float(fi), float(fo))


@pytest.mark.parametrize("shape, axes", JAX_SHAPES)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_variance_scaling_matches_jax(mode, distribution, shape, axes):
    jax = _jax()
    import jax.numpy as jnp

    if mode == "fan_geo_avg":
        try:
            jax.nn.initializers.variance_scaling(1.0, mode, distribution)(
                jax.random.PRNGKey(0), (2, 2), jnp.float64
            )
        except ValueError:
            pytest.skip("this jax has no fan_geo_avg")
    ref = np.asarray(
        jax.nn.initializers.variance_scaling(1.3, mode, distribution, **axes)(
            jax.random.PRNGKey(17), shape, jnp.float64
        )
    )
    ours = F.variance_scaling(shape, 1.3, mode, distribution, **axes, dtype="float64",
                              generator=17)
    ks_2samp(ours, ref, label=f"jax {mode}/{distribution}/{shape}")
    np.testing.assert_allclose(ours.std(), ref.std(), rtol=6e-3)
    if distribution != "normal":
        np.testing.assert_allclose(np.abs(ours).max(), np.abs(ref).max(), rtol=1e-3)


@pytest.mark.parametrize(
    "name", ["lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal", "he_uniform",
             "he_normal"]
)
def test_specialisations_match_jax(name):
    jax = _jax()
    import jax.numpy as jnp

    shape, axes = JAX_SHAPES[2]
    ref = np.asarray(getattr(jax.nn.initializers, name)(**axes)(
        jax.random.PRNGKey(3), shape, jnp.float64))
    ours = getattr(F, name)(shape, **axes, dtype="float64", generator=3)
    ks_2samp(ours, ref, label=f"jax {name}")


@pytest.mark.parametrize("shape", [(3, 4, 8), (4, 3, 3, 16), (3, 3, 3, 5, 5), (2, 2, 6)])
@pytest.mark.parametrize("column_axis", [-1, 0])
def test_delta_orthogonal_matches_jax(shape, column_axis):
    jax = _jax()
    import jax.numpy as jnp

    ref = np.asarray(jax.nn.initializers.delta_orthogonal(1.2, column_axis)(
        jax.random.PRNGKey(0), shape, jnp.float64))
    ours = F.delta_orthogonal(shape, 1.2, column_axis, dtype="float64", generator=0)
    # the same zero pattern (the same centre tap), the same Gram matrix of the tap
    np.testing.assert_array_equal(ref != 0, ours != 0)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    np.testing.assert_allclose(ours[centre] @ ours[centre].T, ref[centre] @ ref[centre].T,
                               atol=1e-12)
    with pytest.raises(ValueError) as ej:
        jax.nn.initializers.delta_orthogonal()(jax.random.PRNGKey(0), (3, 5, 4), jnp.float32)
    with pytest.raises(ValueError) as eo:
        F.delta_orthogonal((3, 5, 4))
    assert str(eo.value) == str(ej.value)


def test_jax_error_messages():
    jax = _jax()
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    for mode, dist in [("bad", "normal"), ("fan_in", "bad")]:
        with pytest.raises(ValueError) as ej:
            jax.nn.initializers.variance_scaling(1.0, mode, dist)(key, (4, 5), jnp.float32)
        with pytest.raises(ValueError) as eo:
            F.variance_scaling((4, 5), 1.0, mode, dist)
        assert str(eo.value) == str(ej.value)
    with pytest.raises(ValueError) as ej:
        jax.nn.initializers.lecun_normal()(key, (5,), jnp.float32)
    with pytest.raises(ValueError) as eo:
        F.lecun_normal((5,))
    assert str(eo.value) == str(ej.value)


def _keras():
    pytest.importorskip("jax")
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_identity_matches_keras(shape):
    keras = _keras()
    ref = np.asarray(keras.initializers.Identity(gain=1.5)(shape, dtype="float32"))
    np.testing.assert_array_equal(F.identity(shape, 1.5), ref)
    with pytest.raises(ValueError) as ek:
        keras.initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError) as eo:
        F.identity((2, 2, 2))
    assert str(eo.value) == str(ek.value)


@pytest.mark.parametrize("shape", [(3, 3, 4, 16), (2, 3, 12), (3, 4, 5)])
def test_keras_orthogonal_matches_keras(shape):
    keras = _keras()
    ref = np.asarray(keras.initializers.Orthogonal(gain=0.7, seed=1)(shape, dtype="float32"))
    ours = F.keras_orthogonal(shape, 0.7, generator=1)
    rows, cols = math.prod(shape[:-1]), shape[-1]
    r, o = ref.reshape(rows, cols), ours.reshape(rows, cols)
    if rows >= cols:
        np.testing.assert_allclose(o.T @ o, r.T @ r, atol=1e-5)
    else:
        np.testing.assert_allclose(o @ o.T, r @ r.T, atol=1e-5)
    with pytest.raises(ValueError) as ek:
        keras.initializers.Orthogonal()((5,))
    with pytest.raises(ValueError) as eo:
        F.keras_orthogonal((5,))
    assert str(eo.value) == str(ek.value)
