"""The JAX suite: ``ferroinit.jax`` initializers, eager and jitted, against jitted jax.

For each case (``normal``, ``truncated_normal``, ``uniform``, ``variance_scaling``) and size
``2^k`` (a ``(n / cols, cols)`` float matrix, ``cols = min(n, 1024)``), four callables run
side by side in interleaved rounds, so background load hits them alike:

* ``jax``: ``jax.jit`` of ``jax.random.normal`` / ``truncated_normal(-2, 2)`` / ``uniform`` /
  ``jax.nn.initializers.variance_scaling(1, "fan_in", "truncated_normal")`` (the baseline);
* ``eager``: the ``ferroinit.jax`` initializer called eagerly (zero-copy DLPack);
* ``jit``: ``jax.jit`` of the ``ferroinit.jax`` initializer (``pure_callback``, one copy);
* ``bare``: ferroinit's allocating sampler with ``dlpack=True`` and no jax at all, so
  ``eager / bare`` is what the adapter adds (about 1 at large sizes: no copy).

Every callable is called once first (compilation, plan cache); a sample lasts at least
``min_sample_s`` (small calls are looped) and the statistic is the median of the samples,
``repeats`` of them, fewer for a callable slower than ``budget_s / repeats`` (at least 3).
The ratios are ``jax time / ferroinit time``: above 1, ferroinit is faster. Sizes whose
working set (about 3 arrays) would not fit in half the available memory are skipped.

Example:
    >>> from ferroinit.bench.suites import jax_random
    >>> rows = jax_random.measure_sizes(exps=(10,), cases=("normal",), repeats=3, budget_s=1.0,
    ...                       echo=False)
    >>> rows[0]["case"], rows[0]["n"], rows[0]["eager_x"] > 0
    ('normal', 1024, True)
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

CASES = ("normal", "truncated_normal", "uniform", "variance_scaling")
DEFAULT_EXPS = (10, 14, 18, 22, 25, 28)
LIBS = ("jax", "eager", "jit", "bare")


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _shape(n: int) -> tuple[int, int]:
    cols = min(n, 1024)
    return n // cols, cols


def _callables(case: str, shape: tuple[int, int], dtype) -> dict[str, Callable[[], Any]]:
    import jax
    import jax.numpy as jnp

    import ferroinit
    import ferroinit.jax as fij

    key = jax.random.key(0)
    ours = {"normal": fij.normal(1.0), "truncated_normal": fij.truncated_normal(1.0),
            "uniform": fij.uniform(1.0),
            "variance_scaling": fij.variance_scaling(1.0, "fan_in", "truncated_normal")}[case]
    if case == "normal":
        theirs = jax.jit(lambda k: jax.random.normal(k, shape, dtype))
    elif case == "truncated_normal":
        theirs = jax.jit(lambda k: jax.random.truncated_normal(k, -2.0, 2.0, shape, dtype))
    elif case == "uniform":
        theirs = jax.jit(lambda k: jax.random.uniform(k, shape, dtype))
    else:
        vs = jax.nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal")
        theirs = jax.jit(lambda k: vs(k, shape, dtype))
    ours_jit = jax.jit(lambda k: ours(k, shape, dtype))
    name = jnp.dtype(dtype).name
    gen = fij.generator(key)
    std = 1.0 / 0.87962566103423978 * math.sqrt(1.0 / shape[0])
    bare = {
        "normal": lambda: ferroinit.normal(shape, dtype=name, dlpack=True, generator=gen),
        "truncated_normal": lambda: ferroinit.trunc_normal(shape, dtype=name, dlpack=True,
                                                           generator=gen),
        "uniform": lambda: ferroinit.uniform(shape, dtype=name, dlpack=True, generator=gen),
        "variance_scaling": lambda: ferroinit.trunc_normal(shape, 0.0, std, -2 * std, 2 * std,
                                                           dtype=name, dlpack=True,
                                                           generator=gen),
    }[case]
    return {
        "jax": lambda: theirs(key).block_until_ready(),
        "eager": lambda: ours(key, shape, dtype).block_until_ready(),
        "jit": lambda: ours_jit(key).block_until_ready(),
        "bare": bare,
    }


def _once(fn: Callable[[], Any], inner: int) -> tuple[float, float]:
    """(wall, process CPU) seconds per call, over ``inner`` calls."""
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner, (time.process_time() - c0) / inner


def _measure(fns: dict[str, Callable[[], Any]], repeats: int, budget_s: float,
             min_sample_s: float) -> dict[str, dict[str, float]]:
    """Per callable: the median and the minimum wall seconds per call and the median process
    CPU seconds per call, sampled in interleaved rounds."""
    inner, per_call = {}, {}
    for lib, fn in fns.items():
        fn()  # compile, fill the plan cache
        t = _once(fn, 1)[0]
        per_call[lib] = t
        inner[lib] = max(1, math.ceil(min_sample_s / max(t, 1e-9)))
    want = {lib: max(3, min(repeats, int(budget_s / max(per_call[lib] * inner[lib], 1e-9))))
            for lib in fns}
    samples: dict[str, list[tuple[float, float]]] = {lib: [] for lib in fns}
    for r in range(max(want.values())):
        for lib, fn in fns.items():
            if r < want[lib]:
                samples[lib].append(_once(fn, inner[lib]))
                gc.collect()
    return {lib: {"wall": statistics.median(w for w, _ in s), "min": min(w for w, _ in s),
                  "cpu": statistics.median(c for _, c in s)} for lib, s in samples.items()}


def measure_sizes(exps=DEFAULT_EXPS, cases=CASES, dtype: str = "float32", *, repeats: int = 7,
        budget_s: float = 20.0, min_sample_s: float = 0.002,
        echo: bool = True, out=None) -> list[dict[str, Any]]:
    """Run the suite and return one row per (case, size).

    Args:
        exps: the sizes, as exponents of 2 (2^10 to 2^28 by default in steps).
        cases: a subset of :data:`CASES`.
        dtype: ``"float16"``, ``"bfloat16"``, ``"float32"`` or ``"float64"`` (float64 needs
            ``jax_enable_x64``).
        repeats: samples per callable (the median is reported).
        budget_s: time budget per callable and size; slow callables get fewer samples (>= 3).
        min_sample_s: small calls are looped so that one sample lasts at least this long.
        echo: print each row as it is measured (and the header) to ``out``.
        out: a text stream (default ``sys.stdout``).

    Returns:
        A list of dicts: ``case``, ``n``, ``rows``, ``cols``, ``dtype``, per callable the
        median wall seconds ``jax_s``, ``eager_s``, ``jit_s``, ``bare_s`` (``*_min_s``: the
        minimum; ``*_cpu_s``: the median process CPU seconds), and the ratios ``eager_x``
        (``jax_s / eager_s``), ``jit_x`` (``jax_s / jit_s``), ``eager_over_bare`` and
        ``eager_cpu_x`` (``jax_cpu_s / eager_cpu_s``).
    """
    import jax
    import jax.numpy as jnp

    out = sys.stdout if out is None else out
    dt = jnp.dtype(dtype)
    rows: list[dict[str, Any]] = []
    if echo:
        print(header(dt.name, jax.__version__), file=out)
    for exp in exps:
        n = 1 << exp
        avail = _available_bytes()
        if avail is not None and 3 * n * dt.itemsize > avail // 2:
            if echo:
                print(f"  2^{exp}: skipped, {3 * n * dt.itemsize >> 20} MiB would not fit in "
                      f"half of the {avail >> 20} MiB available", file=out)
            continue
        shape = _shape(n)
        for case in cases:
            t = _measure(_callables(case, shape, dt), repeats, budget_s, min_sample_s)
            row = {"case": case, "n": n, "rows": shape[0], "cols": shape[1], "dtype": dt.name,
                   **{f"{lib}_s": t[lib]["wall"] for lib in LIBS},
                   **{f"{lib}_min_s": t[lib]["min"] for lib in LIBS},
                   **{f"{lib}_cpu_s": t[lib]["cpu"] for lib in LIBS},
                   "eager_x": t["jax"]["wall"] / t["eager"]["wall"],
                   "jit_x": t["jax"]["wall"] / t["jit"]["wall"],
                   "eager_over_bare": t["eager"]["wall"] / t["bare"]["wall"],
                   "eager_cpu_x": t["jax"]["cpu"] / t["eager"]["cpu"]}
            rows.append(row)
            if echo:
                print(format_row(row), file=out, flush=True)
            gc.collect()
    return rows


def _fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:7.1f} us"
    if s < 1.0:
        return f"{s * 1e3:7.2f} ms"
    return f"{s:7.3f} s "


def header(dtype: str = "float32", jax_version: str = "") -> str:
    """The table's header lines."""
    threads = os.cpu_count()
    return (f"ferroinit.jax vs jitted jax.random, {dtype}, jax {jax_version}, {threads} CPUs; "
            "median wall seconds per call; x = jax time / ferroinit time; cpu x: the same for "
            "the eager call's process CPU time\n"
            f"{'case':<17} {'size':>5} {'jax.jit':>10} {'eager':>10} {'jit':>10} "
            f"{'bare':>10} {'eager x':>8} {'jit x':>7} {'eager/bare':>10} {'cpu x':>6}")


