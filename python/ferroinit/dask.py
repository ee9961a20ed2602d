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

import functools
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

__all__ = [
    "constant",
    "eye",
    "kaiming_normal",
    "kaiming_uniform",
    "normal",
    "ones",
    "trunc_normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

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


# --------------------------------------------------------------------------- random


def uniform(shape, a: float = 0.0, b: float = 1.0, *, chunks: Chunks = "auto",
            dtype="float32", generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array of values from the uniform distribution :math:`\mathcal{U}(a, b)`.

    Chunk by chunk, the values of :func:`ferroinit.uniform` with the same generator state.

    Args:
        shape: an int or a sequence of ints: the shape of the whole array.
        a: the lower bound of the uniform distribution.
        b: the upper bound of the uniform distribution.
        chunks: any chunk specification :func:`dask.array.core.normalize_chunks` accepts:
            ``"auto"``, an int, a tuple of ints, or explicit tuples of block sizes.
        dtype: ``"float16"``, ``"bfloat16"`` (needs ml_dtypes), ``"float32"`` or ``"float64"``.
        generator: an int seed, a :class:`ferroinit.Generator`, or None for the global
            generator. Its state is captured now and it advances now by the global count.

    Returns:
        A lazy :class:`dask.array.Array` of ``shape``.

    Example:
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.uniform((6, 10), -1.0, 1.0, chunks=(4, 4), generator=7)
        >>> x.numblocks
        (2, 3)
        >>> bool((x.compute() == ferroinit.uniform((6, 10), -1.0, 1.0, generator=7)).all())
        True
    """
    return _random("uniform", shape, (a, b), {}, chunks, dtype, generator)


def normal(shape, mean: float = 0.0, std: float = 1.0, *, chunks: Chunks = "auto",
           dtype="float32", generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array of values from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Chunk by chunk, the values of :func:`ferroinit.normal` with the same generator state.

    Args:
        shape: the shape of the whole array.
        mean: the mean of the normal distribution.
        std: the standard deviation of the normal distribution.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit, ferroinit.dask
        >>> g = ferroinit.Generator(1)
        >>> x = ferroinit.dask.normal((1000, 100), chunks=(300, 70), dtype="float64", generator=g)
        >>> g.position  # advanced at construction by ceil(100000 / 2) blocks, as ferroinit.normal
        50000
        >>> bool((x.compute() == ferroinit.normal((1000, 100), dtype="float64", generator=1)).all())
        True
    """
    return _random("normal", shape, (mean, std), {}, chunks, dtype, generator)


def trunc_normal(shape, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                 *, chunks: Chunks = "auto", dtype="float32",
                 generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array of values from a normal distribution truncated to ``[a, b]``.

    Chunk by chunk, the values of :func:`ferroinit.trunc_normal` with the same generator state.

    Args:
        shape: the shape of the whole array.
        mean: the mean of the normal distribution.
        std: the standard deviation of the normal distribution.
        a: the minimum cutoff value.
        b: the maximum cutoff value.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> x = ferroinit.dask.trunc_normal((500, 500), std=0.02, a=-0.04, b=0.04, chunks=128,
        ...                                 generator=0)
        >>> bool(abs(x).max().compute() <= 0.04)
        True
    """
    return _random("trunc_normal", shape, (mean, std, a, b), {}, chunks, dtype, generator)


def xavier_uniform(shape, gain: float = 1.0, *, chunks: Chunks = "auto", dtype="float32",
                   generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array from the Xavier (Glorot) uniform distribution.

    :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}`, the fans
    of the whole ``shape`` (never of a chunk).

    Args:
        shape: the shape of the whole array (at least 2 dimensions).
        gain: an optional scaling factor.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.xavier_uniform((64, 32, 3, 3), chunks=(16, 8, 3, 3), generator=2)
        >>> bool((x.compute() == ferroinit.xavier_uniform((64, 32, 3, 3), generator=2)).all())
        True
    """
    return _random("xavier_uniform", shape, (gain,), {}, chunks, dtype, generator)


def xavier_normal(shape, gain: float = 1.0, *, chunks: Chunks = "auto", dtype="float32",
                  generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array from the Xavier (Glorot) normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}`,
    the fans of the whole ``shape``.

    Args:
        shape: the shape of the whole array (at least 2 dimensions).
        gain: an optional scaling factor.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> x = ferroinit.dask.xavier_normal((400, 600), chunks=(100, 600), generator=0)
        >>> round(float(x.std().compute()), 3)
        0.045
    """
    return _random("xavier_normal", shape, (gain,), {}, chunks, dtype, generator)


def kaiming_uniform(shape, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, chunks: Chunks = "auto",
                    dtype="float32", generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array from the Kaiming (He) uniform distribution.

    :math:`\mathcal{U}(-\text{bound}, \text{bound})` with
    :math:`\text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}`, the fan of the
    whole ``shape``.

    Args:
        shape: the shape of the whole array (at least 2 dimensions).
        a: the negative slope of the rectifier used after this layer (only with
            ``'leaky_relu'``).
        mode: ``'fan_in'`` (default) or ``'fan_out'``.
        nonlinearity: the non-linear function (`nn.functional` name).
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.kaiming_uniform((300, 200), a=5 ** 0.5, chunks=(64, 50), generator=4)
        >>> y = ferroinit.kaiming_uniform((300, 200), a=5 ** 0.5, generator=4)
        >>> bool((x.compute() == y).all())
        True
    """
    return _random("kaiming_uniform", shape, (a, mode, nonlinearity), {}, chunks, dtype,
                   generator)


def kaiming_normal(shape, a: float = 0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", *, chunks: Chunks = "auto",
                   dtype="float32", generator: _fi.GeneratorLike = None) -> da.Array:
    r"""A Dask array from the Kaiming (He) normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}`, the fan of the whole
    ``shape``.

    Args:
        shape: the shape of the whole array (at least 2 dimensions).
        a: the negative slope of the rectifier used after this layer (only with
            ``'leaky_relu'``).
        mode: ``'fan_in'`` (default) or ``'fan_out'``.
        nonlinearity: the non-linear function (`nn.functional` name).
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).
        generator: an int seed, a :class:`ferroinit.Generator`, or None (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.kaiming_normal((512, 200), mode="fan_out", nonlinearity="relu",
        ...                                   chunks=(100, 64), generator=0)
        >>> round(float(x.std().compute()) * 512 ** 0.5, 1)
        1.4
    """
    return _random("kaiming_normal", shape, (a, mode, nonlinearity), {}, chunks, dtype,
                   generator)


# --------------------------------------------------------------------------- constant


def _constant_block(block_info=None, *, val: float, dtype: str) -> np.ndarray:
    return _fi.constant(tuple(block_info[None]["chunk-shape"]), val, dtype=dtype)


def constant(shape, val: float, *, chunks: Chunks = "auto", dtype="float32") -> da.Array:
    r"""A Dask array filled with ``val`` (as :func:`ferroinit.constant`).

    Args:
        shape: the shape of the whole array.
        val: the value to fill with (NaN and infinities allowed, as in torch).
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> ferroinit.dask.constant((2, 3), 0.5, chunks=2).compute()
        array([[0.5, 0.5, 0.5],
               [0.5, 0.5, 0.5]], dtype=float32)
    """
    shape, dt, norm, meta = _layout(shape, chunks, dtype)
    val = float(val)
    # The same checks as the in-memory call (e.g. a value that overflows the dtype), now.
    _fi.constant((1,), val, dtype=dt)
    name = "ferroinit-constant-" + tokenize(shape, norm, _dtype_name(dt), repr(val))
    block = functools.partial(_constant_block, val=val, dtype=_dtype_name(dt))
    return da.map_blocks(block, chunks=norm, dtype=dt, meta=meta, name=name)


def zeros(shape, *, chunks: Chunks = "auto", dtype="float32") -> da.Array:
    r"""A Dask array filled with 0 (as :func:`ferroinit.zeros`).

    Args:
        shape: the shape of the whole array.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> ferroinit.dask.zeros(3, dtype="float64").compute()
        array([0., 0., 0.])
    """
    return constant(shape, 0.0, chunks=chunks, dtype=dtype)


def ones(shape, *, chunks: Chunks = "auto", dtype="float32") -> da.Array:
    r"""A Dask array filled with 1 (as :func:`ferroinit.ones`).

    Args:
        shape: the shape of the whole array.
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> ferroinit.dask.ones(3, chunks=2).compute()
        array([1., 1., 1.], dtype=float32)
    """
    return constant(shape, 1.0, chunks=chunks, dtype=dtype)


def _eye_block(block_info=None, *, dtype: str) -> np.ndarray:
    info = block_info[None]
    x = _fi.zeros(tuple(info["chunk-shape"]), dtype=dtype)
    (r0, r1), (c0, c1) = info["array-location"]
    d = np.arange(max(r0, c0), min(r1, c1))
    x[d - r0, d - c0] = 1
    return x


def eye(n: int, m: int | None = None, *, chunks: Chunks = "auto",
        dtype="float32") -> da.Array:
    r"""A Dask array holding the ``n x m`` identity (as :func:`ferroinit.eye`).

    Args:
        n: the number of rows.
        m: the number of columns (default ``n``).
        chunks: the chunking (see :func:`uniform`).
        dtype: the float dtype (see :func:`uniform`).

    Returns:
        A lazy :class:`dask.array.Array`.

    Example:
        >>> import ferroinit.dask
        >>> ferroinit.dask.eye(3, 4, chunks=2).compute()
        array([[1., 0., 0., 0.],
               [0., 1., 0., 0.],
               [0., 0., 1., 0.]], dtype=float32)
    """
    shape, dt, norm, meta = _layout((n, n if m is None else m), chunks, dtype)
    name = "ferroinit-eye-" + tokenize(shape, norm, _dtype_name(dt))
    block = functools.partial(_eye_block, dtype=_dtype_name(dt))
    return da.map_blocks(block, chunks=norm, dtype=dt, meta=meta, name=name)
