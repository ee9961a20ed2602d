"""``orthogonal_`` on square float32 matrices against torch (time per call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ferroinit

from .. import baselines
from ..run import Bench
from ..timing import measure_group
from ..units import fmt, ratio

NAME = "orthogonal_"
CHOICES = (NAME,)
ORTHO_MAX_TIME_RATIO = 0.6


def add_arguments(p) -> None:
    p.add_argument("--orth-sizes", default="2048,4096", help="orthogonal_ square sizes")


def configure(args) -> None:
    args.orth_sizes = [64] if args.quick else [int(s) for s in str(args.orth_sizes).split(",")
                                               if s.strip()]


def run(bench: Bench) -> None:
    a = bench.args
    rows = []
    for m in a.orth_sizes:
        x = baselines.alloc("float32", m * m).reshape(m, m)
        fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda x=x: ferroinit.orthogonal_(x)}
        if bench.torch is not None:
            t = bench.torch.from_numpy(x)
            init = bench.torch.nn.init
            fns["torch"] = lambda t=t, init=init: init.orthogonal_(t)
        res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget)
        rows.append({"shape": [m, m], "dtype": "float32", "results": res})
        del x
    bench.suites[NAME] = rows


def targets(bench: Bench, add) -> None:
    for row in bench.suites.get(NAME, []):
        r = row["results"]
        if "torch" in r:
            m = row["shape"][0]
            add(f"orthogonal_ {m}x{m} time vs torch",
                ratio(r["ferroinit"]["median_s"], r["torch"]["median_s"]),
                ORTHO_MAX_TIME_RATIO, higher=False)


def render(bench: Bench) -> list[str]:
    L = ["", "orthogonal_ float32, seconds per call (ferroinit/torch time: lower is better)"]
    for row in bench.suites[NAME]:
        r = row["results"]
        t = r.get("torch", {}).get("median_s")
        L.append(f"  {row['shape'][0]}x{row['shape'][1]}: ferroinit "
                 f"{r['ferroinit']['median_s']:.3f} s, torch {fmt(t, 3)} s, ratio "
                 f"{fmt(ratio(r['ferroinit']['median_s'], t), 3)}")
    return L
