"""The benchmark CLI (``python -m ferroinit bench``) runs end to end and writes its report.

Speed is never asserted here (that is what the bench itself is for): these tests check
that the command exits 0, prints the table and the targets, and writes a JSON with the raw
results and machine info (and a PNG when matplotlib is installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
from ferroinit import _registry

#: The sweep's initializers (the registry's), each with a table and a measurement per size.
SWEEP = _registry.names(sweep=True)
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def _run(args, tmp_path, timeout=600):
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = "2"
    return subprocess.run(
        [sys.executable, "-m", "ferroinit", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = _run(["bench", "--quick", "--threads", "2", "--out", str(out)], out)
    return proc, out


def test_quick_bench_exits_zero_and_prints_table(quick_run):
    proc, _ = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = proc.stdout
    assert len(SWEEP) >= 5
    for init in SWEEP:
        assert f"\n{init}  float32\n" in text
    header = next(line for line in text.splitlines() if line.split()[:3] == ["n", "bytes", "reps"])
    for col in ("ferroinit", "numpy", "torch", "fill", "f/torch", "f/numpy", "f/fill"):
        assert col in header.split()
    assert "2^10" in text and "2^14*" in text
    assert "Targets" in text
    assert ("PASS" in text) or ("FAIL" in text)
    assert "Peak RSS" in text
    assert "Call overhead" in text and "orthogonal_" in text and "sparse_" in text


def test_quick_bench_writes_valid_json(quick_run):
    proc, out = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out / "bench.json") as f:
        data = json.load(f)
    for key in ("machine", "config", "results", "suites", "targets", "peak_rss_bytes",
                "elapsed_s"):
        assert key in data, key
    m = data["machine"]
    import ferroinit

    assert m["simd_level"] == ferroinit.simd_level()
    assert m["threads"] == 2
    for key in ("cpu", "cpu_count", "versions"):
        assert key in m
    assert "numpy" in m["versions"] and "torch" in m["versions"]
    assert data["peak_rss_bytes"] is None or data["peak_rss_bytes"] > 0

    rows = [r for r in data["results"] if "median_s" in r]
    # every (init, size) has a ferroinit, numpy, torch and fill measurement
    combos = {(r["init"], r["n"], r["lib"]) for r in rows}
    for init in SWEEP:
        for n in (2**10, 2**14):
            for lib in ("ferroinit", "numpy", "torch", "fill", "fill_mt"):
                assert (init, n, lib) in combos, (init, n, lib)
    for r in rows:
        assert r["dtype"] == "float32"
        assert r["repeats"] == len(r["samples_s"]) >= 1
        assert all(s > 0 for s in r["samples_s"])
        assert r["min_s"] <= r["median_s"] <= max(r["samples_s"])
        assert r["gbps"] == pytest.approx(r["bytes"] / r["median_s"] / 1e9)
        assert r["bytes"] == r["n"] * 4

    suites = data["suites"]
    assert set(suites) >= {"fresh", "small", "orthogonal_", "sparse_", "memory", "materialize"}
    assert set(suites["fresh"]["results"]) >= {"ferroinit", "numpy", "torch"}
    assert suites["small"]["results"]["ferroinit"]["us"] > 0
    assert suites["orthogonal_"][0]["shape"] == [64, 64]
    assert suites["sparse_"]["shape"] == [128, 128]

    names = [t["target"] for t in data["targets"]]
    assert any(n.startswith("uniform_ vs ndarray.fill") for n in names)
    assert any(n.startswith("normal_ on 16 elements") for n in names)
    assert any(n.startswith("sparse_") for n in names)
    for t in data["targets"]:
        assert t["pass"] in (True, False, None)
        if t["pass"] is not None:
            higher = t.get("higher_is_better", True)
            assert t["pass"] == (t["value"] >= t["floor"] if higher else t["value"] <= t["floor"])
    assert os.path.exists(out / "bench.txt")


def test_quick_bench_shows_every_floor_by_what_it_compares(quick_run):
    """The default run (here --quick, the same suites) shows every floor of the speed goal,
    each named by what it compares, and no internal issue numbers."""
    proc, out = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = proc.stdout
    assert not re.search(r"#\d|issue \d|item \d", text), "internal references in the report"
    names = [t["target"] for t in json.loads((out / "bench.json").read_text())["targets"]]
    fill = "vs ndarray.fill/torch fill_ on 2 threads"
    wanted = [
        f"uniform_ {fill}", f"normal_ {fill}",
        f"trunc_normal_(std=1, a=-2, b=2) {fill}", f"trunc_normal_(std=0.02, a=-2, b=2) {fill}",
        f"trunc_normal_(std=1, a=2, b=3) {fill}",
        "uniform_ vs torch.nn.init.uniform_ on 2 threads",
        "normal_ vs torch.nn.init.normal_ on 2 threads",
        "trunc_normal_(std=0.02, a=-2, b=2) vs torch.nn.init.trunc_normal_ on 2 threads",
        "xavier_uniform_ vs ferroinit uniform_", "xavier_normal_ vs ferroinit normal_",
        "kaiming_uniform_ vs ferroinit uniform_", "kaiming_normal_ vs ferroinit normal_",
        "bfloat16 uniform_ elements/s vs float32's", "float16 normal_ elements/s vs float32's",
        f"float64 uniform_ {fill} in bytes/s", f"float64 normal_ {fill} in bytes/s",
        "uniform_ on 2^16 float32 vs torch.nn.init.uniform_",
        "normal_ on 2^16 float32 vs torch.nn.init.normal_",
        "normal_ on 16 elements (NumPy array), us per call",
        "orthogonal_", "sparse_", "fresh normal", "extra memory of",
    ]
    for want in wanted:
        assert any(n.startswith(want) for n in names), (want, names)
        assert want in text
    floors = {t["target"]: t["floor"] for t in json.loads((out / "bench.json").read_text())[
        "targets"]}
    assert floors[next(n for n in names if n.startswith(f"uniform_ {fill}"))] == 0.8
    assert floors["normal_ on 16 elements (NumPy array), us per call"] == 1.0
    assert "smaller array" in text  # torch's trunc_normal_ is measured on less, and says so


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed")
def test_quick_bench_writes_png(quick_run):
    proc, out = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out / "bench.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_no_plot_and_init_subset(tmp_path):
    proc = _run(["bench", "--quick", "--no-plot", "--init", "normal,small", "--sizes", "12",
                 "--no-numpy", "--out", str(tmp_path)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not (tmp_path / "bench.png").exists()
    assert "plot: skipped" in proc.stdout
    data = json.loads((tmp_path / "bench.json").read_text())
    assert {r["init"] for r in data["results"]} == {"normal_"}
    assert {r["n"] for r in data["results"]} == {4096}
    assert "numpy" not in {r["lib"] for r in data["results"]}
    assert set(data["suites"]) == {"small"}


def test_bad_flags_fail_cleanly(tmp_path):
    proc = _run(["bench", "--init", "nonsense", "--out", str(tmp_path)], tmp_path)
    assert proc.returncode != 0
    assert "unknown --init" in proc.stderr
    proc = _run(["frobnicate"], tmp_path)
    assert proc.returncode == 2
    assert "unknown command" in proc.stderr


def test_demo_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from ferroinit.__main__ import demo; demo(1 << 16)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ferroinit.normal(65536, generator=0)" in proc.stdout
    assert "GB/s" in proc.stdout
