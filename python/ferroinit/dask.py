"""Dask arrays initialized by ferroinit, chunk by chunk, bitwise equal to the in-memory result.

Every constructor here mirrors an allocating function of :mod:`ferroinit` and returns a lazy
:class:`dask.array.Array`. Each chunk is filled by the Rust kernel as a *shard* of the whole
array (``global_shape`` / ``offset``, see :func:`ferroinit.uniform_`), so::

    ferroinit.dask.normal(shape, chunks=any_chunks, generator=seed).compute()

is bitwise equal to ``ferroinit.normal(shape, generator=seed)`` whatever the chunking, the
scheduler (threads, processes, ``dask.distributed``), the number of workers or their thread
counts. Arrays larger than memory can be written chunk by chunk with :func:`dask.array.store`
or :func:`dask.array.to_zarr`.

The generator is read once, when the graph is built: its state ``(seed, position)`` is baked
into the graph and the generator advances by the global element count right away, exactly as
the in-memory call would. Computing the array later (or twice, or on other machines) always
gives the same values, and the next in-memory call continues the same stream.

Dask is an optional dependency: ``pip install 'ferroinit[dask]'``.

Example:
    >>> import numpy as np
    >>> import ferroinit, ferroinit.dask
    >>> lazy = ferroinit.dask.kaiming_uniform((1000, 300), chunks=(128, 100), generator=0)
    >>> eager = ferroinit.kaiming_uniform((1000, 300), generator=0)
    >>> bool((lazy.compute() == eager).all())
    True
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
from typing import Any

import numpy as np

try:
    import dask.array as da
    from dask.base import tokenize
except ImportError as _e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "ferroinit.dask needs Dask (dask.array), which is not installed: "
        "install it with pip install 'ferroinit[dask]'"
    ) from _e

import ferroinit as _fi
from ferroinit import _forms, _registry

# The constructors' names join this where they are made, from the registry (end of module).
__all__: list[str] = []

Chunks = Any


# --------------------------------------------------------------------------- helpers


def _norm_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"shape must be an int or a sequence of ints, but got {type(shape).__name__}"
        ) from None
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape must contain ints, but got {d!r} in {dims!r}")
        if d < 0:
            raise ValueError(f"negative dimensions are not allowed, but got shape {dims!r}")
        out.append(int(d))
    return tuple(out)


def _layout(shape, chunks, dtype):
    """(shape, dtype, normalized chunks, meta) for a new array."""
    shape = _norm_shape(shape)
    dt = _fi._dtype(dtype)
    # Let the core reject unsupported dtypes with its own message, before any work.
    _fi.empty((0,), dtype=dt)
    norm = da.core.normalize_chunks(chunks, shape, dtype=dt)
    return shape, dt, norm, np.empty((0,) * len(shape), dtype=dt)


def _dtype_name(dt: np.dtype) -> str:
    # "bfloat16" for ml_dtypes.bfloat16 (whose .str is an opaque void code), else the NumPy name
    return str(dt)


def _random_block(block_info=None, *, fn: str, args: tuple, kwargs: dict, dtype: str,
                  state: tuple[int, int]) -> np.ndarray:
    """Fill one chunk: the shard of the global array at this chunk's location."""
    info = block_info[None]
    x = _fi.empty(tuple(info["chunk-shape"]), dtype=dtype)
    if x.size == 0:
        return x
    g = _fi.Generator(state[0])
    g.set_state(state)
    offset = [start for start, _ in info["array-location"]]
    getattr(_fi, fn)(x, *args, generator=g, global_shape=list(info["shape"]), offset=offset,
                     **kwargs)
    return x


def _random(fn: str, shape, args: tuple, kwargs: dict, chunks, dtype, generator) -> da.Array:
    shape, dt, norm, meta = _layout(shape, chunks, dtype)
    g = _fi._gen(generator)
    state = tuple(int(v) for v in g.get_state())
    inplace = getattr(_fi, fn + "_")
    if 0 in shape:
        # Exactly the in-memory call (no-op, warnings included), so nothing differs.
        inplace(_fi.empty(shape, dtype=dt), *args, generator=g, **kwargs)
    else:
        # Validate every parameter and advance the generator by the global count, exactly as
        # the in-memory call does, by filling a one-element shard of the global array.
        inplace(_fi.empty((1,) * len(shape), dtype=dt), *args, generator=g,
                global_shape=list(shape), offset=[0] * len(shape), **kwargs)
    name = f"ferroinit-{fn}-" + tokenize(fn, shape, norm, _dtype_name(dt), args,
                                         sorted(kwargs.items()), state)
    block = functools.partial(_random_block, fn=fn + "_", args=args, kwargs=kwargs,
                              dtype=_dtype_name(dt), state=state)
    return da.map_blocks(block, chunks=norm, dtype=dt, meta=meta, name=name)


