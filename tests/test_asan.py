"""AddressSanitizer over the unsafe write paths: the proptest fuzzer (tests/proptest_core.rs)
built with `-Zsanitizer=address`.

Sanitizers are a nightly-only rustc flag; the stable toolchain ships the ASan runtime, and
RUSTC_BOOTSTRAP=1 lets the stable compiler accept the flag for this test build only (the
library itself never uses unstable features). Skipped where cargo or the target is missing.
"""

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGET = "x86_64-unknown-linux-gnu"

pytestmark = pytest.mark.skipif(
    shutil.which("cargo") is None
    or platform.system() != "Linux"
    or platform.machine() != "x86_64"
    or not (ROOT / "Cargo.toml").exists(),
    reason="needs cargo on x86_64 Linux and the source tree",
)


def test_proptest_fuzzer_under_address_sanitizer():
    env = dict(
        os.environ,
        RUSTC_BOOTSTRAP="1",
        RUSTFLAGS="-Zsanitizer=address",
        CARGO_TARGET_DIR=str(ROOT / "target" / "asan"),
        PROPTEST_CASES=os.environ.get("FERROINIT_ASAN_CASES", "24"),
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
        # An unoptimized ASan build keeps every temporary of the inlined SIMD kernels on the
        # stack, with redzones: the float32 inverse-CDF trunc_normal_ kernel's frame is about
        # 1.2 MB there, more than a 2 MiB test or rayon thread has left (a stack overflow that
        # ASan reports as a SEGV). The release build's frames are small.
        RUST_MIN_STACK=str(32 << 20),
    )
    proc = subprocess.run(
        ["cargo", "test", "--quiet", "--target", TARGET, "--test", "proptest_core"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert "ERROR: AddressSanitizer" not in out, out[-6000:]
    assert proc.returncode == 0, out[-6000:]
    assert "test result: ok" in out, out[-3000:]
