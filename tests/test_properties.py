"""Property tests (hypothesis): every call either succeeds with every value inside the
distribution's support, or raises a documented exception with the array (and the generator)
unchanged.

Arrays: 0-D to 6-D, zero-size dims, non-contiguous, negative and permuted strides, float16 /
float32 / float64, as views into a larger sentinel-filled base so writes outside the view are
caught. Refused inputs: broadcast / self-overlapping views (ValueError), non-float dtypes
(TypeError), non-native byte order (ValueError), read-only arrays (ValueError).
Parameters: ordinary values plus NaN, +-inf, huge, tiny and subnormal floats.

Example counts are CI-sized: the whole file runs in well under a minute.
"""

from __future__ import annotations

import inspect
import math
import warnings

import ferroinit as init
import numpy as np
import pytest
from ferroinit import _registry
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import as_strided

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

DTYPES = [np.float16, np.float32, np.float64]
DOCUMENTED = (ValueError, RuntimeError, TypeError, OverflowError)

SPECIAL = [
    0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e300, 1.7976931348623157e308,
    -1.7976931348623157e308, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, 65504.0,
    65520.0, 3.4028235e38, 3.5e38, 1e-45, 1e-8,
]
params = st.one_of(
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
)


def finite(*xs):
    return all(math.isfinite(x) for x in xs)


# --------------------------------------------------------------------------- strided views


@st.composite
def views(draw, min_dims=0, max_dims=6, dtypes=DTYPES):
    """A writable view into a sentinel-filled base array, plus the base and a boolean mask
    (over the base) of the elements the view covers."""
    dtype = draw(st.sampled_from(dtypes))
    ndim = draw(st.integers(min_dims, max_dims))
    shape = draw(st.lists(st.integers(0, 4 if ndim <= 3 else 3), min_size=ndim, max_size=ndim))
    steps = draw(st.lists(st.sampled_from([1, 1, 2, 3, -1, -2]), min_size=ndim, max_size=ndim))
    perm = draw(st.permutations(range(ndim)))
    base_shape = tuple(max(1, s * abs(k) + draw(st.integers(0, 1))) for s, k in zip(shape, steps))
    base = (np.arange(math.prod(base_shape), dtype=np.float64) % 251 - 125.5).astype(dtype)
    base = base.reshape(base_shape)
    idx = np.arange(base.size).reshape(base_shape)
    sl = []
    for s, k, b in zip(shape, steps, base_shape):
        if k > 0:
            sl.append(slice(0, s * k, k))
        else:
            sl.append(slice(b - 1, None if b - 1 - s * -k < 0 else b - 1 - s * -k, k))
    sl = tuple(sl)
    view = base[sl].transpose(perm) if ndim else base[()]
    if ndim == 0:
        view = base.reshape(())  # a 0-D writable view
    mask = np.zeros(base.size, dtype=bool)
    covered = idx[sl].transpose(perm) if ndim else idx.reshape(())
    mask[np.asarray(covered).ravel()] = True
    assert view.flags.writeable
    return view, base, mask.reshape(base_shape)


def check_outside_unchanged(base, before, mask):
    changed = base.tobytes() != before.tobytes()
    if not changed:
        return
    outside = ~mask
    np.testing.assert_array_equal(
        base[outside].view(np.uint8 if base.itemsize == 1 else f"u{base.itemsize}"),
        before[outside].view(np.uint8 if base.itemsize == 1 else f"u{base.itemsize}"),
        err_msg="an element outside the view was written",
    )


