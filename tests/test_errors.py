"""Every error of the contract: type, message (torch's exact string where torch raises)
and the array left exactly as it was."""

from __future__ import annotations

import math
import re
import warnings

import ferroinit as init
import numpy as np
import pytest
import torch
from conftest import sentinel
from ferroinit import _registry
from numpy.lib.stride_tricks import as_strided

NAN, INF = float("nan"), float("inf")

# (in-place name, valid extra positional args): every torch.nn.init initializer, from the registry
TORCH_INITS = _registry.select(family=_registry.TORCH)
INPLACE = [(e.name, e.args) for e in TORCH_INITS]
INPLACE_IDS = [n for n, _ in INPLACE]
RANDOM_INPLACE = {e.name for e in TORCH_INITS if e.random}
# the elementwise random fills (shardable): their generator advance is the plain fill rule
RANDOM_FILLS = {e.name for e in TORCH_INITS if e.random and e.shardable}


def shape_for(name):
    return (4, 2, 3) if _registry.get(name).ndim[0] >= 3 else (6, 4)


def accepts_ndim(name, ndim):
    lo, hi = _registry.get(name).ndim
    return lo <= ndim and (hi is None or ndim <= hi)


def call(name, x, *args, **kwargs):
    return getattr(init, name)(x, *args, **kwargs)


