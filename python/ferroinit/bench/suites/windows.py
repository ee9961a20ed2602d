"""``trunc_normal_`` on the windows models use, against the fill of the same array and torch.

Three windows: the standard one (std=1, [-2, 2]), the transformer one (std=0.02 with torch's
default absolute bounds [-2, 2], i.e. +-100 std: timm's ViT, BERT, torchtitan), and a tail
(std=1, [2, 3]). torch's ``trunc_normal_`` (five passes: uniform_, erfinv_, mul_, add_,
clamp_) takes seconds a call at the headline size, so it is compared on a smaller array
(``--windows-torch-exp``), side by side with ferroinit on that same array.
"""

from __future__ import annotations

import ferroinit

from .. import baselines
from ..run import Bench
from ..units import fmt, fmt_size, ratio

NAME = "windows"
CHOICES = (NAME,)
#: (label, mean, std, a, b)
WINDOWS = (
    ("std=1, a=-2, b=2", 0.0, 1.0, -2.0, 2.0),
    ("std=0.02, a=-2, b=2", 0.0, 0.02, -2.0, 2.0),
    ("std=1, a=2, b=3", 0.0, 1.0, 2.0, 3.0),
)
FILL_FLOOR = 0.5
#: trunc_normal_(std=0.02) against torch's.
TORCH_WINDOW, TORCH_FLOOR = WINDOWS[1], 15.0


def add_arguments(p) -> None:
    p.add_argument("--windows-torch-exp", type=int, default=24,
                   help="size exponent of the trunc_normal_ comparison with torch (default 24: "
                        "torch's trunc_normal_ is slow)")


def configure(args) -> None:
    args.windows_torch_n = min(1 << args.windows_torch_exp, args.headline_n)


def _call(x, window):
    _, mean, std, a, b = window
    return lambda: ferroinit.trunc_normal_(x, mean, std, a, b)


def run(bench: Bench) -> None:
    a = bench.args
    n = a.headline_n
    x = bench.array("float32", n)
    res = bench.measure({w[0]: _call(x, w) for w in WINDOWS}, fills=x)
    out = {"n": n, "dtype": "float32", "results": res}
    if bench.torch is not None:
        m = a.windows_torch_n
        y = baselines.alloc("float32", m)
        t = baselines.torch_view(bench.torch, y)
        _, mean, std, lo, hi = TORCH_WINDOW
        init = bench.torch.nn.init
        out["torch"] = {"n": m, "window": TORCH_WINDOW[0], "results": bench.measure(
            {"ferroinit": _call(y, TORCH_WINDOW),
             "torch": lambda: init.trunc_normal_(t, mean, std, lo, hi)}, force=False)}
        del y, t
    bench.suites[NAME] = out


def targets(bench: Bench, add) -> None:
    from .sweep import fill_name

    w = bench.suites.get(NAME)
    if not w:
        return
    r, where = w["results"], f"n={fmt_size(w['n'])} float32"
    for label, *_ in WINDOWS:
        add(f"trunc_normal_({label}) vs {fill_name(bench)} ({where})",
            ratio(baselines.fill_bound(r), r[label]["median_s"]), FILL_FLOOR)
    if "torch" in w:
        t = w["torch"]
        add(f"trunc_normal_({t['window']}) vs torch.nn.init.trunc_normal_ on "
            f"{bench.args.threads} threads (n={fmt_size(t['n'])} float32)",
            ratio(t["results"]["torch"]["median_s"], t["results"]["ferroinit"]["median_s"]),
            TORCH_FLOOR, detail="a smaller array: torch's trunc_normal_ is slow")


def render(bench: Bench) -> list[str]:
    w = bench.suites[NAME]
    r = w["results"]
    nbytes = 4 * w["n"]
    bound = baselines.fill_bound(r)
    L = ["", (f"trunc_normal_ windows, n={fmt_size(w['n'])} float32: GB/s written, and / the "
             f"fill (fill {fmt(nbytes / bound / 1e9 if bound else None)} GB/s)")]
    for label, *_ in WINDOWS:
        g = nbytes / r[label]["median_s"] / 1e9
        L.append(f"  {label:<22} {g:8.2f} GB/s  {fmt(ratio(bound, r[label]['median_s']))} "
                 "x fill")
    if "torch" in w:
        t = w["torch"]
        rr = t["results"]
        nb = 4 * t["n"]
        L.append(f"  vs torch on n={fmt_size(t['n'])} ({t['window']}; a smaller array: torch's "
                 f"trunc_normal_ is slow): ferroinit {nb / rr['ferroinit']['median_s'] / 1e9:.2f}"
                 f" GB/s, torch {nb / rr['torch']['median_s'] / 1e9:.3f} GB/s, "
                 f"{fmt(ratio(rr['torch']['median_s'], rr['ferroinit']['median_s']), 1)}x")
    return L
