"""Per-call overhead of tiny fills, side by side in one run (issue 12 item 5, issue 13).

Each row times a loop of ``--calls`` calls on one 16-element float32 array/tensor with
``time.perf_counter_ns``, ``--repeat`` times, and reports the median ns per call; the torch
rows give ferroinit's call next to torch's own, and their ratio (<= 1: ferroinit costs at
most torch's own). Run: ``python benches/call_overhead.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

CLOCK = time.perf_counter_ns


def per_call(fn, calls: int, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        t0 = CLOCK()
        for _ in range(calls):
            fn()
        samples.append((CLOCK() - t0) / calls)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--clock", choices=("wall", "thread"), default="wall",
                    help="thread: time.thread_time_ns (CPU time of this thread; steadier on a "
                    "shared machine, blind to time spent waiting)")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.perf_counter_ns if args.clock == "wall" else time.thread_time_ns
    import ferroinit
    import ferroinit.torch as fit
    import numpy as np
    import torch

    c, r = args.calls, args.repeat
    a = np.empty(args.n, dtype=np.float32)
    t = torch.empty(args.n)
    g = ferroinit.Generator(0)
    print(f"ferroinit {ferroinit.__file__}, n={args.n}, {c} calls x {r}, median ns/call "
          f"({args.clock} clock)")
    np_rows = [
        ("numpy ferroinit.normal_(a)", lambda: ferroinit.normal_(a)),
        ("numpy ferroinit.normal_(a, generator=g)", lambda: ferroinit.normal_(a, generator=g)),
        ("numpy ferroinit.uniform_(a)", lambda: ferroinit.uniform_(a)),
        ("numpy ferroinit._core.fill_law(a, 'normal', (0, 1), g)",
         lambda: ferroinit._core.fill_law(a, "normal", (0.0, 1.0), g)),
    ]
    for name, fn in np_rows:
        print(f"  {name:<52} {per_call(fn, c, r):8.0f}")
    init = torch.nn.init
    pairs = [
        ("ferroinit.normal_(t) vs init.normal_(t)", lambda: ferroinit.normal_(t),
         lambda: init.normal_(t), False),
        ("ferroinit.uniform_(t) vs init.uniform_(t)", lambda: ferroinit.uniform_(t),
         lambda: init.uniform_(t), False),
        ("ferroinit.trunc_normal_(t, std=.02) vs init's", lambda: ferroinit.trunc_normal_(t, std=.02),
         lambda: init.trunc_normal_(t, std=.02), False),
        ("accelerate: init.normal_(t)", lambda: init.normal_(t), lambda: init.normal_(t), True),
        ("accelerate: t.normal_()", lambda: t.normal_(), lambda: t.normal_(), True),
        ("accelerate: init.trunc_normal_(t, std=.02)", lambda: init.trunc_normal_(t, std=.02),
         lambda: init.trunc_normal_(t, std=.02), True),
        ("accelerate: init.uniform_(t)", lambda: init.uniform_(t), lambda: init.uniform_(t), True),
        ("accelerate: init.zeros_(t)", lambda: init.zeros_(t), lambda: init.zeros_(t), True),
    ]
    from torch.overrides import TorchFunctionMode

    class Bare(TorchFunctionMode):
        """The floor of any TorchFunctionMode: one that only forwards every call."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    print(f"  {'torch, 16 float32':<52} {'ferro':>8} {'torch':>8} {'ratio':>6}"
          f" {'bare mode':>9} {'vs bare':>7}")
    for name, ours, theirs, acc in pairs:
        base = per_call(theirs, c, r)
        if acc:
            with fit.accelerate():
                mine = per_call(ours, c, r)
            with Bare():
                bare = per_call(theirs, c, r)
            extra = f" {bare:9.0f} {mine / bare:7.2f}"
        else:
            mine = per_call(ours, c, r)
            extra = ""
        print(f"  {name:<52} {mine:8.0f} {base:8.0f} {mine / base:6.2f}{extra}")


if __name__ == "__main__":
    main()
