"""Model construction: real HF and timm models built four ways.

For each model (HF ``LlamaForCausalLM`` of ~160M parameters, timm ``vit_base_patch16_224``):

- ``plain``: the library's own construction, as users run it;
- ``accelerate``: the same code under :func:`ferroinit.torch.accelerate`;
- ``materialize``: built under :func:`ferroinit.torch.empty_init` (parameters on meta), then
  :func:`ferroinit.torch.materialize`;
- ``floor``: fresh memory of the model's bytes written once (``torch.empty`` + ``fill_`` per
  parameter and buffer, through torch's allocator like the model's own tensors), what any
  initialization of the model's fresh memory costs at least;
- ``empty_init``: the construction under :func:`ferroinit.torch.empty_init` alone (the first
  step of ``materialize``'s row): what building the meta model costs.

Each sample also records the process's minor page faults (first touches of fresh memory,
where the platform reports them), since on some machines they are much of a row's time.

The four run side by side in interleaved rounds (one untimed warm-up each; ``gc.collect``
before every sample; one model alive at a time), wall time, median of the samples. Floors:
``accelerate`` >= 4x ``plain``; ``materialize`` >= 6x ``plain`` and <= 2x ``floor``.

:func:`measure_models` returns the rows; the suite protocol (``run``, ``render``,
``targets``) puts them in the bench (``python -m ferroinit bench --init models``), and
``python -m ferroinit.bench.suites.models`` runs them alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

METHODS = ("plain", "accelerate", "materialize", "floor", "empty_init")
ACCELERATE_FLOOR = 4.0
MATERIALIZE_FLOOR = 6.0
MATERIALIZE_MAX_VS_FLOOR = 2.0


def _llama(small: bool) -> Callable[[], Any]:
    import transformers

    transformers.logging.set_verbosity_error()
    if small:
        cfg = transformers.LlamaConfig(vocab_size=1000, hidden_size=128, intermediate_size=256,
                                       num_hidden_layers=2, num_attention_heads=4,
                                       num_key_value_heads=4)
    else:  # 162M parameters: the "~170M" Llama
        cfg = transformers.LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=3072,
                                       num_hidden_layers=12, num_attention_heads=12,
                                       num_key_value_heads=12, max_position_embeddings=2048)
    return lambda: transformers.LlamaForCausalLM(cfg)


def _vit(small: bool) -> Callable[[], Any]:
    from ferroinit._timm import import_timm

    timm = import_timm()
    if small:
        from timm.models.vision_transformer import VisionTransformer

        return lambda: VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2,
                                         num_heads=2, num_classes=10)
    return lambda: timm.create_model("vit_base_patch16_224", pretrained=False)


#: name -> (what it is, factory of the zero-argument constructor)
MODELS: dict[str, tuple[str, Callable[[bool], Callable[[], Any]]]] = {
    "llama": ("HF LlamaForCausalLM (hidden 768, 12 layers, vocab 32000)", _llama),
    "vit_b": ("timm vit_base_patch16_224", _vit),
}


def _tensors(model) -> list:
    """Every parameter and buffer once (tied ones once)."""
    seen, out = set(), []
    for t in list(model.parameters()) + list(model.buffers()):
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _ways(torch, build: Callable[[], Any], layout: list[tuple]) -> dict[str, Callable[[], Any]]:
    import ferroinit.torch as fit

    def plain():
        torch.manual_seed(0)
        return build()

    def accelerate():
        with fit.accelerate():
            torch.manual_seed(0)
            return build()

    def materialize():
        torch.manual_seed(0)
        with fit.empty_init():
            model = build()
        out = fit.materialize(model)
        return model if out is None else out

    def floor():
        return [torch.empty(shape, dtype=dtype).fill_(1) for shape, dtype in layout]

    def empty_init():
        torch.manual_seed(0)
        with fit.empty_init():
            return build()

    ways = {"plain": plain, "accelerate": accelerate, "materialize": materialize, "floor": floor,
            "empty_init": empty_init}
    return {m: ways[m] for m in METHODS}


def _minor_faults() -> int | None:
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(fn: Callable[[], Any]) -> tuple[float, int | None]:
    """Wall time of one call and the minor page faults it took (None where unknown)."""
    gc.collect()
    f0 = _minor_faults()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    f1 = _minor_faults()
    del out
    return dt, None if f0 is None else f1 - f0


def measure(name: str, *, repeats: int = 3, small: bool = False) -> dict[str, Any]:
    """One model's row: its size and, per method, the samples (or why it could not run)."""
    import torch

    what, factory = MODELS[name]
    try:
        build = factory(small)
    except ImportError as e:
        return {"model": name, "what": what, "skipped": f"{e}"}
    torch.manual_seed(0)
    ref = build()
    tensors = _tensors(ref)
    row: dict[str, Any] = {
        "model": name, "what": what + (" [small config]" if small else ""),
        "params": sum(p.numel() for p in ref.parameters()),
        "bytes": sum(t.numel() * t.element_size() for t in tensors),
        "results": {},
    }
    layout = [(tuple(t.shape), t.dtype) for t in tensors]
    del ref, tensors
    ways = _ways(torch, build, layout)
    live = {}
    for method, fn in ways.items():  # warm-up, and find what cannot run at all
        try:
            _timed(fn)
            live[method] = []
        except Exception as e:  # noqa: BLE001 - report, don't abort the suite
            row["results"][method] = {"error": f"{type(e).__name__}: {e}"}
    for _ in range(repeats):
        for method, samples in live.items():
            samples.append(_timed(ways[method]))
    for method, samples in live.items():
        times = [t for t, _ in samples]
        faults = [f for _, f in samples if f is not None]
        row["results"][method] = {
            "median_s": statistics.median(times), "min_s": min(times), "samples_s": times,
            "median_faults": statistics.median(faults) if faults else None}
    return row


