"""``jax.nn.initializers`` on ferroinit: the same initializers, eager and under ``jax.jit``.

Every public name of ``jax.nn.initializers`` is here with jax's signature, defaults and
semantics; each builder returns an initializer ``init(key, shape, dtype=None,
out_sharding=None)`` that produces a ``jax.Array``, so the module is a drop-in for flax::

    import flax.linen as nn
    import ferroinit.jax as fij
    layer = nn.Dense(4096, kernel_init=fij.lecun_normal(), bias_init=fij.zeros)

**Values come from the key.** A JAX key (a typed ``jax.random.key`` or a raw ``uint32[2]``
``jax.random.PRNGKey``, both read through ``jax.random.key_data``) with data ``[hi, lo]``
maps to the ferroinit generator with seed ``(hi << 32) | lo`` at position 0
(:func:`generator`), so the values are a pure function of (key, shape, parameters, dtype).
``jax.random.key(s)`` and ``jax.random.PRNGKey(s)`` for ``0 <= s < 2**32`` (any
``s < 2**64`` with ``jax_enable_x64``) have data ``[s >> 32, s & 0xffffffff]``: the stream of
``generator=s`` in the rest of ferroinit. Different keys, ``jax.random.split`` and
``jax.random.fold_in`` children included, have different 64-bit data (jax's Threefry output)
and so different seeds: independent streams, not offsets into one stream.

**Eager** calls write the values straight into Rust-allocated memory that becomes the
``jax.Array`` through DLPack without a copy (the result is committed to the CPU device,
as any ``jnp.from_dlpack`` array; on another device it is ``device_put`` there, one copy).
**Traced** calls (``jax.jit``, ``jax.vmap``, flax's ``jax.jit(model.init)``) go through
``jax.pure_callback``: the same host code fills the result, so jit equals eager bit for bit
(XLA copies a callback's result once); under ``vmap`` over keys each key's slice is what
the eager call with that key gives. ``zeros``, ``ones`` and ``constant`` are jax's own
under a trace (XLA folds them; no callback).

**Semantics are jax's.** Arguments are checked by jax itself: the first call for a given
(key type, shape, dtype) runs jax's initializer under ``jax.eval_shape``, so every error
and warning is jax's (a float64 request without ``jax_enable_x64`` warns and gives float32,
as in jax) and the result has jax's shape and dtype. The parameters are rounded to the
dtype as jax rounds them (``stddev``, ``scale``, variance and bounds), so the laws agree
also in float16/bfloat16. What ferroinit cannot do is done by jax's own initializer, never a
new error: complex dtypes, ``out_sharding``, keys that are not 64 bits (``rbg`` and
``unsafe_rbg`` keys), traced or array-valued parameters (e.g. ``truncated_normal`` bounds
that are arrays), and parameters that make jax return NaN (negative ``variance_scaling``
scale, non-finite values).

Where ferroinit is finer than jax: jax draws float16/bfloat16 uniforms from only
``2**nmant`` values (128 in bfloat16, with 0 at probability 1/128); ferroinit rounds a 24-bit
uniform to the nearest value of the dtype. ``orthogonal`` and ``delta_orthogonal`` also work
in float16/bfloat16, where jax's QR raises on the CPU.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.nn.initializers as _jinit
import numpy as np

import ferroinit as _fi

from ._jax_plans import (  # the machinery; this module holds the public builders
    _TAIL,
    _Fill,
    _finite,
    _in,
    _initializer,
    _inside,
    _keyless,
    _keyless_init,
    _open_cap,
    _real_scalar,
    _toward,
    generator,
)

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "generator",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

#: jax's protocol of the initializers (``init(key, shape, dtype=None, out_sharding=None)``).
Initializer = _jinit.Initializer

Axes = int | Sequence[int]
DTypeLike = Any
#: The standard deviation of the standard normal truncated to (-2, 2) (jax's constant).
_TRUNC_STD_2 = 0.87962566103423978
# --------------------------------------------------------------------------- constant families


def zeros(key, shape, dtype: DTypeLike = None, out_sharding=None) -> jax.Array:
    """An initializer that returns an array full of zeros (``jax.nn.initializers.zeros``).

    The ``key`` is ignored. Eagerly, ferroinit fills Rust-allocated memory that jax takes
    without a copy; under a trace it is jax's ``jnp.zeros``.

    Args:
        key: ignored.
        shape: the shape of the result.
        dtype: the dtype (default: jax's default float dtype).
        out_sharding: as in jax (handled by jax when given).

    Returns:
        A ``jax.Array`` of zeros.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> fij.zeros(jax.random.key(42), (2, 3), jnp.float32)
        Array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    return _zeros(key, shape, dtype, out_sharding)


def ones(key, shape, dtype: DTypeLike = None, out_sharding=None) -> jax.Array:
    """An initializer that returns an array full of ones (``jax.nn.initializers.ones``).

    Args:
        key: ignored.
        shape: the shape of the result.
        dtype: the dtype (default: jax's default float dtype).
        out_sharding: as in jax (handled by jax when given).

    Returns:
        A ``jax.Array`` of ones.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> fij.ones(jax.random.key(42), (3, 2), jnp.float32)
        Array([[1., 1.],
               [1., 1.],
               [1., 1.]], dtype=float32)
    """
    return _ones(key, shape, dtype, out_sharding)


_zeros = _keyless(_jinit.zeros, 0.0, "zeros")
_ones = _keyless(_jinit.ones, 1.0, "ones")


def constant(value, dtype: DTypeLike = None) -> Initializer:
    """Builds an initializer that returns arrays full of ``value``
    (``jax.nn.initializers.constant``).

    ``value`` is converted to the dtype as ``jnp.full`` converts it. A value that is not a
    real scalar (an array to broadcast, a complex number) is jax's ``jnp.full``, as is
    every call under a trace.

    Args:
        value: the constant value with which to fill the initializer.
        dtype: optional; the initializer's default dtype.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> fij.constant(-7)(jax.random.key(42), (2, 3), jnp.float32)
        Array([[-7., -7., -7.],
               [-7., -7., -7.]], dtype=float32)
    """
    jax_init = _jinit.constant(value, dtype)

    def prepare(shape, dt):
        if not _real_scalar(value):
            return None
        v = float(_in(dt, value))
        return _Fill(lambda x, _g: _fi.constant_(x, v))

    return _keyless_init(jax_init, prepare, dtype)


# --------------------------------------------------------------------------- samplers


def uniform(scale=1e-2, dtype: DTypeLike = None) -> Initializer:
    """Builds an initializer that returns uniformly distributed arrays in ``[0, scale)``
    (``jax.nn.initializers.uniform``).

    The values are ``U(0, s)`` with ``s`` the scale rounded to the dtype (as jax multiplies
    by ``jnp.array(scale, dtype)``), never ``s`` itself: ``(s, 0]`` for a negative scale,
    zeros for 0. In float32/float64 a 24-/53-bit uniform times ``s`` never rounds up to
    ``s``; in float16/bfloat16 the few values that round to ``s`` are moved one step toward
    zero.

    Args:
        scale: optional; the upper bound of the random distribution.
        dtype: optional; the initializer's default dtype.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> x = fij.uniform(10.0)(jax.random.key(42), (1000,), jnp.float32)
        >>> bool((x >= 0).all() and (x < 10).all()), x.dtype
        (True, dtype('float32'))
    """

    def prepare(shape, dt):
        if not _real_scalar(scale):
            return None
        s = float(_in(dt, scale))
        if not _finite(s):
            return None
        if s == 0.0:
            return _Fill(lambda x, _g: _fi.constant_(x, 0.0))
        half = dt.itemsize == 2
        lo, hi = (0.0, s) if s > 0 else ((s if half else _toward(dt, s, 0.0)), 0.0)
        if not half:
            return _Fill(lambda x, g: _fi.uniform_(x, lo, hi, generator=g))

        def fill(x, g):
            _fi.uniform_(x, lo, hi, generator=g)
            _open_cap(x, s, dt)

        return _Fill(fill, view=True)

    return _initializer(_jinit.uniform(scale, dtype), prepare, dtype, "uniform")


def normal(stddev=1e-2, dtype: DTypeLike = None) -> Initializer:
    """Builds an initializer that returns normally distributed arrays
    (``jax.nn.initializers.normal``): :math:`\\mathcal{N}(0, \\text{stddev}^2)`, ``stddev``
    rounded to the dtype as jax rounds it.

    Args:
        stddev: optional; the standard deviation of the distribution.
        dtype: optional; the initializer's default dtype.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> x = fij.normal(5.0)(jax.random.key(42), (100_000,), jnp.float32)
        >>> round(float(x.std()), 1)
        5.0
    """

    def prepare(shape, dt):
        if not _real_scalar(stddev):
            return None
        s = abs(float(_in(dt, stddev)))  # N(0, s^2) times -1 is the same law
        if not _finite(s):
            return None
        return _Fill(lambda x, g: _fi.normal_(x, 0.0, s, generator=g))

    return _initializer(_jinit.normal(stddev, dtype), prepare, dtype, "normal")


def _trunc_fill(dt: np.dtype, s: float, lower: float, upper: float) -> _Fill | None:
    """``s * T`` with ``T`` standard normal truncated to the open ``(lower, upper)``."""
    if not _finite(s) or math.isnan(lower) or math.isnan(upper) or not lower < upper:
        return None
    if s == 0.0:
        return _Fill(lambda x, g: _fi.normal_(x, 0.0, 0.0, generator=g))
    if math.isinf(lower):
        lower = min(upper, 0.0) - _TAIL
    if math.isinf(upper):
        upper = max(lower, 0.0) + _TAIL
    a, b = sorted((lower * s, upper * s))
    # jax's values lie in the open interval: the bounds, in the dtype, one step inside.
    a, b = _inside(dt, a, math.inf), _inside(dt, b, -math.inf)
    sd = abs(s)
    if not (_finite(a, b) and a < b):
        return None
    # ferroinit warns as torch does when the mean is far outside [a, b]; jax does not.
    quiet = a > 2 * sd or b < -2 * sd

    def fill(x, g):
        if quiet:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _fi.trunc_normal_(x, 0.0, sd, a, b, generator=g)
        else:
            _fi.trunc_normal_(x, 0.0, sd, a, b, generator=g)

    return _Fill(fill)


def truncated_normal(stddev=1e-2, dtype: DTypeLike = None, lower=-2.0,
                     upper=2.0) -> Initializer:
    """Builds an initializer that returns truncated-normal random arrays
    (``jax.nn.initializers.truncated_normal``).

    The values are ``stddev * T`` with ``T`` standard normal truncated to the open interval
    ``(lower, upper)`` (the bounds apply *before* the multiplication by ``stddev``, and no
    variance correction is applied: the std of the result is less than ``stddev``). The
    parameters are rounded to the dtype as jax rounds them; the bounds of the result, in the
    dtype, are one step inside ``lower * stddev`` and ``upper * stddev``. An infinite bound is
    cut at 40 standard deviations past the other bound (or 0), which drops less than
    ``exp(-800)`` of the mass. Array-valued bounds are jax's.

    Args:
        stddev: optional; the standard deviation of the untruncated distribution.
        dtype: optional; the initializer's default dtype.
        lower: the lower bound for truncation, in units of ``stddev``.
        upper: the upper bound for truncation, in units of ``stddev``.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> x = fij.truncated_normal(5.0)(jax.random.key(42), (10_000,), jnp.float32)
        >>> bool((abs(x) < 10.0).all())
        True
    """

    def prepare(shape, dt):
        if not all(_real_scalar(v) for v in (stddev, lower, upper)):
            return None
        return _trunc_fill(dt, float(_in(dt, stddev)), float(_in(dt, lower)),
                           float(_in(dt, upper)))

    return _initializer(_jinit.truncated_normal(stddev, dtype, lower, upper), prepare, dtype,
                        "truncated_normal")


# --------------------------------------------------------------------------- variance scaling


def variance_scaling(scale, mode: str, distribution: str, in_axis: Axes = -2,
                     out_axis: Axes = -1, batch_axis: Axes = (),
                     dtype: DTypeLike = None) -> Initializer:
    r"""Initializer that adapts its scale to the shape of the weights
    (``jax.nn.initializers.variance_scaling``).

    With ``variance = scale / n``, where ``n`` is, for each ``mode``, ``fan_in``,
    ``fan_out``, ``(fan_in + fan_out) / 2`` (``"fan_avg"``) or ``sqrt(fan_in * fan_out)``
    (``"fan_geo_avg"``), fans by jax's rule over ``in_axis``, ``out_axis`` and
    ``batch_axis`` (other axes are the receptive field), the values are drawn from:

    * ``"truncated_normal"``: :math:`\mathcal{N}(0, \sigma^2)` truncated to
      :math:`(-2\sigma, 2\sigma)`, :math:`\sigma = \sqrt{\text{variance}} / 0.8796256610`,
      so that the std after truncation is :math:`\sqrt{\text{variance}}`;
    * ``"normal"``: :math:`\mathcal{N}(0, \text{variance})`;
    * ``"uniform"``: :math:`\mathcal{U}(-b, b)`, :math:`b = \sqrt{3\,\text{variance}}`.

    As in jax, ``variance`` and the derived std or bound are computed in the dtype (so
    float16 and bfloat16 get jax's rounded parameters). Complex dtypes (a disk for
    ``"uniform"``), negative scales (jax gives NaN) and traced scales are jax's.

    Args:
        scale: scaling factor (positive float).
        mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
        distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
        in_axis: axis or sequence of axes of the input dimension in the weights array.
        out_axis: axis or sequence of axes of the output dimension in the weights array.
        batch_axis: axis or sequence of axes in the weight array that should be ignored.
        dtype: the dtype of the weights.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Raises:
        ValueError: (when called) for an invalid mode or distribution or a shape of fewer
            than 2 dimensions with the default ``in_axis``: jax's errors, from jax.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> init = fij.variance_scaling(2.0, "fan_in", "normal")
        >>> w = init(jax.random.key(0), (3, 3, 64, 128), jnp.float32)  # (*k, in, out)
        >>> round(float(w.std()) * (3 * 3 * 64 / 2) ** 0.5, 2)  # std = sqrt(2 / fan_in)
        1.0
    """

    def prepare(shape, dt):
        if not isinstance(scale, numbers.Real):
            return None
        fan_in, fan_out = _fi.compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out,
                       "fan_avg": (fan_in + fan_out) / 2,
                       "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
        variance = _in(dt, scale / denominator)
        if not _finite(variance) or variance < 0:
            return None
        if distribution == "truncated_normal":
            s = float(np.sqrt(variance) / _in(dt, _TRUNC_STD_2))
            return _trunc_fill(dt, s, -2.0, 2.0)
        if distribution == "normal":
            s = float(np.sqrt(variance))
            return _Fill(lambda x, g: _fi.normal_(x, 0.0, s, generator=g))
        b = float(np.sqrt(_in(dt, 3) * variance))
        if not _finite(b):
            return None
        if b == 0.0:
            return _Fill(lambda x, g: _fi.normal_(x, 0.0, 0.0, generator=g))
        return _Fill(lambda x, g: _fi.uniform_(x, -b, b, generator=g))

    return _initializer(
        _jinit.variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype),
        prepare, dtype, "variance_scaling")


