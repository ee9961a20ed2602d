"""The in-place throughput sweep: every sweep initializer of the registry, at every size and
dtype, against NumPy, torch, JAX and the memory bound, on the same preallocated array.

Outside the headline size, a baseline whose extrapolated call time exceeds ``--max-call``
seconds is skipped; at the headline size only one slower than ``--max-headline-call``
(torch's trunc_normal_ here: ~17 s a call), and its targets then use the largest size where
both sides were measured (every baseline here is elementwise, so its throughput is flat at
those sizes).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np

import ferroinit

from .. import baselines
from ..run import Bench
from ..timing import measure_group
from ..units import fmt, fmt_bytes, fmt_size, ratio

NAME = "sweep"
CHOICES = baselines.SWEEP_INITS
#: Libraries in table order. "fill", "torch_fill" and "fill_mt" are the memory bound (see
#: baselines.fill_fns).
LIBS = ("ferroinit", "numpy", "torch", "jax", "fill", "torch_fill", "fill_mt")
#: Measured at every size with full repeats at the headline (the targets' numerators and
#: denominators against the memory bound); only the other libraries may be skipped.
OURS = ("ferroinit", "fill", "torch_fill", "fill_mt")

#: Floors at the headline size, float32: throughput against the fill of the same array
#: (the faster of ndarray.fill and torch's fill_, both on the run's threads) ...
FILL_FLOORS = {"uniform_": 0.8, "normal_": 0.6}
#: ... and against torch.nn.init's function of the same name (same threads). trunc_normal_'s
#: floors are the windows suite's; the variants' the variants suite's.
TORCH_FLOORS = {"uniform_": 12.0, "normal_": 10.0}


def inits(args) -> list[str]:
    """The sweep initializers this run selected."""
    return [i for i in args.inits if i in CHOICES]


def cases(args) -> list[tuple[str, int, str]]:
    return [(dt, n, init) for dt in args.dtypes for init in inits(args) for n in args.sizes]


def steps(bench: Bench) -> int:
    return len(cases(bench.args))


def _skip_slow(est: dict, key: tuple[str, str, str], n: int, args, headline: bool) -> str | None:
    if key not in est:
        return None
    n0, t0 = est[key]
    guess = t0 * n / n0
    flag, limit = (("--max-headline-call", args.max_headline_call) if headline
                   else ("--max-call", args.max_call))
    if guess > limit:
        return f"skipped: ~{guess:.3g} s a call > {flag} {limit:g} s"
    return None


def run(bench: Bench) -> None:
    a, progress = bench.args, bench.progress
    est: dict[tuple[str, str, str], tuple[int, float]] = {}
    for dt in a.dtypes:
        for n in a.sizes:
            names = inits(a)
            if not names:
                continue
            try:
                x = baselines.alloc(dt, n)
            except Exception as e:  # noqa: BLE001
                bench.notes.append(f"{dt}: cannot allocate ({e})")
                for init in names:
                    progress.step(f"{init} {dt} {fmt_size(n)}")
                continue
            headline = n == a.headline_n
            for init in names:
                progress.step(f"{init} {dt} {fmt_size(n)}")
                _run_case(bench, est, x, dt, n, init, headline)
            del x
            gc.collect()


def _run_case(bench: Bench, est: dict, x: np.ndarray, dt: str, n: int, init: str,
              headline: bool) -> None:
    a = bench.args
    fns: dict[str, Callable[[], Any]] = {}
    notes: dict[str, str] = {}
    ours = baselines.ferro_fns(x, [init])[init]
    try:
        ours()
        fns["ferroinit"] = ours
    except Exception as e:  # noqa: BLE001 - a dtype the build does not support yet
        notes["ferroinit"] = f"error: {type(e).__name__}: {e}"
    if not a.no_numpy:
        nf, nn = baselines.numpy_fns(x)
        if init in nf:
            fns["numpy"] = nf[init]
        if init in nn:
            notes["numpy"] = nn[init]
    if bench.torch is not None:
        try:
            fns["torch"] = baselines.torch_fns(bench.torch, x, [init])[init]
        except Exception as e:  # noqa: BLE001
            notes["torch"] = f"error: {type(e).__name__}: {e}"
    if bench.jax is not None:
        try:
            fns["jax"] = baselines.jax_fns(bench.jax, x)[init]
            notes["jax"] = "allocates (JAX arrays are immutable)"
        except Exception as e:  # noqa: BLE001
            notes["jax"] = f"error: {type(e).__name__}: {e}"
    fns.update(baselines.fill_fns(x, bench.threaded_fill, bench.torch))
    for lib in list(fns):
        if lib in OURS:
            continue  # only baselines are ever skipped
        why = _skip_slow(est, (lib, dt, init), n, a, headline)
        if why is not None:
            del fns[lib]
            notes[lib] = why
    res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget,
                        force=OURS if headline else ())
    nbytes = x.nbytes
    for lib, r in res.items():
        est[(lib, dt, init)] = (n, r["median_s"])
        bench.results.append({
            "suite": "inplace", "init": init, "lib": lib, "dtype": dt, "n": n,
            "shape": list(x.shape), "bytes": nbytes, "gbps": nbytes / r["median_s"] / 1e9,
            "headline": headline, "note": notes.get(lib), **r,
        })
    for lib, why in notes.items():
        if lib not in res:
            bench.results.append({"suite": "inplace", "init": init, "lib": lib, "dtype": dt,
                                  "n": n, "bytes": nbytes, "headline": headline,
                                  "skipped": why})


def gbps_pair(bench: Bench, init: str, lib: str, dt: str) -> tuple[Any, Any, str]:
    """ferroinit's and ``lib``'s GB/s at the headline, else at the largest size where both
    were measured (a baseline skipped at the headline as too slow), and where."""
    a = bench.args
    rf, rb = bench.lookup(init, "ferroinit", dt, a.headline_n), bench.lookup(init, lib, dt,
                                                                            a.headline_n)
    f, b = (rf or {}).get("gbps"), (rb or {}).get("gbps")
    if b is not None or f is None:
        return f, b, ""
    for m in sorted(a.sizes, reverse=True):
        rf, rb = bench.lookup(init, "ferroinit", dt, m), bench.lookup(init, lib, dt, m)
        if rf is not None and rb is not None:
            return rf["gbps"], rb["gbps"], f"at n={fmt_size(m)}: {lib} skipped at the headline"
    return f, None, ""


def fill_name(bench: Bench) -> str:
    """How the targets name the fill they compare with."""
    fills = "ndarray.fill/torch fill_" if bench.torch is not None else "ndarray.fill"
    return f"{fills} on {bench.args.threads} threads"


def targets(bench: Bench, add) -> None:
    a = bench.args
    n, dt = a.headline_n, "float32"
    where = f"n={fmt_size(n)} {dt}"
    if dt not in a.dtypes:
        return
    for init in inits(a):
        f = bench.lookup(init, "ferroinit", dt, n)
        if init in FILL_FLOORS:
            fills = {lib: r for lib in baselines.FILLS
                     for r in [bench.lookup(init, lib, dt, n)] if r is not None}
            add(f"{init} vs {fill_name(bench)} ({where})",
                ratio(baselines.fill_bound(fills), f and f["median_s"]), FILL_FLOORS[init])
        if init in TORCH_FLOORS and not a.no_torch:
            ff, fb, at = gbps_pair(bench, init, "torch", dt)
            add(f"{init} vs torch.nn.init.{init} on {a.threads} threads ({where})",
                ratio(ff, fb), TORCH_FLOORS[init], detail=at)


def libs_present(bench: Bench) -> list[str]:
    seen = {r["lib"] for r in bench.results if "median_s" in r}
    return [lib for lib in LIBS if lib in seen]


def render(bench: Bench) -> list[str]:
    a = bench.args
    L: list[str] = []
    libs = libs_present(bench)
    if libs:
        L.append("")
        L.append("In place on a preallocated array: GB/s written (higher is better); "
                 f"fill = ndarray.fill on {a.threads} threads, torch_fill = torch fill_, "
                 "fill_mt = ferroinit.constant_")
    for dt in a.dtypes:
        for init in inits(a):
            L.append("")
            L.append(f"{init}  {dt}")
            hdr = f"{'n':>6} {'bytes':>9} {'reps':>4} " + " ".join(f"{lib:>9}" for lib in libs)
            hdr += " " + " ".join(f"{c:>8}" for c in ("f/torch", "f/numpy", "f/fill"))
            L.append(hdr)
            for n in a.sizes:
                rows = {lib: bench.lookup(init, lib, dt, n) for lib in libs}
                g = {lib: (r["gbps"] if r else None) for lib, r in rows.items()}
                f = rows.get("ferroinit")
                mark = "*" if n == a.headline_n else " "
                nbytes = n * np.dtype(ferroinit._dtype(dt)).itemsize
                line = (f"{fmt_size(n) + mark:>6} {fmt_bytes(nbytes):>9} "
                        f"{(f['repeats'] if f else 0):>4} ")
                line += " ".join(f"{fmt(g[lib]):>9}" for lib in libs)
                line += " " + " ".join(f"{fmt(ratio(g.get('ferroinit'), g.get(o))):>8}"
                                       for o in ("torch", "numpy", "fill"))
                L.append(line)
            notes = sorted({f"{r['lib']} at {fmt_size(r['n'])}: {r['skipped']}"
                            if r.get("skipped") else f"{r['lib']}: {r['note']}"
                            for r in bench.results
                            if r["suite"] == "inplace" and r["init"] == init and r["dtype"] == dt
                            and (r.get("skipped") or r.get("note"))})
            for note in notes:
                L.append(f"    note: {note}")
    if libs:
        L.append(f"  (* = headline size {fmt_size(a.headline_n)})")
    return L