def torch_exc(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        return e
    raise AssertionError("torch did not raise")


def assert_raises_unchanged(exc_type, x, fn, *args, match=None, **kwargs):
    """fn(x, ...) raises exactly exc_type and leaves x (and its bytes) unchanged."""
    before = np.array(x, copy=True)
    before_bytes = before.tobytes()
    with pytest.raises(exc_type) as ei:
        fn(x, *args, **kwargs)
    assert type(ei.value) is exc_type, f"expected {exc_type.__name__}, got {type(ei.value).__name__}: {ei.value}"
    assert np.array(x, copy=True).tobytes() == before_bytes, "array modified despite the error"
    if match is not None:
        assert match(str(ei.value)), f"unexpected message: {str(ei.value)!r}"
    return ei.value


# ---------------------------------------------------------------------------
# ferroinit's own argument errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_read_only_array(float_dtype, name, args):
    x = sentinel(shape_for(name), float_dtype)
    x.flags.writeable = False
    e = assert_raises_unchanged(ValueError, x, getattr(init, name), *args)
    assert str(e) == "assignment destination is read-only"


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_read_only_view_of_writable_base(name, args):
    base = sentinel(shape_for(name), np.float32)
    v = base[...]
    v.flags.writeable = False
    e = assert_raises_unchanged(ValueError, v, getattr(init, name), *args)
    assert str(e) == "assignment destination is read-only"
    assert np.array_equal(base, sentinel(shape_for(name), np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int16, np.bool_, np.complex64, np.complex128])
@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_non_float_dtype(dtype, name, args):
    if name not in RANDOM_INPLACE and np.dtype(dtype).kind in "iub":
        pytest.skip("torch fills integer and bool tensors here: see test_integer_and_bool_fills")
    x = (np.arange(math.prod(shape_for(name))) % 3).reshape(shape_for(name)).astype(dtype)
    e = assert_raises_unchanged(TypeError, x, getattr(init, name), *args)
    msg = str(e)
    for dt in ("float16", "float32", "float64"):
        assert dt in msg, f"TypeError message should name the supported dtypes: {msg!r}"


@pytest.mark.parametrize("dtype", ["int32", "int64", "complex64", "uint8"])
def test_allocating_non_float_dtype(dtype):
    with pytest.raises(TypeError):
        init.normal((3, 3), dtype=dtype)
    with pytest.raises(TypeError):
        init.zeros((3, 3), dtype=dtype)


@pytest.mark.parametrize("bo_dtype", [">f4", ">f8", ">f2"])
@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_non_native_byte_order(bo_dtype, name, args):
    x = sentinel(shape_for(name), np.float64).astype(bo_dtype)
    assert not x.dtype.isnative
    e = assert_raises_unchanged(ValueError, x, getattr(init, name), *args)
    assert "byte order" in str(e)


# (name, args, kwargs, parameter name)
NONFINITE_CASES = [
    ("uniform_", (NAN, 1.0), {}, "a"),
    ("uniform_", (0.0, NAN), {}, "b"),
    ("uniform_", (-INF, 1.0), {}, "a"),
    ("uniform_", (0.0, INF), {}, "b"),
    ("uniform_", (), {"a": -INF, "b": INF}, "a"),
    ("normal_", (NAN, 1.0), {}, "mean"),
    ("normal_", (INF, 1.0), {}, "mean"),
    ("normal_", (0.0, NAN), {}, "std"),
    ("normal_", (0.0, INF), {}, "std"),
    ("trunc_normal_", (NAN, 1.0, -2.0, 2.0), {}, "mean"),
    ("trunc_normal_", (0.0, INF, -2.0, 2.0), {}, "std"),
    ("trunc_normal_", (0.0, NAN, -2.0, 2.0), {}, "std"),
    ("trunc_normal_", (0.0, 1.0, -INF, 2.0), {}, "a"),
    ("trunc_normal_", (0.0, 1.0, -2.0, INF), {}, "b"),
    ("trunc_normal_", (0.0, 1.0, NAN, 2.0), {}, "a"),
    ("trunc_normal_", (0.0, 1.0, -2.0, NAN), {}, "b"),
    ("xavier_uniform_", (NAN,), {}, "gain"),
    ("xavier_uniform_", (INF,), {}, "gain"),
    ("xavier_normal_", (NAN,), {}, "gain"),
    ("xavier_normal_", (-INF,), {}, "gain"),
    ("kaiming_uniform_", (NAN,), {}, "a"),
    ("kaiming_uniform_", (INF,), {}, "a"),
    ("kaiming_normal_", (), {"a": NAN}, "a"),
    ("orthogonal_", (NAN,), {}, "gain"),
    ("orthogonal_", (INF,), {}, "gain"),
    ("sparse_", (0.5, NAN), {}, "std"),
    ("sparse_", (0.5, INF), {}, "std"),
]


# NaN std: torch raises RuntimeError("normal expects std >= 0.0, but found std nan"); the
# contract lists NaN parameters as ferroinit's own ValueError but also says "where torch
# raises, the same type and message": accept either of the two, exactly.
TORCH_NAN_STD = {("normal_", 1), ("sparse_", 1)}


@pytest.mark.parametrize("name,args,kwargs,param", NONFINITE_CASES)
def test_nonfinite_parameters(float_dtype, name, args, kwargs, param):
    x = sentinel(shape_for(name), float_dtype)
    if param == "std" and any(math.isnan(v) for v in args) and (name, 1) in TORCH_NAN_STD:
        terr = torch_exc(getattr(torch.nn.init, name), torch.empty(shape_for(name)), *args, **kwargs)
        before = x.copy()
        with pytest.raises((ValueError, RuntimeError)) as ei:
            getattr(init, name)(x, *args, **kwargs)
        assert x.tobytes() == before.tobytes()
        if type(ei.value) is RuntimeError:
            assert str(ei.value) == str(terr)
            return
        e = ei.value
    else:
        e = assert_raises_unchanged(ValueError, x, getattr(init, name), *args, **kwargs)
    msg = str(e)
    assert "finite" in msg, msg
    assert re.search(rf"\b{param}\b", msg), f"message should name parameter {param!r}: {msg!r}"


def test_nonfinite_parameters_allocating():
    with pytest.raises(ValueError, match="finite"):
        init.uniform((3, 3), 0.0, NAN)
    with pytest.raises(ValueError, match="finite"):
        init.normal((3, 3), 0.0, INF)
    with pytest.raises(ValueError, match="finite"):
        init.trunc_normal((3, 3), 0.0, 1.0, -INF, 1.0)
    with pytest.raises(ValueError, match="finite"):
        init.orthogonal((3, 3), NAN)


@pytest.mark.parametrize("std", [-1, -0.5, -1e-3])
def test_normal_negative_std_matches_torch(float_dtype, std):
    terr = torch_exc(torch.nn.init.normal_, torch.empty(6, 4), 0.0, std)
    assert type(terr) is RuntimeError
    x = sentinel((6, 4), float_dtype)
    e = assert_raises_unchanged(RuntimeError, x, init.normal_, 0.0, std)
    assert str(e) == str(terr)
    with pytest.raises(RuntimeError) as ei:
        init.normal((6, 4), 0.0, std)
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("name,args", [("trunc_normal_", (0.0, -1.0, -2.0, 2.0)), ("sparse_", (0.5, -0.01))])
def test_negative_std_other_inits(name, args):
    x = sentinel((6, 4), np.float32)
    before = x.copy()
    with pytest.raises((ValueError, RuntimeError)):
        getattr(init, name)(x, *args)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("a,b", [(2, 1), (1.5, 0.5), (0.25, -3), (-1, -2)])
def test_uniform_a_greater_than_b_matches_torch(float_dtype, a, b):
    terr = torch_exc(torch.nn.init.uniform_, torch.empty(6, 4), a, b)
    assert type(terr) is RuntimeError
    x = sentinel((6, 4), float_dtype)
    e = assert_raises_unchanged(RuntimeError, x, init.uniform_, a, b)
    assert str(e) == str(terr)
    with pytest.raises(RuntimeError) as ei:
        init.uniform((6, 4), a, b)
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("a", [0.0, 1.0, -2.5])
def test_uniform_a_equals_b(a):
    x = sentinel((6, 4), np.float32)
    e = assert_raises_unchanged(RuntimeError, x, init.uniform_, a, a)
    assert "range" in str(e)


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (2.0, 1.0), (0.0, -1e-9), (5.0, -5.0)])
def test_trunc_normal_a_not_less_than_b(float_dtype, a, b):
    x = sentinel((6, 4), float_dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_raises_unchanged(ValueError, x, init.trunc_normal_, 0.0, 1.0, a, b)
        with pytest.raises(ValueError):
            init.trunc_normal((6, 4), 0.0, 1.0, a, b)


@pytest.mark.parametrize("sparsity", [-0.1, -1e-12, 1.0, 1.5, 100.0, NAN, INF])
def test_sparsity_out_of_range(float_dtype, sparsity):
    x = sentinel((6, 4), float_dtype)
    assert_raises_unchanged(ValueError, x, init.sparse_, sparsity)
    with pytest.raises(ValueError):
        init.sparse((6, 4), sparsity)


# ---------------------------------------------------------------------------
# torch-compatible shape / argument errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape,groups", [((6, 2, 3), 4), ((5, 2, 3, 3), 2), ((9, 3, 3, 3, 3), 2), ((4, 4, 1), 3)])
def test_dirac_groups_not_dividing_matches_torch(float_dtype, shape, groups):
    terr = torch_exc(torch.nn.init.dirac_, torch.empty(shape), groups)
    assert type(terr) is ValueError
    x = sentinel(shape, float_dtype)
    e = assert_raises_unchanged(ValueError, x, init.dirac_, groups)
    assert str(e) == str(terr) == "dim 0 must be divisible by groups"
    with pytest.raises(ValueError) as ei:
        init.dirac(shape, groups)
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("groups", [0, -1, -2])
def test_dirac_groups_less_than_one(groups):
    x = sentinel((4, 2, 3), np.float32)
    assert_raises_unchanged(ValueError, x, init.dirac_, groups)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 2, 2, 2, 2, 2), ()])
