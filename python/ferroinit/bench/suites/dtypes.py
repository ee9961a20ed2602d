"""``uniform_`` and ``normal_`` in every dtype at the headline size: half-precision outputs
must keep float32's element rate (they write half the bytes), float64 half the fill's
bandwidth (it draws twice the bits per element)."""

from __future__ import annotations

from .. import baselines
from ..run import Bench
from ..units import fmt, fmt_size, ratio

NAME = "dtypes"
CHOICES = (NAME,)
INITS = ("uniform_", "normal_")
DTYPES = ("float32", "bfloat16", "float16", "float64")
HALF_FLOOR = 1.0  # elements/s against float32's
FLOAT64_FLOOR = 0.5  # bytes/s against the fill of the float64 array


def run(bench: Bench) -> None:
    n = bench.args.headline_n
    rows = {}
    for dt in DTYPES:
        try:
            x = bench.array(dt, n)
        except Exception as e:  # noqa: BLE001 - bfloat16 needs ml_dtypes
            rows[dt] = {"error": f"{type(e).__name__}: {e}"}
            continue
        res = bench.measure(baselines.ferro_fns(x, INITS), fills=x if dt == "float64" else None)
        rows[dt] = {"itemsize": x.itemsize, "results": res}
    bench.release()
    bench.suites[NAME] = {"n": n, "rows": rows}


def targets(bench: Bench, add) -> None:
    from .sweep import fill_name

    d = bench.suites.get(NAME)
    if not d:
        return
    rows, where = d["rows"], f"n={fmt_size(d['n'])}"
    f32 = rows.get("float32", {}).get("results")
    for init in INITS:
        for dt in ("bfloat16", "float16"):
            r = rows.get(dt, {}).get("results")
            add(f"{dt} {init} elements/s vs float32's ({where})",
                ratio(f32 and f32[init]["median_s"], r and r[init]["median_s"]), HALF_FLOOR,
                detail=rows.get(dt, {}).get("error", ""))
        r64 = rows.get("float64", {}).get("results")
        add(f"float64 {init} vs {fill_name(bench)} in bytes/s ({where})",
            ratio(r64 and baselines.fill_bound(r64), r64 and r64[init]["median_s"]),
            FLOAT64_FLOOR)


def render(bench: Bench) -> list[str]:
    d = bench.suites[NAME]
    n = d["n"]
    L = ["", f"Dtypes, n={fmt_size(n)}: Gelem/s (GB/s written)"]
    for dt, row in d["rows"].items():
        if "error" in row:
            L.append(f"  {dt:>8}: {row['error']}")
            continue
        r = row["results"]
        cells = [f"{init} {n / r[init]['median_s'] / 1e9:6.2f} "
                 f"({n * row['itemsize'] / r[init]['median_s'] / 1e9:5.2f} GB/s)"
                 for init in INITS]
        bound = baselines.fill_bound(r)
        if bound:
            cells.append(f"fill {fmt(n * row['itemsize'] / bound / 1e9)} GB/s")
        L.append(f"  {dt:>8}: " + ", ".join(cells))
    return L
