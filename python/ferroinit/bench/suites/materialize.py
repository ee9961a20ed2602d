"""``ferroinit.torch.materialize`` of a meta-device model against ``to_empty`` +
``reset_parameters`` (torch's own initialization of the same model)."""

from __future__ import annotations

import gc

from ..run import Bench
from ..timing import measure_group
from ..units import fmt, ratio

NAME = "materialize"
CHOICES = (NAME,)
MATERIALIZE_FLOOR = 10.0


def add_arguments(p) -> None:
    p.add_argument("--materialize-d", type=int, default=2048, help="materialize model width d")
    p.add_argument("--materialize-blocks", type=int, default=8, help="materialize blocks")


def configure(args) -> None:
    if args.quick:
        args.materialize_d = min(args.materialize_d, 64)
        args.materialize_blocks = min(args.materialize_blocks, 2)


def run(bench: Bench) -> None:
    a = bench.args
    if bench.torch is None:
        bench.suites[NAME] = {"skipped": "torch is not installed"}
        return
    try:
        import ferroinit.torch as ft
        materialize = ft.materialize
    except (ImportError, AttributeError) as e:
        bench.suites[NAME] = {"skipped": f"ferroinit.torch.materialize absent ({e})"}
        return
    torch = bench.torch
    nn = torch.nn
    d, blocks = a.materialize_d, a.materialize_blocks

    def build(dtype):
        with torch.device("meta"):
            layers = []
            for _ in range(blocks):
                layers += [nn.Linear(d, 3 * d), nn.Linear(d, d), nn.Linear(d, 4 * d),
                           nn.Linear(4 * d, d)]
            return nn.Sequential(*layers).to(dtype)

    def with_torch(dtype):
        model = build(dtype).to_empty(device="cpu")
        with torch.no_grad():
            for mod in model.modules():
                if hasattr(mod, "reset_parameters"):
                    mod.reset_parameters()
        return model

    def with_ferroinit(dtype):
        model = build(dtype)
        out = materialize(model)
        return model if out is None else out

    rows = []
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        params = sum(p.numel() for p in build(dtype).parameters())
        try:
            check = with_ferroinit(dtype)
            devices = {p.device.type for p in check.parameters()}
            del check
            res = measure_group({"ferroinit": lambda dtype=dtype: with_ferroinit(dtype),
                                 "torch": lambda dtype=dtype: with_torch(dtype)},
                                repeats=a.repeats, budget_s=a.case_budget, setup=gc.collect)
            rows.append({"dtype": name, "params": params, "devices": sorted(devices),
                         "results": res})
        except Exception as e:  # noqa: BLE001 - report, don't abort the whole bench
            rows.append({"dtype": name, "params": params, "error": f"{type(e).__name__}: {e}"})
    bench.suites[NAME] = {"d": d, "blocks": blocks, "rows": rows}


def targets(bench: Bench, add) -> None:
    mat = bench.suites.get(NAME)
    if mat and "rows" in mat:
        for row in mat["rows"]:
            if "results" in row:
                r = row["results"]
                add(f"materialize {row['dtype']} vs to_empty + reset_parameters",
                    ratio(r["torch"]["median_s"], r["ferroinit"]["median_s"]),
                    MATERIALIZE_FLOOR)
            else:
                add(f"materialize {row['dtype']}", None, MATERIALIZE_FLOOR,
                    detail=row.get("error", ""))


def render(bench: Bench) -> list[str]:
    mat = bench.suites[NAME]
    if "skipped" in mat:
        return ["", f"materialize: skipped ({mat['skipped']})"]
    L = ["", (f"materialize: {mat['blocks']} blocks of Linear(d,3d), Linear(d,d), "
             f"Linear(d,4d), Linear(4d,d), d={mat['d']}, built on meta")]
    for row in mat["rows"]:
        if "error" in row:
            L.append(f"  {row['dtype']:>8}: error {row['error']}")
            continue
        r = row["results"]
        L.append(f"  {row['dtype']:>8} ({row['params'] / 1e6:.0f}M params): ferroinit "
                 f"{r['ferroinit']['median_s']:.3f} s, to_empty+reset_parameters "
                 f"{r['torch']['median_s']:.3f} s, speedup "
                 f"{fmt(ratio(r['torch']['median_s'], r['ferroinit']['median_s']), 1)}x")
    return L
