"""Sizes and numbers as the bench reads and prints them."""

from __future__ import annotations

import math
from collections.abc import Sequence


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


def fmt(v: float | None, nd: int = 2) -> str:
    """A number for a table cell: ``-`` when missing, fewer decimals when large.

    Example:
        >>> fmt(None), fmt(0.123), fmt(123.4), fmt(4567.8)
        ('-', '0.12', '123.4', '4568')
    """
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.1f}" if nd >= 1 else f"{v:.0f}"
    return f"{v:.{nd}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing (or ``b`` is 0).

    Example:
        >>> ratio(3.0, 2.0), ratio(None, 2.0), ratio(1.0, 0)
        (1.5, None, None)
    """
    if a is None or b is None or b == 0:
        return None
    return a / b


def median(xs: Sequence[float]) -> float:
    """The median of a non-empty sequence.

    Example:
        >>> median([3.0, 1.0, 2.0]), median([1.0, 2.0])
        (2.0, 1.5)
    """
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def two_d(n: int) -> tuple[int, int]:
    """A 2-D shape of ``n`` elements (xavier/kaiming need two dims): ``(n // k, k)``.

    Example:
        >>> two_d(1 << 20), two_d(1000)
        ((1024, 1024), (1, 1000))
    """
    k = min(1024, n)
    return (n // k, k) if n % k == 0 else (1, n)
