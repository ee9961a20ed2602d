"""Ctrl-C: one fill call that would run for seconds stops within 100 ms of SIGINT with
KeyboardInterrupt, and the process stays usable.

Each case runs in a subprocess (a stray SIGINT must never reach pytest). The subprocess first
times a small fill to size ONE call to take about 8 s (at most 3 GB: on the SIMD pool that is
2-5 s here), starts it, and a helper thread sends SIGINT to the process 0.5 s later; the latency is measured inside the subprocess from just
before ``os.kill`` to the ``except KeyboardInterrupt`` in the main thread. Three interrupts per
case; the median must be under 100 ms (the contract) and the worst under 250 ms (slack for a
noisy 2-core CI machine, where the main thread may simply not be scheduled for a while).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    r"""
    import json, os, signal, sys, threading, time
    import numpy as np
    import ferroinit as init

    fill = getattr(init, sys.argv[1])
    if sys.argv[1] == "trunc_normal_":
        # A window this deep takes the float64 inverse-CDF path with both of its tail branches
        # in every lane: the slowest fill, so one call within the 3 GB cap lasts seconds.
        import functools, warnings
        warnings.simplefilter("ignore")
        fill = functools.partial(fill, mean=0.0, std=1.0, a=7.0, b=8.0)
    dtype = sys.argv[2]
    TARGET_S = 8.0

    # Size one call to take ~TARGET_S: time a 1 << 22 fill (after a warm-up).
    probe = init.empty(1 << 22, dtype=dtype)
    fill(probe, generator=0)
    t = time.perf_counter(); fill(probe, generator=0); per = (time.perf_counter() - t) / probe.size
    n = int(min(TARGET_S / per, (3 << 30) // np.dtype(dtype).itemsize))
    x = init.empty(n, dtype=dtype)
    x[::4096] = 0  # fault the pages in, so the fill's own time is what we interrupt
    expected = per * n

    results = []
    for rep in range(3):
        sent = {}
        def shoot():
            time.sleep(0.5)
            sent["t"] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)
        th = threading.Thread(target=shoot)
        g = init.Generator(rep)
        th.start()
        t0 = time.perf_counter()
        try:
            fill(x, generator=g)
            outcome = "completed"
        except KeyboardInterrupt:
            outcome = "KeyboardInterrupt"
        t1 = time.perf_counter()
        th.join()
        results.append({"outcome": outcome, "latency": t1 - sent["t"], "ran": t1 - t0})

    # Still usable: a small fill is exact afterwards.
    y = fill(np.empty(1000, dtype=dtype), generator=5)
    z = fill(np.empty(1000, dtype=dtype), generator=5)
    print(json.dumps({"n": n, "expected_s": expected, "results": results,
                      "usable": bool((y == z).all() and np.isfinite(y).all())}))
    """
)


def run_child(fill, dtype, env_extra):
    env = dict(os.environ, **env_extra)
    p = subprocess.run([sys.executable, "-c", CHILD, fill, dtype], capture_output=True,
                       text=True, env=env, timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


CONFIGS = {
    # the slowest path: one thread, scalar kernels (the inline, non-pool fill loop)
    "scalar-1thread": {"RAYON_NUM_THREADS": "1", "FERROINIT_FORCE_SCALAR": "1"},
    # the default: SIMD kernels on the rayon pool, the calling thread polls
    "simd-pool": {"RAYON_NUM_THREADS": "2"},
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("fill,dtype", [("trunc_normal_", "float32"), ("trunc_normal_", "float64")])
def test_sigint_stops_a_long_fill_within_100ms(fill, dtype, config):
    r = run_child(fill, dtype, CONFIGS[config])
    # SIGINT comes at 0.5 s; a call of 2 s or more leaves time to prove it stopped early.
    assert r["expected_s"] > 2.0, f"the fill would only take {r['expected_s']:.1f} s"
    lat = sorted(x["latency"] for x in r["results"])
    detail = (f"{fill} {dtype} {config}: n={r['n']} ({r['expected_s']:.1f} s), "
              f"latencies (ms) {[round(v * 1e3, 1) for v in lat]}")
    for x in r["results"]:
        assert x["outcome"] == "KeyboardInterrupt", detail
        assert x["ran"] < r["expected_s"] - 1.0, detail  # it really stopped early
    assert lat[1] < 0.100, "median latency over 100 ms: " + detail
    assert lat[2] < 0.250, "worst latency over 250 ms: " + detail
    assert r["usable"], "a small fill after the interrupt went wrong"
    print(detail)
