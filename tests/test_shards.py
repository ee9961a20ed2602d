"""Shards: a sub-array filled with ``global_shape=``/``offset=`` holds bitwise the values the
whole array would hold there, and advances the generator by the global element count.

This is what makes per-rank and per-chunk initialization independent of how the work is
split (see the README, "Arrays larger than memory"). Bitwise means the raw bits are compared (``view`` as unsigned
ints), so -0.0 vs 0.0 or a different NaN payload would fail.
"""

from __future__ import annotations

import math
import warnings

import ferroinit as init
import numpy as np
import pytest
from conftest import FLOAT_DTYPE_IDS, FLOAT_DTYPES, sentinel
from ferroinit import _registry

# name -> (positional parameters, minimum number of dimensions): every shardable initializer
RANDOM_INITS = {e.allocating: (e.test_args, e.ndim[0]) for e in _registry.select(shardable=True)}
INIT_IDS = list(RANDOM_INITS)

# (global_shape, shard shape, offset). Offsets deliberately straddle the 4-element (2 for
# float64) counter blocks; column shards and blocks have runs that are not contiguous globally.
SHARDS = [
    # 1-D
    ((1001,), (1,), (0,)),
    ((1001,), (3,), (1,)),
    ((1001,), (5,), (2,)),
    ((1001,), (7,), (3,)),
    ((1001,), (1000,), (1,)),
    ((1001,), (4,), (997,)),
    ((1001,), (1001,), (0,)),
    # 2-D row shards (uneven), column shards, blocks
    ((37, 53), (5, 53), (0, 0)),
    ((37, 53), (12, 53), (5, 0)),
    ((37, 53), (20, 53), (17, 0)),
    ((37, 53), (37, 1), (0, 0)),
    ((37, 53), (37, 29), (0, 1)),
    ((37, 53), (37, 23), (0, 30)),
    ((37, 53), (37, 1), (0, 52)),
    ((37, 53), (7, 11), (3, 5)),
    ((37, 53), (13, 1), (2, 51)),
    ((37, 53), (1, 1), (36, 52)),
    ((37, 53), (1, 50), (9, 3)),
    ((37, 53), (37, 53), (0, 0)),
    # 3-D
    ((6, 5, 7), (2, 5, 7), (4, 0, 0)),
    ((6, 5, 7), (6, 2, 3), (0, 3, 4)),
    ((6, 5, 7), (1, 1, 7), (5, 4, 0)),
    ((6, 5, 7), (3, 4, 1), (1, 1, 6)),
    ((6, 5, 7), (3, 1, 5), (2, 2, 1)),
    # 4-D conv kernels (out, in, kh, kw)
    ((16, 8, 3, 3), (4, 8, 3, 3), (12, 0, 0, 0)),
    ((16, 8, 3, 3), (16, 3, 3, 3), (0, 5, 0, 0)),
    ((16, 8, 3, 3), (5, 2, 2, 1), (3, 1, 1, 2)),
    ((16, 8, 3, 3), (1, 1, 3, 3), (15, 7, 0, 0)),
    ((16, 8, 3, 3), (16, 8, 2, 3), (0, 0, 1, 0)),
    ((16, 8, 3, 3), (7, 5, 3, 2), (9, 3, 0, 1)),
]
SHARD_IDS = [f"{g}-{s}@{o}".replace(" ", "") for g, s, o in SHARDS]


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(f"u{a.dtype.itemsize}")


def assert_bitwise(got: np.ndarray, want: np.ndarray, label: str = "") -> None:
    assert got.shape == want.shape, (label, got.shape, want.shape)
    assert got.dtype == want.dtype, (label, got.dtype, want.dtype)
    bad = bits(got) != bits(want)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{label}: {int(bad.sum())} of {bad.size} elements differ from the full array; "
            f"first at local index {idx}: got {got[idx]!r}, want {want[idx]!r}"
        )