def _specialised(scale: float, mode: str, distribution: str, name: str, alias: str):
    def builder(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (),
                dtype: DTypeLike = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis=in_axis,
                                out_axis=out_axis, batch_axis=batch_axis, dtype=dtype)

    also = f" (aka ``{alias}``)" if alias else ""
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"""Builds jax's ``{name}`` initializer{also}: :func:`variance_scaling`
    with ``scale={scale}``, ``mode="{mode}"``, ``distribution="{distribution}"``.

    Args:
        in_axis: axis or sequence of axes of the input dimension in the weights array.
        out_axis: axis or sequence of axes of the output dimension in the weights array.
        batch_axis: axis or sequence of axes in the weight array that should be ignored.
        dtype: the dtype of the weights.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Example:
        >>> import jax, jax.numpy as jnp, ferroinit.jax as fij
        >>> fij.{name}()(jax.random.key(42), (2, 3), jnp.float32).shape
        (2, 3)
    """
    return builder


glorot_uniform = _specialised(1.0, "fan_avg", "uniform", "glorot_uniform", "xavier_uniform")
glorot_normal = _specialised(1.0, "fan_avg", "truncated_normal", "glorot_normal",
                             "xavier_normal")
lecun_uniform = _specialised(1.0, "fan_in", "uniform", "lecun_uniform", "")
lecun_normal = _specialised(1.0, "fan_in", "truncated_normal", "lecun_normal", "")
he_uniform = _specialised(2.0, "fan_in", "uniform", "he_uniform", "kaiming_uniform")
he_normal = _specialised(2.0, "fan_in", "truncated_normal", "he_normal", "kaiming_normal")
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


