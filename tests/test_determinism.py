"""Generator reproducibility, position accounting, in-place == allocating, thread-count
and SIMD invariance (subprocesses), and non-contiguous views."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import ferroinit as init
import numpy as np
import pytest
from conftest import sentinel
from ferroinit import _registry

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, positional args after x/shape, keyword args): every random torch.nn.init
# initializer, each parameter given a non-default value (the registry's test_args)
RANDOM_INITS = [(e.allocating, e.test_args, {})
                for e in _registry.select(family=_registry.TORCH, random=True)]
RANDOM_IDS = [r[0] for r in RANDOM_INITS]
# initializers whose generator advance is the plain "random fill" rule (the elementwise ones)
FILL_INITS = {e.allocating for e in _registry.select(family=_registry.TORCH, random=True,
                                                       shardable=True)}


def fill_blocks(n, dtype):
    per = 2 if np.dtype(dtype) == np.float64 else 4
    return -(-n // per)


def _call_alloc(name, shape, args, kwargs, dtype, generator):
    return getattr(init, name)(shape, *args, dtype=dtype, generator=generator, **kwargs)


def _call_inplace(name, x, args, kwargs, generator):
    return getattr(init, name + "_")(x, *args, generator=generator, **kwargs)


# ---------------------------------------------------------------------------
# reproducibility
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,args,kwargs", RANDOM_INITS, ids=RANDOM_IDS)
def test_int_seed_reproducible_and_equals_fresh_generator(float_dtype, name, args, kwargs):
    shape = (37, 29)
    a = _call_alloc(name, shape, args, kwargs, float_dtype, 1234)
    b = _call_alloc(name, shape, args, kwargs, float_dtype, 1234)
    assert a.tobytes() == b.tobytes()
    g = init.Generator(1234)
    c = _call_alloc(name, shape, args, kwargs, float_dtype, g)
    assert a.tobytes() == c.tobytes()
    d = _call_alloc(name, shape, args, kwargs, float_dtype, 1235)
    assert a.tobytes() != d.tobytes()


def test_int_seed_does_not_touch_global_generator():
    init.manual_seed(5)
    before = init.default_generator.get_state()
    init.normal((1000,), generator=77)
    assert init.default_generator.get_state() == before


@pytest.mark.parametrize("name,args,kwargs", RANDOM_INITS, ids=RANDOM_IDS)
def test_generator_successive_calls_differ(name, args, kwargs):
    g = init.Generator(42)
    shape = (64, 48)
    a = _call_alloc(name, shape, args, kwargs, "float32", g)
    p1 = g.position
    assert p1 > 0
    b = _call_alloc(name, shape, args, kwargs, "float32", g)
    assert g.position > p1
    assert a.tobytes() != b.tobytes()
    # the position is the whole state: replaying from the saved state gives b again
    g2 = init.Generator(42)
    g2.set_state((42, p1))
    b2 = _call_alloc(name, shape, args, kwargs, "float32", g2)
    assert b.tobytes() == b2.tobytes()
    assert g2.position == g.position


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 1000, 1_000_003])
@pytest.mark.parametrize("name", sorted(FILL_INITS))
def test_position_advances_by_documented_amount(float_dtype, name, n):
    args = ()
    shape = (n,) if _registry.get(name).ndim[0] <= 1 else (1, n)
    g = init.Generator(9)
    g.set_state((9, 1000))
    _call_alloc(name, shape, args, {}, float_dtype, g)
    assert g.position == 1000 + fill_blocks(n, float_dtype), (name, n, np.dtype(float_dtype).name)
    # in-place form advances identically
    g.set_state((9, 1000))
    x = np.empty(shape, dtype=float_dtype)
    _call_inplace(name, x, args, {}, g)
    assert g.position == 1000 + fill_blocks(n, float_dtype)


def test_position_advances_global_generator():
    init.manual_seed(2024)
    assert init.default_generator.get_state() == (2024, 0)
    init.uniform((10,))
    assert init.default_generator.position == 3
    init.normal((10,), dtype="float64")
    assert init.default_generator.position == 3 + 5


def test_manual_seed_global_reproducible():
    init.manual_seed(31337)
    a = init.normal((1001,))
    a2 = init.uniform((17, 3))
    init.manual_seed(31337)
    b = init.normal((1001,))
    b2 = init.uniform((17, 3))
    assert a.tobytes() == b.tobytes() and a2.tobytes() == b2.tobytes()
    # same stream as an explicit Generator / int seed
    np.testing.assert_array_equal(a, init.normal((1001,), generator=31337))
    g = init.Generator(31337)
    init.normal((1001,), generator=g)
    np.testing.assert_array_equal(a2, init.uniform((17, 3), generator=g))
    # and the in-place forms with generator=None use it too
    init.manual_seed(31337)
    x = np.empty((1001,), dtype=np.float32)
    init.normal_(x)
    np.testing.assert_array_equal(x, a)
    c = init.normal((1001,))
    assert c.tobytes() != a.tobytes()


def test_generator_state_roundtrip():
    g = init.Generator(11)
    init.uniform((123,), generator=g)
    state = g.get_state()
    assert state == (11, g.position) and state[0] == g.seed
    a = init.trunc_normal((500,), generator=g)
    b_state = g.get_state()
    g.set_state(state)
    b = init.trunc_normal((500,), generator=g)
    assert a.tobytes() == b.tobytes()
    assert g.get_state() == b_state
    # state transplant into another generator
    h = init.Generator(999)
    h.set_state(state)
    assert h.seed == 11
    np.testing.assert_array_equal(init.trunc_normal((500,), generator=h), a)


def test_generator_manual_seed_resets_position():
    g = init.Generator(1)
    g.random_raw(100)
    assert g.position == 25
    r = g.manual_seed(2)
    assert r is g
    assert g.get_state() == (2, 0)
    np.testing.assert_array_equal(init.normal((50,), generator=g), init.normal((50,), generator=2))


def test_generator_seed_range():
    assert init.Generator(2**64 - 1).seed == 2**64 - 1
    assert init.Generator(-1).seed == 2**64 - 1
    assert init.Generator(-(2**63)).seed == 2**63
    for bad in [2**64, -(2**63) - 1]:
        with pytest.raises((ValueError, OverflowError)):
            init.Generator(bad)


def test_random_raw_dtype_length_and_position():
    g = init.Generator(3)
    for n, adv in [(0, 0), (1, 1), (4, 1), (5, 2), (1_000_003, 250_001)]:
        p = g.position
        r = g.random_raw(n)
        assert isinstance(r, np.ndarray)
        assert r.dtype == np.uint32
        assert r.shape == (n,)
        assert r.flags.c_contiguous
        assert g.position == p + adv
    # same seed/position -> same words; raw stream is not all zeros/constant
    g1, g2 = init.Generator(77), init.Generator(77)
    a, b = g1.random_raw(4096), g2.random_raw(4096)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) > 4000


# ---------------------------------------------------------------------------
# in place == allocating
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(31, 17), (5, 3, 4, 4), (1, 1000)])
@pytest.mark.parametrize("name,args,kwargs", RANDOM_INITS, ids=RANDOM_IDS)
def test_inplace_equals_allocating(float_dtype, shape, name, args, kwargs):
    if name == "sparse" and len(shape) != 2:
        shape = (40, 25)
    g1, g2 = init.Generator(55), init.Generator(55)
    g1.set_state((55, 12345))
    g2.set_state((55, 12345))
    a = _call_alloc(name, shape, args, kwargs, float_dtype, g1)
    assert a.dtype == float_dtype and a.shape == shape
    assert a.flags.c_contiguous and a.flags.writeable
    x = sentinel(shape, float_dtype)
    out = _call_inplace(name, x, args, kwargs, g2)
    assert out is x
    assert a.tobytes() == x.tobytes()
    assert g1.get_state() == g2.get_state()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", np.float32, np.dtype("float64")])
def test_dtype_argument_forms(dtype):
    x = init.normal((10,), dtype=dtype, generator=1)
    assert x.dtype == np.dtype(dtype)


def test_default_dtype_float32():
    for name, args, kwargs in RANDOM_INITS:
        x = getattr(init, name)((8, 6), *args, generator=1, **kwargs)
        assert x.dtype == np.float32, name


# ---------------------------------------------------------------------------
# thread-count and SIMD invariance
# ---------------------------------------------------------------------------

HASH_SCRIPT = r"""
import hashlib, json, sys, warnings
import numpy as np
import ferroinit as init