def measure_models(models: Sequence[str] = tuple(MODELS), *, repeats: int = 3,
                   small: bool = False) -> list[dict[str, Any]]:
    """Rows of the model-construction suite (one per model), skipped rows where a library is
    absent.

    Args:
        models: names from :data:`MODELS`.
        repeats: timed samples per method (after one warm-up).
        small: tiny configs (a smoke run; the ratios mean nothing then).

    Returns:
        one dict per model: ``model``, ``what``, ``params``, ``bytes`` and ``results``
        (method -> ``{"median_s", "min_s", "samples_s", "median_faults"}`` or
        ``{"error"}``), or ``skipped``.
    """
    try:
        import torch  # noqa: F401
    except ImportError:
        return [{"model": m, "what": MODELS[m][0], "skipped": "torch is not installed"}
                for m in models]
    return [measure(m, repeats=repeats, small=small) for m in models]


def _median(row: dict[str, Any], method: str) -> float | None:
    r = row.get("results", {}).get(method, {})
    return r.get("median_s")


def ratios(row: dict[str, Any]) -> dict[str, float | None]:
    """plain / accelerate, plain / materialize, materialize / floor (None if not measured)."""
    plain, acc, mat, floor = (_median(row, m) for m in
                              ("plain", "accelerate", "materialize", "floor"))

    def div(a, b):
        return None if a is None or b is None or b <= 0 else a / b

    return {"accelerate_speedup": div(plain, acc), "materialize_speedup": div(plain, mat),
            "materialize_vs_floor": div(mat, floor)}


def model_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The suite's targets, in the bench's target format."""
    out: list[dict[str, Any]] = []

    def add(name, value, floor, higher=True, detail=""):
        if value is None:
            out.append({"target": name, "value": None, "floor": floor, "pass": None,
                        "unit": "x", "detail": detail or "not measured"})
        else:
            out.append({"target": name, "value": value, "floor": floor,
                        "pass": value >= floor if higher else value <= floor,
                        "higher_is_better": higher, "unit": "x", "detail": detail})

    for row in rows:
        if "skipped" in row:
            continue
        r, m = ratios(row), row["model"]
        err = {k: v["error"] for k, v in row["results"].items() if "error" in v}
        add(f"{m}: accelerate() vs plain construction", r["accelerate_speedup"],
            ACCELERATE_FLOOR, detail=err.get("accelerate", ""))
        add(f"{m}: meta + materialize vs plain construction", r["materialize_speedup"],
            MATERIALIZE_FLOOR, detail=err.get("materialize", ""))
        add(f"{m}: meta + materialize vs the fresh-memory floor", r["materialize_vs_floor"],
            MATERIALIZE_MAX_VS_FLOOR, higher=False, detail=err.get("materialize", ""))
    return out


def report(rows: list[dict[str, Any]], tgts: list[dict[str, Any]] | None = None) -> list[str]:
    """The suite's report lines."""
    L = ["Model construction (wall time, median; floor = torch.empty + fill_ of the same bytes)"]
    for row in rows:
        if "skipped" in row:
            L.append(f"  {row['model']}: skipped ({row['skipped']})")
            continue
        L.append(f"  {row['model']}: {row['what']}, {row['params'] / 1e6:.1f}M parameters, "
                 f"{row['bytes'] / 2**20:.0f} MiB")
        for method in METHODS:
            res = row["results"].get(method, {})
            if "error" in res:
                L.append(f"    {method:<12} error: {res['error']}")
            elif res:
                faults = res.get("median_faults")
                faults = "" if faults is None else f", {faults / 1e3:.0f}k page faults"
                L.append(f"    {method:<12} {res['median_s']:8.3f} s  (min {res['min_s']:.3f}, "
                         f"{len(res['samples_s'])} samples{faults})")
        r = ratios(row)

        def f(x):
            return "n/a" if x is None else f"{x:.1f}x"

        L.append(f"    plain/accelerate {f(r['accelerate_speedup'])}, plain/materialize "
                 f"{f(r['materialize_speedup'])}, materialize/floor "
                 f"{f(r['materialize_vs_floor'])}")
    for t in tgts if tgts is not None else model_targets(rows):
        if t["pass"] is None:
            L.append(f"  n/a  {t['target']}: {t['detail']}")
        else:
            op = ">=" if t["higher_is_better"] else "<="
            L.append(f"  {'PASS' if t['pass'] else 'FAIL'} {t['target']}: {t['value']:.2f}x "
                     f"({op} {t['floor']:g})")
    return L


# ------------------------------------------------------------------ the bench's suite protocol

NAME = "models"
CHOICES = (NAME,)


def configure(args) -> None:
    args.models_small = bool(args.quick)


def run(bench) -> None:
    rows = measure_models(repeats=max(3, min(bench.args.repeats, 5)),
                          small=getattr(bench.args, "models_small", False))
    bench.suites[NAME] = {"rows": rows}


def targets(bench, add) -> None:
    for t in model_targets(bench.suites.get(NAME, {}).get("rows", [])):
        add(t["target"], t["value"], t["floor"], higher=t.get("higher_is_better", True),
            detail=t.get("detail", ""))


def render(bench) -> list[str]:
    return ["", *report(bench.suites[NAME]["rows"], tgts=[])]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ferroinit.bench.suites.models", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--small", action="store_true", help="tiny configs (smoke run)")
    p.add_argument("--json", help="write the rows and targets here")
    a = p.parse_args(argv)
    rows = measure_models(a.models, repeats=a.repeats, small=a.small)
    tgts = model_targets(rows)
    print("\n".join(report(rows, tgts)))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"rows": rows, "targets": tgts}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
