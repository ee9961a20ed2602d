"""ferroinit.jax against jax.nn.initializers, with real jax and flax.

Laws by two-sample KS against jax's own initializer on the same shape (float32 and float64 at
full resolution; float16/bfloat16 against jax's float32 law rounded to the dtype, and within
jax's own sampler resolution of jax's half-precision output), exact equality where the
semantics are exact (zeros, ones, constant, every fallback to jax), structure for the
orthogonal families, and the key, jit, vmap and flax contracts. Skipped without jax.
"""

from __future__ import annotations

import doctest
import inspect
import math
import os
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
import scipy.stats

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
fij = pytest.importorskip("ferroinit.jax")
import ferroinit
import jax.nn.initializers as jinit

# 2^18 samples per side: a 1% scale error gives D ~ 0.0025 * 1.6, p < 1e-5 at this size only
# when combined with other errors; a mode mix-up (2x in variance) gives D > 0.1.
N = 1 << 18
P_MIN = 1e-5
MODES = ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
DISTRIBUTIONS = ["truncated_normal", "normal", "uniform"]
# fan_in 256, fan_out 1024: every mode gives a different variance.
DENSE = (256, 1024)
CONV = (4, 4, 128, 128)  # (*k, in, out), and (batch, in, ..., out) for the axis cases
TORCH = (128, 128, 4, 4)  # (out, in, *k)
HALF = {"float16": jnp.float16, "bfloat16": jnp.bfloat16}


def _keys(i=0):
    """Different keys for ferroinit's and jax's sample (a shared key would couple ranks)."""
    a, b = jax.random.split(jax.random.key(1000 + i))
    return a, b


def _f64(x):
    return np.asarray(x).astype(np.float64).ravel()


def _ks(ours, theirs, label, p_min=P_MIN):
    res = scipy.stats.ks_2samp(_f64(ours), _f64(theirs))
    assert res.pvalue > p_min, f"{label}: D={res.statistic:.4g} p={res.pvalue:.3g}"
    return res


def _bits(x):
    x = np.asarray(x)
    return x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(_bits(a), _bits(b))


