"""Per-core throughput of the samplers for every dtype, and their scaling from 1 to 2 threads.

The README's "Other dtypes and parameters" table and the scaling numbers behind its notes on
#3 come from this script: ``python benches/per_core.py`` (torch, if installed, supplies the
bfloat16 tensors). Each figure is the minimum over 5 calls on a preallocated array; the
per-core table runs in a child process with ``RAYON_NUM_THREADS=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import ferroinit as fi
import numpy as np

CASES = {
    "uniform_": lambda x: fi.uniform_(x, generator=1),
    "normal_": lambda x: fi.normal_(x, generator=1),
    "trunc_normal_": lambda x: fi.trunc_normal_(x, generator=1),
    "trunc_normal_(std=0.02)": lambda x: fi.trunc_normal_(x, std=0.02, generator=1),
    "trunc_normal_(a=5, b=6)": lambda x: fi.trunc_normal_(x, a=5.0, b=6.0, generator=1),
}


def best_of(fn, x, reps=5) -> float:
    fn(x)  # warm-up: the pages and the thread pool
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - t)
    return best


def arrays(n):
    yield "float32", np.empty(n, np.float32)
    yield "float16", np.empty(n, np.float16)
    yield "float64", np.empty(n, np.float64)
    try:
        import torch
    except ImportError:
        return
    yield "bfloat16 (torch)", torch.empty(n, dtype=torch.bfloat16)


def per_core_table(n=1 << 22) -> None:
    warnings.simplefilter("ignore")  # trunc_normal_(a=5, b=6) warns, as torch does
    print(f"one thread, n = 2^{n.bit_length() - 1}, Gelem/s")
    print(f"{'dtype':18s}" + "".join(f"{k:>25s}" for k in CASES))
    for name, x in arrays(n):
        row = [n / best_of(fn, x) / 1e9 for fn in CASES.values()]
        print(f"{name:18s}" + "".join(f"{v:25.3f}" for v in row))


def scaling(n=1 << 27) -> None:
    x = np.empty(n, np.float32)
    x.fill(0)
    print(f"\nfloat32, n = 2^27, GB/s ({os.environ.get('RAYON_NUM_THREADS')} threads)")
    for name in ("uniform_", "normal_", "trunc_normal_"):
        print(f"  {name:15s} {4 * n / best_of(CASES[name], x) / 1e9:6.2f}")
    print(f"  {'ndarray.fill':15s} {4 * n / best_of(lambda a: a.fill(1.0), x) / 1e9:6.2f}")


def child(what: str, threads: int) -> None:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    subprocess.run([sys.executable, __file__, what], env=env, check=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        {"table": per_core_table, "scaling": scaling}[sys.argv[1]]()
    else:
        child("table", 1)
        child("scaling", 1)
        child("scaling", 2)