def blocks_for(n, dtype):
    return -(-n // (2 if np.dtype(dtype) == np.float64 else 4))


def _numeric_params(name):
    """How many leading parameters after the array take numbers (the ones drawn here)."""
    params = list(inspect.signature(getattr(init, name)).parameters.values())[1:]
    n = 0
    for p in params:
        if p.kind is not p.POSITIONAL_OR_KEYWORD or isinstance(p.default, str):
            break
        n += 1
    return n


# the elementwise random fills (shardable), by their numeric parameters
RANDOM_OPS = {name: _numeric_params(name)
              for name in _registry.names(family=_registry.TORCH, random=True, shardable=True)}
assert RANDOM_OPS["trunc_normal_"] == 4 and RANDOM_OPS["kaiming_normal_"] == 1


def run(name, x, args, gen):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(init, name)(x, *args, generator=gen)


def support_check(name, args, x, dtype):
    vals = np.asarray(x, dtype=np.float64)
    assert not np.isnan(vals).any(), f"{name}{args} wrote NaN ({np.dtype(dtype).name})"
    assert np.isfinite(vals).all(), f"{name}{args} wrote a non-finite value ({np.dtype(dtype).name})"
    if name in ("uniform_", "trunc_normal_"):
        a, b = args[-2:]
        assert vals.size == 0 or (vals.min() >= a and vals.max() <= b), (
            f"{name}{args}: [{vals.min()!r}, {vals.max()!r}] not inside [{a}, {b}]"
        )
    if name in ("xavier_uniform_", "kaiming_uniform_") and vals.size:
        assert np.abs(vals).max() < np.inf


@SETTINGS
@given(
    v=views(),
    name=st.sampled_from(sorted(RANDOM_OPS)),
    p=st.lists(params, min_size=4, max_size=4),
    seed=st.integers(0, 2**64 - 1),
    pos=st.one_of(st.just(0), st.integers(0, 2**40)),
)
def test_random_fill_succeeds_in_support_or_raises_untouched(v, name, p, seed, pos):
    view, base, mask = v
    dtype = view.dtype
    args = tuple(p[: RANDOM_OPS[name]])
    if name.startswith("kaiming"):
        args = (p[0], "fan_in", "leaky_relu")
    g = init.Generator(seed)
    g.set_state((seed, pos))
    before = base.copy()
    try:
        run(name, view, args, g)
    except DOCUMENTED as e:
        assert base.tobytes() == before.tobytes(), f"{name}{args} raised {e!r} after writing"
        assert g.position == pos, f"{name}{args} raised {e!r} after moving the generator"
        if not finite(*p[: RANDOM_OPS[name]]):
            return  # non-finite parameters must be refused: fine
        if view.size == 0 and name.startswith("xavier"):
            return  # fans of a zero-size array can be 0 (torch: ZeroDivisionError)
        # Finite parameters may only fail for a documented reason.
        msg = str(e)
        ok = (
            (name == "uniform_" and ("range" in msg or "overflows" in msg or "lies in" in msg))
            or (name == "normal_" and "std" in msg)
            or (name == "trunc_normal_" and ("std" in msg or "a <" in msg or "lies in" in msg))
            # a negative gain makes torch's bounds reversed / std negative: torch's errors
            or (name.startswith(("xavier", "kaiming")) and ("Fan in" in msg or "finite" in msg
                                                          or "negative_slope" in msg
                                                          or "range" in msg or "std" in msg))
        )
        assert ok, f"{name}{args} on {view.shape} {dtype}: unexpected {type(e).__name__}: {msg}"
        return
    # Success: documented parameters only (zero-element kaiming is a no-op before any check,
    # as in torch), and the values are in the support.
    if not (name.startswith("kaiming") and view.size == 0):
        assert finite(*args[: RANDOM_OPS[name]]), f"{name}{args} accepted a non-finite parameter"
    support_check(name, args, view, dtype)
    check_outside_unchanged(base, before, mask)
    if name.startswith("kaiming") and view.size == 0:
        return
    assert g.position == (pos + blocks_for(view.size, dtype)) % 2**64
    # Values follow the logical C order: same as on a fresh contiguous array.
    ref = np.empty(view.shape, dtype=dtype)
    g2 = init.Generator(seed)
    g2.set_state((seed, pos))
    run(name, ref, args, g2)
    np.testing.assert_array_equal(view, ref)


@SETTINGS
@given(v=views(), val=params)
def test_constant_fills_the_value_or_raises_untouched(v, val):
    view, base, mask = v
    before = base.copy()
    try:
        init.constant_(view, val)
    except (RuntimeError, ValueError, OverflowError):
        assert base.tobytes() == before.tobytes()
        assert math.isfinite(val) and abs(val) > float(np.finfo(view.dtype).max)
        return
    want = np.array(val, dtype=np.float64).astype(view.dtype)
    if view.size:
        np.testing.assert_array_equal(view, np.full(view.shape, want))
    check_outside_unchanged(base, before, mask)


@SETTINGS
@given(
    v=views(min_dims=2, max_dims=4),
    name=st.sampled_from(["orthogonal_", "sparse_", "eye_", "dirac_"]),
    p=st.lists(params, min_size=2, max_size=2),
    sparsity=st.one_of(st.floats(0, 0.99), params),
    groups=st.integers(-1, 3),
)
def test_structured_and_matrix_inits(v, name, p, sparsity, groups):
    view, base, mask = v
    g = init.Generator(5)
    before = base.copy()
    args = {"orthogonal_": (p[0],), "sparse_": (sparsity, p[1]), "eye_": (), "dirac_": (groups,)}[
        name
    ]
    try:
        if name in ("orthogonal_", "sparse_"):
            run(name, view, args, g)
        else:
            getattr(init, name)(view, *args)
    except DOCUMENTED as e:
        assert base.tobytes() == before.tobytes(), f"{name}{args} raised {e!r} after writing"
        assert g.position == 0
        return
    check_outside_unchanged(base, before, mask)
    vals = np.asarray(view, dtype=np.float64)
    assert not np.isnan(vals).any(), f"{name}{args} wrote NaN"
    if name != "orthogonal_" or abs(p[0]) < 1e4:  # gain * Q may overflow the dtype, as in torch
        assert np.isfinite(vals).all(), f"{name}{args} wrote a non-finite value"
    if name == "sparse_" and view.size:
        k = math.ceil(sparsity * view.shape[0])
        assert ((vals == 0).sum(axis=0) >= k).all()
    ref = np.empty(view.shape, dtype=view.dtype)
    g2 = init.Generator(5)
    if name in ("orthogonal_", "sparse_"):
        run(name, ref, args, g2)
    else:
        getattr(init, name)(ref, *args)
    np.testing.assert_array_equal(view, ref)


# --------------------------------------------------------------------------- refused views


@st.composite
def overlapping(draw):
    dtype = draw(st.sampled_from(DTYPES))
    ndim = draw(st.integers(1, 4))
    shape = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    item = np.dtype(dtype).itemsize
    strides = [draw(st.integers(-3, 3)) * item for _ in range(ndim)]
    k = draw(st.integers(0, ndim - 1))
    shape[k] = max(shape[k], 2)
    strides[k] = 0 if draw(st.booleans()) else strides[k]
    # Keep only cases that really overlap (two indices reach one element).
    offs = np.zeros(1, dtype=np.int64)
    for s, d in zip(shape, strides):
        offs = (offs[:, None] + np.arange(s) * (d // item)).ravel()
    assume(len(np.unique(offs)) < len(offs))
    lo = sum(min(0, (s - 1) * d) for s, d in zip(shape, strides))
    hi = sum(max(0, (s - 1) * d) for s, d in zip(shape, strides))
    base = np.full((hi - lo) // item + 1, 3.25, dtype=dtype)
    start = -lo // item
    view = as_strided(base[start:], shape=shape, strides=strides, writeable=True)
    return view, base


@SETTINGS
@given(v=overlapping(), name=st.sampled_from(sorted(RANDOM_OPS) + ["constant_"]))
def test_overlapping_views_are_refused(v, name):
    view, base = v
    before = base.copy()
    g = init.Generator(0)
    with pytest.raises(ValueError, match="overlap"):
        if name == "constant_":
            init.constant_(view, 0.5)
        else:
            run(name, view, (), g)
    assert base.tobytes() == before.tobytes()
    assert g.position == 0


def test_broadcast_view_is_refused():
    base = np.zeros(4, dtype=np.float32)
    view = as_strided(base, shape=(3, 4), strides=(0, 4), writeable=True)
    with pytest.raises(ValueError, match="overlap"):
        init.uniform_(view, generator=0)
    assert (base == 0).all()


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16", "bool", "complex64",
                                   "complex128", "float128" if hasattr(np, "float128") else "U3"])
@pytest.mark.parametrize("name", ["uniform_", "normal_", "constant_", "eye_"])
def test_non_float_dtypes_are_refused(dtype, name):
    if not _registry.get(name).random and np.dtype(dtype).kind in "iub":
        pytest.skip("torch fills integer and bool tensors here (tests/test_integer_fills.py)")
    x = np.ones((3, 3), dtype=dtype)
    before = x.copy()
    with pytest.raises(TypeError, match="float32"):
        if name == "constant_":
            init.constant_(x, 0.0)
        elif name == "eye_":
            init.eye_(x)
        else:
            getattr(init, name)(x, generator=0)
    assert x.tobytes() == before.tobytes()


@SETTINGS
@given(v=views(max_dims=3), name=st.sampled_from(sorted(RANDOM_OPS) + ["constant_"]))
def test_non_native_byte_order_is_refused(v, name):
    view, base, _ = v
    assume(not (name.startswith("kaiming") and view.size == 0))  # a no-op before any check
    # the same view geometry over the byte-swapped dtype
    sv = view.view(view.dtype.newbyteorder("S"))
    assert not sv.dtype.isnative and np.shares_memory(sv, base) | (sv.size == 0)
    before = base.copy()
    with pytest.raises(ValueError, match="byte order"):
        if name == "constant_":
            init.constant_(sv, 1.0)
        else:
            run(name, sv, (), init.Generator(0))
    assert base.tobytes() == before.tobytes()


@SETTINGS
@given(v=views(max_dims=3), name=st.sampled_from(sorted(RANDOM_OPS) + ["constant_"]))
def test_read_only_is_refused(v, name):
    view, base, _ = v
    assume(not (name.startswith("kaiming") and view.size == 0))  # a no-op before any check
    view.flags.writeable = False
    before = base.copy()
    g = init.Generator(0)
    with pytest.raises(ValueError, match="read-only"):
        if name == "constant_":
            init.constant_(view, 1.0)
        else:
            run(name, view, (), g)
    assert base.tobytes() == before.tobytes()
    assert g.position == 0


# --------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean,std", [(1e300, 1e300), (-1e308, 1e308), (0.0, 1e300)])
def test_normal_huge_parameters_stay_finite(dtype, mean, std):
    """Found by the property test: huge mean and std overflowed the float32 kernel
    (inf - inf = NaN). The contract: normal_ writes finite values, or raises."""
    x = np.zeros(4096, dtype=dtype)
    try:
        init.normal_(x, mean, std, generator=0)
    except DOCUMENTED:
        assert (x == 0).all()
        return
    assert np.isfinite(x).all(), f"{int(np.isnan(x).sum())} NaN, {int(np.isinf(x).sum())} inf"


@pytest.mark.parametrize("name", ["uniform_", "trunc_normal_"])
def test_subnormal_interval_float64(name):
    """[1e-320, 2e-320] holds float64 values (subnormals): float64 fills must work there;
    a float32 refusal must name float32, not be applied to float64."""
    x = np.zeros(64, dtype=np.float64)
    args = (1e-320, 2e-320) if name == "uniform_" else (0.0, 1.0, 1e-320, 2e-320)
    run(name, x, args, init.Generator(0))
    assert (x >= 1e-320).all() and (x <= 2e-320).all()


@pytest.mark.parametrize("shape", [(2, 2, 0), (1, 1, 0, 3), (2, 2, 3, 0, 1)])
def test_dirac_zero_size_spatial_dim_is_a_no_op(shape):
    """Found by the property test: dirac_ on a zero-size spatial dim panicked (a
    PanicException, which is not an Exception) instead of the contract's zero-element no-op."""
    x = np.zeros(shape, dtype=np.float32)
    init.dirac_(x)
    assert x.size == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [(0, 2), (1, 3)])
def test_width_one_column_shard_matches_the_global_array(dtype, offset):
    """Found by proptest_core: a shard whose trailing dims are 1 in the shard but larger in
    the global array (a one-column shard) got consecutive global values instead of its own."""
    full = init.normal((4, 4), dtype=dtype, generator=0)
    col = np.empty((3, 1), dtype=dtype)
    init.normal_(col, generator=0, global_shape=(4, 4), offset=offset)
    r, c = offset
    np.testing.assert_array_equal(col, full[r:r + 3, c:c + 1])


# --------------------------------------------------------------------------- DLPack (torch)

TORCH_DTYPES = ["float16", "bfloat16", "float32", "float64"]


@st.composite
def torch_views(draw):
    import torch

    dtype = getattr(torch, draw(st.sampled_from(TORCH_DTYPES)))
    ndim = draw(st.integers(0, 5))
    shape = draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim))
    steps = draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=ndim, max_size=ndim))
    base = torch.arange(math.prod(s * k + 1 for s, k in zip(shape, steps)), dtype=torch.float64)
    base = (base % 251 - 125.5).to(dtype).reshape([s * k + 1 for s, k in zip(shape, steps)])
    view = base[tuple(slice(0, s * k, k) for s, k in zip(shape, steps))]
    view = view.permute(*draw(st.permutations(range(ndim)))) if ndim else view
    return view, base


