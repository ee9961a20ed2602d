"""Call overhead: ``normal_`` on a 16-element array, per call, against NumPy and torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import ferroinit

from ..run import Bench
from ..timing import measure_group

NAME = "small"
CHOICES = (NAME,)
SMALL_MAX_US = 1.0


def run(bench: Bench) -> None:
    a = bench.args
    x = np.empty(16, dtype=np.float32)
    fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.normal_(x)}
    if not a.no_numpy:
        rng = np.random.default_rng(0)
        fns["numpy"] = lambda: rng.standard_normal(out=x, dtype=np.float32)
    if bench.torch is not None:
        t = bench.torch.from_numpy(x)
        init = bench.torch.nn.init
        fns["torch"] = lambda: init.normal_(t)
    res = measure_group(fns, repeats=max(5, a.repeats), budget_s=a.case_budget, target_s=0.02)
    bench.suites[NAME] = {
        "n": 16, "dtype": "float32", "desc": "normal_ on a 16-element array, per call",
        "results": {k: {**v, "us": v["median_s"] * 1e6} for k, v in res.items()},
    }


def targets(bench: Bench, add) -> None:
    sm = bench.suites.get(NAME)
    if sm:
        add("normal_ on 16 elements (NumPy array), us per call", sm["results"]["ferroinit"]["us"],
            SMALL_MAX_US, higher=False, unit="us")


def render(bench: Bench) -> list[str]:
    r = bench.suites[NAME]["results"]
    L = ["", "Call overhead: normal_ on 16 float32 elements, us per call"]
    for lib, v in r.items():
        L.append(f"  {lib:>10}: {v['us']:8.2f} us")
    return L
