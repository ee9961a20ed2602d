"""Cache-resident arrays (2^16 elements, 256 KiB of float32): ``uniform_`` and ``normal_``
against torch, where call overhead and thread start-up weigh as much as the fill."""

from __future__ import annotations

from .. import baselines
from ..run import Bench
from ..units import fmt, fmt_size, ratio

NAME = "cache"
CHOICES = (NAME,)
N = 1 << 16
INITS = ("uniform_", "normal_")
FLOOR = 10.0


def run(bench: Bench) -> None:
    x = baselines.alloc("float32", N)
    rows = {}
    for init in INITS:
        fns = {"ferroinit": baselines.ferro_fns(x, [init])[init]}
        if bench.torch is not None:
            fns.update({"torch": baselines.torch_fns(bench.torch, x, [init])[init]})
        rows[init] = bench.measure(fns)
    bench.suites[NAME] = {"n": N, "dtype": "float32", "results": rows}


def targets(bench: Bench, add) -> None:
    c = bench.suites.get(NAME)
    if not c or bench.torch is None:
        return
    for init, r in c["results"].items():
        add(f"{init} on {fmt_size(c['n'])} float32 vs torch.nn.init.{init} on "
            f"{bench.args.threads} threads", ratio(r["torch"]["median_s"],
                                                   r["ferroinit"]["median_s"]), FLOOR)


def render(bench: Bench) -> list[str]:
    c = bench.suites[NAME]
    nbytes = 4 * c["n"]
    L = ["", f"Cache-resident, n={fmt_size(c['n'])} float32: GB/s written"]
    for init, r in c["results"].items():
        t = r.get("torch", {}).get("median_s")
        L.append(f"  {init:<9} ferroinit {nbytes / r['ferroinit']['median_s'] / 1e9:7.2f}, "
                 f"torch {fmt(t and nbytes / t / 1e9)}, "
                 f"{fmt(ratio(t, r['ferroinit']['median_s']), 1)}x")
    return L
