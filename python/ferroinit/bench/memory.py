"""Peak memory of a call and of the process (Linux ``/proc``; ``resource`` elsewhere)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any


def proc_kib(path: str, key: str) -> int | None:
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
    before = proc_kib("/proc/self/status", "VmRSS")
    out = fn()
    hwm = proc_kib("/proc/self/status", "VmHWM")
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
