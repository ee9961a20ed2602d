"""``sparse_`` on a square float32 matrix, sparsity 0.9, against torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ferroinit

from .. import baselines
from ..run import Bench
from ..timing import measure_group
from ..units import fmt, ratio

NAME = "sparse_"
CHOICES = (NAME,)
SPARSE_FLOOR = 20.0


def add_arguments(p) -> None:
    p.add_argument("--sparse-size", type=int, default=4096, help="sparse_ square size")


def configure(args) -> None:
    if args.quick:
        args.sparse_size = 128


def run(bench: Bench) -> None:
    a = bench.args
    m = a.sparse_size
    x = baselines.alloc("float32", m * m).reshape(m, m)
    fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.sparse_(x, 0.9)}
    if bench.torch is not None:
        t = bench.torch.from_numpy(x)
        init = bench.torch.nn.init
        fns["torch"] = lambda: init.sparse_(t, 0.9)
    res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget)
    bench.suites[NAME] = {"shape": [m, m], "sparsity": 0.9, "dtype": "float32", "results": res}


def targets(bench: Bench, add) -> None:
    sp = bench.suites.get(NAME)
    if sp and "torch" in sp["results"]:
        r = sp["results"]
        m = sp["shape"][0]
        add(f"sparse_ {m}x{m} s=0.9 vs torch",
            ratio(r["torch"]["median_s"], r["ferroinit"]["median_s"]), SPARSE_FLOOR)


def render(bench: Bench) -> list[str]:
    sp = bench.suites[NAME]
    r = sp["results"]
    t = r.get("torch", {}).get("median_s")
    return ["", (f"sparse_ {sp['shape'][0]}x{sp['shape'][1]} sparsity 0.9: ferroinit "
                f"{r['ferroinit']['median_s'] * 1e3:.1f} ms, torch "
                f"{fmt(None if t is None else t * 1e3, 1)} ms, speedup "
                f"{fmt(ratio(t, r['ferroinit']['median_s']), 1)}x")]