warnings.simplefilter("ignore")
out = {}

def h(key, arr):
    arr = np.ascontiguousarray(arr)
    out[key] = hashlib.sha256(arr.tobytes()).hexdigest() + ":" + str(arr.dtype) + str(arr.shape)

N = 1_000_003   # not a multiple of any block / chunk size
M = 100_003
for dt in ("float16", "float32", "float64"):
    h(f"uniform/{dt}", init.uniform((N,), -1.0, 3.0, dtype=dt, generator=1))
    h(f"uniform01/{dt}", init.uniform((M,), dtype=dt, generator=2))
    h(f"normal/{dt}", init.normal((N,), 0.5, 2.0, dtype=dt, generator=3))
    h(f"trunc_normal/{dt}", init.trunc_normal((N,), 0.0, 1.0, -2.0, 2.0, dtype=dt, generator=4))
    h(f"trunc_normal_tail/{dt}", init.trunc_normal((M,), 0.0, 1.0, 5.0, 6.0, dtype=dt, generator=5))
    # the float32 window path's segments: central and tail, tail only, far, one end unreachable
    for a, b in ((2.0, 3.0), (-0.5, 3.0), (8.0, 9.0), (-12.0, -1.0), (1.0, 12.5), (-20.0, 3.0)):
        h(f"trunc_normal[{a},{b}]/{dt}", init.trunc_normal((M,), 0.0, 1.0, a, b, dtype=dt, generator=5))
    h(f"xavier_uniform/{dt}", init.xavier_uniform((317, 331), dtype=dt, generator=6))
    h(f"xavier_normal/{dt}", init.xavier_normal((7, 3, 5, 953), dtype=dt, generator=7))
    h(f"kaiming_uniform/{dt}", init.kaiming_uniform((331, 317), dtype=dt, generator=8))
    h(f"kaiming_normal/{dt}", init.kaiming_normal((1, M), dtype=dt, generator=9))
    h(f"orthogonal/{dt}", init.orthogonal((301, 199), dtype=dt, generator=10))
    h(f"orthogonal_wide/{dt}", init.orthogonal((67, 5, 3, 3), dtype=dt, generator=11))
    h(f"sparse/{dt}", init.sparse((301, 299), 0.3, dtype=dt, generator=12))
    base = np.zeros((301, 2001), dtype=dt)
    init.normal_(base[:, ::2], generator=13)
    init.uniform_(base[::-1, 1::2], generator=14)
    h(f"views/{dt}", base)
    g = init.Generator(15)
    parts = [init.normal((M,), dtype=dt, generator=g) for _ in range(3)]
    h(f"successive/{dt}", np.concatenate(parts))
    out[f"position/{dt}"] = g.get_state()[1]