def format_row(row: dict[str, Any]) -> str:
    """One row of the table."""
    return (f"{row['case']:<17} 2^{int(math.log2(row['n'])):<3} "
            f"{_fmt_time(row['jax_s'])} {_fmt_time(row['eager_s'])} "
            f"{_fmt_time(row['jit_s'])} {_fmt_time(row['bare_s'])} "
            f"{row['eager_x']:8.2f} {row['jit_x']:7.2f} {row['eager_over_bare']:10.2f} "
            f"{row['eager_cpu_x']:6.2f}")


def table(rows: list[dict[str, Any]], dtype: str = "float32") -> str:
    """The whole table for ``rows`` (what :func:`run` printed)."""
    import jax

    return "\n".join([header(dtype, jax.__version__), *map(format_row, rows)])


# ------------------------------------------------------------------ the bench's suite protocol

NAME = "jax"
CHOICES = (NAME, "jax_random")


def add_arguments(p) -> None:
    p.add_argument("--jax-sizes", default="10,14,18,22,25,28",
                   help="exponents of the ferroinit.jax vs jax.random sizes")


def configure(args) -> None:
    args.jax_exps = (10, 14) if args.quick else tuple(int(e) for e in args.jax_sizes.split(","))


def run(bench) -> None:
    if bench.jax is None:
        bench.suites[NAME] = {"skipped": "jax is not installed, or --no-jax"}
        return
    try:
        import jax  # noqa: F401

        import ferroinit.jax  # noqa: F401
    except ImportError as e:
        bench.suites[NAME] = {"skipped": f"jax is not installed ({e})"}
        return
    a = bench.args
    rows = measure_sizes(a.jax_exps, repeats=max(3, a.repeats), budget_s=a.case_budget,
                         echo=False)
    bench.suites[NAME] = {"rows": rows}


def targets(bench, add) -> None:
    rows = bench.suites.get(NAME, {}).get("rows", [])
    big = [r for r in rows if r["n"] >= 1 << 22]
    if big:
        worst = min(big, key=lambda r: r["jit_x"])
        add(f"ferroinit.jax jitted vs jitted jax.random, >= 2^22 (worst: {worst['case']} "
            f"2^{int(math.log2(worst['n']))})", worst["jit_x"], 1.0)


def render(bench) -> list[str]:
    res = bench.suites[NAME]
    if "skipped" in res:
        return ["", f"ferroinit.jax vs jax.random: skipped ({res['skipped']})"]
    return ["", table(res["rows"])]


def main(argv=None) -> int:
    """``python -m ferroinit.bench.suites.jax_random [EXP ...]``: the suite at those sizes."""
    args = sys.argv[1:] if argv is None else list(argv)
    exps = tuple(int(a) for a in args) or DEFAULT_EXPS
    measure_sizes(exps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
