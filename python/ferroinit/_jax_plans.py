"""The machinery of :mod:`ferroinit.jax`: keys to generators, fill plans (the shape and dtype
checks jax's own initializer makes, cached per signature), eager and traced fills, and the
dtype arithmetic that rounds parameters where jax rounds them. Public names live in
:mod:`ferroinit.jax`; this module has none.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import ferroinit as _fi

DTypeLike = Any

#: Where an infinite truncation bound is cut: the normal's mass beyond 40 standard deviations
#: past the other bound (or 0) is below exp(-800) of the kept mass, far below float64's epsilon.
_TAIL = 40.0
_FLOATS = tuple(np.dtype(d) for d in (np.float16, jnp.bfloat16, np.float32, np.float64))
_UINT_OF = {2: np.uint16, 4: np.uint32, 8: np.uint64}
_PLAN_CACHE_SIZE = 512

try:  # jax's own test of "no trace is active"; the probe below is the same test, slower
    from jax._src.core import trace_state_clean as _at_top_level
except ImportError:  # pragma: no cover (a jax without it)

    def _at_top_level() -> bool:
        return not isinstance(jax.lax.stop_gradient(np.uint8(0)), jax.core.Tracer)


# --------------------------------------------------------------------------- keys


def _seed_of(words: np.ndarray) -> int:
    return (int(words[0]) << 32) | int(words[1])


def generator(key) -> _fi.Generator:
    """The ferroinit generator a JAX key maps to: seed ``(data[0] << 32) | data[1]``,
    position 0, where ``data = jax.random.key_data(key)``.

    Every initializer of this module draws from this generator, so for example
    ``normal(1.0)(key, shape)`` holds the values of
    ``ferroinit.normal(shape, std=1.0, generator=generator(key))``.

    Args:
        key: a concrete JAX key: a typed key (``jax.random.key``) or a raw ``uint32[2]`` key
            (``jax.random.PRNGKey``) whose data is 64 bits (threefry2x32, jax's default).

    Returns:
        A new :class:`ferroinit.Generator`.

    Raises:
        ValueError: for a key array of more than one key or with other than 2 words of data
            (``rbg`` keys).

    Example:
        >>> import jax, ferroinit.jax as fij
        >>> g = fij.generator(jax.random.key(42))
        >>> (g.seed, g.position)
        (42, 0)
        >>> fij.generator(jax.random.PRNGKey(42)).seed  # raw keys map alike
        42
    """
    words = np.asarray(jax.random.key_data(key))
    if words.shape != (2,):
        raise ValueError(
            "ferroinit maps a single key with 64 bits of data (threefry2x32) to a generator, "
            f"but got key data of shape {words.shape}"
        )
    return _fi.Generator(_seed_of(words))


# --------------------------------------------------------------------------- plans


class _Fill(NamedTuple):
    """How to fill the result: ``fn(x, generator)`` on ``x`` of the result's shape and dtype,
    a RustBuffer or a NumPy array; ``view`` says ``fn`` needs a NumPy array (it writes parts
    of ``x``), so the eager call allocates one and exports its Rust-owned base."""

    fn: Callable[[Any, _fi.Generator | None], Any]
    view: bool = False


#: ``prepare(shape, dtype) -> _Fill | None``: None hands the call to jax's initializer.
Prepare = Callable[[tuple, np.dtype], _Fill | None]


class _Plan(NamedTuple):
    shape: tuple
    dtype: np.dtype
    fill: _Fill
    raw_key: bool  # the key is its own data (a uint32 array), not a typed key


def _cache_key(*parts):
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


def _key_words(key_aval) -> int | None:
    """Words of data per key of this (shape, dtype), or None for a key jax would refuse."""
    if jax.dtypes.issubdtype(key_aval.dtype, jax.dtypes.prng_key):
        words = jax.eval_shape(jax.random.key_data, key_aval).shape
        return words[-1] if words else None
    if key_aval.dtype == np.uint32 and key_aval.shape:
        return key_aval.shape[-1]
    return None


class _Planner:
    """Validation by jax (``jax.eval_shape`` of jax's initializer), cached per call signature.

    The cache holds the plan (or None: jax's initializer does the call) and the warnings jax
    gave, re-issued on every call as jax would."""

    def __init__(self, jax_init, prepare: Prepare, *, keyed: bool = True):
        self.jax_init = jax_init
        self.prepare = prepare
        self.keyed = keyed
        self.cache: dict = {}

    def plan(self, key, shape, dtype) -> _Plan | None:
        key_type = None
        if self.keyed:
            if not (hasattr(key, "shape") and hasattr(key, "dtype")):
                return None  # not an array: jax says what it thinks of it
            key_type = (tuple(key.shape), key.dtype)
        try:
            shape_key = tuple(shape)
        except TypeError:
            shape_key = shape
        x64 = jax.dtypes.canonicalize_dtype(np.float64)
        ck = _cache_key(key_type, shape_key, dtype, x64)
        hit = self.cache.get(ck) if ck is not None else None
        if hit is None:
            key_aval = None if key_type is None else jax.ShapeDtypeStruct(*key_type)
            hit = self._make(key_aval, shape, dtype)
            if ck is not None:
                if len(self.cache) >= _PLAN_CACHE_SIZE:
                    self.cache.clear()
                self.cache[ck] = hit
        plan, caught = hit
        for message, category in caught:
            warnings.warn(message, category, stacklevel=4)
        return plan

    def _make(self, key_aval, shape, dtype):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if key_aval is None:
                out = jax.eval_shape(lambda: self.jax_init(None, shape, dtype))
            else:
                out = jax.eval_shape(lambda k: self.jax_init(k, shape, dtype), key_aval)
        caught = tuple((w.message, w.category) for w in caught)
        dt = np.dtype(out.dtype)
        if dt not in _FLOATS or any(d < 0 for d in out.shape):  # jax fails when it compiles
            return None, caught
        raw_key = False
        if key_aval is not None:
            if _key_words(key_aval) != 2:
                return None, caught
            raw_key = not jax.dtypes.issubdtype(key_aval.dtype, jax.dtypes.prng_key)
        fill = self.prepare(tuple(out.shape), dt)
        if fill is None:
            return None, caught
        return _Plan(tuple(out.shape), dt, fill, raw_key), caught


def _eager(plan: _Plan, gen: _fi.Generator | None):
    if plan.fill.view:
        a = _fi.empty(plan.shape, dtype=plan.dtype)
        plan.fill.fn(a, gen)
        buf = a.base if isinstance(a.base, _fi._core.RustBuffer) else a
    else:
        buf = _fi.empty(plan.shape, dtype=plan.dtype, dlpack=True)
        plan.fill.fn(buf, gen)
    return jnp.from_dlpack(buf)


def _host_fill(plan: _Plan, words: np.ndarray) -> np.ndarray:
    """The callback: ``words`` is ``uint32[*batch, 2]`` (vmap adds the batch dims)."""
    words = np.asarray(words)
    batch = words.shape[:-1]
    out = _fi.empty(batch + plan.shape, dtype=plan.dtype)
    for idx in np.ndindex(*batch):
        plan.fill.fn(out[idx + (Ellipsis,)], _fi.Generator(_seed_of(words[idx])))
    return out


def _initializer(jax_init, prepare: Prepare, default_dtype, name: str):
    planner = _Planner(jax_init, prepare)

    def init(key, shape, dtype: DTypeLike = default_dtype, out_sharding=None) -> jax.Array:
        if out_sharding is not None:
            return jax_init(key, shape, dtype, out_sharding)
        plan = planner.plan(key, shape, dtype)
        if plan is None:
            return jax_init(key, shape, dtype)
        words = key if plan.raw_key else jax.random.key_data(key)
        if isinstance(words, jax.core.Tracer) or not _at_top_level():
            return jax.pure_callback(
                lambda w: _host_fill(plan, w),
                jax.ShapeDtypeStruct(plan.shape, plan.dtype),
                words,
                vmap_method="expand_dims",
            )
        host_words = np.asarray(words)
        out = _eager(plan, _fi.Generator(_seed_of(host_words)))
        return _follow_key(out, words)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = f"ferroinit's ``{name}`` initializer: ``init(key, shape, dtype)``."
    return init


def _follow_key(out, words):
    """jax computes where the key lives: a key on another device gets the result there."""
    if isinstance(words, jax.Array):
        devices = words.devices()
        if len(devices) == 1:
            (device,) = devices
            if device.platform != "cpu":
                return jax.device_put(out, device)
    return out


def _keyless_init(jax_init, prepare, default_dtype: DTypeLike = None):
    """The initializer of a keyless jax initializer (``zeros``, ``ones``, ``constant``): the
    key is ignored, as in jax; under a trace (or with ``out_sharding``) it is jax's own (XLA
    folds it), eagerly ferroinit's fill of ``prepare``'s plan where it has one."""
    planner = _Planner(jax_init, prepare, keyed=False)

    def init(key, shape, dtype: DTypeLike = default_dtype, out_sharding=None) -> jax.Array:
        if out_sharding is not None or not _at_top_level():
            return jax_init(key, shape, dtype, out_sharding)
        plan = planner.plan(key, shape, dtype)
        if plan is None:
            return jax_init(key, shape, dtype)
        return _eager(plan, None)

    return init


def _keyless(jax_init, fill_value: float, name: str):
    init = _keyless_init(jax_init, lambda shape, dt: _Fill(
        lambda x, _g: _fi.constant_(x, fill_value)))
    init.__name__ = init.__qualname__ = name
    return init


# --------------------------------------------------------------------------- dtype arithmetic


def _real_scalar(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return True
    if isinstance(v, numbers.Real):
        return True
    return (isinstance(v, (np.ndarray, np.generic, jax.Array)) and np.ndim(v) == 0
            and not isinstance(v, jax.core.Tracer)
            and not np.issubdtype(np.asarray(v).dtype, np.complexfloating))


def _in(dt: np.dtype, v) -> Any:
    """``v`` rounded to ``dt`` as ``jnp.array(v, dt)`` rounds it: a NumPy scalar of ``dt``."""
    return np.asarray(v).astype(dt)[()]


def _toward(dt: np.dtype, v, target: float) -> float:
    """The value of ``dt`` next to ``v`` (a value of ``dt``) toward ``target``."""
    return float(np.nextafter(_in(dt, v), _in(dt, target)))


def _inside(dt: np.dtype, v: float, target: float) -> float:
    """The value of ``dt`` nearest to ``v`` strictly between ``v`` and ``target``."""
    r = float(_in(dt, v))
    if (r <= v) if target > v else (r >= v):
        r = _toward(dt, r, target)
    return r


def _finite(*vs) -> bool:
    return all(math.isfinite(float(v)) for v in vs)


def _open_cap(x, bound: float, dt: np.dtype) -> None:
    """Move values equal to ``bound`` one step toward zero, in place (NumPy ``x``).

    ``x`` holds values between 0 and ``bound``; on one side of zero the bit pattern orders
    the magnitudes, so an integer minimum on it is the cap."""
    ints = x.view(_UINT_OF[dt.itemsize])
    cap = np.asarray(_toward(dt, bound, 0.0)).astype(dt).view(ints.dtype)
    np.minimum(ints, cap, out=ints)
