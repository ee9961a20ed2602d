"""The sweep as a log-log plot: throughput against size, a panel per initializer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import ferroinit

from .run import Bench
from .suites import sweep


def plot(bench: Bench, machine: dict[str, Any], path: str) -> str | None:
    """Log-log throughput against size, one panel per initializer, one line per library.

    Returns None on success, else why the plot was skipped.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    a = bench.args
    inits = sweep.inits(a)
    if not inits:
        return "no in-place sweep in this run"
    libs = sweep.libs_present(bench)
    cols = min(3, len(inits))
    rows = math.ceil(len(inits) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    styles = ["-", "--", ":", "-."]
    colors = {"ferroinit": "C3", "numpy": "C0", "torch": "C1", "jax": "C2", "fill": "0.4",
              "torch_fill": "0.6", "fill_mt": "0.1"}
    labels = {"fill": f"ndarray.fill ({a.threads} threads)", "torch_fill": "torch fill_",
              "fill_mt": "constant_ (parallel fill)"}
    for k, init in enumerate(inits):
        ax = axes[k // cols][k % cols]
        for j, dt in enumerate(a.dtypes):
            item = np.dtype(ferroinit._dtype(dt)).itemsize
            for lib in libs:
                pts = [(n * item, r["gbps"]) for n in a.sizes
                       for r in [bench.lookup(init, lib, dt, n)] if r]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                lab = labels.get(lib, lib) + ("" if len(a.dtypes) == 1 else f" {dt}")
                ax.plot(xs, ys, styles[j % len(styles)], marker="o", ms=3,
                        color=colors.get(lib, "0.6"), label=lab,
                        lw=2.2 if lib == "ferroinit" else 1.3)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(init)
        ax.set_xlabel("array size (bytes)")
        ax.set_ylabel("GB/s written")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for k in range(len(inits), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"ferroinit vs NumPy / torch, {machine['cpu']}, {a.threads} threads, "
                 f"simd {machine['simd_level']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