@SETTINGS
@given(v=torch_views(), name=st.sampled_from(["uniform_", "normal_", "trunc_normal_"]),
       seed=st.integers(0, 2**64 - 1))
def test_dlpack_torch_views_match_the_contiguous_fill(v, name, seed):
    """Through DLPack (torch tensors): same values as a contiguous fill, nothing outside the
    view written, values in the support."""
    import torch

    view, base = v
    before = base.clone()
    mark = torch.zeros(base.shape, dtype=torch.bool)
    mark_view = mark.as_strided(view.shape, view.stride(), view.storage_offset())
    mark_view.fill_(True)
    run(name, view, (), init.Generator(seed))
    ref = torch.empty(view.shape, dtype=view.dtype)
    run(name, ref, (), init.Generator(seed))
    assert torch.equal(view, ref)
    assert torch.equal(base[~mark], before[~mark]), "DLPack fill wrote outside the view"
    vals = view.double()
    assert torch.isfinite(vals).all()
    if name != "normal_":
        assert vals.numel() == 0 or (vals.min() >= -2.0 and vals.max() <= 2.0 + (name == "uniform_"))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_dlpack_expanded_tensor_is_refused_untouched(dtype):
    import torch

    base = torch.ones(4, dtype=getattr(torch, dtype))
    view = base.expand(3, 4)  # stride 0: an overlapping view
    with pytest.raises(ValueError):
        init.normal_(view, generator=0)
    assert (base == 1).all()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_dlpack_export_matches_numpy(dtype):
    buf = init.normal((5, 7), dtype=dtype, generator=3, dlpack=True)
    np.testing.assert_array_equal(np.from_dlpack(buf), init.normal((5, 7), dtype=dtype,
                                                                    generator=3))
