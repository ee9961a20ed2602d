"""Resource limits: element counts that overflow raise OverflowError, allocations that cannot
be satisfied raise MemoryError, and the process never aborts (each case runs in its own
subprocess, so an abort or a Rust panic shows up as a failed case, not a dead test run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    r"""
    import json, sys
    import numpy as np
    import ferroinit as init
    code = sys.argv[1]
    try:
        exec(code, {"init": init, "np": np})
        r = {"raised": None}
    except BaseException as e:
        r = {"raised": type(e).__name__, "msg": str(e)[:300]}
    # the process is still usable afterwards
    y = init.uniform_(np.empty(100, np.float32), generator=1)
    r["usable"] = bool(((y >= 0) & (y <= 1)).all())
    print(json.dumps(r))
    """
)

TB = 2**40
CASES = [
    # allocations that cannot be satisfied (terabytes; far over RAM + swap): MemoryError
    ("init.empty((TB,), dtype='float32')", "MemoryError"),
    ("init.empty((TB, 8), dtype='float64')", "MemoryError"),
    ("init.uniform((TB,), generator=0)", "MemoryError"),
    ("init.normal((2**20, 2**20), dtype='float64', generator=0)", "MemoryError"),
    ("init.zeros((2**41,), dtype='float16')", "MemoryError"),
    ("init.eye(2**21)", "MemoryError"),
    ("init.orthogonal((2**21, 2**21), generator=0)", "MemoryError"),
    ("init.Generator(0).random_raw(2**50)", "MemoryError"),
    # element counts or byte sizes that overflow 64 bits: OverflowError
    ("init.empty((2**62,), dtype='float32')", "OverflowError"),
    ("init.empty((2**64 - 1,), dtype='float16')", "OverflowError"),
    ("init.empty((2**32, 2**32), dtype='float32')", "OverflowError"),
    ("init.empty((2**31, 2**31, 2**31))", "OverflowError"),
    ("init.uniform((2**33, 2**33), generator=0)", "OverflowError"),
    ("init.kaiming_normal((2**33, 2**33), generator=0)", "OverflowError"),
    ("init.sparse((2**33, 2**33), 0.5, generator=0)", "OverflowError"),
    ("init.empty((2**64,))", "OverflowError"),
    ("init.calculate_fan_in_and_fan_out((2**40, 2**40, 2**40))", "OverflowError"),
    ("init.Generator(0).random_raw(2**64)", "OverflowError"),
    ("init.Generator(2**64)", "ValueError"),
]


def run_case(code):
    env = dict(os.environ, RUST_BACKTRACE="0")
    p = subprocess.run([sys.executable, "-c", CHILD, code.replace("TB", str(TB))],
                       capture_output=True, text=True, env=env, timeout=120, check=False)
    assert p.returncode == 0, f"{code}: the process died (rc={p.returncode}): {p.stderr[-2000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code,expected", CASES, ids=[c for c, _ in CASES])
def test_limits_raise_never_abort(code, expected):
    r = run_case(code)
    assert r["raised"] == expected, f"{code}: expected {expected}, got {r}"
    assert r["usable"]


def test_memory_error_leaves_generator_unmoved():
    code = (
        "g = init.Generator(3)\n"
        "try:\n    init.uniform((TB,), generator=g)\nexcept MemoryError:\n    pass\n"
        "assert g.position == 0, g.position\n"
        "try:\n    g.random_raw(2**50)\nexcept MemoryError:\n    pass\n"
        "assert g.position == 0, g.position\n"
    )
    r = run_case(code)
    assert r["raised"] is None, r