# --------------------------------------------------------------------------- orthogonal


def _orthogonal_into(x: np.ndarray, s: float, column_axis: int, g) -> None:
    """jax's orthogonal layout, in place on the C-contiguous NumPy ``x``: the
    ``(size / n_cols, n_cols)`` Q of ``ferroinit.orthogonal_``, ``n_cols = x.shape[c]``,
    reshaped to the other axes and moved to axis ``c``."""
    shape = x.shape
    c = column_axis % len(shape)
    n_cols = shape[c]
    n_rows = math.prod(shape) // n_cols
    if c == len(shape) - 1:
        _fi.orthogonal_(x.reshape(n_rows, n_cols), s, generator=g)
    elif c == 0:  # the column axis leads: the (n_rows, n_cols) matrix is a transposed view
        _fi.orthogonal_(x.reshape(n_cols, n_rows).T, s, generator=g)
    else:
        q = _fi.empty((n_rows, n_cols), dtype=x.dtype)
        _fi.orthogonal_(q, s, generator=g)
        rest = shape[:c] + shape[c + 1:]
        np.copyto(np.moveaxis(x, c, -1), q.reshape(rest + (n_cols,)))


def orthogonal(scale=1.0, column_axis: int = -1, dtype: DTypeLike = None) -> Initializer:
    """Builds an initializer that returns uniformly distributed orthogonal matrices
    (``jax.nn.initializers.orthogonal``).

    The shape (at least 2-D) is read as ``n_rows = size / shape[column_axis]`` by
    ``n_cols = shape[column_axis]``: the matrix is Haar-distributed with orthonormal columns
    when ``n_rows >= n_cols``, orthonormal rows otherwise (the Q of a QR decomposition with
    the signs of ``diag(R)``, by :func:`ferroinit.orthogonal_`), reshaped to the other axes
    and moved to ``column_axis`` as jax does, times ``scale`` (rounded to the dtype). A shape
    with a zero dimension gives zeros. float16/bfloat16 work too (jax's QR refuses them on the
    CPU).

    Args:
        scale: the multiplicative factor of the orthogonal matrix.
        column_axis: the axis that contains the columns that should be orthogonal.
        dtype: the default dtype of the weights.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Raises:
        ValueError: (when called) for a shape of fewer than 2 dimensions: jax's error.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np, ferroinit.jax as fij
        >>> q = fij.orthogonal()(jax.random.key(42), (3, 5), jnp.float32)
        >>> bool(np.allclose(q @ q.T, np.eye(3), atol=1e-6))
        True
    """

    def prepare(shape, dt):
        if not _real_scalar(scale):
            return None
        s = float(_in(dt, scale))
        if not _finite(s):
            return None
        if 0 in shape:
            return _Fill(lambda x, _g: None)
        return _Fill(lambda x, g: _orthogonal_into(x, s, column_axis, g), view=True)

    return _initializer(_jinit.orthogonal(scale, column_axis, dtype), prepare, dtype,
                        "orthogonal")


