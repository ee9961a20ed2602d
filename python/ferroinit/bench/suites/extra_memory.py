"""Extra peak memory per call: what each initializer allocates beyond the array it fills."""

from __future__ import annotations

import gc

import ferroinit

from .. import baselines
from ..memory import peak_extra_bytes
from ..run import Bench
from ..units import fmt_bytes

NAME = "memory"
CHOICES = (NAME,)
#: An initializer may use at most this fraction of the array (or 8 MiB) as extra memory.
MEMORY_MAX_FRACTION = 0.05


def add_arguments(p) -> None:
    p.add_argument("--memory-exp", type=int, default=None,
                   help="size exponent for the extra-memory check (default: the headline)")


def configure(args) -> None:
    if args.quick:
        args.memory_n = 1 << 16
    else:
        args.memory_n = (1 << args.memory_exp) if args.memory_exp else args.headline_n


def run(bench: Bench) -> None:
    a = bench.args
    n = a.memory_n
    rows = []
    x = baselines.alloc("float32", n)
    ff = baselines.ferro_fns(x)
    for init, fn in ff.items():
        rows.append({"call": f"{init}(x)", "bytes": x.nbytes, "extra_bytes": peak_extra_bytes(fn)})
    rows.append({"call": "constant_(x)", "bytes": x.nbytes,
                 "extra_bytes": peak_extra_bytes(lambda x=x: ferroinit.constant_(x, 1.0))})
    del x, ff
    gc.collect()
    rows.append({"call": "normal(n) [allocating: the result itself counts]",
                 "bytes": 4 * n, "extra_bytes": peak_extra_bytes(lambda: ferroinit.normal(n)),
                 "allocating": True})
    sizes = getattr(a, "orth_sizes", None)
    m = min(sizes) if sizes else 256
    y = baselines.alloc("float32", m * m).reshape(m, m)
    rows.append({"call": f"orthogonal_({m}x{m}) [one working matrix allowed]",
                 "bytes": y.nbytes,
                 "extra_bytes": peak_extra_bytes(lambda y=y: ferroinit.orthogonal_(y)),
                 "exempt": True})
    del y
    bench.suites[NAME] = {"n": n, "rows": rows, "available": rows[0]["extra_bytes"] is not None}


def targets(bench: Bench, add) -> None:
    mem = bench.suites.get(NAME)
    if mem and mem["available"]:
        for row in mem["rows"]:
            if row.get("exempt") or row.get("allocating"):
                continue
            limit = max(MEMORY_MAX_FRACTION * row["bytes"], 8 * 2**20)
            add(f"extra memory of {row['call']} ({fmt_bytes(row['bytes'])} array)",
                row["extra_bytes"] / 2**20, limit / 2**20, higher=False, unit="MiB")


def render(bench: Bench) -> list[str]:
    mm = bench.suites[NAME]
    if not mm["available"]:
        return ["", ("Extra peak memory per call: not available (needs Linux "
                    "/proc/self/clear_refs)")]
    L = ["", "Extra peak memory per call (VmHWM after - VmRSS before)"]
    for row in mm["rows"]:
        frac = row["extra_bytes"] / row["bytes"]
        L.append(f"  {row['call']:<52} {fmt_bytes(row['extra_bytes']):>10} "
                 f"({frac:.3f} x the {fmt_bytes(row['bytes'])} array)")
    return L
