"""Timing callables side by side: warm-up, inner loops for short calls, interleaved rounds.

Every callable is called once to warm up; calls under ``target_s`` are looped so one sample
lasts at least that long; the statistic is the median of the samples. A callable whose single
call is slower than ``budget_s / repeats`` gets fewer samples (at least one; a warm-up call
slower than a second counts as the first sample).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from .units import median


def _calibrate(fn: Callable[[], Any], target_s: float) -> tuple[int, float, float]:
    """Warm up ``fn`` and pick an inner loop count. Returns (inner, warm-up s, one call s)."""
    t = time.perf_counter()
    fn()
    warm = time.perf_counter() - t
    if warm > 0.05:
        return 1, warm, warm
    t = time.perf_counter()
    fn()
    one = time.perf_counter() - t
    if one >= target_s:
        return 1, warm, one
    inner = int(min(1_000_000, max(1, math.ceil(target_s / max(one, 1e-8)))))
    return inner, warm, one


def _sample(fn: Callable[[], Any], inner: int, setup: Callable[[], Any] | None = None) -> float:
    if setup is not None:
        setup()
    if inner == 1:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t) / inner


def measure_group(fns: dict[str, Callable[[], Any]], *, repeats: int, budget_s: float,
                  target_s: float = 2e-3, setup: Callable[[], Any] | None = None,
                  force: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Time several callables side by side, in interleaved rounds.

    Args:
        fns: name -> zero-argument callable.
        repeats: samples per callable (fewer for a callable slower than ``budget_s / repeats``,
            at least one).
        budget_s: time allowed for one callable's samples.
        force: names that get ``repeats`` samples whatever the budget.
        target_s: calls faster than this are looped so a sample lasts about this long.
        setup: called (untimed) before every sample, e.g. ``gc.collect``.

    Returns:
        name -> ``{"median_s", "min_s", "samples_s", "repeats", "inner"}``; times are per call.

    Example:
        >>> r = measure_group({"noop": lambda: None}, repeats=3, budget_s=1.0)
        >>> r["noop"]["repeats"], r["noop"]["median_s"] < 1e-3
        (3, True)
    """
    plan: dict[str, tuple[int, int]] = {}
    samples: dict[str, list[float]] = {}
    for name, fn in fns.items():
        if setup is not None:
            setup()
        inner, warm, one = _calibrate(fn, target_s)
        reps = repeats
        if name not in force and one * repeats > budget_s:
            reps = max(1, int(budget_s // one))
        samples[name] = []
        if warm > 1.0:
            # A call this slow is its own warm-up: the array was touched and the library was
            # warmed at smaller sizes; count it instead of paying for it twice.
            samples[name].append(warm)
        plan[name] = (inner, reps)
    for _ in range(max(r for _, r in plan.values()) if plan else 0):
        for name, fn in fns.items():
            inner, reps = plan[name]
            if len(samples[name]) < reps:
                samples[name].append(_sample(fn, inner, setup))
    return {
        name: {
            "median_s": median(s),
            "min_s": min(s),
            "samples_s": s,
            "repeats": len(s),
            "inner": plan[name][0],
        }
        for name, s in samples.items()
    }
