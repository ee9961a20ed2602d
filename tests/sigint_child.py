"""The child process of the Ctrl-C tests (tests/test_interrupts.py, tests/test_sparse.py).

Run as ``python tests/sigint_child.py CASE [ARGS...]``; prints one JSON line.

The child tests ferroinit, not the machine or how the suite was started:
- It restores Python's default SIGINT handler first. A process started with SIGINT ignored
  (a background shell, some CI runners) keeps it ignored, and Python then installs no handler,
  so ``os.kill(pid, SIGINT)`` would do nothing and the fills would complete.
- It sizes the call by measuring this machine: it grows the array (by 4x) until one call takes
  long enough to time, then picks the size whose call lasts about ``TARGET_S``, capped by
  ``MAX_BYTES``. A faster kernel or machine gets a larger array, not a shorter call. The result
  reports the expected duration, and the tests require it to be well above the interrupt time.

A helper thread sends SIGINT to the process ``DELAY_S`` after the call starts (at most a fifth
of the expected duration, where the memory cap keeps a fast fill short); the latency is
measured from just before ``os.kill`` to the ``except KeyboardInterrupt`` in the main thread.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
import warnings

import ferroinit as init
import numpy as np

TARGET_S = 6.0
DELAY_S = 0.5
MAX_BYTES = 3 << 30
PROBE_MIN_S = 0.3


def _fill_case(name: str, dtype: str):
    """(make(n) -> array, call(array, generator), itemsize) for a one-dimensional fill."""
    fill = getattr(init, name)
    if name == "trunc_normal_":
        # A window beyond float32's reach (13.5 std: tail masses below float32's smallest
        # normal number), so every dtype takes the float64 inverse-CDF path with its tail
        # branches in every lane, the slowest fill: one call within the memory cap lasts
        # seconds (float32 windows within reach are fast enough to finish in under 2 s).
        warnings.simplefilter("ignore")
        fill = functools.partial(fill, mean=0.0, std=1.0, a=13.5, b=14.0)

    def make(n):
        x = init.empty(n, dtype=dtype)
        x[::4096] = 0  # fault the pages in, so the fill's own time is what is interrupted
        return x

    return make, lambda x, g: fill(x, generator=g), np.dtype(dtype).itemsize


def _sparse_case(dtype: str):
    """sparse_ on a (ROWS, n / ROWS) matrix: n grows by columns."""
    rows = 8192

    def make(n):
        x = init.empty((rows, max(1, n // rows)), dtype=dtype)
        x.fill(0)
        return x

    return make, lambda x, g: init.sparse_(x, 0.1, generator=g), np.dtype(dtype).itemsize


def size_call(make, call, itemsize):
    """An array whose call takes about TARGET_S (at most MAX_BYTES), and that duration."""
    cap = MAX_BYTES // itemsize
    n = 1 << 20
    while True:
        x = make(n)
        call(x, 0)  # warm-up: the pool, the page tables
        t = time.perf_counter()
        call(x, 0)
        dt = time.perf_counter() - t
        if dt >= PROBE_MIN_S or n >= cap:
            break
        n = min(cap, n * 4)
    per = dt / n
    n = int(min(cap, max(n, TARGET_S / per)))
    return make(n), per * n


def main(argv):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    case, args = argv[0], argv[1:]
    if case == "fill":
        make, call, itemsize = _fill_case(*args)
    elif case == "sparse":
        make, call, itemsize = _sparse_case(*args)
    else:
        raise SystemExit(f"unknown case {case!r}")
    x, expected = size_call(make, call, itemsize)
    delay = min(DELAY_S, expected / 5)

    results = []
    for rep in range(3):
        sent = {}

        def shoot(sent=sent):
            time.sleep(delay)
            sent["t"] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)

        th = threading.Thread(target=shoot)
        g = init.Generator(rep)
        th.start()
        t0 = time.perf_counter()
        try:
            call(x, g)
            outcome = "completed"
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
        t1 = time.perf_counter()
        th.join()
        results.append({"outcome": outcome, "latency": t1 - sent["t"], "ran": t1 - t0})

    # Still usable: a small call gives the same values twice, all finite.
    y, z = make(1 << 16), make(1 << 16)
    call(y, 5)
    call(z, 5)
    usable = bool((y == z).all() and np.isfinite(y).all())
    print(json.dumps({"n": int(x.size), "expected_s": expected, "delay_s": delay,
                      "results": results, "usable": usable}))


if __name__ == "__main__":
    main(sys.argv[1:])
