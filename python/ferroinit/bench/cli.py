"""``python -m ferroinit bench``: the flags, the run, and what it writes."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence

from .machine import machine_info
from .memory import peak_rss_bytes
from .plot import plot
from .report import render
from .run import Bench, Targets
from .suites import SUITES
from .units import parse_sizes

HEADLINE_EXP = 27
DEFAULT_SIZES = (10, 14, 18, 22, 25, 27, 28)
DTYPES = ("float16", "bfloat16", "float32", "float64")


def all_inits() -> tuple[str, ...]:
    """Every name ``--init`` accepts: the sweep's initializers, then the other suites."""
    return tuple(name for suite in SUITES for name in suite.CHOICES)


class _Progress:
    """tqdm when installed and stderr is a terminal, else a one-line stderr counter."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled and sys.stderr.isatty()
        if self.enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, file=sys.stderr, leave=False, unit="case")
            except ImportError:
                self.bar = None

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_description(label[:40])
            self.bar.update(1)
        else:
            sys.stderr.write(f"\r[{self.done:3d}/{self.total}] {label[:60]:<60}")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\r" + " " * 72 + "\r")
            sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    """The ``bench`` argument parser: the run's flags, then each suite's own."""
    p = argparse.ArgumentParser(
        prog="python -m ferroinit bench",
        description="Benchmark ferroinit against NumPy, torch, JAX (where installed) and the "
                    "memory bound (the fill of the same array), side by side in one process.")
    p.add_argument("--sizes", default=None,
                   help="element counts: '10..28', '2^20,2^27', '1000' (default: 2^10, 2^14, "
                        "2^18, 2^22, 2^25, 2^27, 2^28)")
    p.add_argument("--dtypes", default="float32",
                   help="comma-separated: float16, bfloat16, float32, float64 (default float32)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for ferroinit and torch (default: the CPUs available)")
    p.add_argument("--init", default=None,
                   help="comma-separated subset of: " + ", ".join(all_inits()) + " (default all)")
    p.add_argument("--repeats", type=int, default=5, help="samples per measurement (default 5)")
    p.add_argument("--case-budget", type=float, default=2.5,
                   help="seconds allowed for one library's samples of one case (default 2.5)")
    p.add_argument("--max-call", type=float, default=3.0,
                   help="outside the headline size, skip a baseline whose call would take "
                        "longer than this many seconds (default 3)")
    p.add_argument("--max-headline-call", type=float, default=5.0,
                   help="at the headline size, skip a baseline whose call would take longer "
                        "than this (its targets then use the largest size measured; default 5)")
    p.add_argument("--headline", type=int, default=HEADLINE_EXP,
                   help="exponent of the headline size the targets use (default 27)")
    for suite in SUITES:
        if hasattr(suite, "add_arguments"):
            suite.add_arguments(p)
    p.add_argument("--out", default="bench-out", help="directory for bench.json/.png/.txt")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and few repeats (seconds; for tests and smoke checks)")
    p.add_argument("--no-plot", action="store_true", help="don't write the PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-torch", action="store_true", help="leave torch out")
    p.add_argument("--no-numpy", action="store_true", help="leave NumPy's Generator out")
    p.add_argument("--no-jax", action="store_true", help="leave JAX out")
    p.add_argument("--check", action="store_true", help="exit 1 if any target fails")
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Check the flags and fill in what they imply (threads, sizes, the headline size)."""
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:
            args.threads = os.cpu_count() or 1
    if args.threads < 1:
        raise SystemExit("--threads must be >= 1")
    known = all_inits()
    names = known if args.init is None else [s.strip() for s in args.init.split(",") if s]
    inits = []
    for name in names:
        if name not in known and name + "_" in known:
            name += "_"
        if name not in known:
            raise SystemExit(f"unknown --init {name!r}; choose from {', '.join(known)}")
        inits.append(name)
    args.inits = inits
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in args.dtypes:
        if d not in DTYPES:
            raise SystemExit(f"unknown dtype {d!r}")
    if args.quick:
        args.sizes = parse_sizes(args.sizes or "10,14")
        args.repeats = min(args.repeats, 2)
        args.headline_n = max(args.sizes)
        args.case_budget = min(args.case_budget, 2.0)
    else:
        args.sizes = parse_sizes(args.sizes or ",".join(str(e) for e in DEFAULT_SIZES))
        head = 1 << args.headline
        args.headline_n = head if head in args.sizes else max(args.sizes)
    for suite in SUITES:
        if hasattr(suite, "configure"):
            suite.configure(args)
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    return args


def selected(args: argparse.Namespace):
    """The suites this run selected, in running order."""
    return [s for s in SUITES if any(name in args.inits for name in s.CHOICES)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (``python -m ferroinit bench [flags]``).

    Args:
        argv: the flags (``sys.argv[2:]`` by default); ``--help`` lists them.

    Returns:
        The exit status: 0, or 1 with ``--check`` when a target fails.

    Example:
        >>> build_parser().parse_args(["--quick", "--no-plot"]).quick
        True
    """
    args = resolve(build_parser().parse_args(argv))
    # ferroinit's rayon pool is built lazily on the first parallel fill, so the variable
    # still takes effect here (nothing has filled in parallel yet in a fresh process).
    prev = os.environ.get("RAYON_NUM_THREADS")
    if prev is not None and prev != str(args.threads):
        print(f"note: RAYON_NUM_THREADS={prev} overrides --threads {args.threads} for ferroinit",
              file=sys.stderr)
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    bench = Bench(args)
    machine = machine_info(args.threads)
    suites = selected(args)
    steps = sum(s.steps(bench) if hasattr(s, "steps") else 1 for s in suites)
    progress = bench.progress = _Progress(steps, enabled=not args.no_progress)
    t0 = time.perf_counter()
    try:
        for suite in suites:
            if not hasattr(suite, "steps"):
                progress.step(suite.NAME)
            suite.run(bench)
            gc.collect()
    finally:
        progress.close()
    elapsed = time.perf_counter() - t0
    targets = Targets()
    for suite in suites:
        if hasattr(suite, "targets"):
            suite.targets(bench, targets.add)
    os.makedirs(args.out, exist_ok=True)
    plot_note = "disabled (--no-plot)" if args.no_plot else None
    png = os.path.join(args.out, "bench.png")
    if not args.no_plot:
        plot_note = plot(bench, machine, png)
    text = render(bench, machine, suites, targets.rows, elapsed)
    text += f"\nplot: {png if plot_note is None else 'skipped, ' + plot_note}"
    text += f"\njson: {os.path.join(args.out, 'bench.json')}"
    print(text)
    payload = {
        "schema": 1,
        "created_unix": time.time(),
        "machine": machine,
        "config": dict(vars(args)),
        "results": bench.results,
        "suites": bench.suites,
        "targets": targets.rows,
        "peak_rss_bytes": peak_rss_bytes(),
        "elapsed_s": elapsed,
        "plot": None if plot_note else png,
        "notes": bench.notes,
    }
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(payload, f, indent=1, default=str)
    with open(os.path.join(args.out, "bench.txt"), "w") as f:
        f.write(text + "\n")
    if args.check and any(t["pass"] is False for t in targets.rows):
        return 1
    return 0
