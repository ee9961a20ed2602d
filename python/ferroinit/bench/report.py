"""The printed report: header, every suite's section, the targets, the footer."""

from __future__ import annotations

from typing import Any

from .memory import peak_rss_bytes
from .run import Bench
from .units import fmt, fmt_bytes


def header(bench: Bench, machine: dict[str, Any]) -> list[str]:
    a = bench.args
    mem = machine.get("memory_bytes")
    return [
        "ferroinit bench",
        (f"  cpu: {machine['cpu']} ({machine['arch']}), {machine['cpus_available']} cpus, "
         f"{fmt_bytes(mem) if mem else '?'} RAM, simd: {machine['simd_level']}"),
        (f"  threads: {a.threads} (ferroinit via RAYON_NUM_THREADS, torch.set_num_threads, "
         "ndarray.fill split over as many threads; numpy's Generator is single-threaded)"),
        "  versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()),
        (f"  repeats: median of up to {a.repeats} (fewer where one call > "
         f"{a.case_budget / a.repeats:.1f} s); reps = ferroinit's samples"),
        ("  the fill: the faster of ndarray.fill and torch's fill_ on those threads, measured "
         "side by side on the same array (the memory bound the targets compare with)"),
    ]


def targets_section(targets: list[dict[str, Any]]) -> list[str]:
    L = ["", "Targets ('>=' higher is better, '<=' lower is better)"]
    if not targets:
        L.append("  (none measured in this run)")
    for t in targets:
        if t["pass"] is None:
            L.append(f"  n/a  {t['target']}: {t['detail']}")
            continue
        op = ">=" if t.get("higher_is_better", True) else "<="
        L.append(f"  {'PASS' if t['pass'] else 'FAIL'} {t['target']}: {fmt(t['value'])} "
                 f"{t['unit']} ({op} {t['floor']:g}){'  ' + t['detail'] if t['detail'] else ''}")
    npass = sum(1 for t in targets if t["pass"])
    nfail = sum(1 for t in targets if t["pass"] is False)
    L.append(f"  {npass} passed, {nfail} failed")
    return L


def render(bench: Bench, machine: dict[str, Any], suites, targets: list[dict[str, Any]],
           elapsed: float) -> str:
    """The whole report; ``suites`` are the suite modules that ran, in order."""
    L = header(bench, machine)
    for suite in suites:
        L += suite.render(bench)
    L += targets_section(targets)
    rss = peak_rss_bytes()
    L.append("")
    L.append(f"Peak RSS: {fmt_bytes(rss) if rss else 'n/a'}; wall time {elapsed:.1f} s")
    for note in bench.notes:
        L.append(f"note: {note}")
    return "\n".join(L)