def test_dirac_dims_matches_torch(shape):
    terr = torch_exc(torch.nn.init.dirac_, torch.empty(shape))
    x = sentinel(shape, np.float32)
    e = assert_raises_unchanged(ValueError, x, init.dirac_)
    assert str(e) == str(terr) == "Only tensors with 3, 4, or 5 dimensions are supported"


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (2, 2, 2, 2), ()])
def test_eye_dims_matches_torch(shape):
    terr = torch_exc(torch.nn.init.eye_, torch.empty(shape))
    x = sentinel(shape, np.float32)
    e = assert_raises_unchanged(ValueError, x, init.eye_)
    assert str(e) == str(terr) == "Only tensors with 2 dimensions are supported"


@pytest.mark.parametrize("shape", [(5,), ()])
def test_orthogonal_dims_matches_torch(shape):
    terr = torch_exc(torch.nn.init.orthogonal_, torch.empty(shape))
    x = sentinel(shape, np.float32)
    e = assert_raises_unchanged(ValueError, x, init.orthogonal_)
    assert str(e) == str(terr) == "Only tensors with 2 or more dimensions are supported"
    with pytest.raises(ValueError) as ei:
        init.orthogonal(shape)
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()])
def test_sparse_dims_matches_torch(shape):
    terr = torch_exc(torch.nn.init.sparse_, torch.empty(shape), 0.5)
    x = sentinel(shape, np.float32)
    e = assert_raises_unchanged(ValueError, x, init.sparse_, 0.5)
    assert str(e) == str(terr) == "Only tensors with 2 dimensions are supported"


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(5,), ()])
def test_fan_dims_matches_torch(name, shape):
    terr = torch_exc(getattr(torch.nn.init, name), torch.empty(shape))
    assert type(terr) is ValueError
    x = sentinel(shape, np.float32)
    e = assert_raises_unchanged(ValueError, x, getattr(init, name))
    assert str(e) == str(terr)