def delta_orthogonal(scale=1.0, column_axis: int = -1,
                     dtype: DTypeLike = None) -> Initializer:
    """Builds an initializer for delta orthogonal kernels
    (``jax.nn.initializers.delta_orthogonal``; Xiao et al., 2018).

    The shape is a 3-, 4- or 5-D conv kernel ``(*k, in, out)`` with ``in <= out``. Its centre
    tap ``w[(k1 - 1) // 2, ..., :, :]`` is :func:`orthogonal` ``(scale, column_axis)`` on the
    shape ``(in, out)`` (orthonormal rows); every other element is exactly zero. It is
    :func:`ferroinit.delta_orthogonal_`, which has jax's layout.

    Args:
        scale: the multiplicative factor of the orthogonal matrix.
        column_axis: the axis that contains the columns that should be orthogonal.
        dtype: the default dtype of the weights.

    Returns:
        An initializer ``init(key, shape, dtype=dtype, out_sharding=None)``.

    Raises:
        ValueError: (when called) for a shape that is not 3-, 4- or 5-D, or ``in > out``:
            jax's errors.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np, ferroinit.jax as fij
        >>> w = fij.delta_orthogonal()(jax.random.key(42), (3, 3, 4, 8), jnp.float32)
        >>> c = w[1, 1]
        >>> bool(np.allclose(c @ c.T, np.eye(4), atol=1e-6)), float(abs(w).sum() - abs(c).sum())
        (True, 0.0)
    """

    def prepare(shape, dt):
        if not _real_scalar(scale):
            return None
        s = float(_in(dt, scale))
        if not _finite(s):
            return None
        if 0 in shape:
            return _Fill(lambda x, _g: None)
        # ferroinit's delta_orthogonal_ is jax's layout (the centre tap, column_axis on it).
        return _Fill(lambda x, g: _fi.delta_orthogonal_(x, s, column_axis, generator=g))

    return _initializer(_jinit.delta_orthogonal(scale, column_axis, dtype), prepare, dtype,
                        "delta_orthogonal")