# --------------------------------------------------------------------------- the API


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def test_every_jax_initializer_is_here():
    assert _public(jinit) <= set(fij.__all__), _public(jinit) - set(fij.__all__)
    assert set(fij.__all__) - _public(jinit) == {"generator"}
    assert fij.Initializer is jinit.Initializer
    for alias, name in [("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
                        ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal")]:
        assert getattr(fij, alias) is getattr(fij, name)


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", sorted(_public(jinit) - {"Initializer"}))
def test_signatures_are_jax_signatures(name):
    ours, theirs = getattr(fij, name), getattr(jinit, name)
    assert _params(ours) == _params(theirs)
    if name in ("zeros", "ones"):
        return
    args = {"constant": (1.0,), "variance_scaling": (1.0, "fan_in", "normal")}.get(name, ())
    init_ours, init_theirs = ours(*args), theirs(*args)
    assert _params(init_ours) == _params(init_theirs)
    assert isinstance(init_ours, fij.Initializer)


def test_import_ferroinit_does_not_import_jax():
    code = "import sys, ferroinit; ferroinit.normal(3); assert 'jax' not in sys.modules"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_docstring_examples_run():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(fij, "ferroinit.jax") if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0
    assert result.attempted >= 20


# --------------------------------------------------------------------------- laws


def _vs_case(scale, mode, distribution, **axes):
    return (lambda m: m.variance_scaling(scale, mode, distribution, **axes))


# One shape wherever the layout does not matter: jax compiles its samplers once per shape.
LAW_CASES = {
    **{f"variance_scaling-{d}-{m}": (_vs_case(1.3, m, d), DENSE)
       for d in DISTRIBUTIONS for m in MODES},
    "uniform": (lambda m: m.uniform(), DENSE),
    "uniform-2.5": (lambda m: m.uniform(2.5), DENSE),
    "uniform-negative": (lambda m: m.uniform(-0.7), DENSE),
    "normal": (lambda m: m.normal(), DENSE),
    "normal-negative": (lambda m: m.normal(-3.0), DENSE),
    "truncated_normal": (lambda m: m.truncated_normal(), DENSE),
    "truncated_normal-bounds": (lambda m: m.truncated_normal(0.5, None, -1.0, 3.0), DENSE),
    "truncated_normal-tail": (lambda m: m.truncated_normal(1.0, None, 1.5, 4.0), DENSE),
    "truncated_normal-negative": (lambda m: m.truncated_normal(-2.0, None, -0.5, 2.0), DENSE),
    "truncated_normal-inf": (lambda m: m.truncated_normal(1.0, None, -np.inf, 0.5), DENSE),
    "lecun_normal": (lambda m: m.lecun_normal(), DENSE),
    "lecun_uniform": (lambda m: m.lecun_uniform(), DENSE),
    "glorot_normal": (lambda m: m.glorot_normal(), DENSE),
    "glorot_uniform": (lambda m: m.glorot_uniform(), DENSE),
    "he_normal": (lambda m: m.he_normal(), DENSE),
    "he_uniform": (lambda m: m.he_uniform(), DENSE),
    "he_normal-conv": (lambda m: m.he_normal(), CONV),
    "xavier_uniform-torch-layout": (lambda m: m.xavier_uniform(in_axis=1, out_axis=0), TORCH),
    "kaiming_normal-batch": (lambda m: m.kaiming_normal(batch_axis=0), CONV),
    "lecun_uniform-multi-axis": (lambda m: m.lecun_uniform(in_axis=(0, 1), out_axis=-1), CONV),
}


@pytest.mark.parametrize("case", sorted(LAW_CASES))
def test_law_equals_jax_float32(case):
    build, shape = LAW_CASES[case]
    ka, kb = _keys(zlib.crc32(case.encode()) % 1000)
    ours = build(fij)(ka, shape, jnp.float32)
    theirs = build(jinit)(kb, shape, jnp.float32)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == jnp.float32
    _ks(ours, theirs, case)


def test_ks_detects_a_mode_mix_up():
    """The KS tests above can fail: fan_in and fan_out differ 4x in variance here."""
    ka, kb = _keys()
    ours = fij.lecun_normal()(ka, DENSE)
    theirs = jinit.variance_scaling(1.0, "fan_out", "truncated_normal")(kb, DENSE)
    assert scipy.stats.ks_2samp(_f64(ours), _f64(theirs)).pvalue < 1e-100


@pytest.mark.parametrize("case", ["variance_scaling-normal-fan_avg", "truncated_normal-bounds"])
def test_law_equals_jax_float64(case):
    build, shape = LAW_CASES[case]
    ka, kb = _keys(7)
    with jax.enable_x64(True):
        ours = build(fij)(ka, shape)
        theirs = build(jinit)(kb, shape)
        assert ours.dtype == theirs.dtype == jnp.float64
        _ks(ours, theirs, case)


HALF_CASES = ["variance_scaling-truncated_normal-fan_in", "variance_scaling-uniform-fan_out",
              "normal", "uniform-2.5"]


@pytest.mark.parametrize("dtype", sorted(HALF))
@pytest.mark.parametrize("case", HALF_CASES)
def test_law_half_precision(case, dtype):
    """jax samples float16/bfloat16 from 2^nmant uniforms (128 values in bfloat16); ferroinit
    rounds a fine sample to the dtype. So: the same law as jax's float32 sample rounded to
    the dtype, and within jax's resolution of jax's own half-precision sample."""
    build, shape = LAW_CASES[case]
    dt = HALF[dtype]
    ka, kb = _keys(3)
    ours = build(fij)(ka, shape, dt)
    assert ours.dtype == dt
    rounded = np.asarray(build(jinit)(kb, shape, jnp.float32)).astype(dt)
    _ks(ours, rounded, f"{case} {dtype} vs jax float32 rounded")
    theirs = build(jinit)(kb, shape, dt)
    d = scipy.stats.ks_2samp(_f64(ours), _f64(theirs)).statistic
    resolution = 2.0 ** -jnp.finfo(dt).nmant
    assert d < resolution + 0.01, f"{case} {dtype}: D={d:.4g} vs jax's own {dtype}"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_uniform_is_half_open(dtype):
    dt = jnp.dtype(dtype)
    for scale in (1.0, 0.3, -1.9):
        x = _f64(fij.uniform(scale)(jax.random.key(5), (1 << 20,), dt))
        s = float(np.asarray(scale).astype(dt))
        lo, hi = sorted((0.0, s))
        assert lo <= x.min() and x.max() <= hi
        assert not (x == s).any(), f"{dtype} scale {scale}: the excluded bound occurs"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_truncated_normal_is_open(dtype):
    dt = jnp.dtype(dtype)
    x = _f64(fij.truncated_normal(1.0, None, -0.5, 0.25)(jax.random.key(6), (1 << 20,), dt))
    assert -0.5 < x.min() and x.max() < 0.25
    y = _f64(fij.glorot_normal()(jax.random.key(6), (1024, 1024), dt))
    bound = 2 * math.sqrt(1 / 1024) / 0.87962566103423978
    assert np.abs(y).max() < bound * (1 + 2.0 ** -jnp.finfo(dt).nmant)


# --------------------------------------------------------------------------- orthogonal


def _column_matrix(w, column_axis):
    w = np.moveaxis(np.asarray(w, dtype=np.float64), column_axis, -1)
    return w.reshape(-1, w.shape[-1])


@pytest.mark.parametrize("shape,column_axis,with_jax", [
    ((64, 32), -1, False), ((32, 64), -1, True), ((64, 32), 0, False), ((4, 5, 6), -1, False),
    ((4, 5, 6), 1, True), ((4, 5, 6), 0, False), ((6, 5, 4), -2, False), ((2, 3, 4, 30), 2, False)])
def test_orthogonal_layout_matches_jax(shape, column_axis, with_jax):
    scale = 1.7
    ours = fij.orthogonal(scale, column_axis)(jax.random.key(1), shape)
    checked = [ours]
    if with_jax:  # jax's own output has the orthogonality on the same axes (and its QR
        theirs = jinit.orthogonal(scale, column_axis)(jax.random.key(1), shape)  # compiles)
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        checked.append(theirs)
    for w in checked:
        m = _column_matrix(w, column_axis) / scale
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_orthogonal_is_haar_like_jax():
    """The law of a 3x3 orthogonal matrix, over 3000 keys (through vmap, so the batched
    callback too): the first entry, the trace and the determinant's sign."""
    keys_a = jax.random.split(jax.random.key(2), 3000)
    keys_b = jax.random.split(jax.random.key(3), 3000)
    ours = np.asarray(jax.vmap(lambda k: fij.orthogonal()(k, (3, 3)))(keys_a), np.float64)
    theirs = np.asarray(jax.vmap(lambda k: jinit.orthogonal()(k, (3, 3)))(keys_b), np.float64)
    _ks(ours[:, 0, 0], theirs[:, 0, 0], "Q[0, 0]")
    _ks(np.trace(ours, axis1=1, axis2=2), np.trace(theirs, axis1=1, axis2=2), "trace")
    positive = (np.linalg.det(ours) > 0).mean()
    assert abs(positive - 0.5) < 4 * math.sqrt(0.25 / 3000), positive


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_orthogonal_half_precision(dtype):
    """jax's QR refuses these dtypes on the CPU; ferroinit's orthogonal does them."""
    q = fij.orthogonal()(jax.random.key(0), (48, 16), jnp.dtype(dtype))
    assert q.dtype == jnp.dtype(dtype)
    m = np.asarray(q, np.float64)
    np.testing.assert_allclose(m.T @ m, np.eye(16), atol=2e-2)


@pytest.mark.parametrize("shape,column_axis,with_jax", [((3, 8, 8), -1, False),
                                                        ((3, 3, 4, 8), 0, True),
                                                        ((2, 4, 3, 5, 5), -2, False)])
def test_delta_orthogonal_matches_jax(shape, column_axis, with_jax):
    ours = np.asarray(fij.delta_orthogonal(0.5, column_axis)(jax.random.key(4), shape))
    checked = [ours]
    if with_jax:  # jax's output has its centre tap where ours is (even sizes included)
        theirs = np.asarray(jinit.delta_orthogonal(0.5, column_axis)(jax.random.key(4), shape))
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        checked.append(theirs)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    for w in checked:
        c = w[centre].astype(np.float64) / 0.5
        np.testing.assert_allclose(c @ c.T, np.eye(shape[-2]), atol=1e-5)
        rest = w.copy()
        rest[centre] = 0
        assert not rest.any()  # exact zeros off the centre tap


# --------------------------------------------------------------------------- exact ones


CONSTANTS = [-7, 0.1, 1e10, True, 2**31 - 1, -0.0, float("nan"), np.float32(3.3)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_constants_are_exactly_jax(dtype):
    dt = jnp.dtype(dtype)
    key = jax.random.key(0)
    for shape in [(3, 5), (), (0, 4), (17,)]:
        assert _same_bits(fij.zeros(key, shape, dt), jinit.zeros(key, shape, dt))
        assert _same_bits(fij.ones(key, shape, dt), jinit.ones(key, shape, dt))
        for v in CONSTANTS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 1e10 overflows float16, for both
                ours, theirs = fij.constant(v)(key, shape, dt), jinit.constant(v)(key, shape, dt)
            assert _same_bits(ours, theirs), (v, shape)
    # what ferroinit leaves to jax: a value to broadcast, complex values
    row = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert _same_bits(fij.constant(row)(key, (3, 5), dt), jinit.constant(row)(key, (3, 5), dt))
    c = fij.constant(1 + 2j)(key, (2,), jnp.complex64)
    assert np.array_equal(c, jinit.constant(1 + 2j)(key, (2,), jnp.complex64))


def test_default_dtype_follows_x64():
    key = jax.random.key(0)
    assert fij.normal()(key, (2,)).dtype == jnp.float32
    assert fij.zeros(key, (2,)).dtype == jnp.float32
    with jax.enable_x64(True):
        assert fij.normal()(key, (2,)).dtype == jnp.float64
        assert fij.zeros(key, (2,)).dtype == jnp.float64
        assert fij.lecun_normal(dtype=jnp.float16)(key, (4, 4)).dtype == jnp.float16


def _warning_texts(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, sorted(str(w.message) for w in caught)


@pytest.mark.parametrize("name", ["normal", "lecun_uniform", "zeros"])
def test_float64_without_x64_warns_as_jax(name):
    key = jax.random.key(0)
    make = (lambda m: m.zeros) if name == "zeros" else (lambda m: getattr(m, name)())
    for _ in range(2):  # also from the plan cache
        ours, w_ours = _warning_texts(lambda: make(fij)(key, (4, 4), jnp.float64))
        theirs, w_theirs = _warning_texts(lambda: make(jinit)(key, (4, 4), jnp.float64))
        assert ours.dtype == theirs.dtype == jnp.float32
        assert w_ours == w_theirs and w_ours


# --------------------------------------------------------------------------- keys


def test_key_maps_to_generator():
    for seed in (0, 5, 2**32 - 1):
        assert fij.generator(jax.random.key(seed)).seed == seed
        assert fij.generator(jax.random.PRNGKey(seed)).seed == seed
    key = jax.random.fold_in(jax.random.key(3), 11)
    hi, lo = (int(w) for w in np.asarray(jax.random.key_data(key)))
    assert fij.generator(key).seed == (hi << 32) | lo
    x = fij.normal(1.0)(key, (1000,))
    assert np.array_equal(x, ferroinit.normal(1000, 0.0, 1.0, generator=(hi << 32) | lo))
    with pytest.raises(ValueError, match="64 bits"):
        fij.generator(jax.random.split(key))


ALL_BUILDERS = {
    "uniform": lambda: fij.uniform(), "normal": lambda: fij.normal(),
    "truncated_normal": lambda: fij.truncated_normal(),
    "variance_scaling": lambda: fij.variance_scaling(0.5, "fan_avg", "uniform"),
    "lecun_normal": lambda: fij.lecun_normal(), "he_uniform": lambda: fij.he_uniform(),
    "glorot_normal": lambda: fij.glorot_normal(), "orthogonal": lambda: fij.orthogonal(),
    "orthogonal-axis1": lambda: fij.orthogonal(column_axis=1),
    "delta_orthogonal": lambda: fij.delta_orthogonal(), "constant": lambda: fij.constant(0.25),
    "zeros": lambda: fij.zeros, "ones": lambda: fij.ones,
}
SHAPE = (3, 4, 6)
RANDOM = sorted(set(ALL_BUILDERS) - {"constant", "zeros", "ones"})


@pytest.mark.parametrize("name", RANDOM)
def test_values_are_a_function_of_the_key(name):
    init = ALL_BUILDERS[name]()
    k = jax.random.key(9)
    a, b = init(k, SHAPE), ALL_BUILDERS[name]()(k, SHAPE)
    assert _same_bits(a, b)
    raw = init(jax.random.PRNGKey(9), SHAPE)  # raw uint32[2] keys: the same data, same values
    assert _same_bits(a, raw)
    raw_np = init(np.asarray(jax.random.key_data(k)), SHAPE)  # a NumPy raw key too
    assert _same_bits(a, raw_np)
    children = jax.random.split(k, 3)
    values = [np.asarray(init(c, SHAPE)) for c in [k, *children, jax.random.key(10)]]
    for i in range(len(values)):
        for j in range(i):
            assert not np.array_equal(values[i], values[j]), (i, j)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("name", sorted(ALL_BUILDERS))
def test_jit_equals_eager(name, dtype):
    init = ALL_BUILDERS[name]()
    dt = jnp.dtype(dtype)
    key = jax.random.key(11)
    eager = init(key, SHAPE, dt)
    jitted = jax.jit(init, static_argnums=(1, 2))(key, SHAPE, dt)
    assert _same_bits(eager, jitted)
    closed = jax.jit(lambda: init(key, SHAPE, dt))()  # a concrete key inside a trace
    assert _same_bits(eager, closed)


@pytest.mark.parametrize("name", RANDOM)
def test_vmap_is_per_key(name):
    init = ALL_BUILDERS[name]()
    keys = jax.random.split(jax.random.key(12), 6).reshape(2, 3)
    per_key = np.stack([np.stack([init(k, SHAPE) for k in row]) for row in keys])
    nested = jax.vmap(jax.vmap(lambda k: init(k, SHAPE)))(keys)
    assert _same_bits(nested, per_key)
    jitted = jax.jit(jax.vmap(lambda k: init(k, SHAPE)))(keys[0])
    assert _same_bits(jitted, per_key[0])


def test_an_int_shape_is_a_1d_shape_as_in_jax():
    key = jax.random.key(0)
    assert fij.truncated_normal()(key, 5).shape == jinit.truncated_normal()(key, 5).shape == (5,)


def test_float64_with_x64_jit_equals_eager():
    with jax.enable_x64(True):
        key = jax.random.key(13)
        for init in (fij.normal(2.0), fij.he_normal(), fij.orthogonal()):
            eager = init(key, (16, 8))
            assert eager.dtype == jnp.float64
            assert _same_bits(eager, jax.jit(lambda k, init=init: init(k, (16, 8)))(key))


def test_eager_is_zero_copy():
    """The two ways the eager path hands memory to jax keep the address: a RustBuffer, and
    the Rust-owned base of a ferroinit NumPy array (bfloat16 included)."""
    for dtype in ("float16", "bfloat16", "float32"):
        buf = ferroinit.normal((64, 64), dtype=dtype, dlpack=True, generator=0)
        assert jnp.from_dlpack(buf).unsafe_buffer_pointer() == buf.data_ptr
        a = ferroinit.empty((64, 64), dtype=dtype)
        assert isinstance(a.base, ferroinit._core.RustBuffer)
        assert jnp.from_dlpack(a.base).unsafe_buffer_pointer() == a.ctypes.data
    x = fij.normal()(jax.random.key(0), (256, 256))
    assert x.unsafe_buffer_pointer() % 64 == 0  # Rust's alignment, not a fresh XLA buffer's


# --------------------------------------------------------------------------- fallbacks, errors


def test_what_ferroinit_cannot_do_is_jax():
    key = jax.random.key(0)
    disk = fij.lecun_uniform()(key, (4, 6), jnp.complex64)  # jax's uniform complex disk
    assert np.array_equal(disk, jinit.lecun_uniform()(key, (4, 6), jnp.complex64))
    rbg = jax.random.key(0, impl="rbg")
    assert _same_bits(fij.he_normal()(rbg, (8, 8)), jinit.he_normal()(rbg, (8, 8)))
    nan = fij.variance_scaling(-1.0, "fan_in", "normal")(key, (4, 4))
    assert np.isnan(np.asarray(nan)).all()  # jax's sqrt of a negative variance
    lo = jnp.array([-1.0, -2.0, -3.0])
    assert _same_bits(fij.truncated_normal(1.0, None, lo, 2.0)(key, (2, 3)),
                      jinit.truncated_normal(1.0, None, lo, 2.0)(key, (2, 3)))
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    assert _same_bits(fij.normal()(key, (4,), None, sharding),
                      jinit.normal()(key, (4,), None, sharding))


BAD_CALLS = {
    "mode": (lambda m: m.variance_scaling(1.0, "fan_nope", "normal"), (4, 4), None),
    "distribution": (lambda m: m.variance_scaling(1.0, "fan_in", "poisson"), (4, 4), None),
    "1-D default in_axis": (lambda m: m.lecun_normal(), (4,), None),
    "in_axis out of range": (lambda m: m.lecun_normal(in_axis=5), (4, 4), None),
    "zero-size fans": (lambda m: m.he_uniform(), (0, 4), None),
    "orthogonal 1-D": (lambda m: m.orthogonal(), (4,), None),
    "orthogonal column_axis": (lambda m: m.orthogonal(column_axis=3), (4, 4), None),
    "delta 2-D": (lambda m: m.delta_orthogonal(), (4, 4), None),
    "delta in > out": (lambda m: m.delta_orthogonal(), (3, 3, 8, 4), None),
    "int dtype": (lambda m: m.normal(), (4,), jnp.int32),
    "int dtype uniform": (lambda m: m.uniform(), (4,), jnp.int32),
    "negative dim": (lambda m: m.normal(), (-1, 3), None),
    "shape of floats": (lambda m: m.truncated_normal(), (2.0, 3), None),
    "shape not a sequence": (lambda m: m.orthogonal(), 5, None),
}


def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (any error: compared with jax's)
        return type(e), str(e)
    return None


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_errors_are_jax_errors(case):
    build, shape, dtype = BAD_CALLS[case]
    key = jax.random.key(0)
    theirs = _error_of(lambda: build(jinit)(key, shape, dtype))
    assert theirs is not None
    assert _error_of(lambda: build(fij)(key, shape, dtype)) == theirs
    jitted = _error_of(lambda: jax.jit(lambda k: build(fij)(k, shape, dtype))(key))
    assert jitted is not None and jitted[0] is theirs[0]


@pytest.mark.parametrize("key", ["batched", "wrong words", "float"])
def test_bad_keys_are_jax_errors(key):
    bad = {"batched": jax.random.split(jax.random.key(0)),
           "wrong words": jnp.zeros(3, jnp.uint32),
           "float": jnp.zeros(2, jnp.float32)}[key]
    for name in ("normal", "lecun_normal", "orthogonal"):
        theirs = _error_of(lambda name=name: getattr(jinit, name)()(bad, (4, 4)))
        assert theirs is not None
        assert _error_of(lambda name=name: getattr(fij, name)()(bad, (4, 4))) == theirs


# --------------------------------------------------------------------------- flax


def test_flax_linen_dense_conv():
    nn = pytest.importorskip("flax.linen")

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(64, (3, 3), kernel_init=fij.he_normal(), bias_init=fij.normal(0.1))(x)
            x = nn.Dense(1024, kernel_init=fij.lecun_normal(), bias_init=fij.zeros)(
                x.reshape(x.shape[0], -1)[:, :256])
            return nn.Dense(8, kernel_init=fij.orthogonal(), bias_init=fij.constant(0.5))(x)

    net, x = Net(), jnp.ones((1, 6, 6, 32))
    for key in (jax.random.key(0), jax.random.PRNGKey(0)):
        eager = net.init(key, x)
        jitted = jax.jit(net.init)(key, x)
        same = jax.tree.map(lambda a, b: _same_bits(np.asarray(a), np.asarray(b)), eager, jitted)
        assert all(jax.tree.leaves(same))
    p = eager["params"]
    kernel = p["Dense_0"]["kernel"]
    assert kernel.shape == (256, 1024)
    _ks(kernel, jinit.lecun_normal()(jax.random.key(1), (256, 1024)), "flax Dense kernel")
    conv = np.asarray(p["Conv_0"]["kernel"], np.float64)
    assert conv.shape == (3, 3, 32, 64)
    assert abs(conv.std() * math.sqrt(3 * 3 * 32 / 2) - 1) < 0.03
    assert np.array_equal(p["Dense_1"]["bias"], np.full(8, 0.5, np.float32))
    head = np.asarray(p["Dense_1"]["kernel"], np.float64)
    np.testing.assert_allclose(head.T @ head, np.eye(8), atol=1e-5)
    assert not np.asarray(p["Dense_0"]["bias"]).any()


def test_flax_nnx_linear_conv():
    nnx = pytest.importorskip("flax.nnx")

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.conv = nnx.Conv(16, 32, (3, 3), kernel_init=fij.he_uniform(), rngs=rngs)
            self.lin = nnx.Linear(512, 256, kernel_init=fij.glorot_normal(),
                                  bias_init=fij.normal(1.0), rngs=rngs)

    eager = nnx.state(Net(nnx.Rngs(0)))
    jitted = nnx.state(nnx.jit(lambda: Net(nnx.Rngs(0)))())
    same = jax.tree.map(lambda a, b: _same_bits(np.asarray(a), np.asarray(b)), eager, jitted)
    assert all(jax.tree.leaves(same))
    kernel = np.asarray(eager["lin"]["kernel"][...])
    _ks(kernel, jinit.glorot_normal()(jax.random.key(1), (512, 256)), "nnx Linear kernel")
    conv = np.asarray(eager["conv"]["kernel"][...], np.float64)
    assert conv.shape == (3, 3, 16, 32)
    assert np.abs(conv).max() <= math.sqrt(6 / (9 * 16))
    assert abs(conv.std() * math.sqrt(9 * 16 / 2) - 1) < 0.03
