"""The wheel a user installs: ``maturin build --release`` makes one abi3 wheel (CPython >= 3.10)
that installs and imports in a fresh virtualenv whose PATH has no cargo or rustc, and gives
the golden values there.

Skipped when maturin or the source tree is missing. The build reuses the source tree's cargo
target dir (``target/``, or ``CARGO_TARGET_DIR``), which ``pip install .`` and
``maturin develop --release`` fill with the same release build, so after either of them it
only repackages; from a cold target dir it is a full fat-LTO build (minutes on 2 cores).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
MATURIN = shutil.which("maturin")

pytestmark = pytest.mark.skipif(
    MATURIN is None or not (ROOT / "Cargo.toml").is_file(),
    reason="needs maturin and the source tree",
)

# Run inside the fresh virtualenv: the installed package, not the source tree, answers, and
# it gives tests/golden.json's values (make_golden's cases, for every dtype, at one seed).
CHECK = r"""
import json, pathlib, sys
tests, venv_prefix = pathlib.Path(sys.argv[1]), sys.argv[2]
sys.path.append(str(tests))
import ferroinit, ferroinit._core
from make_golden import CASES, DTYPES, N, hexes
assert ferroinit.__file__.startswith(venv_prefix), ferroinit.__file__
assert ".abi3." in pathlib.Path(ferroinit._core.__file__).name, ferroinit._core.__file__
golden = json.loads((tests / "golden.json").read_text())
seed = 20240607
g = ferroinit.Generator(seed)
words = [f"{int(w):08x}" for w in g.random_raw(golden["n"])]
assert words == golden["random_raw"][str(seed)]["words"]
for name, (fn, shape) in sorted(CASES.items()):
    for dtype in DTYPES:
        g = ferroinit.Generator(seed)
        g.set_state((seed, 5))
        want = golden["inits"][f"{name}/{dtype}/{seed}"]["bits"]
        assert hexes(fn(shape, dtype, g)) == want, (name, dtype)
print("ok", ferroinit._core.__file__)
"""


def _path_without_rust() -> str:
    """The PATH entries that hold neither cargo nor rustc (nor maturin, which is Rust)."""
    keep = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and not any(os.path.exists(os.path.join(d, t)) for t in ("cargo", "rustc", "maturin")):
            keep.append(d)
    return os.pathsep.join(keep)


def test_abi3_wheel_installs_and_imports_without_rust(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [MATURIN, "build", "--release", "--interpreter", sys.executable, "--out", str(dist)],
        cwd=ROOT,
        check=True,
        timeout=1800,
    )
    wheels = sorted(dist.glob("ferroinit-*.whl"))
    assert len(wheels) == 1, wheels
    # One wheel for every CPython from requires-python's 3.10 on.
    assert "-cp310-abi3-" in wheels[0].name, wheels[0].name

    # Fresh, but over the system site-packages: numpy comes from there (no network needed);
    # the wheel goes into the virtualenv itself, ahead of any ferroinit installed outside.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(env_dir / "bin"), _path_without_rust()])
    assert shutil.which("cargo", path=env["PATH"]) is None
    assert shutil.which("rustc", path=env["PATH"]) is None
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--ignore-installed",
         str(wheels[0])],
        env=env, cwd=tmp_path, check=True, timeout=300,
    )
    prefix = subprocess.run(
        [py, "-c", "import sys; print(sys.prefix)"],
        env=env, cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout.strip()
    r = subprocess.run(
        [py, "-c", CHECK, str(TESTS), prefix],
        check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok"), r.stdout
