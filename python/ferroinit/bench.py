"""``python -m ferroinit bench``: ferroinit against NumPy, torch, JAX and the memory bound.

Everything runs in one process, side by side: for each (initializer, dtype, size) the
libraries are timed in interleaved rounds on the same preallocated array, so background
load hits them alike. The report is a table of GB/s written and ratios, a "targets" section
that checks the floors of the performance issue (PASS/FAIL), a JSON of the raw samples and
machine info, and a log-log PNG (when matplotlib is installed).

Timing rules: every callable is called once to warm up; calls under 2 ms are looped so
one sample lasts at least 2 ms; the statistic is the median of the samples. A baseline
whose single call is slower than ``--case-budget / --repeats`` gets fewer samples (at least
one; a warm-up call slower than a second counts as the first sample). Outside the headline
size, a baseline whose extrapolated call time exceeds ``--max-call`` seconds is skipped; at
the headline size only one slower than ``--max-headline-call`` (torch's trunc_normal_ here:
~17 s a call), and its targets then use the largest size where both sides were measured
(every baseline here is elementwise, so its throughput is flat at those sizes).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

import ferroinit

#: In-place initializers of the throughput sweep (all five by default).
SWEEP_INITS = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "kaiming_normal_")
#: Other suites, selectable with ``--init`` like the initializers.
SUITES = ("fresh", "small", "orthogonal_", "sparse_", "memory", "materialize")
ALL_INITS = SWEEP_INITS + SUITES
#: Libraries in table order. "fill" is ndarray.fill (the single-thread memory bound the
#: targets use); "fill_mt" is ferroinit.constant_ (a parallel fill: the machine's bound).
LIBS = ("ferroinit", "numpy", "torch", "jax", "fill", "fill_mt")
HEADLINE_EXP = 27
#: Measured at every size with full repeats at the headline (the targets' numerators and
#: denominators against the memory bound); only the other libraries may be skipped.
OURS = ("ferroinit", "fill", "fill_mt")
DEFAULT_SIZES = (10, 14, 18, 22, 25, 27, 28)

#: Floors of issue 3 (ratio of throughputs unless said otherwise).
FILL_FLOORS = {"uniform_": 0.7, "normal_": 0.45, "trunc_normal_": 0.4}
#: The xavier/kaiming variants must be as fast as their sampler (within noise).
VARIANT_OF = {"xavier_uniform_": "uniform_", "kaiming_normal_": "normal_"}
VARIANT_FLOOR = 0.9
BASELINE_FLOOR = 5.0
ORTHO_MAX_TIME_RATIO = 0.6
SPARSE_FLOOR = 20.0
FRESH_FLOOR = 3.0
SMALL_MAX_US = 2.0
MATERIALIZE_FLOOR = 10.0
#: An initializer may use at most this fraction of the array (or 8 MiB) as extra memory.
MEMORY_MAX_FRACTION = 0.05


# --------------------------------------------------------------------------- small helpers


def parse_sizes(spec: str) -> list[int]:
    """Parse a ``--sizes`` value into a list of element counts.

    Accepts comma-separated items, each a power of two written ``2^k``, a bare exponent
    ``k`` (< 64), a plain count (``1000``) or a range of exponents ``a..b``.

    Args:
        spec: the flag's value.

    Returns:
        The sizes in elements, sorted and without duplicates.

    Example:
        >>> parse_sizes("10..12,2^20,5000")
        [1024, 2048, 4096, 5000, 1048576]
    """
    out = set()
    for item in spec.replace(" ", "").split(","):
        if not item:
            continue
        if ".." in item:
            lo, hi = (int(e.removeprefix("2^")) for e in item.split(".."))
            out.update(1 << e for e in range(lo, hi + 1))
        elif item.startswith("2^"):
            out.add(1 << int(item[2:]))
        elif int(item) < 64:
            out.add(1 << int(item))
        else:
            out.add(int(item))
    if not out or min(out) < 1:
        raise ValueError(f"--sizes must name positive sizes, got {spec!r}")
    return sorted(out)


def fmt_size(n: int) -> str:
    """Format an element count as ``2^k`` when it is a power of two.

    Example:
        >>> fmt_size(1 << 27), fmt_size(1000)
        ('2^27', '1000')
    """
    if n > 0 and n & (n - 1) == 0:
        return f"2^{n.bit_length() - 1}"
    return str(n)


def fmt_bytes(b: float) -> str:
    """Format a byte count with a binary unit.

    Example:
        >>> fmt_bytes(512 * 2**20), fmt_bytes(4096)
        ('512 MiB', '4 KiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(b) < 1024 or unit == "TiB":
            return f"{b:.0f} {unit}" if b == int(b) else f"{b:.1f} {unit}"
        b /= 1024
    return f"{b} TiB"  # pragma: no cover


def _fmt(v: float | None, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.1f}" if nd >= 1 else f"{v:.0f}"
    return f"{v:.{nd}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def _two_d(n: int) -> tuple[int, int]:
    """A 2-D shape of ``n`` elements (xavier/kaiming need two dims): ``(n // k, k)``."""
    k = min(1024, n)
    return (n // k, k) if n % k == 0 else (1, n)


class _Progress:
    """tqdm when installed and stderr is a terminal, else a one-line stderr counter."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled and sys.stderr.isatty()
        if self.enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, file=sys.stderr, leave=False, unit="case")
            except ImportError:
                self.bar = None

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_description(label[:40])
            self.bar.update(1)
        else:
            sys.stderr.write(f"\r[{self.done:3d}/{self.total}] {label[:60]:<60}")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\r" + " " * 72 + "\r")
            sys.stderr.flush()


# --------------------------------------------------------------------------- timing


def _calibrate(fn: Callable[[], Any], target_s: float) -> tuple[int, float, float]:
    """Warm up ``fn`` and pick an inner loop count. Returns (inner, warm-up s, one call s)."""
    t = time.perf_counter()
    fn()
    warm = time.perf_counter() - t
    if warm > 0.05:
        return 1, warm, warm
    t = time.perf_counter()
    fn()
    one = time.perf_counter() - t
    if one >= target_s:
        return 1, warm, one
    inner = int(min(1_000_000, max(1, math.ceil(target_s / max(one, 1e-8)))))
    return inner, warm, one


def _sample(fn: Callable[[], Any], inner: int, setup: Callable[[], Any] | None = None) -> float:
    if setup is not None:
        setup()
    if inner == 1:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t) / inner


def measure_group(fns: dict[str, Callable[[], Any]], *, repeats: int, budget_s: float,
                  target_s: float = 2e-3, setup: Callable[[], Any] | None = None,
                  force: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Time several callables side by side, in interleaved rounds.

    Args:
        fns: name -> zero-argument callable.
        repeats: samples per callable (fewer for a callable slower than ``budget_s / repeats``,
            at least one).
        budget_s: time allowed for one callable's samples.
        force: names that get ``repeats`` samples whatever the budget.
        target_s: calls faster than this are looped so a sample lasts about this long.
        setup: called (untimed) before every sample, e.g. ``gc.collect``.

    Returns:
        name -> ``{"median_s", "min_s", "samples_s", "repeats", "inner"}``; times are per call.

    Example:
        >>> r = measure_group({"noop": lambda: None}, repeats=3, budget_s=1.0)
        >>> r["noop"]["repeats"], r["noop"]["median_s"] < 1e-3
        (3, True)
    """
    plan: dict[str, tuple[int, int]] = {}
    samples: dict[str, list[float]] = {}
    for name, fn in fns.items():
        if setup is not None:
            setup()
        inner, warm, one = _calibrate(fn, target_s)
        reps = repeats
        if name not in force and one * repeats > budget_s:
            reps = max(1, int(budget_s // one))
        samples[name] = []
        if warm > 1.0:
            # A call this slow is its own warm-up: the array was touched and the library was
            # warmed at smaller sizes; count it instead of paying for it twice.
            samples[name].append(warm)
        plan[name] = (inner, reps)
    for _ in range(max(r for _, r in plan.values()) if plan else 0):
        for name, fn in fns.items():
            inner, reps = plan[name]
            if len(samples[name]) < reps:
                samples[name].append(_sample(fn, inner, setup))
    return {
        name: {
            "median_s": _median(s),
            "min_s": min(s),
            "samples_s": s,
            "repeats": len(s),
            "inner": plan[name][0],
        }
        for name, s in samples.items()
    }


# --------------------------------------------------------------------------- memory


def _proc_kib(path: str, key: str) -> int | None:
    """A ``key: N kB`` field of a /proc file (``/proc/self/status``, ``/proc/meminfo``)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_extra_bytes(fn: Callable[[], Any]) -> int | None:
    """Peak resident memory ``fn`` adds on top of what the process holds (Linux only).

    Resets the kernel's high-water mark (``/proc/self/clear_refs``), runs ``fn`` and
    returns ``VmHWM - VmRSS(before)`` in bytes; ``None`` where that is not available.
    """
    gc.collect()
    if not _reset_peak():
        return None
    before = _proc_kib("/proc/self/status", "VmRSS")
    out = fn()
    hwm = _proc_kib("/proc/self/status", "VmHWM")
    del out
    if before is None or hwm is None:
        return None
    return max(0, hwm - before) * 1024


def peak_rss_bytes() -> int | None:
    """The process's peak RSS so far (``resource.getrusage``), in bytes."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r) if sys.platform == "darwin" else int(r) * 1024


# --------------------------------------------------------------------------- machine


def machine_info(threads: int) -> dict[str, Any]:
    """CPU model, cores, SIMD level, memory and library versions, for the JSON and header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = _proc_kib("/proc/meminfo", "MemTotal")
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "ferroinit": getattr(ferroinit, "__version__", "?")}
    for mod in ("torch", "jax", "matplotlib"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    return {
        "cpu": cpu,
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu_count": os.cpu_count(),
        "cpus_available": affinity,
        "threads": threads,
        "memory_bytes": None if mem is None else mem * 1024,
        "simd_level": ferroinit.simd_level(),
        "rayon_num_threads_env": os.environ.get("RAYON_NUM_THREADS"),
        "force_scalar_env": os.environ.get("FERROINIT_FORCE_SCALAR"),
        "versions": versions,
    }


# --------------------------------------------------------------------------- libraries


def _try_import(name: str):
    try:
        return __import__(name)
    except Exception:  # noqa: BLE001 - any import failure means "not installed" here
        return None


def _alloc(dtype: str, n: int) -> np.ndarray:
    x = np.empty(_two_d(n), dtype=ferroinit._dtype(dtype))
    x.fill(0.5)  # fault every page in before anything is timed
    return x


def _torch_view(torch, x: np.ndarray):
    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def _ferro_fns(x: np.ndarray) -> dict[str, Callable[[], Any]]:
    f = ferroinit
    return {
        "uniform_": lambda: f.uniform_(x),
        "normal_": lambda: f.normal_(x),
        "trunc_normal_": lambda: f.trunc_normal_(x),
        "xavier_uniform_": lambda: f.xavier_uniform_(x),
        "kaiming_normal_": lambda: f.kaiming_normal_(x),
    }


def _numpy_fns(x: np.ndarray) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """NumPy's natural in-place code for each initializer (Generator with ``out=``)."""
    if x.dtype not in (np.float32, np.float64):
        return {}, {k: f"numpy Generator has no {x.dtype.name} output" for k in SWEEP_INITS}
    rng = np.random.default_rng(0)
    dt = x.dtype
    fan_in, fan_out = x.shape[1], x.shape[0]
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    std = math.sqrt(2.0) / math.sqrt(fan_in)

    def xavier():
        rng.random(out=x, dtype=dt)
        np.multiply(x, 2 * bound, out=x)
        np.subtract(x, bound, out=x)

    def kaiming():
        rng.standard_normal(out=x, dtype=dt)
        np.multiply(x, std, out=x)

    fns = {
        "uniform_": lambda: rng.random(out=x, dtype=dt),
        "normal_": lambda: rng.standard_normal(out=x, dtype=dt),
        # NumPy has no truncated normal: its plain standard_normal is a lower bound on the
        # cost of any NumPy truncated normal, so the ratio against it is conservative.
        "trunc_normal_": lambda: rng.standard_normal(out=x, dtype=dt),
        "xavier_uniform_": xavier,
        "kaiming_normal_": kaiming,
    }
    notes = {"trunc_normal_": "standard_normal (no truncated normal; a lower bound)"}
    return fns, notes


def _torch_fns(torch, x: np.ndarray) -> dict[str, Callable[[], Any]]:
    t = _torch_view(torch, x)
    init = torch.nn.init
    return {
        "uniform_": lambda: init.uniform_(t),
        "normal_": lambda: init.normal_(t),
        "trunc_normal_": lambda: init.trunc_normal_(t),
        "xavier_uniform_": lambda: init.xavier_uniform_(t),
        "kaiming_normal_": lambda: init.kaiming_normal_(t),
    }


def _jax_fns(jax, x: np.ndarray) -> dict[str, Callable[[], Any]]:
    """JAX arrays are immutable: these allocate (block_until_ready), noted in the report."""
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    shape, dt = x.shape, jnp.dtype(x.dtype.name)
    ini = jax.nn.initializers
    glorot, he = ini.glorot_uniform(), ini.he_normal()
    return {
        "uniform_": lambda: jax.random.uniform(key, shape, dt).block_until_ready(),
        "normal_": lambda: jax.random.normal(key, shape, dt).block_until_ready(),
        "trunc_normal_": lambda: jax.random.truncated_normal(key, -2.0, 2.0, shape,
                                                             dt).block_until_ready(),
        "xavier_uniform_": lambda: glorot(key, shape, dt).block_until_ready(),
        "kaiming_normal_": lambda: he(key, shape, dt).block_until_ready(),
    }


# --------------------------------------------------------------------------- suites


class Bench:
    """One benchmark run: configuration, libraries, results. See :func:`main`."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.torch = None if args.no_torch else _try_import("torch")
        self.jax = None if args.no_jax else _try_import("jax")
        if self.torch is not None:
            self.torch.set_num_threads(args.threads)
        self.results: list[dict[str, Any]] = []
        self.suites: dict[str, Any] = {}
        self.notes: list[str] = []
        self.est: dict[tuple[str, str, str], tuple[int, float]] = {}

    # ---- the in-place sweep

    def sweep_cases(self) -> list[tuple[str, int, str]]:
        a = self.args
        return [(dt, n, init) for dt in a.dtypes for init in a.inits if init in SWEEP_INITS
                for n in a.sizes]

    def _skip_slow(self, key: tuple[str, str, str], n: int, headline: bool) -> str | None:
        if key not in self.est:
            return None
        n0, t0 = self.est[key]
        est = t0 * n / n0
        flag, limit = (("--max-headline-call", self.args.max_headline_call) if headline
                       else ("--max-call", self.args.max_call))
        if est > limit:
            return f"skipped: ~{est:.3g} s a call > {flag} {limit:g} s"
        return None

    def run_sweep(self, progress: _Progress) -> None:
        a = self.args
        for dt in a.dtypes:
            for n in a.sizes:
                inits = [i for i in a.inits if i in SWEEP_INITS]
                if not inits:
                    continue
                try:
                    x = _alloc(dt, n)
                except Exception as e:  # noqa: BLE001
                    self.notes.append(f"{dt}: cannot allocate ({e})")
                    for init in inits:
                        progress.step(f"{init} {dt} {fmt_size(n)}")
                    continue
                headline = n == a.headline_n
                for init in inits:
                    progress.step(f"{init} {dt} {fmt_size(n)}")
                    self._run_case(x, dt, n, init, headline)
                del x
                gc.collect()

    def _run_case(self, x: np.ndarray, dt: str, n: int, init: str, headline: bool) -> None:
        a = self.args
        fns: dict[str, Callable[[], Any]] = {}
        notes: dict[str, str] = {}
        ff = _ferro_fns(x)
        try:
            ff[init]()
            fns["ferroinit"] = ff[init]
        except Exception as e:  # noqa: BLE001 - a dtype the build does not support yet
            notes["ferroinit"] = f"error: {type(e).__name__}: {e}"
        if not a.no_numpy:
            nf, nn = _numpy_fns(x)
            if init in nf:
                fns["numpy"] = nf[init]
            if init in nn:
                notes["numpy"] = nn[init]
        if self.torch is not None:
            try:
                fns["torch"] = _torch_fns(self.torch, x)[init]
            except Exception as e:  # noqa: BLE001
                notes["torch"] = f"error: {type(e).__name__}: {e}"
        if self.jax is not None:
            try:
                fns["jax"] = _jax_fns(self.jax, x)[init]
                notes["jax"] = "allocates (JAX arrays are immutable)"
            except Exception as e:  # noqa: BLE001
                notes["jax"] = f"error: {type(e).__name__}: {e}"
        fns["fill"] = lambda: x.fill(0.25)
        fns["fill_mt"] = lambda: ferroinit.constant_(x, 0.25)
        for lib in list(fns):
            if lib in OURS:
                continue  # only baselines are ever skipped
            key = (lib, dt, init)
            why = self._skip_slow(key, n, headline)
            if why is not None:
                del fns[lib]
                notes[lib] = why
        res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget,
                            force=OURS if headline else ())
        nbytes = x.nbytes
        for lib, r in res.items():
            self.est[(lib, dt, init)] = (n, r["median_s"])
            self.results.append({
                "suite": "inplace", "init": init, "lib": lib, "dtype": dt, "n": n,
                "shape": list(x.shape), "bytes": nbytes, "gbps": nbytes / r["median_s"] / 1e9,
                "headline": headline, "note": notes.get(lib), **r,
            })
        for lib, why in notes.items():
            if lib not in res:
                self.results.append({"suite": "inplace", "init": init, "lib": lib, "dtype": dt,
                                     "n": n, "bytes": nbytes, "headline": headline,
                                     "skipped": why})

    def lookup(self, init: str, lib: str, dt: str, n: int) -> dict[str, Any] | None:
        for r in self.results:
            if (r["suite"], r["init"], r["lib"], r["dtype"], r["n"]) == ("inplace", init, lib,
                                                                         dt, n):
                return r if "median_s" in r else None
        return None

    # ---- fresh allocations

    def run_fresh(self) -> None:
        a = self.args
        n = a.fresh_n
        fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.normal(n)}
        if not a.no_numpy:
            fns["numpy"] = lambda: np.random.default_rng().standard_normal(n, dtype=np.float32)
        if self.torch is not None:
            torch = self.torch
            fns["torch"] = lambda: torch.empty(n).normal_()
        fns["fill"] = lambda: np.empty(n, dtype=np.float32).fill(0.25)
        res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget, setup=gc.collect)
        self.suites["fresh"] = {
            "n": n, "dtype": "float32", "bytes": 4 * n,
            "desc": "ferroinit.normal(n) vs torch.empty(n).normal_() vs "
                    "default_rng().standard_normal(n, dtype=float32); fill = np.empty + fill",
            "results": {k: {**v, "gbps": 4 * n / v["median_s"] / 1e9} for k, v in res.items()},
        }

    # ---- small-array call overhead

    def run_small(self) -> None:
        a = self.args
        x = np.empty(16, dtype=np.float32)
        fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.normal_(x)}
        if not a.no_numpy:
            rng = np.random.default_rng(0)
            fns["numpy"] = lambda: rng.standard_normal(out=x, dtype=np.float32)
        if self.torch is not None:
            t = self.torch.from_numpy(x)
            init = self.torch.nn.init
            fns["torch"] = lambda: init.normal_(t)
        res = measure_group(fns, repeats=max(5, a.repeats), budget_s=a.case_budget,
                            target_s=0.02)
        self.suites["small"] = {
            "n": 16, "dtype": "float32", "desc": "normal_ on a 16-element array, per call",
            "results": {k: {**v, "us": v["median_s"] * 1e6} for k, v in res.items()},
        }

    # ---- orthogonal_ and sparse_

    def run_orthogonal(self) -> None:
        a = self.args
        rows = []
        for m in a.orth_sizes:
            x = _alloc("float32", m * m).reshape(m, m)
            fns: dict[str, Callable[[], Any]] = {
                "ferroinit": lambda x=x: ferroinit.orthogonal_(x)}
            if self.torch is not None:
                t = self.torch.from_numpy(x)
                init = self.torch.nn.init
                fns["torch"] = lambda t=t, init=init: init.orthogonal_(t)
            res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget)
            rows.append({"shape": [m, m], "dtype": "float32", "results": res})
            del x
        self.suites["orthogonal_"] = rows

    def run_sparse(self) -> None:
        a = self.args
        m = a.sparse_size
        x = _alloc("float32", m * m).reshape(m, m)
        fns: dict[str, Callable[[], Any]] = {"ferroinit": lambda: ferroinit.sparse_(x, 0.9)}
        if self.torch is not None:
            t = self.torch.from_numpy(x)
            init = self.torch.nn.init
            fns["torch"] = lambda: init.sparse_(t, 0.9)
        res = measure_group(fns, repeats=a.repeats, budget_s=a.case_budget)
        self.suites["sparse_"] = {"shape": [m, m], "sparsity": 0.9, "dtype": "float32",
                                  "results": res}

    # ---- extra memory per initializer (item 5)

    def run_memory(self) -> None:
        n = self.args.memory_n
        rows = []
        x = _alloc("float32", n)
        ff = _ferro_fns(x)
        for init in SWEEP_INITS:
            rows.append({"call": f"{init}(x)", "bytes": x.nbytes,
                         "extra_bytes": peak_extra_bytes(ff[init])})
        rows.append({"call": "constant_(x)", "bytes": x.nbytes,
                     "extra_bytes": peak_extra_bytes(lambda x=x: ferroinit.constant_(x, 1.0))})
        del x, ff
        gc.collect()
        rows.append({"call": "normal(n) [allocating: the result itself counts]",
                     "bytes": 4 * n, "extra_bytes": peak_extra_bytes(lambda: ferroinit.normal(n)),
                     "allocating": True})
        m = min(self.args.orth_sizes) if self.args.orth_sizes else 256
        y = _alloc("float32", m * m).reshape(m, m)
        rows.append({"call": f"orthogonal_({m}x{m}) [one working matrix allowed]",
                     "bytes": y.nbytes,
                     "extra_bytes": peak_extra_bytes(lambda y=y: ferroinit.orthogonal_(y)),
                     "exempt": True})
        del y
        self.suites["memory"] = {"n": n, "rows": rows,
                                 "available": rows[0]["extra_bytes"] is not None}

    # ---- materialize a meta-device torch model (issue 4)

    def run_materialize(self) -> None:
        a = self.args
        if self.torch is None:
            self.suites["materialize"] = {"skipped": "torch is not installed"}
            return
        try:
            import ferroinit.torch as ft
            materialize = ft.materialize
        except (ImportError, AttributeError) as e:
            self.suites["materialize"] = {"skipped": f"ferroinit.torch.materialize absent ({e})"}
            return
        torch = self.torch
        nn = torch.nn
        d, blocks = a.materialize_d, a.materialize_blocks

        def build(dtype):
            with torch.device("meta"):
                layers = []
                for _ in range(blocks):
                    layers += [nn.Linear(d, 3 * d), nn.Linear(d, d), nn.Linear(d, 4 * d),
                               nn.Linear(4 * d, d)]
                return nn.Sequential(*layers).to(dtype)

        def with_torch(dtype):
            model = build(dtype).to_empty(device="cpu")
            with torch.no_grad():
                for mod in model.modules():
                    if hasattr(mod, "reset_parameters"):
                        mod.reset_parameters()
            return model

        def with_ferroinit(dtype):
            model = build(dtype)
            out = materialize(model)
            return model if out is None else out

        rows = []
        for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
            params = sum(p.numel() for p in build(dtype).parameters())
            try:
                check = with_ferroinit(dtype)
                devices = {p.device.type for p in check.parameters()}
                del check
                res = measure_group({"ferroinit": lambda dtype=dtype: with_ferroinit(dtype),
                                     "torch": lambda dtype=dtype: with_torch(dtype)},
                                    repeats=a.repeats, budget_s=a.case_budget, setup=gc.collect)
                rows.append({"dtype": name, "params": params, "devices": sorted(devices),
                             "results": res})
            except Exception as e:  # noqa: BLE001 - report, don't abort the whole bench
                rows.append({"dtype": name, "params": params,
                             "error": f"{type(e).__name__}: {e}"})
        self.suites["materialize"] = {"d": d, "blocks": blocks, "rows": rows}

    # ---- targets

    def targets(self) -> list[dict[str, Any]]:
        a = self.args
        out: list[dict[str, Any]] = []
        n, dt = a.headline_n, "float32"
        where = f"n={fmt_size(n)} {dt}"

        def add(name, value, floor, higher=True, unit="x", detail=""):
            if value is None:
                out.append({"target": name, "value": None, "floor": floor, "pass": None,
                            "unit": unit, "detail": detail or "not measured"})
                return
            ok = value >= floor if higher else value <= floor
            out.append({"target": name, "value": value, "floor": floor, "pass": ok,
                        "higher_is_better": higher, "unit": unit, "detail": detail})

        def gbps(init, lib):
            r = self.lookup(init, lib, dt, n)
            return None if r is None else r["gbps"]

        def pair(init, lib):
            """ferroinit's and lib's GB/s at the headline, else at the largest size where
            both were measured (a baseline skipped at the headline as too slow)."""
            f, b = gbps(init, "ferroinit"), gbps(init, lib)
            if b is not None or f is None:
                return f, b, ""
            for m in sorted(a.sizes, reverse=True):
                rf, rb = self.lookup(init, "ferroinit", dt, m), self.lookup(init, lib, dt, m)
                if rf is not None and rb is not None:
                    return rf["gbps"], rb["gbps"], f"at n={fmt_size(m)}: {lib} skipped at the headline"
            return f, None, ""

        for init in SWEEP_INITS:
            if init not in a.inits or dt not in a.dtypes:
                continue
            f = gbps(init, "ferroinit")
            if init in FILL_FLOORS:
                add(f"{init} vs ndarray.fill ({where})", _ratio(f, gbps(init, "fill")),
                    FILL_FLOORS[init])
            if init in VARIANT_OF and VARIANT_OF[init] in a.inits:
                base = VARIANT_OF[init]
                add(f"{init} vs ferroinit {base} ({where})", _ratio(f, gbps(base, "ferroinit")),
                    VARIANT_FLOOR)
            if not a.no_torch:
                ff, fb, at = pair(init, "torch")
                add(f"{init} vs torch ({where})", _ratio(ff, fb), BASELINE_FLOOR, detail=at)
            if not a.no_numpy:
                ff, fb, at = pair(init, "numpy")
                std = "vs standard_normal" if init == "trunc_normal_" else ""
                add(f"{init} vs numpy ({where})", _ratio(ff, fb), BASELINE_FLOOR,
                    detail="; ".join(d for d in (std, at) if d))
        for row in self.suites.get("orthogonal_", []):
            r = row["results"]
            if "torch" in r:
                m = row["shape"][0]
                add(f"orthogonal_ {m}x{m} time vs torch", _ratio(r["ferroinit"]["median_s"],
                                                                 r["torch"]["median_s"]),
                    ORTHO_MAX_TIME_RATIO, higher=False)
        sp = self.suites.get("sparse_")
        if sp and "torch" in sp["results"]:
            r = sp["results"]
            m = sp["shape"][0]
            add(f"sparse_ {m}x{m} s=0.9 vs torch",
                _ratio(r["torch"]["median_s"], r["ferroinit"]["median_s"]), SPARSE_FLOOR)
        fr = self.suites.get("fresh")
        if fr:
            r = fr["results"]
            for lib in ("torch", "numpy"):
                if lib in r:
                    add(f"fresh normal({fmt_size(fr['n'])}) vs {lib}",
                        _ratio(r[lib]["median_s"], r["ferroinit"]["median_s"]), FRESH_FLOOR)
        sm = self.suites.get("small")
        if sm:
            add("normal_ on 16 elements, us per call", sm["results"]["ferroinit"]["us"],
                SMALL_MAX_US, higher=False, unit="us")
        mem = self.suites.get("memory")
        if mem and mem["available"]:
            for row in mem["rows"]:
                if row.get("exempt") or row.get("allocating"):
                    continue
                limit = max(MEMORY_MAX_FRACTION * row["bytes"], 8 * 2**20)
                add(f"extra memory of {row['call']} ({fmt_bytes(row['bytes'])} array)",
                    row["extra_bytes"] / 2**20, limit / 2**20, higher=False, unit="MiB")
        mat = self.suites.get("materialize")
        if mat and "rows" in mat:
            for row in mat["rows"]:
                if "results" in row:
                    r = row["results"]
                    add(f"materialize {row['dtype']} vs to_empty + reset_parameters",
                        _ratio(r["torch"]["median_s"], r["ferroinit"]["median_s"]),
                        MATERIALIZE_FLOOR)
                else:
                    add(f"materialize {row['dtype']}", None, MATERIALIZE_FLOOR,
                        detail=row.get("error", ""))
        return out


# --------------------------------------------------------------------------- report


def _libs_present(bench: Bench) -> list[str]:
    seen = {r["lib"] for r in bench.results if "median_s" in r}
    return [lib for lib in LIBS if lib in seen]


def render(bench: Bench, machine: dict[str, Any], targets: list[dict[str, Any]],
           elapsed: float) -> str:
    """The printed report: header, sweep tables, suites, targets."""
    a = bench.args
    L: list[str] = []
    mem = machine.get("memory_bytes")
    L.append("ferroinit bench")
    L.append(f"  cpu: {machine['cpu']} ({machine['arch']}), {machine['cpus_available']} cpus, "
             f"{fmt_bytes(mem) if mem else '?'} RAM, simd: {machine['simd_level']}")
    L.append(f"  threads: {a.threads} (ferroinit via RAYON_NUM_THREADS, torch.set_num_threads;"
             " numpy's Generator and ndarray.fill are single-threaded)")
    L.append("  versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()))
    L.append(f"  repeats: median of up to {a.repeats} (fewer where one call > "
             f"{a.case_budget / a.repeats:.1f} s); reps = ferroinit's samples")
    libs = _libs_present(bench)
    if libs:
        L.append("")
        L.append("In place on a preallocated array: GB/s written (higher is better); "
                 "fill = ndarray.fill, fill_mt = ferroinit.constant_ (parallel)")
    for dt in a.dtypes:
        for init in [i for i in a.inits if i in SWEEP_INITS]:
            L.append("")
            L.append(f"{init}  {dt}")
            hdr = f"{'n':>6} {'bytes':>9} {'reps':>4} " + " ".join(f"{lib:>9}" for lib in libs)
            hdr += " " + " ".join(f"{c:>8}" for c in ("f/torch", "f/numpy", "f/fill"))
            L.append(hdr)
            for n in a.sizes:
                rows = {lib: bench.lookup(init, lib, dt, n) for lib in libs}
                g = {lib: (r["gbps"] if r else None) for lib, r in rows.items()}
                f = rows.get("ferroinit")
                mark = "*" if n == a.headline_n else " "
                nbytes = n * np.dtype(ferroinit._dtype(dt)).itemsize
                line = (f"{fmt_size(n) + mark:>6} {fmt_bytes(nbytes):>9} "
                        f"{(f['repeats'] if f else 0):>4} ")
                line += " ".join(f"{_fmt(g[lib]):>9}" for lib in libs)
                line += " " + " ".join(f"{_fmt(_ratio(g.get('ferroinit'), g.get(o))):>8}"
                                       for o in ("torch", "numpy", "fill"))
                L.append(line)
            notes = sorted({f"{r['lib']} at {fmt_size(r['n'])}: {r['skipped']}"
                            if r.get("skipped") else f"{r['lib']}: {r['note']}"
                            for r in bench.results
                            if r["suite"] == "inplace" and r["init"] == init and r["dtype"] == dt
                            and (r.get("skipped") or r.get("note"))})
            for note in notes:
                L.append(f"    note: {note}")
    if libs:
        L.append(f"  (* = headline size {fmt_size(a.headline_n)})")
    s = bench.suites
    if "fresh" in s:
        fr = s["fresh"]
        L.append("")
        L.append(f"Fresh allocation + fill, n={fmt_size(fr['n'])} float32 "
                 f"({fmt_bytes(fr['bytes'])}): {fr['desc']}")
        r = fr["results"]
        for lib, v in r.items():
            sp = _ratio(v["median_s"], r["ferroinit"]["median_s"])
            L.append(f"  {lib:>10}: {v['median_s'] * 1e3:9.1f} ms  {v['gbps']:6.2f} GB/s  "
                     f"ferroinit speedup {_fmt(sp)}x  (n={v['repeats']})")
    if "small" in s:
        r = s["small"]["results"]
        L.append("")
        L.append("Call overhead: normal_ on 16 float32 elements, us per call")
        for lib, v in r.items():
            L.append(f"  {lib:>10}: {v['us']:8.2f} us")
    if "orthogonal_" in s:
        L.append("")
        L.append("orthogonal_ float32, seconds per call (ferroinit/torch time: lower is better)")
        for row in s["orthogonal_"]:
            r = row["results"]
            t = r.get("torch", {}).get("median_s")
            L.append(f"  {row['shape'][0]}x{row['shape'][1]}: ferroinit "
                     f"{r['ferroinit']['median_s']:.3f} s, torch {_fmt(t, 3)} s, ratio "
                     f"{_fmt(_ratio(r['ferroinit']['median_s'], t), 3)}")
    if "sparse_" in s:
        sp = s["sparse_"]
        r = sp["results"]
        t = r.get("torch", {}).get("median_s")
        L.append("")
        L.append(f"sparse_ {sp['shape'][0]}x{sp['shape'][1]} sparsity 0.9: ferroinit "
                 f"{r['ferroinit']['median_s'] * 1e3:.1f} ms, torch "
                 f"{_fmt(None if t is None else t * 1e3, 1)} ms, speedup "
                 f"{_fmt(_ratio(t, r['ferroinit']['median_s']), 1)}x")
    if "memory" in s:
        mm = s["memory"]
        L.append("")
        if not mm["available"]:
            L.append("Extra peak memory per call: not available (needs Linux /proc/self/clear_refs)")
        else:
            L.append("Extra peak memory per call (VmHWM after - VmRSS before)")
            for row in mm["rows"]:
                frac = row["extra_bytes"] / row["bytes"]
                L.append(f"  {row['call']:<52} {fmt_bytes(row['extra_bytes']):>10} "
                         f"({frac:.3f} x the {fmt_bytes(row['bytes'])} array)")
    if "materialize" in s:
        mat = s["materialize"]
        L.append("")
        if "skipped" in mat:
            L.append(f"materialize: skipped ({mat['skipped']})")
        else:
            L.append(f"materialize: {mat['blocks']} blocks of Linear(d,3d), Linear(d,d), "
                     f"Linear(d,4d), Linear(4d,d), d={mat['d']}, built on meta")
            for row in mat["rows"]:
                if "error" in row:
                    L.append(f"  {row['dtype']:>8}: error {row['error']}")
                    continue
                r = row["results"]
                L.append(f"  {row['dtype']:>8} ({row['params'] / 1e6:.0f}M params): ferroinit "
                         f"{r['ferroinit']['median_s']:.3f} s, to_empty+reset_parameters "
                         f"{r['torch']['median_s']:.3f} s, speedup "
                         f"{_fmt(_ratio(r['torch']['median_s'], r['ferroinit']['median_s']), 1)}x")
    L.append("")
    L.append("Targets (issue 3 floors; '>=' higher is better, '<=' lower is better)")
    if not targets:
        L.append("  (none measured in this run)")
    for t in targets:
        if t["pass"] is None:
            L.append(f"  n/a  {t['target']}: {t['detail']}")
            continue
        op = ">=" if t.get("higher_is_better", True) else "<="
        L.append(f"  {'PASS' if t['pass'] else 'FAIL'} {t['target']}: {_fmt(t['value'])} "
                 f"{t['unit']} ({op} {t['floor']:g}){'  ' + t['detail'] if t['detail'] else ''}")
    npass = sum(1 for t in targets if t["pass"])
    nfail = sum(1 for t in targets if t["pass"] is False)
    L.append(f"  {npass} passed, {nfail} failed")
    rss = peak_rss_bytes()
    L.append("")
    L.append(f"Peak RSS: {fmt_bytes(rss) if rss else 'n/a'}; wall time {elapsed:.1f} s")
    for note in bench.notes:
        L.append(f"note: {note}")
    return "\n".join(L)


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
    inits = [i for i in a.inits if i in SWEEP_INITS]
    if not inits:
        return "no in-place sweep in this run"
    libs = _libs_present(bench)
    cols = min(3, len(inits))
    rows = math.ceil(len(inits) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    styles = ["-", "--", ":", "-."]
    colors = {"ferroinit": "C3", "numpy": "C0", "torch": "C1", "jax": "C2", "fill": "0.4",
              "fill_mt": "0.1"}
    labels = {"fill": "ndarray.fill", "fill_mt": "constant_ (parallel fill)"}
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
                ax.plot(xs, ys, styles[j % len(styles)], marker="o", ms=3, color=colors[lib],
                        label=lab, lw=2.2 if lib == "ferroinit" else 1.3)
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


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    """The ``bench`` argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m ferroinit bench",
        description="Benchmark ferroinit against NumPy, torch, JAX (where installed) and the "
                    "memory bound (ndarray.fill), side by side in one process.")
    p.add_argument("--sizes", default=None,
                   help="element counts: '10..28', '2^20,2^27', '1000' (default: 2^10, 2^14, "
                        "2^18, 2^22, 2^25, 2^27, 2^28)")
    p.add_argument("--dtypes", default="float32",
                   help="comma-separated: float16, bfloat16, float32, float64 (default float32)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for ferroinit and torch (default: the CPUs available)")
    p.add_argument("--init", default=None,
                   help="comma-separated subset of: " + ", ".join(ALL_INITS) + " (default all)")
    p.add_argument("--repeats", type=int, default=5, help="samples per measurement (default 5)")
    p.add_argument("--case-budget", type=float, default=2.5,
                   help="seconds allowed for one library's samples of one case (default 2.5)")
    p.add_argument("--max-call", type=float, default=3.0,
                   help="outside the headline size, skip a baseline whose call would take "
                        "longer than this many seconds (default 3)")
    p.add_argument("--max-headline-call", type=float, default=5.0,
                   help="at the headline size, skip a baseline whose call would take longer "
                        "than this (its targets then use the largest size measured; default 5)")
    p.add_argument("--headline", type=int, default=HEADLINE_EXP,
                   help="exponent of the headline size the targets use (default 27)")
    p.add_argument("--fresh-n", type=int, default=28, help="fresh allocation size exponent")
    p.add_argument("--orth-sizes", default="2048,4096", help="orthogonal_ square sizes")
    p.add_argument("--sparse-size", type=int, default=4096, help="sparse_ square size")
    p.add_argument("--memory-exp", type=int, default=None,
                   help="size exponent for the extra-memory check (default: the headline)")
    p.add_argument("--materialize-d", type=int, default=2048, help="materialize model width d")
    p.add_argument("--materialize-blocks", type=int, default=8, help="materialize blocks")
    p.add_argument("--out", default="bench-out", help="directory for bench.json/.png/.txt")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and few repeats (seconds; for tests and smoke checks)")
    p.add_argument("--no-plot", action="store_true", help="don't write the PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-torch", action="store_true", help="leave torch out")
    p.add_argument("--no-numpy", action="store_true", help="leave NumPy's Generator out")
    p.add_argument("--no-jax", action="store_true", help="leave JAX out")
    p.add_argument("--check", action="store_true", help="exit 1 if any target fails")
    return p


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    if args.threads is None:
        try:
            args.threads = len(os.sched_getaffinity(0))
        except AttributeError:
            args.threads = os.cpu_count() or 1
    if args.threads < 1:
        raise SystemExit("--threads must be >= 1")
    names = ALL_INITS if args.init is None else [s.strip() for s in args.init.split(",") if s]
    inits = []
    for name in names:
        if name not in ALL_INITS and name + "_" in ALL_INITS:
            name += "_"
        if name not in ALL_INITS:
            raise SystemExit(f"unknown --init {name!r}; choose from {', '.join(ALL_INITS)}")
        inits.append(name)
    args.inits = inits
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for d in args.dtypes:
        if d not in ("float16", "bfloat16", "float32", "float64"):
            raise SystemExit(f"unknown dtype {d!r}")
    if args.quick:
        args.sizes = parse_sizes(args.sizes or "10,14")
        args.repeats = min(args.repeats, 2)
        args.headline_n = max(args.sizes)
        args.fresh_n = 1 << 16
        args.orth_sizes = [64]
        args.sparse_size = 128
        args.memory_n = 1 << 16
        args.materialize_d = min(args.materialize_d, 64)
        args.materialize_blocks = min(args.materialize_blocks, 2)
        args.case_budget = min(args.case_budget, 2.0)
    else:
        args.sizes = parse_sizes(args.sizes or ",".join(str(e) for e in DEFAULT_SIZES))
        head = 1 << args.headline
        args.headline_n = head if head in args.sizes else max(args.sizes)
        args.fresh_n = 1 << args.fresh_n
        args.orth_sizes = [int(s) for s in str(args.orth_sizes).split(",") if s.strip()]
        args.memory_n = (1 << args.memory_exp) if args.memory_exp else args.headline_n
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (``python -m ferroinit bench [flags]``).

    Args:
        argv: the flags (``sys.argv[2:]`` by default); ``--help`` lists them.

    Returns:
        The exit status: 0, or 1 with ``--check`` when a target fails.

    Example:
        >>> build_parser().parse_args(["--quick", "--no-plot"]).quick
        True
    """
    args = _resolve(build_parser().parse_args(argv))
    # ferroinit's rayon pool is built lazily on the first parallel fill, so the variable
    # still takes effect here (nothing has filled in parallel yet in a fresh process).
    prev = os.environ.get("RAYON_NUM_THREADS")
    if prev is not None and prev != str(args.threads):
        print(f"note: RAYON_NUM_THREADS={prev} overrides --threads {args.threads} for ferroinit",
              file=sys.stderr)
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    bench = Bench(args)
    machine = machine_info(args.threads)
    n_cases = len(bench.sweep_cases()) + sum(1 for s in SUITES if s in args.inits)
    progress = _Progress(n_cases, enabled=not args.no_progress)
    t0 = time.perf_counter()
    try:
        bench.run_sweep(progress)
        # Call overhead first: right after the 1 GiB first-touch storm of "fresh" this VM is
        # still returning pages to its host, and every library's 16-element call ran 2-7x slower.
        for suite, fn in (("small", bench.run_small), ("fresh", bench.run_fresh),
                          ("orthogonal_", bench.run_orthogonal), ("sparse_", bench.run_sparse),
                          ("memory", bench.run_memory), ("materialize", bench.run_materialize)):
            if suite in args.inits:
                progress.step(suite)
                fn()
                gc.collect()
    finally:
        progress.close()
    elapsed = time.perf_counter() - t0
    targets = bench.targets()
    os.makedirs(args.out, exist_ok=True)
    plot_note = "disabled (--no-plot)" if args.no_plot else None
    png = os.path.join(args.out, "bench.png")
    if not args.no_plot:
        plot_note = plot(bench, machine, png)
    text = render(bench, machine, targets, elapsed)
    text += f"\nplot: {png if plot_note is None else 'skipped, ' + plot_note}"
    text += f"\njson: {os.path.join(args.out, 'bench.json')}"
    print(text)
    config = {k: v for k, v in vars(args).items()}
    payload = {
        "schema": 1,
        "created_unix": time.time(),
        "machine": machine,
        "config": config,
        "results": bench.results,
        "suites": bench.suites,
        "targets": targets,
        "peak_rss_bytes": peak_rss_bytes(),
        "elapsed_s": elapsed,
        "plot": None if plot_note else png,
        "notes": bench.notes,
    }
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(payload, f, indent=1, default=str)
    with open(os.path.join(args.out, "bench.txt"), "w") as f:
        f.write(text + "\n")
    if args.check and any(t["pass"] is False for t in targets):
        return 1
    return 0