@pytest.mark.parametrize("mode", ["fan_avg", "FAN_AVG", "in", ""])
@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_mode_matches_torch(name, mode):
    terr = torch_exc(getattr(torch.nn.init, name), torch.empty(6, 4), mode=mode)
    assert type(terr) is ValueError
    x = sentinel((6, 4), np.float32)
    e = assert_raises_unchanged(ValueError, x, getattr(init, name), mode=mode)
    assert str(e) == str(terr)
    with pytest.raises(ValueError) as ei:
        getattr(init, name[:-1])((6, 4), mode=mode)
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("nonlinearity", ["gelu", "Relu", "softplus"])
@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_nonlinearity_matches_torch(name, nonlinearity):
    terr = torch_exc(getattr(torch.nn.init, name), torch.empty(6, 4), nonlinearity=nonlinearity)
    assert type(terr) is ValueError
    x = sentinel((6, 4), np.float32)
    e = assert_raises_unchanged(ValueError, x, getattr(init, name), nonlinearity=nonlinearity)
    assert str(e) == str(terr)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_bad_negative_slope_matches_torch(name):
    terr = torch_exc(getattr(torch.nn.init, name), torch.empty(6, 4), a=True)
    assert type(terr) is ValueError
    x = sentinel((6, 4), np.float32)
    e = assert_raises_unchanged(ValueError, x, getattr(init, name), a=True)
    assert str(e) == str(terr)


# ---------------------------------------------------------------------------
# overlapping (zero-stride) views
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_zero_stride_writable_view_refused(name, args):
    shape = shape_for(name)
    base = sentinel((shape[-1],), np.float32)
    before = base.copy()
    strides = (0,) * (len(shape) - 1) + (base.strides[0],)
    v = as_strided(base, shape=shape, strides=strides, writeable=True)
    assert v.flags.writeable
    with pytest.raises(ValueError):
        getattr(init, name)(v, *args)
    np.testing.assert_array_equal(base, before)


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_partially_overlapping_view_refused(name, args):
    # rows overlap: stride along dim 0 is one element, not a full row
    shape = shape_for(name)
    n = math.prod(shape)
    base = sentinel((n,), np.float64)
    before = base.copy()
    strides = (base.itemsize,) + tuple(base.itemsize * int(np.prod(shape[i + 1 :])) for i in range(1, len(shape)))
    v = as_strided(base, shape=shape, strides=strides, writeable=True)
    with pytest.raises(ValueError):
        getattr(init, name)(v, *args)
    np.testing.assert_array_equal(base, before)


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_broadcast_to_view_refused(name, args):
    shape = shape_for(name)
    base = sentinel((shape[-1],), np.float32)
    v = np.broadcast_to(base, shape)
    with pytest.raises(ValueError):
        getattr(init, name)(v, *args)
    np.testing.assert_array_equal(base, sentinel((shape[-1],), np.float32))


