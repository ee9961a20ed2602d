"""One benchmark run: its configuration, the libraries present, and what the suites measured."""

from __future__ import annotations

import argparse
import gc
from typing import Any

import numpy as np

import ferroinit

from .baselines import ThreadedFill, alloc, fill_fns, try_import
from .timing import measure_group


class _NoProgress:
    def step(self, label: str) -> None:
        pass


class Bench:
    """The state the suites share.

    Attributes:
        args: the resolved command-line flags.
        torch, jax: the modules, or None when absent or left out (``--no-torch``).
        results: the in-place sweep's rows (one per initializer, library, dtype and size).
        suites: each other suite's results, under its name (written to the JSON as is).
        notes: lines for the end of the report.
        progress: what a long suite reports its steps to (``progress.step(label)``).
    """

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.torch = None if args.no_torch else try_import("torch")
        self.jax = None if args.no_jax else try_import("jax")
        if self.torch is not None:
            self.torch.set_num_threads(args.threads)
        self.results: list[dict[str, Any]] = []
        self.suites: dict[str, Any] = {}
        self.notes: list[str] = []
        self.progress: Any = _NoProgress()
        self.threaded_fill = ThreadedFill(args.threads)
        self._array: np.ndarray | None = None

    def array(self, dtype: str, n: int) -> np.ndarray:
        """A preallocated, page-faulted array of ``n`` elements of ``dtype``, shared by the
        suites that measure at the same size (one held at a time: faulting in 512 MiB again
        for every suite would cost more than the measurements)."""
        x = self._array
        if x is None or x.size != n or x.dtype != ferroinit._dtype(dtype):
            self._array = x = None
            gc.collect()
            self._array = x = alloc(dtype, n)
        return x

    def measure(self, fns: dict[str, Any], *, fills: np.ndarray | None = None,
                force: bool = True) -> dict[str, dict[str, Any]]:
        """Time ``fns`` side by side (with the fills of ``fills`` added, when given), every
        one with the full repeats unless ``force`` is False (then slow ones get fewer)."""
        fns = dict(fns)
        if fills is not None:
            fns.update(fill_fns(fills, self.threaded_fill, self.torch))
        a = self.args
        return measure_group(fns, repeats=a.repeats, budget_s=a.case_budget,
                             force=tuple(fns) if force else ())

    def release(self) -> None:
        """Drop the shared array (before a suite that needs the memory)."""
        self._array = None
        gc.collect()

    def lookup(self, init: str, lib: str, dt: str, n: int) -> dict[str, Any] | None:
        """The sweep's measurement of ``lib`` running ``init`` on ``n`` elements of ``dt``."""
        for r in self.results:
            if (r["suite"], r["init"], r["lib"], r["dtype"], r["n"]) == ("inplace", init, lib,
                                                                         dt, n):
                return r if "median_s" in r else None
        return None


class Targets:
    """The floors a run checks: each a measured value against a floor (or a ceiling)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, value: float | None, floor: float, higher: bool = True,
            unit: str = "x", detail: str = "") -> None:
        """Record a target; ``value`` None means it was not measured in this run.

        Example:
            >>> t = Targets()
            >>> t.add("speed", 3.0, 2.0); t.add("time", 5.0, 1.0, higher=False, unit="us")
            >>> [r["pass"] for r in t.rows]
            [True, False]
        """
        if value is None:
            self.rows.append({"target": name, "value": None, "floor": floor, "pass": None,
                              "unit": unit, "detail": detail or "not measured"})
            return
        ok = value >= floor if higher else value <= floor
        self.rows.append({"target": name, "value": value, "floor": floor, "pass": ok,
                          "higher_is_better": higher, "unit": unit, "detail": detail})
