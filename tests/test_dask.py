"""ferroinit.dask: lazy arrays whose chunks are shards of the in-memory result.

Every comparison is bitwise (raw bits), against the in-memory ferroinit call with the same
generator state. The last tests run on a real ``dask.distributed.LocalCluster`` with two
worker processes on loopback, including a > 1 GB array in 48 chunks compared by per-chunk
SHA-256 digests (the workers hash their chunks; this process hashes slices of the in-memory
array), so 1 GB is never held twice here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings

import dask
import dask.array as da
import ferroinit as init
import ferroinit.dask as fd
import numpy as np
import pytest
from conftest import FLOAT_DTYPE_IDS, FLOAT_DTYPES
from ferroinit import _registry

# name -> (positional parameters, minimum number of dimensions): every random constructor
RANDOM = {e.allocating: (e.test_args, e.ndim[0])
          for e in _registry.select(dask=True, random=True)}

# (shape, chunks): auto, one chunk, regular, irregular, one-element-wide, 1-D, conv kernels
CHUNKINGS = [
    ((37, 53), "auto"),
    ((37, 53), -1),
    ((37, 53), (8, 8)),
    ((37, 53), 7),
    ((37, 53), ((5, 12, 20), (1, 29, 23))),
    ((37, 53), (1, 53)),
    ((37, 53), (37, 1)),
    ((37, 53), (3, 2)),
    ((1001,), 3),
    ((1001,), ((1, 2, 3, 995),)),
    ((16, 8, 3, 3), (5, 3, 2, 1)),
    ((16, 8, 3, 3), (16, 8, 3, 3)),
    ((6, 5, 7), (4, 2, 3)),
]
CHUNK_IDS = [f"{s}-{c}".replace(" ", "") for s, c in CHUNKINGS]


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(f"u{a.dtype.itemsize}")


def assert_bitwise(got, want, label=""):
    assert isinstance(got, np.ndarray), type(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (label, got.shape, got.dtype)
    bad = bits(got) != bits(want)
    assert not bad.any(), (
        f"{label}: {int(bad.sum())} of {bad.size} elements differ, first at "
        f"{tuple(int(i) for i in np.argwhere(bad)[0])}"
    )


def gen_at(seed, position):
    g = init.Generator(seed)
    g.set_state((seed, position))
    return g


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("shape,chunks", CHUNKINGS, ids=CHUNK_IDS)
@pytest.mark.parametrize("name", list(RANDOM))
def test_compute_is_bitwise_the_in_memory_result(name, shape, chunks, dtype):
    args, min_ndim = RANDOM[name]
    if len(shape) < min_ndim:
        pytest.skip(f"{name} needs {min_ndim} dimensions")
    g_lazy, g_eager = gen_at(31, 9), gen_at(31, 9)
    lazy = getattr(fd, name)(shape, *args, chunks=chunks, dtype=dtype, generator=g_lazy)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == shape and lazy.dtype == np.dtype(dtype)
    eager = getattr(init, name)(shape, *args, dtype=dtype, generator=g_eager)
    assert g_lazy.get_state() == g_eager.get_state()
    assert_bitwise(lazy.compute(scheduler="threads"), eager, f"{name} chunks={chunks}")
    assert_bitwise(lazy.compute(scheduler="sync"), eager, f"{name} sync")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
@pytest.mark.parametrize("shape,chunks", [((37, 53), (8, 5)), ((5, 9), 2), ((1, 1), 1),
                                          ((9, 5), ((2, 7), (5,))), ((20, 20), "auto")])
def test_constant_zeros_ones_eye(shape, chunks, dtype):
    for val in (0.0, 1.0, -0.0, 0.1, 3e38 if dtype != np.float16 else 6e4, np.inf, np.nan):
        assert_bitwise(fd.constant(shape, val, chunks=chunks, dtype=dtype).compute(),
                       init.constant(shape, val, dtype=dtype), f"constant {val}")
    assert_bitwise(fd.zeros(shape, chunks=chunks, dtype=dtype).compute(),
                   init.zeros(shape, dtype=dtype))
    assert_bitwise(fd.ones(shape, chunks=chunks, dtype=dtype).compute(),
                   init.ones(shape, dtype=dtype))
    n, m = shape
    assert_bitwise(fd.eye(n, m, chunks=chunks, dtype=dtype).compute(),
                   init.eye(n, m, dtype=dtype), "eye")
    assert_bitwise(fd.eye(n, chunks=3, dtype=dtype).compute(), init.eye(n, dtype=dtype))


def test_zero_size_arrays_match_the_in_memory_no_op():
    g, h = gen_at(1, 2), gen_at(1, 2)
    x = fd.normal((0, 5), chunks=2, generator=g)
    assert x.compute().shape == (0, 5)
    init.normal((0, 5), generator=h)
    assert g.get_state() == h.get_state()
    with pytest.warns(UserWarning, match="zero-element"):
        fd.kaiming_uniform((4, 0), chunks=2, generator=g)
    assert fd.eye(0, 3).compute().shape == (0, 3)


# --------------------------------------------------------------------------- generator


def test_generator_state_is_captured_and_advanced_at_construction():
    g = init.Generator(5)
    lazy = fd.normal((300, 200), chunks=(64, 64), generator=g)
    after = g.get_state()
    assert after == (5, 300 * 200 // 4)
    # the generator moves on; the graph does not care
    following = init.uniform((10, 10), generator=g)
    first = lazy.compute()
    g.set_state((5, 0))
    assert_bitwise(first, init.normal((300, 200), generator=g))
    assert_bitwise(following, init.uniform((10, 10), generator=g))
    assert_bitwise(lazy.compute(), first, "a second compute")


def test_global_generator_and_int_seeds():
    init.manual_seed(77)
    lazy = fd.kaiming_normal((50, 40), chunks=16, dtype="float64")
    nxt = fd.xavier_uniform((40, 30), chunks=(7, 9))
    pos = init.default_generator.get_state()
    init.manual_seed(77)
    want1 = init.kaiming_normal((50, 40), dtype="float64")
    want2 = init.xavier_uniform((40, 30))
    assert init.default_generator.get_state() == pos
    assert_bitwise(lazy.compute(), want1)
    assert_bitwise(nxt.compute(), want2)
    # an int seed is a fresh generator at position 0 and leaves the global one alone
    assert_bitwise(fd.uniform((20, 3), generator=12, chunks=4).compute(),
                   init.uniform((20, 3), generator=12))
    assert init.default_generator.get_state() == pos


def test_graph_names_follow_the_generator_state():
    a = fd.normal((100, 100), chunks=30, generator=1)
    b = fd.normal((100, 100), chunks=30, generator=1)
    c = fd.normal((100, 100), chunks=30, generator=2)
    g = init.Generator(1)
    d = fd.normal((100, 100), chunks=30, generator=g)
    e = fd.normal((100, 100), chunks=30, generator=g)  # the next 10000 values
    assert a.name == b.name == d.name
    assert len({a.name, c.name, e.name, fd.uniform((100, 100), chunks=30, generator=1).name,
                fd.normal((100, 100), chunks=50, generator=1).name,
                fd.normal((100, 100), 0.0, 2.0, chunks=30, generator=1).name}) == 6
    total = (d + e).compute()
    g.set_state((1, 0))
    assert_bitwise(total, init.normal((100, 100), generator=g) + init.normal((100, 100),
                                                                            generator=g))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda g: fd.uniform((4, 4), 2.0, 1.0, generator=g), RuntimeError),
        (lambda g: fd.normal((4, 4), 0.0, -1.0, generator=g), RuntimeError),
        (lambda g: fd.normal((4, 4), float("nan"), generator=g), ValueError),
        (lambda g: fd.trunc_normal((4, 4), a=1.0, b=1.0, generator=g), ValueError),
        (lambda g: fd.xavier_uniform((7,), generator=g), ValueError),
        (lambda g: fd.kaiming_normal((4, 4), mode="fan_avg", generator=g), ValueError),
        (lambda g: fd.kaiming_uniform((4, 4), nonlinearity="gelu", generator=g), ValueError),
        (lambda g: fd.normal((4, -4), generator=g), ValueError),
        (lambda g: fd.normal((4, 4.5), generator=g), TypeError),
        (lambda g: fd.normal((4, 4), dtype="int32", generator=g), TypeError),
        (lambda g: fd.normal((4, 4), generator="seed"), TypeError),
        (lambda g: fd.constant((4, 4), 1e6, dtype="float16"), RuntimeError),
        (lambda g: fd.eye(-1), ValueError),
    ],
)
def test_bad_arguments_raise_at_construction_and_leave_the_generator(call, exc):
    g = gen_at(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc):
            call(g)
    assert g.get_state() == (4, 8)


def test_import_ferroinit_does_not_import_dask():
    code = (
        "import sys, ferroinit, ferroinit as init; init.normal(3, generator=0); "
        "bad = sorted(m for m in sys.modules if m == 'dask' or m.startswith('dask.')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_missing_dask_gives_an_import_error_naming_the_extra():
    code = (
        "import sys; sys.modules['dask'] = None\n"
        "import ferroinit\n"
        "try:\n"
        "    import ferroinit.dask\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                         capture_output=True, text=True).stdout
    assert "pip install 'ferroinit[dask]'" in out, out


# --------------------------------------------------------------------------- to disk


def test_store_to_a_memmap_chunk_by_chunk(tmp_path):
    """The README recipe: an array written to disk chunk by chunk equals the in-memory one."""
    shape = (1000, 777)
    path = tmp_path / "w.f32"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    da.store(fd.trunc_normal(shape, std=0.02, a=-0.04, b=0.04, chunks=(128, 200), generator=3),
             out, lock=False, scheduler="threads")
    out.flush()
    del out
    assert_bitwise(np.load(path, mmap_mode="r")[...],
                   init.trunc_normal(shape, std=0.02, a=-0.04, b=0.04, generator=3))


def test_pickled_graph_on_a_process_pool():
    """The graph only holds (seed, position) and plain parameters: it runs in other processes
    (spawned, so nothing is inherited) with the same result."""
    x = fd.kaiming_uniform((256, 300), a=5 ** 0.5, chunks=(50, 64), dtype="float16", generator=8)
    with dask.config.set({"multiprocessing.context": "spawn"}):
        got = x.compute(scheduler="processes", num_workers=2)
    assert_bitwise(got, init.kaiming_uniform((256, 300), a=5 ** 0.5, dtype="float16",
                                             generator=8))


# --------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        # one Rust thread per worker, while this process uses all cores: values must not
        # depend on the thread count
        env={"RAYON_NUM_THREADS": "1"},
    ) as cluster, distributed.Client(cluster, set_as_default=False, timeout=60) as c:
        yield c


def _chunk_digest(block: np.ndarray):
    """On a worker: the SHA-256 of a chunk's bytes, and who computed it."""
    block = np.ascontiguousarray(block)
    return (hashlib.sha256(block.data).hexdigest(), os.getpid(),
            os.environ.get("RAYON_NUM_THREADS"))