# --------------------------------------------------------------------------- deterministic


def _same_block(block_info=None, *, fn: str, args: tuple, dtype: str) -> np.ndarray:
    return getattr(_fi, fn)(tuple(block_info[None]["chunk-shape"]), *args, dtype=dtype)


def _same(fn: str, shape, args: tuple, chunks, dtype) -> da.Array:
    """Every chunk is the allocating form on the chunk's shape (position-independent values)."""
    shape, dt, norm, meta = _layout(shape, chunks, dtype)
    # The same checks as the in-memory call (e.g. a value that overflows the dtype), now.
    getattr(_fi, fn)((1,), *args, dtype=dt)
    name = f"ferroinit-{fn}-" + tokenize(shape, norm, _dtype_name(dt), repr(args))
    block = functools.partial(_same_block, fn=fn, args=args, dtype=_dtype_name(dt))
    return da.map_blocks(block, chunks=norm, dtype=dt, meta=meta, name=name)


def _eye_block(block_info=None, *, dtype: str) -> np.ndarray:
    info = block_info[None]
    x = _fi.zeros(tuple(info["chunk-shape"]), dtype=dtype)
    (r0, r1), (c0, c1) = info["array-location"]
    d = np.arange(max(r0, c0), min(r1, c1))
    x[d - r0, d - c0] = 1
    return x


def _diagonal(shape, chunks, dtype) -> da.Array:
    """The identity's chunks: zeros with the part of the diagonal that crosses them."""
    shape, dt, norm, meta = _layout(shape, chunks, dtype)
    name = "ferroinit-eye-" + tokenize(shape, norm, _dtype_name(dt))
    block = functools.partial(_eye_block, dtype=_dtype_name(dt))
    return da.map_blocks(block, chunks=norm, dtype=dt, meta=meta, name=name)


# --------------------------------------------------------------------------- constructors

_P = inspect.Parameter


def _constructor(entry: _registry.Initializer):
    """The Dask constructor of a registry entry: the in-place function's parameters (no
    shards: the chunks are the shards), ``chunks=`` and ``dtype=``, the generator captured."""
    name = entry.allocating
    extra = [_P("chunks", _P.KEYWORD_ONLY, default="auto", annotation="Chunks"),
             _P("dtype", _P.KEYWORD_ONLY, default="float32")]
    plain = dataclasses.replace(entry, shardable=False)
    sig = _forms.signature(plain, getattr(_fi, entry.name), extra).replace(
        return_annotation="da.Array")
    head = list(entry.matrix_args) or ["shape"]

    def constructor(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        chunks, dtype, generator = a.pop("chunks"), a.pop("dtype"), a.pop("generator", None)
        dims = [a.pop(h) for h in head]
        for d in dims:
            _forms.refuse_array(name, d)
        if entry.matrix_args:
            return _diagonal((dims[0], dims[0] if dims[1] is None else dims[1]), chunks, dtype)
        params = tuple(a.values())
        if entry.dask == "shard":
            return _random(name, dims[0], params, {}, chunks, dtype, generator)
        return _same(name, dims[0], params, chunks, dtype)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__module__ = __name__
    constructor.__signature__ = sig
    constructor.__doc__ = _forms.docstring(
        entry, sig,
        summary=f"A Dask array of :func:`ferroinit.{name}`'s values, chunk by chunk: bitwise "
                f"the in-memory result for the same generator state, whatever the chunking.",
        shape_doc="an int or a sequence of ints: the shape of the whole array (fans and "
                  "values are the whole array's, never a chunk's).",
        args={"chunks": "any chunk specification :func:`dask.array.core.normalize_chunks` "
                        "accepts: ``\"auto\"``, an int, a tuple of ints, or explicit tuples "
                        "of block sizes.",
              "dtype": '``"float16"``, ``"bfloat16"`` (needs ml_dtypes), ``"float32"`` or '
                       '``"float64"``.',
              "generator": "an int seed, a :class:`ferroinit.Generator`, or None for the "
                           "global generator. Its state is captured now and it advances now "
                           "by the global count."},
        returns="A lazy :class:`dask.array.Array`.",
        example=entry.dask_example)
    return constructor


for _entry in _registry.select(dask=True):
    globals()[_entry.allocating] = _constructor(_entry)
    __all__.append(_entry.allocating)
__all__.sort()
del _entry
