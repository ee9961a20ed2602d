"""``python -m ferroinit``: a short demo; ``python -m ferroinit bench``: the benchmark.

Run with no arguments, it initializes a large array, says what it did and how fast, next to
the speed of writing the same memory with ``ndarray.fill``. ``bench --help`` lists the
benchmark's flags (see :mod:`ferroinit.bench`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

USAGE = """usage: python -m ferroinit [demo | bench [flags] | --version | --help]

  (no arguments), demo   initialize a large array and report how fast
  bench                  ferroinit vs NumPy vs torch vs JAX vs the memory bound
                         (python -m ferroinit bench --help for the flags)
"""


def _demo_size() -> int:
    """2^27 float32 (512 MiB) where memory allows, else smaller."""
    n = 1 << 27
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f
                         if line.startswith("MemAvailable:"))
        while n > (1 << 20) and 3 * 4 * n > avail:
            n >>= 1
    except (OSError, StopIteration, ValueError):
        n = 1 << 25
    return n


def demo(n: int | None = None) -> int:
    """Initialize a large float32 array three ways and print the speed of each.

    Args:
        n: number of elements (default: 2^27 where memory allows).

    Returns:
        0.

    Example:
        >>> demo(1 << 12)  # doctest: +ELLIPSIS
        ferroinit ...
        0
    """
    import numpy as np

    import ferroinit

    n = _demo_size() if n is None else int(n)
    nbytes = 4 * n
    gb = nbytes / 1e9
    print(f"ferroinit {ferroinit.__version__} (simd: {ferroinit.simd_level()}): "
          f"{n:,} float32 elements ({nbytes / 2**20:.0f} MiB)")

    t = time.perf_counter()
    x = ferroinit.normal(n, generator=0)
    dt = time.perf_counter() - t
    print(f"  x = ferroinit.normal({n}, generator=0)    fresh allocation + N(0,1) fill: "
          f"{dt * 1e3:8.1f} ms  {gb / dt:6.2f} GB/s")
    s = x[: min(n, 1 << 22)].astype(np.float64)
    print(f"      sample mean {s.mean():+.4f}, std {s.std():.4f} (first {s.size:,} values)")

    ferroinit.kaiming_normal_(x.reshape(-1, 1024) if n % 1024 == 0 else x.reshape(1, -1))
    best = {}
    for name, fn in (("ndarray.fill(0.5)", lambda: x.fill(0.5)),
                     ("ferroinit.normal_(x)", lambda: ferroinit.normal_(x)),
                     ("ferroinit.uniform_(x, -1, 1)", lambda: ferroinit.uniform_(x, -1.0, 1.0))):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        best[name] = min(times)
    fill = best["ndarray.fill(0.5)"]
    for name, dt in best.items():
        print(f"  {name:<40} in place:            {dt * 1e3:8.1f} ms  {gb / dt:6.2f} GB/s"
              f"  ({fill / dt:.2f} x fill)")
    print("  values depend only on (seed, position, shape, dtype): rerun with generator=0 "
          "and get the same array.")
    print("  full comparison with NumPy / torch: python -m ferroinit bench")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ferroinit``.

    Args:
        argv: arguments after the module name (default ``sys.argv[1:]``).

    Returns:
        The exit status.

    Example:
        >>> main(["--version"])  # doctest: +ELLIPSIS
        ferroinit ...
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "demo":
        return demo()
    cmd, rest = argv[0], argv[1:]
    if cmd == "bench":
        from ferroinit.bench import main as bench_main

        return bench_main(rest)
    if cmd in ("--version", "-V"):
        import ferroinit

        print(f"ferroinit {ferroinit.__version__} (simd: {ferroinit.simd_level()})")
        return 0
    if cmd in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    print(USAGE, end="", file=sys.stderr)
    print(f"error: unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
