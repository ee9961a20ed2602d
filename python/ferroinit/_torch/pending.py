"""Deferred fills: what ferroinit has promised to write into torch tensors but not yet written.

Under :func:`ferroinit.torch.accelerate` a routed fill is recorded here (its key already drawn,
the version counter already bumped) and written later, when

- torch code touches the tensor's memory (any op on any view of it except pure metadata and
  the transforms below): the fill is written first, so torch sees exactly what it would have;
- a later fill overwrites the same tensor entirely: the earlier one is dropped unwritten (a
  module's ``reset_parameters`` followed by the library's own init writes each tensor once);
- the block exits, or :func:`flush` is called.

A pending fill also absorbs what init code does right after it, where the law of the result
is again a distribution ferroinit samples: ``mul_``/``div_``/``add_``/``sub_`` by a Python
number, ``erfinv_`` of a uniform in ``[-1, 1]`` (timm's ``trunc_normal_``), ``clamp_`` that
cuts off only what has (below ``2**-40``) no mass. Such a chain becomes one fill, written once,
with its law computed in float64 and rounded once to the dtype.

Fills are recorded per thread (torch's function modes are per thread); a tensor with a pending
fill must not be read from another thread before the block exits.
"""

from __future__ import annotations

import math
import threading
from statistics import NormalDist
from typing import Any

import torch

from .. import _core
from . import tensors as _t

# A clamp that cuts off less probability than this is a truncation (no atoms worth a sample).
_NEGLIGIBLE_MASS = 2.0**-40
# Beyond this many stds a window bound cuts nothing ferroinit's normal kernels produce
# (float32: |z| <= 6.66, float64: |z| <= 8.57), so the truncated normal is the normal.
_NO_TAIL_SIGMAS = 9.0
_STD_NORMAL = NormalDist()


class Fill:
    """One pending fill of the tensor whose detached alias it holds."""

    __slots__ = ("alias", "dtype", "geom", "key", "kind", "nbytes", "params", "skey", "vrange")

    def __init__(self, t: torch.Tensor, skey: int, kind: str, params: tuple, key: int | None,
                 vrange: tuple[float, float] | None = None):
        with torch._C.DisableTorchFunction():
            # A detached alias of its own: it keeps the storage alive (the core writes the
            # memory by address) even if ``t.data`` or ``t.set_()`` moves ``t``.
            self.alias = t.detach()
            self.nbytes = self.alias.untyped_storage().nbytes()
        self.skey = skey
        self.geom = geometry(t)
        self.dtype = t.dtype
        self.kind, self.params, self.key = kind, params, key
        #: Bounds every value is known to respect, or None.
        self.vrange = vrange

    def live(self) -> bool:
        """False when the storage was resized or freed behind torch's ops
        (``storage.resize_(0)`` as FSDP does): what the fill would have written is gone."""
        with torch._C.DisableTorchFunction():
            st = self.alias.untyped_storage()
            return st.data_ptr() == self.skey and st.nbytes() >= self.nbytes

    def job(self) -> tuple | None:
        """This fill as a ``_core.fill_many`` job, or None for a ``call`` fill."""
        if self.kind == "call":
            return None
        ptr, shape, stride, dtype = self.geom
        return (ptr, _t.DTYPE_NAME[dtype], shape, stride, self.kind, self.params, self.key or 0)

    def write(self) -> None:
        if not self.live():
            return
        job = self.job()
        if job is not None:
            _core.fill_many([job])
            return
        fn, args, kwargs = self.params  # (function of ferroinit's public API, args, kwargs)
        if self.key is not None:
            kwargs = {**kwargs, "generator": _core.Generator(self.key)}
        fn(_t.target(self.alias), *args, **kwargs)


def geometry(t: torch.Tensor) -> tuple:
    with torch._C.DisableTorchFunction():
        return (t.data_ptr(), tuple(t.shape), t.stride(), t.dtype)


def _covers_storage(t: torch.Tensor) -> bool:
    with torch._C.DisableTorchFunction():
        return t.is_contiguous() and (
            t.numel() * t.element_size() == t.untyped_storage().nbytes()
        )


