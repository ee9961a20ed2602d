"""Memory safety of the unsafe parts, on stable Rust: the proptest fuzz target
(tests/proptest_core.rs: random strided / sharded / overlapping / misaligned views over guarded
buffers, every initializer, the parallel driver and its interrupt path) runs under valgrind
memcheck with a small case count. Any invalid read or write, use of uninitialised memory or
invalid free makes valgrind exit with a dedicated status.

(Miri and AddressSanitizer need nightly Rust, which this project does not require; valgrind
catches the same class of heap errors on the real, optimised-away-nothing debug binary, but not
stack-buffer overflows or data races, see docs/reliability.md.)

Sized for CI: a few minutes. Skipped when valgrind or cargo is missing.
Env: FERROINIT_MEMCHECK_CASES (default 6) = PROPTEST_CASES for the run.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEMCHECK_ERROR = 99

pytestmark = pytest.mark.skipif(
    shutil.which("valgrind") is None or shutil.which("cargo") is None,
    reason="needs valgrind and cargo",
)


def build_test_binary() -> str:
    p = subprocess.run(
        ["cargo", "test", "--no-run", "--test", "proptest_core", "--message-format=json"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    assert p.returncode == 0, p.stderr[-4000:]
    exe = None
    for line in p.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "proptest_core":
            exe = msg["executable"]
    assert exe, "cargo did not report the proptest_core test binary"
    return exe


def test_proptest_core_under_valgrind_memcheck():
    exe = build_test_binary()
    env = dict(
        os.environ,
        PROPTEST_CASES=os.environ.get("FERROINIT_MEMCHECK_CASES", "6"),
        PROPTEST_MAX_SHRINK_ITERS="0",
        RUST_BACKTRACE="0",
        RAYON_NUM_THREADS="2",
    )
    cmd = [
        "valgrind", "--tool=memcheck", f"--error-exitcode={MEMCHECK_ERROR}", "--leak-check=no",
        "--track-origins=no", "--quiet", exe, "--test-threads=2",
    ]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                       check=False)
    out = p.stdout[-3000:] + "\n" + p.stderr[-6000:]
    assert p.returncode != MEMCHECK_ERROR, "valgrind memcheck found memory errors:\n" + out
    assert p.returncode >= 0, f"the test binary died of signal {-p.returncode}:\n" + out
    assert "test result:" in p.stdout, "the test binary did not run its tests:\n" + out
    assert p.returncode == 0, (
        "no memory errors, but proptest properties failed (see cargo test --test "
        "proptest_core):\n" + out
    )