def test_distributed_one_gigabyte_bitwise_by_chunk_digests(client):
    shape, chunks = (16411, 16387), (2100, 2899)  # 1.076 GB of float32, 8 x 6 = 48 chunks
    args = (5 ** 0.5, "fan_in", "leaky_relu")
    lazy = fd.kaiming_uniform(shape, *args, chunks=chunks, generator=2025)
    assert lazy.nbytes > 1e9 and lazy.npartitions >= 32

    delayed_blocks = lazy.to_delayed()
    digests = [dask.delayed(_chunk_digest)(b) for b in delayed_blocks.ravel()]
    remote = [f.result(timeout=300) for f in client.compute(digests)]
    assert len({pid for _, pid, _ in remote}) == 2, "both worker processes should take part"
    assert {env for _, _, env in remote} == {"1"}

    full = init.kaiming_uniform(shape, *args, generator=2025)  # the one in-memory copy
    local = []
    for idx in np.ndindex(*lazy.numblocks):
        sl = tuple(slice(sum(c[:i]), sum(c[:i + 1])) for c, i in zip(lazy.chunks, idx))
        local.append(hashlib.sha256(np.ascontiguousarray(full[sl]).data).hexdigest())
    del full
    mismatched = [i for i, (a, b) in enumerate(zip(remote, local)) if a[0] != b]
    assert not mismatched, f"{len(mismatched)} of {len(local)} chunks differ: {mismatched[:8]}"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_DTYPE_IDS)
def test_distributed_every_constructor(client, dtype):
    shape, chunks = (301, 257), ((1, 100, 200), (13, 200, 44))
    for name, (args, _) in RANDOM.items():
        lazy = getattr(fd, name)(shape, *args, chunks=chunks, dtype=dtype, generator=6)
        got = client.compute(lazy).result(timeout=120)
        assert_bitwise(got, getattr(init, name)(shape, *args, dtype=dtype, generator=6), name)
    got = client.compute(fd.eye(301, 257, chunks=chunks, dtype=dtype)).result(timeout=120)
    assert_bitwise(got, init.eye(301, 257, dtype=dtype), "eye")
