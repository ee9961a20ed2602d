"""What each initializer is compared with: ferroinit's call, NumPy's, torch's and JAX's natural
code for the same job, and the memory bound (writing the same array with a fill).

The initializers come from the registry (its ``sweep`` entries); ferroinit's and torch's calls
are derived from the name, NumPy's and JAX's are written here where those libraries have an
equivalent (an initializer without one is simply not compared with them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

import ferroinit
from ferroinit import _registry

from .units import two_d

Fns = dict[str, Callable[[], Any]]

#: In-place initializers of the throughput sweep, from the registry.
SWEEP_INITS = tuple(_registry.names(sweep=True))


def try_import(name: str):
    """The module, or None when it is not installed (or fails to import)."""
    try:
        return __import__(name)
    except Exception:  # noqa: BLE001 - any import failure means "not installed" here
        return None


def alloc(dtype: str, n: int) -> np.ndarray:
    """A preallocated 2-D array of ``n`` elements, every page faulted in."""
    x = np.empty(two_d(n), dtype=ferroinit._dtype(dtype))
    x.fill(0.5)  # fault every page in before anything is timed
    return x


def torch_view(torch, x: np.ndarray):
    """A torch tensor sharing ``x``'s memory (bfloat16 through a uint16 view)."""
    if x.dtype.name == "bfloat16":
        return torch.from_numpy(x.view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def ferro_fns(x: np.ndarray, inits=SWEEP_INITS) -> Fns:
    """ferroinit's in-place call on ``x`` for each initializer (its registry arguments)."""
    out = {}
    for name in inits:
        fn, args = getattr(ferroinit, name), _registry.get(name).args
        out[name] = lambda fn=fn, args=args: fn(x, *args)
    return out


def numpy_fns(x: np.ndarray) -> tuple[Fns, dict[str, str]]:
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


def torch_fns(torch, x: np.ndarray, inits=SWEEP_INITS) -> Fns:
    """``torch.nn.init``'s function of the same name on a tensor sharing ``x``'s memory."""
    t = torch_view(torch, x)
    out = {}
    for name in inits:
        e = _registry.get(name)
        if e.family == _registry.TORCH:
            fn = getattr(torch.nn.init, name)
            out[name] = lambda fn=fn, args=e.args: fn(t, *args)
    return out


def jax_fns(jax, x: np.ndarray) -> Fns:
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


class ThreadedFill:
    """``ndarray.fill`` on ``threads`` threads, each writing one block of the array (NumPy
    releases the GIL in a large fill): the fill at the thread count ferroinit and torch use,
    which is the memory bound the targets compare with."""

    def __init__(self, threads: int):
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def __call__(self, x: np.ndarray) -> Callable[[], Any]:
        if self.pool is None or x.size < 1 << 16:
            return lambda: x.fill(0.25)
        blocks = np.array_split(x.reshape(-1), self.threads)
        pool = self.pool
        return lambda: list(pool.map(lambda b: b.fill(0.25), blocks))


def fill_fns(x: np.ndarray, threaded: ThreadedFill, torch=None) -> Fns:
    """The memory bound on ``x``: "fill" is ``ndarray.fill`` on the run's threads,
    "torch_fill" torch's ``fill_`` (same threads), "fill_mt" ``ferroinit.constant_``."""
    out = {"fill": threaded(x), "fill_mt": lambda: ferroinit.constant_(x, 0.25)}
    if torch is not None:
        t = torch_view(torch, x)
        out["torch_fill"] = lambda: t.fill_(0.25)
    return out


#: What the targets call "the fill": the faster of these, measured side by side.
FILLS = ("fill", "torch_fill")


def fill_bound(results: dict[str, dict[str, Any]]) -> float | None:
    """The shortest median time of the fills in one measured group (None if none ran)."""
    times = [results[k]["median_s"] for k in FILLS if k in results]
    return min(times) if times else None
