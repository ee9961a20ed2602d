"""The xavier/kaiming variants against their sampler: the same kernel with a computed scale,
so they must run at its speed (measured side by side on one array, at the headline size)."""

from __future__ import annotations

from .. import baselines
from ..run import Bench
from ..units import fmt, fmt_size, ratio

NAME = "variants"
CHOICES = (NAME,)
#: variant -> its sampler
SAMPLER_OF = {"xavier_uniform_": "uniform_", "kaiming_uniform_": "uniform_",
              "xavier_normal_": "normal_", "kaiming_normal_": "normal_"}
FLOOR = 0.95


def run(bench: Bench) -> None:
    n = bench.args.headline_n
    x = bench.array("float32", n)
    names = sorted(set(SAMPLER_OF.values())) + list(SAMPLER_OF)
    res = bench.measure(baselines.ferro_fns(x, names))
    bench.suites[NAME] = {"n": n, "shape": list(x.shape), "dtype": "float32", "results": res}


def targets(bench: Bench, add) -> None:
    v = bench.suites.get(NAME)
    if not v:
        return
    r = v["results"]
    for variant, sampler in SAMPLER_OF.items():
        add(f"{variant} vs ferroinit {sampler} (n={fmt_size(v['n'])} float32)",
            ratio(r[sampler]["median_s"], r[variant]["median_s"]), FLOOR)


def render(bench: Bench) -> list[str]:
    v = bench.suites[NAME]
    r = v["results"]
    nbytes = 4 * v["n"]
    L = ["", f"Variants vs their sampler, {tuple(v['shape'])} float32: GB/s written"]
    for variant, sampler in SAMPLER_OF.items():
        L.append(f"  {variant:<17} {nbytes / r[variant]['median_s'] / 1e9:8.2f} GB/s  "
                 f"{fmt(ratio(r[sampler]['median_s'], r[variant]['median_s']))} x {sampler}")
    return L