def blocks(n: int, dtype) -> int:
    """Counter blocks a fill of n elements advances by (the API contract)."""
    per = 2 if np.dtype(dtype) == np.float64 else 4
    return -(-n // per)


def gen_at(seed: int, position: int) -> init.Generator:
    g = init.Generator(seed)
    g.set_state((seed, position))
    return g


def full_array(name, shape, dtype, seed=1234, position=0):
    args, _ = RANDOM_INITS[name]
    g = gen_at(seed, position)
    x = getattr(init, name)(shape, *args, dtype=dtype, generator=g)
    return x, g.position


def region(offset, shape):
    return tuple(slice(o, o + n) for o, n in zip(offset, shape))


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("gshape,shape,offset", SHARDS, ids=SHARD_IDS)
@pytest.mark.parametrize("name", INIT_IDS)
def test_shard_is_the_slice_of_the_full_array(name, gshape, shape, offset, dtype):
    args, min_ndim = RANDOM_INITS[name]
    if len(gshape) < min_ndim:
        pytest.skip(f"{name} needs at least {min_ndim} dimensions")
    start = 77  # an odd generator position: shards must not assume position 0
    full, end = full_array(name, gshape, dtype, position=start)
    want = full[region(offset, shape)]

    # allocating form
    g = gen_at(1234, start)
    got = getattr(init, name)(shape, *args, dtype=dtype, generator=g, global_shape=gshape,
                              offset=offset)
    assert_bitwise(got, want, f"{name} allocating")
    assert g.position == end == start + blocks(math.prod(gshape), dtype)

    # in place, on a C-contiguous array
    g = gen_at(1234, start)
    x = sentinel(shape, dtype)
    out = getattr(init, name + "_")(x, *args, generator=g, global_shape=gshape, offset=offset)
    assert out is x
    assert_bitwise(x, want, f"{name}_ in place")
    assert g.position == end

    # in place, on a non-contiguous, reversed view inside a larger buffer
    big = sentinel(tuple(n + 2 for n in shape), dtype)
    view = big[tuple(slice(n, 0, -1) for n in shape)]  # elements 1..n, reversed
    assert view.shape == tuple(shape)
    before = big.copy()
    getattr(init, name + "_")(view, *args, generator=gen_at(1234, start), global_shape=gshape,
                              offset=offset)
    assert_bitwise(view, want, f"{name}_ on a strided view")
    mask = np.ones(big.shape, bool)
    mask[tuple(slice(1, n + 1) for n in shape)] = False
    assert (bits(big)[mask] == bits(before)[mask]).all(), "wrote outside the view"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("name", INIT_IDS)
@pytest.mark.parametrize("gshape", [(41, 29), (5, 6, 7), (12, 6, 3, 5)], ids=str)
def test_random_partitions_reassemble_the_full_array(name, gshape, dtype):
    """Cut the global array into a random grid of blocks (cuts anywhere, blocks of width 1
    included), fill each block in place through a view of one output array; the result is the
    unsharded array, whatever the grid."""
    args, _ = RANDOM_INITS[name]
    full, end = full_array(name, gshape, dtype, seed=99, position=5)
    rng = np.random.default_rng(abs(hash((name, gshape))) % 2**32)
    for trial in range(4):
        cuts = []
        for n in gshape:
            k = int(rng.integers(0, min(n, 5)))
            inner = np.sort(rng.choice(np.arange(1, n), size=k, replace=False)) if k else []
            cuts.append([0, *map(int, inner), n])
        out = sentinel(gshape, dtype)
        for idx in np.ndindex(*[len(c) - 1 for c in cuts]):
            lo = [cuts[d][i] for d, i in enumerate(idx)]
            hi = [cuts[d][i + 1] for d, i in enumerate(idx)]
            g = gen_at(99, 5)
            view = out[tuple(slice(a, b) for a, b in zip(lo, hi))]
            getattr(init, name + "_")(view, *args, generator=g, global_shape=gshape, offset=lo)
            assert g.position == end
        assert_bitwise(out, full, f"{name} partition {cuts} (trial {trial})")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("position", [0, 3, 2**32 - 3, 2**63 + 1, 2**64 - 7])
def test_shards_agree_at_any_generator_position(position, dtype):
    """Also where the block counter of a shard's elements crosses 32- and 64-bit boundaries."""
    gshape, shape, offset = (19, 23), (6, 9), (11, 13)
    for name in ("uniform", "normal", "kaiming_uniform"):
        args, _ = RANDOM_INITS[name]
        full, end = full_array(name, gshape, dtype, seed=7, position=position)
        g = gen_at(7, position)
        got = getattr(init, name)(shape, *args, dtype=dtype, generator=g, global_shape=gshape,
                                  offset=offset)
        assert_bitwise(got, full[region(offset, shape)], f"{name} at position {position}")
        assert g.position == end


@pytest.mark.parametrize("name", ["uniform", "normal", "trunc_normal", "xavier_normal"])
def test_float16_shard_is_the_float32_shard_rounded(name):
    args, _ = RANDOM_INITS[name]
    kw = {"global_shape": (300, 70), "offset": (101, 0)}
    h = getattr(init, name)((150, 70), *args, dtype="float16", generator=3, **kw)
    s = getattr(init, name)((150, 70), *args, dtype="float32", generator=3, **kw)
    assert_bitwise(h, s.astype(np.float16), name)


# --------------------------------------------------------------------------- generator


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("name", INIT_IDS)
@pytest.mark.parametrize(
    "gshape,shape,offset",
    [((10, 13), (0, 13), (10, 0)), ((10, 13), (3, 0), (2, 13)), ((10, 13), (4, 5), (6, 8)),
     ((10, 13), (1, 1), (0, 0)), ((8, 3, 3, 3), (2, 3, 3, 3), (6, 0, 0, 0))],
    ids=["empty-rows", "empty-cols", "block", "one", "conv"],
)
def test_every_shard_advances_by_the_global_count(name, gshape, shape, offset, dtype):
    """Also a rank whose shard is empty (more ranks than rows) stays in step."""
    args, _ = RANDOM_INITS[name]
    g = gen_at(5, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty shard of a non-empty array is no no-op
        getattr(init, name + "_")(np.empty(shape, dtype), *args, generator=g,
                                  global_shape=gshape, offset=offset)
    assert g.position == 1000 + blocks(math.prod(gshape), dtype)


@pytest.mark.parametrize("ranks", [1, 2, 3, 7, 16])
def test_successive_calls_stay_in_step_across_ranks(ranks):
    """Each rank has its own generator with the same seed and fills its row shard of three
    parameters in turn (mixed dtypes, uneven splits, empty shards when ranks > rows): every
    rank ends at the same position and the pieces reassemble the unsharded sequence."""
    layers = [
        ("kaiming_uniform", (30, 20), np.float32, (5 ** 0.5, "fan_in", "leaky_relu")),
        ("normal", (30,), np.float64, (0.0, 0.02)),
        ("xavier_normal", (10, 30, 3), np.float16, (1.0,)),
        ("trunc_normal", (13, 17), np.float32, (0.0, 0.02, -0.04, 0.04)),
    ]
    ref = init.Generator(2024)
    want = [getattr(init, n)(s, *a, dtype=d, generator=ref) for n, s, d, a in layers]

    got = [np.empty(s, d) for _, s, d, _ in layers]
    for r in range(ranks):
        g = init.Generator(2024)
        for (n, s, d, a), out in zip(layers, got):
            rows = np.array_split(np.arange(s[0]), ranks)[r]
            r0 = int(rows[0]) if len(rows) else s[0]
            local = np.empty((len(rows), *s[1:]), d)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(init, n + "_")(local, *a, generator=g, global_shape=s,
                                       offset=(r0,) + (0,) * (len(s) - 1))
            out[r0:r0 + len(rows)] = local
        assert g.get_state() == ref.get_state(), f"rank {r} fell out of step"
    for (n, *_), a, b in zip(layers, got, want):
        assert_bitwise(a, b, f"{n} over {ranks} ranks")


# --------------------------------------------------------------------------- fans


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize(
    "gshape,shape,offset",
    [((64, 32), (2, 3), (10, 7)), ((256, 16, 3, 3), (64, 4, 3, 3), (128, 8, 0, 0)),
     ((7, 1000), (7, 10), (0, 990))],
    ids=["2d", "conv", "wide"],
)
def test_fans_come_from_the_global_shape(gshape, shape, offset, dtype):
    """xavier/kaiming on a shard are uniform_/normal_ on that shard with the parameters that
    the global shape's fans give (torch's formulas), never the shard's own fans."""
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(gshape)
    assert (fan_in, fan_out) != init.calculate_fan_in_and_fan_out(shape)
    kw = {"dtype": dtype, "global_shape": gshape, "offset": offset}

    def check(got, dist, *params):
        want = getattr(init, dist)(shape, *params, generator=11, **kw)
        assert_bitwise(got, want, dist)

    gain = 1.3
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    check(init.xavier_normal(shape, gain, generator=11, **kw), "normal", 0.0, std)
    check(init.xavier_uniform(shape, gain, generator=11, **kw), "uniform",
          -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
    for mode, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
        std = init.calculate_gain("leaky_relu", 0.2) / math.sqrt(fan)
        check(init.kaiming_normal(shape, 0.2, mode, generator=11, **kw), "normal", 0.0, std)
        check(init.kaiming_uniform(shape, 0.2, mode, generator=11, **kw), "uniform",
              -math.sqrt(3.0) * std, math.sqrt(3.0) * std)


# --------------------------------------------------------------------------- errors

BAD_SHARDS = [
    ({"global_shape": (7, 9), "offset": (5, 3)}, "rows past the end"),
    ({"global_shape": (7, 9), "offset": (0, 6)}, "columns past the end"),
    ({"global_shape": (2, 9), "offset": (0, 0)}, "global smaller than the shard"),
    ({"global_shape": (7,), "offset": (0,)}, "global_shape and offset too short"),
    ({"global_shape": (7, 9, 1), "offset": (0, 0, 0)}, "global_shape and offset too long"),
    ({"global_shape": (7, 9), "offset": (0,)}, "offset too short"),
    ({"global_shape": (7, 9), "offset": (0, 0, 0)}, "offset too long"),
    ({"offset": (0, 0)}, "offset without global_shape"),
    ({"global_shape": (7, 9), "offset": (-1, 0)}, "negative offset"),
    ({"global_shape": (7, -9), "offset": (0, 0)}, "negative global_shape"),
]


@pytest.mark.parametrize("dtype", [np.float16, np.float64], ids=["float16", "float64"])
@pytest.mark.parametrize("kw,why", BAD_SHARDS, ids=[w for _, w in BAD_SHARDS])
@pytest.mark.parametrize("name", INIT_IDS)
def test_invalid_shards_raise_value_error_and_touch_nothing(name, kw, why, dtype):
    args, _ = RANDOM_INITS[name]
    x = sentinel((3, 4), dtype)
    before = x.copy()
    g = gen_at(3, 40)
    with pytest.raises(ValueError):
        getattr(init, name + "_")(x, *args, generator=g, **kw)
    assert (bits(x) == bits(before)).all(), f"{why}: the array was modified"
    assert g.get_state() == (3, 40), f"{why}: the generator moved"
    with pytest.raises(ValueError):
        getattr(init, name)((3, 4), *args, dtype=dtype, generator=g, **kw)
    assert g.get_state() == (3, 40)


@pytest.mark.parametrize(
    "name,args", [("orthogonal_", (1.0,)), ("sparse_", (0.1,))], ids=["orthogonal", "sparse"]
)
def test_orthogonal_and_sparse_refuse_shards_with_a_reason(name, args):
    """orthogonal_ (a QR of the whole matrix) and sparse_ (zero rows drawn per whole column)
    couple every element, so a shard cannot be computed on its own: a clear ValueError."""
    x = sentinel((4, 6), np.float32)
    before = x.copy()
    g = gen_at(3, 40)
    with pytest.raises(ValueError, match="does not support shards"):
        getattr(init, name)(x, *args, generator=g, global_shape=(8, 6), offset=(4, 0))
    assert (bits(x) == bits(before)).all()
    assert g.get_state() == (3, 40)
