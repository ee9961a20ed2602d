"""Fresh allocation + fill: ``ferroinit.normal(n)`` against torch and NumPy allocating the
same, and against allocating and filling the memory (the floor)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np

import ferroinit

from ..run import Bench
from ..timing import measure_group
from ..units import fmt, fmt_bytes, fmt_size, ratio

NAME = "fresh"
CHOICES = (NAME,)
FRESH_FLOOR = 3.0


def add_arguments(p) -> None:
    p.add_argument("--fresh-n", type=int, default=28, help="fresh allocation size exponent")


def configure(args) -> None:
    args.fresh_n = (1 << 16) if args.quick else (1 << args.fresh_n)


def run(bench: Bench) -> None:
    a = bench.args
    n = a.fresh_n
    fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.normal(n)}
    if not a.no_numpy:
        fns["numpy"] = lambda: np.random.default_rng().standard_normal(n, dtype=np.float32)
    if bench.torch is not None:
        torch = bench.torch
        fns["torch"] = lambda: torch.empty(n).normal_()
    fns["fill"] = lambda: np.empty(n, dtype=np.float32).fill(0.25)
    res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget, setup=gc.collect)
    bench.suites[NAME] = {
        "n": n, "dtype": "float32", "bytes": 4 * n,
        "desc": "ferroinit.normal(n) vs torch.empty(n).normal_() vs "
                "default_rng().standard_normal(n, dtype=float32); fill = np.empty + fill",
        "results": {k: {**v, "gbps": 4 * n / v["median_s"] / 1e9} for k, v in res.items()},
    }


def targets(bench: Bench, add) -> None:
    fr = bench.suites.get(NAME)
    if fr:
        r = fr["results"]
        for lib in ("torch", "numpy"):
            if lib in r:
                add(f"fresh normal({fmt_size(fr['n'])}) vs {lib}",
                    ratio(r[lib]["median_s"], r["ferroinit"]["median_s"]), FRESH_FLOOR)


def render(bench: Bench) -> list[str]:
    fr = bench.suites[NAME]
    L = ["", (f"Fresh allocation + fill, n={fmt_size(fr['n'])} float32 "
             f"({fmt_bytes(fr['bytes'])}): {fr['desc']}")]
    r = fr["results"]
    for lib, v in r.items():
        sp = ratio(v["median_s"], r["ferroinit"]["median_s"])
        L.append(f"  {lib:>10}: {v['median_s'] * 1e3:9.1f} ms  {v['gbps']:6.2f} GB/s  "
                 f"ferroinit speedup {fmt(sp)}x  (n={v['repeats']})")
    return L