class Registry:
    """The pending fills of one thread, by storage, and materialize's watch (if any)."""

    def __init__(self):
        self.fills: dict[int, list[Fill]] = {}
        self.watch: Any = None  # a materialize tracker with written()/written_index()
        self.depth = 0  # accelerate scopes open in this thread

    # ---------------------------------------------------------------- recording

    def record(self, t: torch.Tensor, kind: str, params: tuple, key: int | None,
               vrange=None, defer: bool = True) -> None:
        """Promise a fill of all of ``t``: the earlier pending fills it overwrites entirely are
        dropped, the others on its memory are written first."""
        skey = _t.storage_key(t)
        old = self.fills.get(skey)
        if old:
            if _covers_storage(t):
                del self.fills[skey]
            else:
                g = geometry(t)
                keep = [f for f in old if f.geom != g]
                del self.fills[skey]
                self._write(keep)
        f = Fill(t, skey, kind, params, key, vrange)
        _t.bump(t)
        if self.watch is not None:
            self.watch.written(t)
        if defer and skey:
            self.fills.setdefault(skey, []).append(f)
        else:
            f.write()

    def touch(self, t) -> None:
        """Write the pending fills on ``t``'s memory (torch is about to see it)."""
        if self.fills:
            fs = self.fills.pop(_t.storage_key(t), None)
            if fs:
                self._write(fs)

    def sole(self, t: torch.Tensor) -> Fill | None:
        """The pending fill that covers exactly ``t`` (same view), if it is the only one."""
        fs = self.fills.get(_t.storage_key(t))
        if fs and len(fs) == 1 and fs[0].geom == geometry(t):
            return fs[0]
        return None

    def flush(self) -> None:
        """Write every pending fill of this thread, in the order they were recorded."""
        while self.fills:
            fills = [f for fs in self.fills.values() for f in fs]
            self.fills = {}
            self._write(fills)

    def _write(self, fills: list[Fill]) -> None:
        """Write ``fills`` (in recorded order per storage) in rounds: round ``i`` holds the
        ``i``-th fill of every storage, so a round's fills are on distinct memory and the core
        writes them in one call (one GIL release, parallel across tensors), while the later
        fills of one storage still land after the earlier ones. A failure (Ctrl-C) leaves the
        round and the later ones pending (writing one again writes the same values)."""
        rounds: list[list[Fill]] = []
        depth: dict[int, int] = {}
        for f in fills:
            i = depth.get(f.skey, 0)
            depth[f.skey] = i + 1
            if i == len(rounds):
                rounds.append([])
            rounds[i].append(f)
        for r, fs in enumerate(rounds):
            try:
                live = [f for f in fs if f.live()]
                jobs = [j for j in (f.job() for f in live) if j is not None]
                if jobs:
                    _core.fill_many(jobs)
                for f in live:
                    if f.kind == "call":
                        f.write()
            except BaseException:
                for g in (f for later in rounds[r:] for f in later):
                    self.fills.setdefault(g.skey, []).append(g)
                raise

    # ---------------------------------------------------------------- absorbing transforms

    def absorb(self, f: Fill, op: str, *values: float) -> bool:
        """Fold ``op`` (``"scale"``, ``"shift"``, ``"erfinv"``, ``"clamp"``) into the pending
        fill ``f`` when the result's law is again one ferroinit samples in this dtype."""
        new = _transformed(f.kind, f.params, op, values)
        if new is None:
            return False
        kind, params, vrange = new
        kind, params = _normalized(kind, params)
        if not _in_range(kind, params, _t.FINITE_MAX[f.dtype]):
            return False
        f.kind, f.params, f.vrange = kind, params, vrange
        return True


_local = threading.local()


def registry() -> Registry:
    try:
        return _local.r
    except AttributeError:
        _local.r = Registry()
        return _local.r


def flush() -> None:
    """Write every fill this thread has pending."""
    registry().flush()


# -------------------------------------------------------------------- the laws of transforms


def erfinv(y: float) -> float:
    """The inverse error function of a Python float (``+-inf`` at ``+-1``)."""
    if y <= -1.0:
        return -math.inf
    if y >= 1.0:
        return math.inf
    if y == 0.0:
        return 0.0
    # erfinv(y) = -ppf((1 - |y|) / 2) / sqrt(2), from the lower tail for precision.
    z = -_STD_NORMAL.inv_cdf((1.0 - abs(y)) / 2.0) / math.sqrt(2.0)
    return math.copysign(z, y)


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _mass_outside(mean, std, a, b, lo, hi) -> float:
    """P(X < lo or X > hi) for X ~ N(mean, std^2) truncated to [a, b]."""
    za, zb = (a - mean) / std, (b - mean) / std
    total = _phi(zb) - _phi(za) if za < 0 else _phi(-za) - _phi(-zb)
    if total <= 0:
        return 1.0
    below = max(0.0, _phi(min((lo - mean) / std, zb)) - _phi(za)) if lo > a else 0.0
    above = max(0.0, _phi(-max((hi - mean) / std, za)) - _phi(-zb)) if hi < b else 0.0
    return (below + above) / total


