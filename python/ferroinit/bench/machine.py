"""What the bench ran on: CPU, cores, SIMD level, memory, library versions."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

import ferroinit

from .memory import proc_kib


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
    mem = proc_kib("/proc/meminfo", "MemTotal")
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