init.manual_seed(16)
h("global", init.normal((N,)))
h("raw", init.Generator(17).random_raw(N))
print(json.dumps(out, sort_keys=True))
"""

ENV_CONFIGS = [
    {"RAYON_NUM_THREADS": "1"},
    {"RAYON_NUM_THREADS": "2"},
    {"RAYON_NUM_THREADS": "16"},
    {"RAYON_NUM_THREADS": "1", "FERROINIT_FORCE_SCALAR": "1"},
    {"RAYON_NUM_THREADS": "16", "FERROINIT_FORCE_SCALAR": "1"},
    {"RAYON_NUM_THREADS": "2", "FERROINIT_NO_AVX512": "1"},
]


def _run_hash_script(extra_env):
    env = {k: v for k, v in os.environ.items() if k not in ("RAYON_NUM_THREADS", "FERROINIT_FORCE_SCALAR", "FERROINIT_NO_AVX512")}
    env.update(extra_env)
    proc = subprocess.run(
        [sys.executable, "-c", HASH_SCRIPT],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, f"{extra_env}: subprocess failed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_thread_count_and_simd_invariance():
    results = [(cfg, _run_hash_script(cfg)) for cfg in ENV_CONFIGS]
    ref_cfg, ref = results[0]
    assert len(ref) > 40
    for cfg, res in results[1:]:
        assert res.keys() == ref.keys()
        diff = sorted(k for k in ref if res[k] != ref[k])
        assert not diff, f"outputs differ between {ref_cfg} and {cfg}: {diff}"
    # the subprocesses compute what this process computes (guards against a script
    # that hashes nothing meaningful)
    import hashlib

    arr = init.normal((1_000_003,), 0.5, 2.0, dtype="float32", generator=3)
    assert ref["normal/float32"].startswith(hashlib.sha256(arr.tobytes()).hexdigest())
    assert ref["position/float64"] == 3 * fill_blocks(100_003, np.float64)


# ---------------------------------------------------------------------------
# non-contiguous views
# ---------------------------------------------------------------------------

# name -> (view maker applied to the base array, base shape, base memory order)
VIEW_MAKERS = {
    "T": (lambda b: b.T, (300, 400), "C"),
    "cols_step2": (lambda b: b[:, ::2], (300, 401), "C"),
    "rows_reversed": (lambda b: b[::-1], (300, 400), "C"),
    "both_reversed_step": (lambda b: b[::-2, 1::3], (301, 400), "C"),
    "fortran": (lambda b: b, (300, 400), "F"),
    "fortran_cols_step": (lambda b: b[:, 1::2], (300, 401), "F"),
    "permuted_3d": (lambda b: b.reshape(20, 15, 400).transpose(2, 0, 1), (300, 400), "C"),
    "slice_3d_neg": (lambda b: b.reshape(30, 10, 400)[::-1, 2:9, ::-7], (300, 400), "C"),
}


@pytest.mark.parametrize("view", sorted(VIEW_MAKERS))
@pytest.mark.parametrize("name,args,kwargs", RANDOM_INITS, ids=RANDOM_IDS)
def test_noncontiguous_view_equals_contiguous_fill(view, name, args, kwargs):
    maker, base_shape, order = VIEW_MAKERS[view]
    for dtype in (np.float32, np.float64, np.float16):
        base = np.array(sentinel(base_shape, dtype), order=order)
        v = maker(base)
        if name == "sparse" and v.ndim != 2:
            continue
        assert np.shares_memory(v, base)
        before = base.copy(order="K")
        mask = np.zeros(base.shape, dtype=bool, order=order)
        maker(mask)[...] = True
        g_view, g_ref = init.Generator(66), init.Generator(66)
        out = _call_inplace(name, v, args, kwargs, g_view)
        assert out is v
        ref = _call_alloc(name, v.shape, args, kwargs, dtype, g_ref)
        np.testing.assert_array_equal(v, ref, err_msg=f"{name} on view {view} {np.dtype(dtype)}")
        # nothing outside the view was written
        np.testing.assert_array_equal(base[~mask], before[~mask])
        assert g_view.get_state() == g_ref.get_state()


@pytest.mark.parametrize("name", [n[:-1] for n in _registry.names(family=_registry.TORCH,
                                                                   random=False)])
def test_noncontiguous_view_deterministic_inits(name):
    if name == "dirac":
        base = sentinel((5, 3, 4, 6), np.float32)
        v = base.transpose(3, 2, 1, 0)[:, :, ::-1]
        ref = init.dirac(v.shape, 2)
        init.dirac_(v, 2)
    elif name == "eye":
        base = sentinel((40, 31), np.float32)
        v = base[::-1].T
        ref = init.eye(*v.shape)
        init.eye_(v)
    else:
        base = sentinel((40, 31), np.float32)
        v = base[:, ::-3]
        args = (0.75,) if name == "constant" else ()
        ref = getattr(init, name)(v.shape, *args)
        getattr(init, name + "_")(v, *args)
    np.testing.assert_array_equal(v, ref)