def _transformed(kind, params, op, values):
    """(kind, params, vrange) of the law after ``op``, or None when it is not one we fill."""
    if op == "scale":
        (c,) = values
        if not math.isfinite(c) or c == 0:
            return None
        if kind == "normal":
            m, s = params
            return "normal", (m * c, s * abs(c)), None
        if kind == "uniform":
            a, b = sorted((params[0] * c, params[1] * c))
            return ("uniform", (a, b), (a, b)) if a < b else None
        if kind == "trunc_normal":
            m, s, a, b = params
            a, b = sorted((a * c, b * c))
            return "trunc_normal", (m * c, s * abs(c), a, b), (a, b)
        return None
    if op == "shift":
        (c,) = values
        if not math.isfinite(c):
            return None
        if kind == "normal":
            return "normal", (params[0] + c, params[1]), None
        if kind == "uniform":
            a, b = params[0] + c, params[1] + c
            return ("uniform", (a, b), (a, b)) if a < b else None
        if kind == "trunc_normal":
            m, s, a, b = params
            return "trunc_normal", (m + c, s, a + c, b + c), (a + c, b + c)
        return None
    if op == "erfinv":
        # erfinv(U(a, b)) for -1 <= a < b <= 1 is N(0, 1/2) truncated to [erfinv a, erfinv b]:
        # P(erfinv U <= x) = (erf x - a) / (b - a), and erf x = 2 Phi(x sqrt 2) - 1.
        if kind == "uniform" and -1.0 <= params[0] < params[1] <= 1.0:
            s = math.sqrt(0.5)
            a, b = erfinv(params[0]), erfinv(params[1])
            return "trunc_normal", (0.0, s, a, b), (a, b)
        return None
    if op == "clamp":
        lo, hi = values
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            return None
        if kind == "uniform":
            a, b = params
            return ("uniform", params, (a, b)) if lo <= a and b <= hi else None
        if kind in ("normal", "trunc_normal"):
            m, s, a, b = params if kind == "trunc_normal" else (*params, -math.inf, math.inf)
            if lo <= a and b <= hi:
                return kind, params, (a, b) if kind == "trunc_normal" else None
            if _mass_outside(m, s, a, b, lo, hi) >= _NEGLIGIBLE_MASS:
                return None  # a real clamp: its atoms at the bounds are torch's to make
            a, b = max(a, lo), min(b, hi)
            return ("trunc_normal", (m, s, a, b), (a, b)) if a < b else None
        return None
    return None


def _normalized(kind, params):
    """The kernel a law is filled with: a window wider than the normal kernels reach is the
    normal itself; an infinite bound becomes a finite one that cuts no mass."""
    if kind != "trunc_normal":
        return kind, params
    m, s, a, b = params
    if (a - m) / s <= -_NO_TAIL_SIGMAS and (b - m) / s >= _NO_TAIL_SIGMAS:
        return "normal", (m, s)
    a = a if math.isfinite(a) else m - 40.0 * s
    b = b if math.isfinite(b) else m + 40.0 * s
    return kind, (m, s, a, b)


def _in_range(kind, params, finite_max: float) -> bool:
    """Whether every value of the law is finite in the dtype (torch would give inf
    otherwise, ferroinit saturates: such calls stay torch's)."""
    if not all(math.isfinite(p) for p in params):
        return False
    if kind == "normal":
        m, s = params
        return s > 0 and abs(m) + _NO_TAIL_SIGMAS * s <= finite_max
    if kind == "uniform":
        a, b = params
        return a < b and max(abs(a), abs(b)) <= finite_max / 2
    if kind == "trunc_normal":
        m, s, a, b = params
        return s > 0 and a < b and max(abs(a), abs(b), abs(m)) <= finite_max
    return True