# ---------------------------------------------------------------------------
# zero-element arrays and warnings
# ---------------------------------------------------------------------------

ZERO_SHAPES = {
    "dirac_": [(0, 3, 3), (4, 0, 3), (2, 2, 0, 3)],
    "default": [(0, 5), (5, 0), (0, 0), (3, 0, 2)],
}


@pytest.mark.parametrize("name,args", INPLACE, ids=INPLACE_IDS)
def test_zero_element_noop(float_dtype, name, args):
    shapes = ZERO_SHAPES["dirac_" if _registry.get(name).ndim[0] >= 3 else "default"]
    for shape in shapes:
        if not accepts_ndim(name, len(shape)):
            continue
        x = np.empty(shape, dtype=float_dtype)
        g = init.Generator(3)
        kw = {"generator": g} if name in RANDOM_INPLACE else {}
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            out = getattr(init, name)(x, *args, **kw)
        assert out is x
        msgs = [str(w.message) for w in rec]
        if name.startswith("kaiming"):
            assert len(rec) == 1 and issubclass(rec[0].category, UserWarning), msgs
            assert msgs[0] == "Initializing zero-element tensors is a no-op"
        else:
            assert not rec, f"{name}{shape}: unexpected warnings {msgs}"
        if name in RANDOM_FILLS:
            assert g.position == 0


def test_kaiming_zero_element_warning_matches_torch():
    for name in ("kaiming_uniform_", "kaiming_normal_"):
        with pytest.warns(UserWarning) as trec:
            getattr(torch.nn.init, name)(torch.empty(0, 5))
        with pytest.warns(UserWarning) as frec:
            getattr(init, name)(np.empty((0, 5), dtype=np.float32))
        assert [str(w.message) for w in frec] == [str(w.message) for w in trec]


def test_zero_element_allocating():
    every_2d = [(e.allocating, e.args) for e in TORCH_INITS
                if not e.matrix_args and accepts_ndim(e.name, 2)]
    assert len(every_2d) >= 7
    for fn, args in every_2d:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = getattr(init, fn)((0, 5), *args)
        assert x.shape == (0, 5) and x.dtype == np.float32


@pytest.mark.parametrize(
    "mean,std,a,b,warns",
    [
        (0.0, 1.0, 5.0, 6.0, True),
        (0.0, 1.0, -6.0, -5.0, True),
        (10.0, 3.0, 0.0, 1.0, True),
        (0.0, 1.0, 2.5, 3.0, True),
        (0.0, 1.0, -2.0, 2.0, False),
        (0.0, 1.0, 2.0, 3.0, False),
        (0.0, 1.0, -3.0, -2.0, False),
        (0.0, 1.0, 0.5, 0.51, False),
    ],
)
def test_trunc_normal_warning_like_torch(mean, std, a, b, warns):
    with warnings.catch_warnings(record=True) as trec:
        warnings.simplefilter("always")
        torch.nn.init.trunc_normal_(torch.empty(10), mean, std, a, b)
    assert bool(trec) == warns  # sanity of the parameter table
    with warnings.catch_warnings(record=True) as frec:
        warnings.simplefilter("always")
        init.trunc_normal_(np.empty(10, dtype=np.float32), mean, std, a, b, generator=1)
    fmsgs = [str(w.message) for w in frec]
    if warns:
        assert len(frec) == 1 and issubclass(frec[0].category, UserWarning), fmsgs
        assert "mean is more than 2 std from [a, b]" in fmsgs[0], fmsgs
    else:
        assert not frec, fmsgs
