"""Distribution tests: Kolmogorov-Smirnov at >= 10**6 samples, supports, dtypes, and
statistical agreement with torch.nn.init on the same shape."""

from __future__ import annotations

import math
import warnings

import ferroinit as init
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import (
    KS_N,
    check_moments,
    dequantize,
    ks_2samp,
    ks_test,
    torch_fan_in_out,
    torch_init,
    truncnorm_cdf,
    truncnorm_moments,
)

# float16 KS: the values are dequantized (spread over their rounding cells, see
# conftest.dequantize) and tested with a somewhat looser p threshold.
F16_P_MIN = 1e-7


def _no_warn_trunc(fn, *args, **kwargs):
    """Call fn ignoring the torch-style 'mean is more than 2 std' warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*mean is more than 2 std.*")
        return fn(*args, **kwargs)


def xavier_std(shape, gain):
    fan_in, fan_out = torch_fan_in_out(shape)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def kaiming_std(shape, a, mode, nonlinearity):
    fan_in, fan_out = torch_fan_in_out(shape)
    fan = fan_in if mode.lower() == "fan_in" else fan_out
    return torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


# ---------------------------------------------------------------------------
# uniform
# ---------------------------------------------------------------------------

UNIFORM_PARAMS = [
    (0.0, 1.0),
    (-3.0, 5.0),
    (-1e-3, 1e-3),
    (2.0, 2.5),
    (-1e30, 1e30),
    (-7.25, -7.0),
]


@pytest.mark.parametrize("a,b", UNIFORM_PARAMS)
def test_uniform_ks(wide_dtype, a, b):
    x = init.uniform((KS_N,), a, b, dtype=wide_dtype, generator=11)
    assert x.dtype == wide_dtype and x.shape == (KS_N,)
    xd = x.astype(np.float64)
    assert xd.min() >= a and xd.max() <= b
    ks_test(xd, scipy.stats.uniform(loc=a, scale=b - a).cdf, label=f"uniform({a},{b})")
    check_moments(xd, (a + b) / 2, (b - a) / math.sqrt(12), label="uniform")


def test_uniform_inplace_default_params_ks(wide_dtype):
    x = np.empty((1000, 1000), dtype=wide_dtype)
    out = init.uniform_(x, generator=5)
    assert out is x
    ks_test(x, scipy.stats.uniform().cdf, label="uniform_ default")


def test_uniform_large_offset_float64():
    a, b = 1e6, 1e6 + 10
    x = init.uniform((KS_N,), a, b, dtype="float64", generator=3)
    assert x.min() >= a and x.max() <= b
    ks_test(x, scipy.stats.uniform(loc=a, scale=b - a).cdf, label="uniform offset")


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-3.0, 5.0), (-0.1, 0.3)])
def test_uniform_float16_coarse(a, b):
    x = init.uniform((KS_N,), a, b, dtype=np.float16, generator=21)
    assert x.dtype == np.float16
    xd = x.astype(np.float64)
    assert xd.min() >= a and xd.max() <= b
    ks_test(dequantize(x, a, b), scipy.stats.uniform(loc=a, scale=b - a).cdf, p_min=F16_P_MIN, label="uniform f16")
    assert abs(xd.mean() - (a + b) / 2) < 0.005 * (b - a)
    assert abs(xd.std() - (b - a) / math.sqrt(12)) < 0.005 * (b - a)


@pytest.mark.parametrize(
    "a,b",
    [(0.1, 0.3), (-0.3, -0.1), (0.1, 0.1002), (0.0, 1.0), (-1.0, 1.0), (1.0 / 3, 2.0 / 3), (0.7, 0.70001)],
)
def test_uniform_support_every_dtype(float_dtype, a, b):
    # a and b not representable in the dtype: values must still lie in [a, b]
    if float_dtype == np.float16 and (b - a) < 1e-4:
        pytest.skip("no float16 value inside such a narrow window")
    x = init.uniform((200_003,), a, b, dtype=float_dtype, generator=8)
    xd = x.astype(np.float64)
    assert np.all(np.isfinite(xd))
    assert xd.min() >= a, f"value {xd.min()!r} below a={a!r} in {np.dtype(float_dtype)}"
    assert xd.max() <= b, f"value {xd.max()!r} above b={b!r} in {np.dtype(float_dtype)}"


# ---------------------------------------------------------------------------
# normal
# ---------------------------------------------------------------------------

NORMAL_PARAMS = [
    (0.0, 1.0),
    (3.0, 0.5),
    (-1.0, 1e-3),
    (0.0, 1e-20),
    (0.0, 1e20),
    (5.0, 100.0),
]


@pytest.mark.parametrize("mean,std", NORMAL_PARAMS)
def test_normal_ks(wide_dtype, mean, std):
    x = init.normal((KS_N,), mean, std, dtype=wide_dtype, generator=12)
    assert x.dtype == wide_dtype
    xd = x.astype(np.float64)
    ks_test(xd, scipy.stats.norm(loc=mean, scale=std).cdf, label=f"normal({mean},{std})")
    check_moments(xd, mean, std, label=f"normal({mean},{std})")


def test_normal_inplace_2d_ks(wide_dtype):
    x = np.empty((1250, 800), dtype=wide_dtype)
    assert init.normal_(x, generator=77) is x
    ks_test(x, scipy.stats.norm().cdf, label="normal_ default")


def test_normal_tails_present():
    # a sampler that cannot produce |z| > 4.5 (e.g. a crude approximation) shows here:
    # P(|z| > 4.5) = 6.8e-6 -> expect ~27 of 4e6; Poisson(27) < 8 has prob ~1e-6
    x = init.normal((4_000_000,), dtype="float64", generator=13)
    n_tail = int(np.count_nonzero(np.abs(x) > 4.5))
    assert 8 <= n_tail <= 60, n_tail
    # and the far tail is not over-populated
    assert np.count_nonzero(np.abs(x) > 6.5) <= 2


def test_normal_std_zero_is_mean(float_dtype):
    x = init.normal((1001,), 1.5, 0.0, dtype=float_dtype, generator=1)
    assert np.all(x == float_dtype(1.5))


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.0, 0.25), (-1.0, 3.0)])
def test_normal_float16_coarse(mean, std):
    x = init.normal((KS_N,), mean, std, dtype=np.float16, generator=22)
    assert x.dtype == np.float16
    xd = x.astype(np.float64)
    assert np.all(np.isfinite(xd))
    ks_test(dequantize(x), scipy.stats.norm(loc=mean, scale=std).cdf, p_min=F16_P_MIN, label="normal f16")
    assert abs(xd.mean() - mean) < 0.01 * std
    assert abs(xd.std() - std) < 0.01 * std


# ---------------------------------------------------------------------------
# trunc_normal
# ---------------------------------------------------------------------------

# (mean, std, a, b, dtypes)
TRUNC_PARAMS = [
    pytest.param(0.0, 1.0, -2.0, 2.0, "both", id="default"),
    pytest.param(0.0, 1.0, -1.0, 3.0, "both", id="asymmetric"),
    pytest.param(0.0, 1.0, 0.0, 100.0, "both", id="half-normal"),
    pytest.param(0.0, 1.0, -100.0, 100.0, "both", id="wide"),
    # float32: windows past the normal sampler's reach (6.67 std) are the clamped normal
    pytest.param(0.0, 0.02, -2.0, 2.0, "both", id="transformer-std-0.02"),
    pytest.param(0.3, 0.5, -3.05, 4.3, "both", id="just-past-normal-reach"),
    pytest.param(0.0, 1.0, -6.6, 6.6, "both", id="just-inside-normal-reach"),
    pytest.param(0.0, 1.0, 5.0, 6.0, "both", id="deep-right-5-6"),
    pytest.param(0.0, 1.0, -6.0, -5.0, "both", id="deep-left-5-6"),
    pytest.param(2.0, 0.5, 4.5, 5.0, "both", id="deep-right-shifted"),
    pytest.param(-1.0, 2.0, -13.0, -11.0, "both", id="deep-left-shifted"),
    pytest.param(0.0, 1.0, 8.0, 9.0, "both", id="deeper-right-8-9"),
    pytest.param(0.0, 1.0, -9.0, -8.0, "both", id="deeper-left-8-9"),
    # the float32 window path: both erfinv segments, one end far, one end unreachable
    pytest.param(0.0, 1.0, 2.0, 3.0, "both", id="right-2-3"),
    pytest.param(0.0, 1.0, -0.5, 3.0, "both", id="straddling-median"),
    pytest.param(0.0, 1.0, -12.0, -1.0, "both", id="one-sided-left-12"),
    pytest.param(0.0, 1.0, 1.0, 12.5, "both", id="one-sided-right-12.5"),
    pytest.param(0.0, 1.0, -20.0, 3.0, "both", id="end-beyond-float32"),
    pytest.param(0.0, 1.0, 0.5, 0.51, "both", id="narrow"),
    pytest.param(0.0, 1.0, 0.5, 0.5001, "f64", id="very-narrow"),
    pytest.param(0.0, 1.0, -1e-3, 1e-3, "both", id="narrow-centered"),
    pytest.param(0.0, 1e3, -2.0, 2.0, "both", id="huge-std"),
    pytest.param(0.0, 1e6, -1.0, 3.0, "both", id="huger-std"),
    pytest.param(0.0, 1e-3, -2.0, 2.0, "both", id="small-std"),
    pytest.param(1.0, 1e-4, 0.9999, 1.0003, "f64", id="small-std-offset"),
    pytest.param(10.0, 3.0, 0.0, 1.0, "both", id="mean-far-right-of-window"),
]


@pytest.mark.parametrize("mean,std,a,b,which", TRUNC_PARAMS)
def test_trunc_normal_ks(wide_dtype, mean, std, a, b, which):
    if which == "f64" and wide_dtype != np.float64:
        pytest.skip("window too narrow for float32 resolution")
    x = _no_warn_trunc(
        init.trunc_normal, (KS_N,), mean, std, a, b, dtype=wide_dtype, generator=14
    )
    assert x.dtype == wide_dtype
    xd = x.astype(np.float64)
    assert np.all(np.isfinite(xd))
    assert xd.min() >= a and xd.max() <= b, (xd.min(), xd.max())
    label = f"trunc_normal(mean={mean}, std={std}, a={a}, b={b}, {np.dtype(wide_dtype)})"
    ks_test(xd, truncnorm_cdf(mean, std, a, b), label=label)
    m, s = truncnorm_moments(mean, std, a, b)
    check_moments(xd, m, s, label=label)


def test_trunc_normal_inplace_default_params():
    x = np.empty((1000, 1000), dtype=np.float32)
    assert init.trunc_normal_(x, generator=15) is x
    ks_test(x, truncnorm_cdf(0.0, 1.0, -2.0, 2.0), label="trunc_normal_ default")


@pytest.mark.parametrize(
    "mean,std,a,b",
    [
        (0.0, 1.0, -2.0, 2.0),
        (0.0, 1.0, 5.0, 6.0),
        (0.0, 1.0, -1.0, 3.0),
        (0.0, 0.02, -0.04, 0.04),
        (0.0, 1.0, 2.0, 3.0),
        (0.0, 1.0, 8.0, 9.0),
    ],
)
def test_trunc_normal_float16_coarse(mean, std, a, b):
    x = _no_warn_trunc(init.trunc_normal, (KS_N,), mean, std, a, b, dtype=np.float16, generator=23)
    xd = x.astype(np.float64)
    assert xd.min() >= a and xd.max() <= b
    ks_test(dequantize(x, a, b), truncnorm_cdf(mean, std, a, b), p_min=F16_P_MIN, label="trunc_normal f16")
    m, s = truncnorm_moments(mean, std, a, b)
    assert abs(xd.mean() - m) < 0.01 * s + 1e-3 * abs(m)
    assert abs(xd.std() - s) < 0.02 * s


TRUNC_SUPPORT = [
    (0.0, 1.0, 0.1, 0.3),
    (0.0, 1.0, -0.3, -0.1),
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 5.0, 6.0),
    (0.0, 1.0, -6.0, -5.0),
    (0.0, 1.0, 8.0, 9.0),
    (0.0, 1.0, 2.0, 3.0),
    (0.0, 1.0, -12.0, -1.0),
    (0.0, 1.0, 1.0, 12.9),
    (0.0, 1.0, -20.0, 3.0),
    (0.1, 0.01, 0.1, 0.1002),  # narrow window around a non-representable bound
    (0.0, 1.0, 1.0 / 3, 1.0 / 3 + 1e-3),
    (0.0, 1e-6, -0.1, 0.1),  # values concentrate near 0: subnormal float16 range
    (100.0, 1.0, 99.9, 100.1),
    (0.0, 1.0, 0.7, 0.70001),
    (0.0, 1.0, -6.67, 6.67),  # the smallest window the float32 stream samples as a normal
    (0.5, 0.02, -2.0, 2.0),
]


@pytest.mark.parametrize("mean,std,a,b", TRUNC_SUPPORT)
def test_trunc_normal_never_outside_bounds(float_dtype, mean, std, a, b):
    if float_dtype == np.float16 and (b - a) < 1e-4:
        pytest.skip("no float16 value inside such a narrow window")
    x = _no_warn_trunc(
        init.trunc_normal, (300_007,), mean, std, a, b, dtype=float_dtype, generator=16
    )
    xd = x.astype(np.float64)
    assert np.all(np.isfinite(xd))
    assert xd.min() >= a, f"{np.dtype(float_dtype)}: value {xd.min()!r} < a={a!r}"
    assert xd.max() <= b, f"{np.dtype(float_dtype)}: value {xd.max()!r} > b={b!r}"


def test_trunc_normal_float16_not_piled_on_bound():
    # "round into the interval, not onto a clamp": with a window [0.1, 0.3] of N(0,1),
    # the float16 value closest to a (from above) gets about its fair share only.
    a, b = 0.1, 0.3
    x = init.trunc_normal((KS_N,), 0.0, 1.0, a, b, dtype=np.float16, generator=17)
    lo = np.float16(a)
    if float(lo) < a:
        lo = np.nextafter(lo, np.float16(1))
    frac = np.count_nonzero(x == lo) / x.size
    ulp = float(np.nextafter(lo, np.float16(1)) - lo)
    fair = ulp / (b - a)  # roughly uniform density on the window
    assert frac < 3 * fair, (frac, fair)


# ---------------------------------------------------------------------------
# float16 is the float32 stream rounded to nearest even
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,args",
    [
        ("uniform", (0.0, 1.0)),
        ("uniform", (-3.0, 5.0)),
        ("uniform", (0.1, 0.3)),
        ("normal", (0.0, 1.0)),
        ("normal", (1.0, 0.01)),
        ("trunc_normal", (0.0, 1.0, -2.0, 2.0)),
        ("trunc_normal", (0.0, 1.0, 0.1, 0.3)),
    ],
)
def test_float16_is_rounded_float32_stream(fn, args):
    n = 100_003
    g16 = init.Generator(31)
    g32 = init.Generator(31)
    x16 = getattr(init, fn)((n,), *args, dtype=np.float16, generator=g16)
    x32 = getattr(init, fn)((n,), *args, dtype=np.float32, generator=g32)
    assert g16.position == g32.position == -(-n // 4)
    r = x32.astype(np.float16)  # IEEE round-to-nearest-even
    if fn == "normal":
        np.testing.assert_array_equal(x16, r)
        return
    lo, hi = args[-2], args[-1]
    rd = r.astype(np.float64)
    inside = (rd >= lo) & (rd <= hi)
    np.testing.assert_array_equal(x16[inside], r[inside])
    # where rounding would leave [a, b], the value moved to the neighbour inside
    out = ~inside
    if np.any(out):
        d16 = x16[out].astype(np.float64)
        assert np.all((d16 >= lo) & (d16 <= hi))
        step = np.abs(np.nextafter(r[out], np.float16(0)).astype(np.float64) - rd[out])
        assert np.all(np.abs(d16 - rd[out]) <= 2 * step + 1e-12)


# ---------------------------------------------------------------------------
# xavier / kaiming: exact torch bounds / stds, several shapes
# ---------------------------------------------------------------------------

XK_SHAPES = [
    (1000, 1000),
    (2000, 500),
    (500, 2003),
    (1024, 128, 3, 3),
    (320, 128, 3, 3, 3),
    (96, 11, 1000),
]


XAVIER_CASES = [(shape, 1.0) for shape in XK_SHAPES] + [
    ((1000, 1000), math.sqrt(2.0)),
    ((1024, 128, 3, 3), 0.1),
    ((500, 2003), 5.0 / 3),
]


@pytest.mark.parametrize("shape,gain", XAVIER_CASES)
def test_xavier_uniform_ks(shape, gain):
    bound = math.sqrt(3.0) * xavier_std(shape, gain)
    x = init.xavier_uniform(shape, gain, generator=41)
    assert x.shape == shape and x.dtype == np.float32
    xd = x.astype(np.float64)
    assert np.abs(xd).max() <= bound * (1 + 1e-12)
    ks_test(xd, scipy.stats.uniform(loc=-bound, scale=2 * bound).cdf, label=f"xavier_uniform {shape} gain={gain}")
    check_moments(xd, 0.0, 2 * bound / math.sqrt(12), label="xavier_uniform")


@pytest.mark.parametrize("shape,gain", XAVIER_CASES)
def test_xavier_normal_ks(shape, gain):
    std = xavier_std(shape, gain)
    x = np.empty(shape, dtype=np.float32)
    assert init.xavier_normal_(x, gain, generator=42) is x
    xd = x.astype(np.float64)
    ks_test(xd, scipy.stats.norm(scale=std).cdf, label=f"xavier_normal {shape} gain={gain}")
    check_moments(xd, 0.0, std, label="xavier_normal")


KAIMING_CFGS = [
    (0, "fan_in", "leaky_relu"),
    (0.2, "fan_out", "leaky_relu"),
    (5, "fan_in", "leaky_relu"),
    (0, "fan_in", "relu"),
    (0, "fan_out", "linear"),
    (0, "fan_in", "tanh"),
    (0, "fan_out", "selu"),
    (0, "fan_in", "conv2d"),
    (0.01, "fan_in", "sigmoid"),
]


# every configuration on two shapes (cycling through 2-D and conv shapes)
KAIMING_CASES = [
    (XK_SHAPES[(i + k) % len(XK_SHAPES)],) + cfg
    for i, cfg in enumerate(KAIMING_CFGS)
    for k in (0, 3)
]


@pytest.mark.parametrize("shape,a,mode,nonlinearity", KAIMING_CASES)
def test_kaiming_uniform_ks(shape, a, mode, nonlinearity):
    std = kaiming_std(shape, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    x = init.kaiming_uniform(shape, a, mode, nonlinearity, generator=43)
    assert x.shape == shape and x.dtype == np.float32
    xd = x.astype(np.float64)
    assert np.abs(xd).max() <= bound * (1 + 1e-12)
    ks_test(
        xd,
        scipy.stats.uniform(loc=-bound, scale=2 * bound).cdf,
        label=f"kaiming_uniform {shape} a={a} {mode} {nonlinearity}",
    )


@pytest.mark.parametrize("shape,a,mode,nonlinearity", KAIMING_CASES)
def test_kaiming_normal_ks(shape, a, mode, nonlinearity):
    std = kaiming_std(shape, a, mode, nonlinearity)
    x = np.empty(shape, dtype=np.float32)
    assert init.kaiming_normal_(x, a=a, mode=mode, nonlinearity=nonlinearity, generator=44) is x
    xd = x.astype(np.float64)
    ks_test(xd, scipy.stats.norm(scale=std).cdf, label=f"kaiming_normal {shape} a={a} {mode} {nonlinearity}")
    check_moments(xd, 0.0, std, label="kaiming_normal")


@pytest.mark.parametrize("fn", ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"])
def test_xavier_kaiming_float64_and_float16(fn):
    shape = (1024, 128, 3, 3)
    if fn.startswith("xavier"):
        std = xavier_std(shape, 1.0)
    else:
        std = kaiming_std(shape, 0, "fan_in", "leaky_relu")
    uniform = fn.endswith("uniform")
    bound = math.sqrt(3.0) * std
    dist = scipy.stats.uniform(loc=-bound, scale=2 * bound) if uniform else scipy.stats.norm(scale=std)
    x64 = getattr(init, fn)(shape, dtype=np.float64, generator=45)
    assert x64.dtype == np.float64
    ks_test(x64, dist.cdf, label=f"{fn} float64")
    x16 = getattr(init, fn)(shape, dtype=np.float16, generator=45)
    assert x16.dtype == np.float16
    d16 = x16.astype(np.float64)
    lim = (-bound, bound) if uniform else (-np.inf, np.inf)
    ks_test(dequantize(x16, *lim), dist.cdf, p_min=F16_P_MIN, label=f"{fn} float16")
    if uniform:
        assert np.abs(d16).max() <= bound * (1 + 1e-12)
    assert abs(d16.std() - std) < 0.01 * std


def test_kaiming_mode_case_insensitive_like_torch():
    shape = (300, 700)
    a = init.kaiming_normal(shape, mode="fan_out", generator=46)
    b = init.kaiming_normal(shape, mode="Fan_Out", generator=46)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# statistics agree with torch.nn.init on the same shape (two-sample KS)
# ---------------------------------------------------------------------------

TORCH_CASES = [
    ("uniform_", (1000, 1000), (), {}),
    ("uniform_", (1000, 1000), (-2.0, 0.5), {}),
    ("normal_", (1000, 1000), (0.5, 2.0), {}),
    ("trunc_normal_", (1000, 1000), (0.0, 1.0, -2.0, 2.0), {}),
    ("trunc_normal_", (1000, 1000), (0.0, 0.02, -0.04, 0.04), {}),
    ("trunc_normal_", (1000, 1000), (1.0, 1.0, 0.0, 4.0), {}),
    ("xavier_uniform_", (1024, 128, 3, 3), (), {}),
    ("xavier_normal_", (1024, 128, 3, 3), (2.0,), {}),
    ("kaiming_uniform_", (1024, 128, 3, 3), (), {"a": math.sqrt(5)}),
    ("kaiming_normal_", (2000, 500), (), {"mode": "fan_out", "nonlinearity": "relu"}),
]


@pytest.mark.parametrize("name,shape,args,kwargs", TORCH_CASES)
def test_matches_torch_distribution(name, shape, args, kwargs):
    ref = torch_init(name, shape, *args, seed=2024, **kwargs)
    x = np.empty(shape, dtype=np.float32)
    getattr(init, name)(x, *args, generator=2024, **kwargs)
    ks_2samp(x, ref, label=f"{name}{args}{kwargs} vs torch")
