"""sparse_: the mask and value streams of the panel kernel (src/sparse.rs).

Exact zero counts on every kind of view and dtype, the values' distribution, the zero rows'
uniformity and independence between columns (Floyd's algorithm, both the nonzero-drawing and
the zero-drawing branch), invariance to thread count, alignment and memory layout, and
Ctrl-C on a large call.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import textwrap

import ferroinit as init
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import dequantize, ks_test, run_sigint_child

TORCH_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

# rows below one 16-row tile piece, columns that are not a multiple of a panel, one column,
# one row, the extremes of sparsity, and both branches of Floyd (k < rows / 2 draws the zeros,
# k > rows / 2 draws the nonzeros).
SHAPES = [
    ((3, 5), 0.5),
    ((7, 1), 0.3),
    ((1, 40), 0.5),
    ((15, 17), 0.0),
    ((16, 33), 0.99),
    ((65, 129), 0.1),
    ((64, 64), 0.5),
    ((300, 257), 0.9),
    ((129, 1000), 0.75),
    ((1000, 3), 0.999),
    ((513, 700), 0.25),
]


def _views(shape, dtype):
    """(name, view, base) over fresh memory: C order, transposed, strided (torch, through
    DLPack), and for NumPy dtypes reversed rows and columns (negative strides)."""
    rows, cols = shape
    t = torch.empty(shape, dtype=dtype)
    yield "c", t, t
    b = torch.empty(cols, rows, dtype=dtype)
    yield "t", b.T, b
    b = torch.empty(2 * rows, 3 * cols, dtype=dtype)
    yield "strided", b[::2, 1::3], b
    if dtype != torch.bfloat16:
        n = np.empty((rows + 1, 2 * cols), dtype=str(dtype).split(".")[1])
        yield "reversed", n[:0:-1, ::-2], n


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=lambda d: str(d).split(".")[1])
@pytest.mark.parametrize("shape,sparsity", SHAPES)
def test_exact_zeros_per_column_every_view(dtype, shape, sparsity):
    rows, cols = shape
    k = math.ceil(sparsity * rows)
    name_np = str(dtype).split(".")[1]
    ref = None if dtype == torch.bfloat16 else init.sparse(shape, sparsity, 1.0, dtype=name_np,
                                                          generator=5)
    for name, v, base in _views(shape, dtype):
        base.fill(7) if isinstance(base, np.ndarray) else base.fill_(7)
        # std = 1 so no float16 normal rounds to 0 (|z| < 3e-8: probability 2e-8 per value)
        init.sparse_(v, sparsity, 1.0, generator=5)
        vals = v.double().numpy() if isinstance(v, torch.Tensor) else v.astype(np.float64)
        np.testing.assert_array_equal((vals == 0).sum(0), np.full(cols, k), err_msg=name)
        assert np.isfinite(vals).all()
        # outside the view, the base still holds 7s (no value of the view is 7)
        bvals = base.double().numpy() if isinstance(base, torch.Tensor) else base
        assert (bvals == 7).sum() == bvals.size - vals.size, name
        assert not (vals == 7).any()
        # the same values whatever the layout
        if ref is not None:
            np.testing.assert_array_equal(vals, ref.astype(np.float64), err_msg=name)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_zero_count_matches_torch_on_awkward_sparsities(dtype):
    # ceil(sparsity * rows) in float64, as torch computes it (0.3 * 10 = 3.0000000000000004)
    for rows, sparsity in [(10, 0.3), (100, 0.07), (1000, 0.001), (3, 0.9999), (49, 0.5)]:
        x = init.sparse((rows, 7), sparsity, 1.0, dtype=dtype, generator=1)
        t = torch.empty(rows, 7)
        torch.nn.init.sparse_(t, sparsity, generator=torch.Generator().manual_seed(0))
        np.testing.assert_array_equal((x == 0).sum(0), (t == 0).sum(0).numpy())


def test_values_are_normal_large_streaming_array():
    # 40 MiB: the parallel path and the non-temporal stores; ~1.05M nonzeros at 0.9
    std = 0.02
    x = init.sparse((4096, 2560), 0.9, std, generator=21)
    nz = x[x != 0]
    assert nz.size == (4096 - 3687) * 2560
    ks_test(nz, scipy.stats.norm(scale=std).cdf, label="sparse 0.9 nonzeros")
    # and no dependence on where a value sits: each column's first nonzero (its smallest
    # nonzero row), and the values of the top and the bottom half, follow the same law
    first = x[np.argmax(x != 0, axis=0), np.arange(x.shape[1])]
    assert np.all(first != 0)
    assert scipy.stats.kstest(first, scipy.stats.norm(scale=std).cdf).pvalue > 1e-5
    top, bottom = x[:2048], x[2048:]
    res = scipy.stats.ks_2samp(top[top != 0], bottom[bottom != 0])
    assert res.pvalue > 1e-5, res


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_values_are_normal_other_dtypes(dtype):
    std = 1.0 if dtype == "float16" else 0.01
    x = init.sparse((2048, 1200), 0.5, std, dtype=dtype, generator=22)
    nz = x[x != 0]
    assert nz.size == 1024 * 1200
    sample = dequantize(nz) if dtype == "float16" else nz
    ks_test(sample, scipy.stats.norm(scale=std).cdf, label=f"sparse {dtype} nonzeros")


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9])
def test_zero_rows_uniform_per_row(sparsity):
    # every row is zero in each column with probability k / rows: chi-square of the counts
    rows, cols = 97, 30000
    x = init.sparse((rows, cols), sparsity, generator=23)
    k = math.ceil(sparsity * rows)
    per_row = np.count_nonzero(x == 0, axis=1)
    assert per_row.sum() == k * cols
    p = k / rows
    mean = cols * p
    # columns are independent, so per_row is multinomial-like with variance cols p (1 - p)
    chi2 = np.sum((per_row - mean) ** 2 / (mean * (1 - p)))
    assert scipy.stats.chi2.sf(chi2, rows - 1) > 1e-5, (chi2, per_row.min(), per_row.max())
    # the first and the last row are not special (Floyd's j fallback lands on high rows)
    sd = math.sqrt(cols * p * (1 - p))
    assert abs(per_row[0] - mean) < 6 * sd and abs(per_row[-1] - mean) < 6 * sd


# k <= rows / 2 draws the zeros, k > rows / 2 the nonzeros (then complemented or not)
@pytest.mark.parametrize("rows,sparsity", [(4, 0.5), (5, 0.4), (5, 0.6), (6, 0.2), (7, 0.6)])
def test_every_subset_equally_likely(rows, sparsity):
    # all C(rows, k) zero sets of a column are equally likely (chi-square over the subsets)
    cols = 60000
    x = init.sparse((rows, cols), sparsity, generator=24)
    k = math.ceil(sparsity * rows)
    codes = ((x == 0).astype(np.int64) * (1 << np.arange(rows))[:, None]).sum(0)
    values, counts = np.unique(codes, return_counts=True)
    n_subsets = math.comb(rows, k)
    assert len(values) == n_subsets
    assert all(int(v).bit_count() == k for v in values)
    res = scipy.stats.chisquare(counts)
    assert res.pvalue > 1e-5, (counts, res)


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.8])
def test_columns_independent_overlap_is_hypergeometric(sparsity):
    # Two independent uniform k-subsets of rows overlap in Hypergeometric(rows, k, k) rows.
    # Adjacent columns (neighbouring draw blocks, same panel) and columns 16 apart (other
    # panels in narrow grids) must look independent.
    rows, cols = 200, 20000
    x = init.sparse((rows, cols), sparsity, generator=25)
    z = (x == 0).astype(np.int32)
    k = math.ceil(sparsity * rows)
    dist = scipy.stats.hypergeom(rows, k, k)
    for lag in (1, 16, 257):
        overlap = (z[:, :-lag] * z[:, lag:]).sum(0)
        n = overlap.size
        assert abs(overlap.mean() - dist.mean()) < 6 * dist.std() / math.sqrt(n), (lag, overlap.mean())
        # goodness of fit over the central bins
        lo, hi = int(dist.ppf(0.001)), int(dist.ppf(0.999))
        obs = np.array([(overlap <= lo).sum()] + [(overlap == v).sum() for v in range(lo + 1, hi)]
                       + [(overlap >= hi).sum()])
        exp = np.array([dist.cdf(lo)] + [dist.pmf(v) for v in range(lo + 1, hi)]
                       + [dist.sf(hi - 1)]) * n
        chi2 = ((obs - exp) ** 2 / exp).sum()
        assert scipy.stats.chi2.sf(chi2, len(obs) - 1) > 1e-5, (lag, chi2)
    # no two columns share a mask
    assert len({c.tobytes() for c in z.T[:3000]}) == 3000


def test_layout_and_alignment_do_not_change_values():
    # NumPy's large arrays start 16 bytes into a line, ferroinit's and torch's on a line: the
    # panel grid differs, the values must not.
    shape = (1024, 2100)  # 8.6 MB float32: streaming stores where aligned
    a = init.sparse(shape, 0.8, generator=26)
    b = np.empty(shape, np.float32)
    init.sparse_(b, 0.8, generator=26)
    t = torch.empty(shape)
    init.sparse_(t, 0.8, generator=26)
    ft = torch.empty(shape[::-1]).T  # column-major
    init.sparse_(ft, 0.8, generator=26)
    off = np.empty(shape[0] * shape[1] + 5, np.float32)[5:].reshape(shape)  # 20 bytes in
    init.sparse_(off, 0.8, generator=26)
    for other in (b, t.numpy(), ft.numpy(), off):
        assert a.tobytes() == np.ascontiguousarray(other).tobytes()


def test_generator_advance():
    # max(value blocks of the whole array, mask blocks): float32 4 values per block, the mask
    # ceil(min(k, rows - k) / 2) blocks per column
    for shape, sparsity, dtype in [((8, 4), 0.25, "float32"), ((1000, 3), 0.5, "float64"),
                                   ((4096, 16), 0.9, "float32"), ((3, 1000), 0.4, "float16")]:
        rows, cols = shape
        k = math.ceil(sparsity * rows)
        per_block = 2 if dtype == "float64" else 4
        want = max(-(-rows * cols // per_block), cols * -(-min(k, rows - k) // 2))
        g = init.Generator(3)
        init.sparse(shape, sparsity, dtype=dtype, generator=g)
        assert g.position == want, (shape, sparsity, dtype)


HASH_SCRIPT = textwrap.dedent(
    r"""
    import hashlib, json
    import numpy as np, torch
    import ferroinit as init

    out = {}
    def h(key, a):
        a = a.contiguous().numpy() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)
        out[key] = hashlib.sha256(a.tobytes()).hexdigest()

    for dt in ("float16", "float32", "float64"):
        h(f"c/{dt}", init.sparse((1500, 1700), 0.9, dtype=dt, generator=1))
        h(f"low/{dt}", init.sparse((700, 3000), 0.2, dtype=dt, generator=2))
        x = np.empty((2000, 1100), dt)
        init.sparse_(x.T, 0.6, generator=3)
        h(f"t/{dt}", x)
        y = np.zeros((1200, 2400), dt)
        init.sparse_(y[::2, 1::2], 0.5, generator=4)
        h(f"strided/{dt}", y)
    b = torch.empty(1300, 1400, dtype=torch.bfloat16)
    init.sparse_(b, 0.75, generator=5)
    h("bf16", b.view(torch.int16))
    h("tall", init.sparse((200_000, 20), 0.1, generator=6))
    print(json.dumps(out, sort_keys=True))
    """
)


def test_thread_count_invariance():
    envs = [{"RAYON_NUM_THREADS": n} for n in ("1", "2", "3", "16")]
    envs.append({"RAYON_NUM_THREADS": "2", "FERROINIT_FORCE_SCALAR": "1"})
    results = []
    for extra in envs:
        env = {k: v for k, v in os.environ.items()
               if k not in ("RAYON_NUM_THREADS", "FERROINIT_FORCE_SCALAR")}
        env.update(extra)
        p = subprocess.run([sys.executable, "-c", HASH_SCRIPT], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
        assert p.returncode == 0, p.stderr[-3000:]
        results.append((extra, json.loads(p.stdout.strip().splitlines()[-1])))
    ref_env, ref = results[0]
    assert len(ref) == 14
    for extra, got in results[1:]:
        diff = sorted(k for k in ref if ref[k] != got[k])
        assert not diff, f"{extra} differs from {ref_env} on {diff}"
    # and in this process
    here = hashlib.sha256(init.sparse((1500, 1700), 0.9, generator=1).tobytes()).hexdigest()
    assert here == ref["c/float32"]


@pytest.mark.parametrize("threads", ["1", "2"])
def test_ctrl_c_stops_a_large_call(threads):
    # one thread: the inline loop polls between panels; two: the pool's caller polls
    # float64 with the scalar kernels; the child sizes the matrix so one call lasts seconds
    r = run_sigint_child(["sparse", "float64"],
                         {"RAYON_NUM_THREADS": threads, "FERROINIT_FORCE_SCALAR": "1"})
    assert r["usable"]
    assert r["expected_s"] > 1.0, r  # long enough that stopping early is visible
    assert all(x["outcome"] == "KeyboardInterrupt" for x in r["results"]), r
    lat = sorted(x["latency"] for x in r["results"])
    assert lat[1] < 0.1 and lat[2] < 0.25, r  # median and worst, as tests/test_interrupts.py
    assert max(x["ran"] for x in r["results"]) < 0.5 * r["expected_s"], r
