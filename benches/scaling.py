#!/usr/bin/env python3
"""Thread scaling of ferroinit's normal_ and uniform_ against the fill bandwidth and torch.

For each thread count k (default 1, 2, 4, 8, 16, capped at the CPUs available) a fresh
subprocess runs with RAYON_NUM_THREADS=k (ferroinit's pool) and torch.set_num_threads(k),
preallocates one float32 array (4 GiB by default), touches it, and times on that array:

    fill_1t   ndarray.fill                     (NumPy, single-threaded: one core's bandwidth)
    fill_mt   ferroinit.constant_              (parallel fill on k threads: the memory bound)
    ferroinit uniform_, normal_                (k threads)
    torch     nn.init.uniform_, nn.init.normal_ on a torch.from_numpy view (k threads)

Each value is the median of --repeats calls after one warm-up (fewer for torch calls slower
than --budget / --repeats seconds). Prints a table, writes scaling.json and (when matplotlib
is installed) scaling.png to --out.

Self-contained: needs only numpy and the ferroinit wheel; torch and matplotlib are optional.

    python benches/scaling.py --out bench-out            # 4 GiB, threads 1..16
    python benches/scaling.py --gib 0.25 --threads 1,2   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def _median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def _time(fn, repeats, budget):
    t = time.perf_counter()
    fn()
    warm = time.perf_counter() - t
    reps = repeats if warm * repeats <= budget else max(1, int(budget // warm))
    samples = [warm] if warm > 1.0 else []
    while len(samples) < reps:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return {"median_s": _median(samples), "min_s": min(samples), "samples_s": samples}


def worker(args) -> None:
    """Runs in the subprocess: one thread count, prints one JSON object on stdout."""
    import ferroinit
    import numpy as np

    k = args.worker_threads
    n = int(args.gib * 2**30) // 4
    n -= n % 1024
    x = np.empty((n // 1024, 1024), dtype=np.float32)
    x.fill(0.5)  # fault the pages in once, untimed
    nbytes = x.nbytes
    fns = {
        "fill_1t": lambda: x.fill(0.25),
        "fill_mt": lambda: ferroinit.constant_(x, 0.25),
        "ferroinit uniform_": lambda: ferroinit.uniform_(x),
        "ferroinit normal_": lambda: ferroinit.normal_(x),
    }
    torch_version = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch.set_num_threads(k)
            torch_version = torch.__version__
            t = torch.from_numpy(x)
            fns["torch uniform_"] = lambda: torch.nn.init.uniform_(t)
            fns["torch normal_"] = lambda: torch.nn.init.normal_(t)
    out = {"threads": k, "n": n, "bytes": nbytes, "results": {},
           "rayon_num_threads": os.environ.get("RAYON_NUM_THREADS"),
           "torch_threads": None if torch_version is None else torch.get_num_threads()}
    for name, fn in fns.items():
        if name == "fill_1t" and k != args.fill_1t_at:
            continue  # single-threaded: measured once, not per thread count
        r = _time(fn, args.repeats, args.budget)
        r["gbps"] = nbytes / r["median_s"] / 1e9
        out["results"][name] = r
        print(f"  [{k:2d} threads] {name:<20} {r['gbps']:7.2f} GB/s", file=sys.stderr, flush=True)
    out["simd_level"] = ferroinit.simd_level()
    out["versions"] = {"numpy": np.__version__, "torch": torch_version,
                       "ferroinit": getattr(ferroinit, "__version__", "?")}
    print(json.dumps(out))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


COLS = ("fill_mt", "ferroinit uniform_", "ferroinit normal_", "torch uniform_", "torch normal_")


def render(rows, fill_1t, machine) -> str:
    L = [f"ferroinit thread scaling: {machine['cpu']}, {machine['cpus']} cpus, "
         f"simd {machine['simd_level']}, {rows[0]['bytes'] / 2**30:.2f} GiB float32"
         if rows else "no results"]
    if fill_1t is not None:
        L.append(f"ndarray.fill (1 thread): {fill_1t:.2f} GB/s")
    L.append("GB/s written (median); ratios: ferroinit / fill_mt (constant_ on k threads) and "
             "ferroinit / torch")
    head = f"{'threads':>7} " + " ".join(f"{c.replace('ferroinit ', 'f.'):>15}" for c in COLS)
    head += " " + " ".join(f"{c:>10}" for c in ("u/fill", "n/fill", "u/torch", "n/torch"))
    L.append(head)
    for row in rows:
        r = row["results"]
        g = {c: r[c]["gbps"] if c in r else None for c in COLS}

        def f(v):
            return "-" if v is None else f"{v:.2f}"

        def q(a, b):
            return "-" if a is None or b is None else f"{a / b:.2f}"

        line = f"{row['threads']:>7} " + " ".join(f"{f(g[c]):>15}" for c in COLS)
        line += " " + " ".join(f"{v:>10}" for v in (
            q(g["ferroinit uniform_"], g["fill_mt"]), q(g["ferroinit normal_"], g["fill_mt"]),
            q(g["ferroinit uniform_"], g["torch uniform_"]),
            q(g["ferroinit normal_"], g["torch normal_"])))
        L.append(line)
    return "\n".join(L)


def plot(rows, fill_1t, machine, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = [row["threads"] for row in rows]
    style = {"fill_mt": ("k", "-"), "ferroinit uniform_": ("C3", "-"),
             "ferroinit normal_": ("C3", "--"), "torch uniform_": ("C1", "-"),
             "torch normal_": ("C1", "--")}
    for c in COLS:
        ys = [row["results"].get(c, {}).get("gbps") for row in rows]
        if all(y is None for y in ys):
            continue
        color, ls = style[c]
        label = "fill (constant_, k threads)" if c == "fill_mt" else c
        ax.plot(ks, ys, ls, color=color, marker="o", label=label)
    if fill_1t is not None:
        ax.axhline(fill_1t, color="0.5", ls=":", label="ndarray.fill (1 thread)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("threads")
    ax.set_ylabel("GB/s written")
    ax.set_title(f"{machine['cpu']}, {rows[0]['bytes'] / 2**30:.0f} GiB float32", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", default="1,2,4,8,16", help="thread counts (default 1,2,4,8,16)")
    p.add_argument("--gib", type=float, default=4.0, help="array size in GiB (default 4)")
    p.add_argument("--repeats", type=int, default=5, help="samples per measurement (default 5)")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds allowed per measurement; slower calls get fewer samples")
    p.add_argument("--out", default="bench-out", help="directory for scaling.json/.png")
    p.add_argument("--all-threads", action="store_true",
                   help="also run thread counts above the CPUs available")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--worker-threads", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--fill-1t-at", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker_threads is not None:
        worker(args)
        return 0

    cpus = _cpus()
    ks = sorted({int(s) for s in args.threads.split(",") if s.strip()})
    skipped = [k for k in ks if k > cpus and not args.all_threads]
    ks = [k for k in ks if k not in skipped]
    if skipped:
        print(f"note: skipping thread counts {skipped} (only {cpus} CPUs available; "
              "--all-threads to run them)", file=sys.stderr)
    rows = []
    for k in ks:
        env = dict(os.environ, RAYON_NUM_THREADS=str(k), OMP_NUM_THREADS=str(k),
                   MKL_NUM_THREADS=str(k))
        cmd = [sys.executable, os.path.abspath(__file__), "--worker-threads", str(k),
               "--fill-1t-at", str(ks[0]), "--gib", str(args.gib), "--repeats",
               str(args.repeats), "--budget", str(args.budget)]
        if args.no_torch:
            cmd.append("--no-torch")
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            print(f"error: worker with {k} threads exited {proc.returncode}", file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    fill_1t = None
    for row in rows:
        if "fill_1t" in row["results"]:
            fill_1t = row["results"]["fill_1t"]["gbps"]
    machine = {
        "cpu": _cpu_model(), "cpus": cpus, "cpu_count": os.cpu_count(),
        "arch": platform.machine(), "python": platform.python_version(),
        "simd_level": rows[0]["simd_level"] if rows else None,
        "versions": rows[0]["versions"] if rows else None,
    }
    text = render(rows, fill_1t, machine)
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "scaling.png")
    why = "disabled (--no-plot)" if args.no_plot else (plot(rows, fill_1t, machine, png)
                                                       if rows else "no results")
    text += f"\nplot: {png if why is None else 'skipped, ' + why}"
    print(text)
    with open(os.path.join(args.out, "scaling.json"), "w") as f:
        json.dump({"machine": machine, "gib": args.gib, "repeats": args.repeats,
                   "fill_1t_gbps": fill_1t, "rows": rows}, f, indent=1)
    with open(os.path.join(args.out, "scaling.txt"), "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
