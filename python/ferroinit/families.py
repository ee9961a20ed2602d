"""The JAX and Keras initializer families, with their exact semantics.

``jax.nn.initializers`` (``variance_scaling`` and its specialisations ``lecun_*``,
``glorot_*``, ``he_*``, and ``delta_orthogonal``) and Keras' ``Identity`` and ``Orthogonal``,
as in-place ``name_(x, ...)`` and allocating ``name(shape, ...)`` functions over NumPy arrays.
They are a thin layer over the core samplers (:func:`ferroinit.trunc_normal_`,
:func:`ferroinit.normal_`, :func:`ferroinit.uniform_`, :func:`ferroinit.orthogonal_`) with
computed parameters, so they follow the usual generator rules: ``generator=`` is an int seed,
a :class:`ferroinit.Generator` (its position advances exactly as the underlying sampler's
does) or None for the global generator.

Kernel layouts. JAX and Keras store a conv kernel as ``(*k, in, out)``, torch as
``(out, in, *k)``. The fans follow the axis parameters (``in_axis``, ``out_axis``,
``batch_axis``; every other axis is receptive field), so both layouts get the right fans:
the defaults ``in_axis=-2, out_axis=-1`` fit ``(*k, in, out)``, and ``in_axis=1, out_axis=0``
fit torch's ``(out, in, *k)``.

Names that would collide with the torch API are not reused: JAX's ``xavier_*``/``kaiming_*``
aliases are :func:`glorot_uniform_`/:func:`he_uniform_` etc. here (torch's ``xavier_*`` and
``kaiming_*`` keep torch's meaning), and Keras' ``Orthogonal`` is :func:`keras_orthogonal_`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

import ferroinit as _fi
from ferroinit import _core, _forms, _registry

# The initializers' names join this where their allocating forms are made (the registry).
__all__ = ["compute_fans"]

Axes = int | Sequence[int]

#: Standard deviation of the standard normal truncated to (-2, 2); JAX's constant.
TRUNC_STD_2 = 0.87962566103423978

_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


def _shape_of(x_or_shape: Any) -> tuple[int, ...]:
    if isinstance(x_or_shape, numbers.Integral):
        return (int(x_or_shape),)
    if hasattr(x_or_shape, "shape"):
        return tuple(int(d) for d in x_or_shape.shape)
    return tuple(int(d) for d in x_or_shape)


def _axis_size(shape: tuple[int, ...], axis: Axes, name: str) -> int:
    """``shape[axis]`` for an int axis, the product over a sequence of axes (JAX's rule)."""
    axes = [axis] if isinstance(axis, numbers.Integral) else list(axis)
    size = 1
    for a in axes:
        if not isinstance(a, numbers.Integral) or isinstance(a, bool):
            raise TypeError(f"{name} must be an int or a sequence of ints, but got {axis!r}")
        if not -len(shape) <= int(a) < len(shape):
            raise IndexError(
                f"{name} {int(a)} is out of range for a {len(shape)}-dimensional shape {shape}"
            )
        size *= shape[int(a)]
    return size


def _finite(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, but got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, but got {value!r}")
    return v


def _as_ndarray(x):
    """A NumPy view of a ``RustBuffer`` (what an allocating form fills with ``dlpack=True``),
    for the steps NumPy does here; any other array as it is."""
    if not isinstance(x, _core.RustBuffer):
        return x
    if x.dtype != "bfloat16":
        return np.from_dlpack(x)
    import ctypes  # NumPy takes no bfloat16 through DLPack: view the memory as ml_dtypes'

    raw = (ctypes.c_uint16 * math.prod(x.shape)).from_address(x.data_ptr)
    return np.frombuffer(raw, dtype=np.uint16).reshape(x.shape).view(_fi._dtype("bfloat16"))


def _check_writeable(x) -> None:
    flags = getattr(x, "flags", None)
    if flags is not None and not flags.writeable:
        raise ValueError("assignment destination is read-only")


def compute_fans(x_or_shape: Any, in_axis: Axes = -2, out_axis: Axes = -1,
                 batch_axis: Axes = ()) -> tuple[float, float]:
    """Compute ``(fan_in, fan_out)`` of a weight shape by JAX's rule (``_compute_fans``).

    Axes not in ``in_axis``, ``out_axis`` or ``batch_axis`` form the receptive field ``rf``
    (kernel spatial axes): ``rf = total / in_size / out_size / batch_size`` and
    ``fan_in = in_size * rf``, ``fan_out = out_size * rf``, where ``in_size`` is
    ``shape[in_axis]`` (the product over the axes when ``in_axis`` is a sequence), likewise
    ``out_size`` and ``batch_size``. The arithmetic is JAX's, in floats, so the results are
    bit-identical to JAX's. A zero-element shape gives fans of 0 (JAX divides by zero there).
    As in current JAX, a shape with fewer than 2 dimensions is refused only with the default
    ``in_axis=-2``; with explicit axes (e.g. ``in_axis=0`` on a 1-D bias) JAX's formula applies.

    Args:
        x_or_shape: an array (anything with ``.shape``) or a shape.
        in_axis: axis or sequence of axes of the input dimension.
        out_axis: axis or sequence of axes of the output dimension.
        batch_axis: axis or sequence of axes that are ignored (neither fan nor receptive field).

    Returns:
        ``(fan_in, fan_out)`` as floats.

    Raises:
        ValueError: for a shape with fewer than 2 dimensions and the default ``in_axis``,
            with JAX's message.
        IndexError: for an axis out of range.

    Example:
        >>> from ferroinit.families import compute_fans
        >>> compute_fans((3, 3, 16, 32))  # JAX/Keras conv kernel (kh, kw, in, out)
        (144.0, 288.0)
        >>> compute_fans((32, 16, 3, 3), in_axis=1, out_axis=0)  # torch conv kernel
        (144.0, 288.0)
    """
    shape = _shape_of(x_or_shape)
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional"
            " weights tensor with default in_axis. Must be at least 2D or specify"
            " in_axis explicitly."
        )
    in_size = _axis_size(shape, in_axis, "in_axis")
    out_size = _axis_size(shape, out_axis, "out_axis")
    batch_size = _axis_size(shape, batch_axis, "batch_axis")
    if in_size * out_size * batch_size == 0:
        receptive_field_size = 0.0
    else:
        receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def _variance_scaling_params(shape, scale, mode, distribution, in_axis, out_axis, batch_axis):
    """Validate and return ``(distribution, stddev_or_bound)``, or None for zero elements."""
    scale = _finite(scale, "scale")
    if scale < 0:
        raise ValueError(f"scale must be a non-negative float, but got {scale}")
    fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
    if mode == "fan_in":
        denominator = fan_in
    elif mode == "fan_out":
        denominator = fan_out
    elif mode == "fan_avg":
        denominator = (fan_in + fan_out) / 2
    elif mode == "fan_geo_avg":
        denominator = (fan_in * fan_out) ** 0.5
    else:
        raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(
            f"invalid distribution for variance scaling initializer: {distribution}"
        )
    if math.prod(shape) == 0:
        return None
    variance = scale / denominator
    if distribution == "truncated_normal":
        return distribution, math.sqrt(variance) / TRUNC_STD_2
    if distribution == "normal":
        return distribution, math.sqrt(variance)
    return distribution, math.sqrt(3 * variance)


def variance_scaling_(x, scale: float = 1.0, mode: str = "fan_in",
                      distribution: str = "truncated_normal", in_axis: Axes = -2,
                      out_axis: Axes = -1, batch_axis: Axes = (), *, generator=None):
    r"""Fill ``x`` by ``jax.nn.initializers.variance_scaling``: a scale adapted to its shape.

    With ``variance = scale / n``, where ``n`` is, for each ``mode``:

    * ``"fan_in"``: ``fan_in``; ``"fan_out"``: ``fan_out``;
    * ``"fan_avg"``: ``(fan_in + fan_out) / 2``; ``"fan_geo_avg"``: ``sqrt(fan_in * fan_out)``

    (fans by :func:`compute_fans` with the axis parameters), the values are drawn from:

    * ``"truncated_normal"``: :math:`\mathcal{N}(0, \sigma^2)` truncated to
      :math:`[-2\sigma, 2\sigma]` with :math:`\sigma = \sqrt{\text{variance}} / 0.8796256610`,
      so that the standard deviation *after* truncation is :math:`\sqrt{\text{variance}}`
      (drawn by :func:`ferroinit.trunc_normal_`);
    * ``"normal"``: :math:`\mathcal{N}(0, \text{variance})` (:func:`ferroinit.normal_`);
    * ``"uniform"``: :math:`\mathcal{U}(-\sqrt{3\,\text{variance}}, \sqrt{3\,\text{variance}})`
      (:func:`ferroinit.uniform_`).

    The generator advances as the underlying sampler's does (``ceil(n/4)`` blocks for
    float16/bfloat16/float32, ``ceil(n/2)`` for float64). ``scale=0`` gives zeros (and advances
    the generator the same). A zero-element ``x`` is a no-op (JAX divides by zero there).

    Kernel layouts: the defaults ``in_axis=-2, out_axis=-1`` fit JAX/Keras kernels
    ``(*k, in, out)``; a torch kernel ``(out, in, *k)`` takes ``in_axis=1, out_axis=0``.

    Args:
        x: a writable float NumPy array with at least 2 dimensions (any strides), or fewer
            with explicit axes (JAX's rule, see :func:`compute_fans`).
        scale: the scaling factor, a finite float ``>= 0``.
        mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
        distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
        in_axis: axis or sequence of axes of the input dimension.
        out_axis: axis or sequence of axes of the output dimension.
        batch_axis: axis or sequence of axes to be ignored.
        generator: an int seed, a :class:`ferroinit.Generator`, or None for the global
            generator.

    Returns:
        ``x``.

    Raises:
        ValueError: for an invalid mode or distribution or fewer than 2 dimensions with the
            default ``in_axis`` (JAX's messages), or a negative or non-finite scale; ``x`` is
            left untouched.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> w = np.empty((3, 3, 64, 128), dtype=np.float32)  # JAX/Keras conv kernel
        >>> _ = init.variance_scaling_(w, 2.0, "fan_in", "normal", generator=0)
        >>> round(float(w.std()) * (3 * 3 * 64 / 2) ** 0.5, 2)  # std = sqrt(2 / fan_in)
        1.0
        >>> t = np.empty((128, 64, 3, 3), dtype=np.float32)  # torch conv kernel
        >>> _ = init.variance_scaling_(t, 1.0, "fan_avg", "uniform", in_axis=1, out_axis=0,
        ...                            generator=0)
        >>> bound = (3 / ((64 * 9 + 128 * 9) / 2)) ** 0.5
        >>> bool(abs(t).max() <= bound)
        True
    """
    params = _variance_scaling_params(_shape_of(x), scale, mode, distribution, in_axis,
                                      out_axis, batch_axis)
    if params is None:
        return x
    dist, s = params
    if s == 0.0:
        return _fi.normal_(x, 0.0, 0.0, generator=generator)
    if dist == "truncated_normal":
        return _fi.trunc_normal_(x, 0.0, s, -2.0 * s, 2.0 * s, generator=generator)
    if dist == "normal":
        return _fi.normal_(x, 0.0, s, generator=generator)
    return _fi.uniform_(x, -s, s, generator=generator)


# --------------------------------------------------------------------------- specialisations


def _specialisation(name: str, scale: float, mode: str, distribution: str, summary: str,
                    example: str):
    """JAX's named initializers are :func:`variance_scaling_` with fixed parameters; each is
    this one function with its own name, summary and example."""

    def fill(x, in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), *,
             generator=None):
        return variance_scaling_(x, scale, mode, distribution, in_axis, out_axis, batch_axis,
                                 generator=generator)

    return _forms.named(fill, name, f"Fill ``x`` by JAX's ``{name[:-1]}``{summary}", """\
x: a writable float NumPy array with at least 2 dimensions.
in_axis, out_axis, batch_axis: the axes, as in :func:`variance_scaling_`.
generator: an int seed, a :class:`ferroinit.Generator`, or None.""", example)


lecun_uniform_ = _specialisation(
    "lecun_uniform_", 1.0, "fan_in", "uniform",
    """: :func:`variance_scaling_` with ``scale=1``,
    ``"fan_in"``, ``"uniform"``, i.e. :math:`\\mathcal{U}(-\\sqrt{3/\\text{fan\\_in}},
    \\sqrt{3/\\text{fan\\_in}})`.""",
    """\
        >>> w = init.lecun_uniform_(np.empty((300, 10), dtype=np.float32), generator=0)
        >>> bool(abs(w).max() <= (3 / 300) ** 0.5)
        True
""")
lecun_normal_ = _specialisation(
    "lecun_normal_", 1.0, "fan_in", "truncated_normal",
    """: :func:`variance_scaling_` with ``scale=1``,
    ``"fan_in"``, ``"truncated_normal"`` (truncated std ``sqrt(1 / fan_in)``).""",
    """\
        >>> w = init.lecun_normal_(np.empty((400, 1000), dtype=np.float32), generator=0)
        >>> round(float(w.std()) * 400 ** 0.5, 2)
        1.0
""")
glorot_uniform_ = _specialisation(
    "glorot_uniform_", 1.0, "fan_avg", "uniform",
    """ (JAX's ``xavier_uniform``):
    :func:`variance_scaling_` with ``scale=1``, ``"fan_avg"``, ``"uniform"``, i.e.
    :math:`\\mathcal{U}(-a, a)`, :math:`a = \\sqrt{6 / (\\text{fan\\_in} + \\text{fan\\_out})}`.

    Unlike torch's :func:`ferroinit.xavier_uniform_`, the fans come from the axis parameters
    (default ``(..., in, out)``), not from torch's ``(out, in, ...)`` layout.""",
    """\
        >>> w = init.glorot_uniform_(np.empty((3, 3, 16, 32), dtype=np.float32), generator=0)
        >>> bool(abs(w).max() <= (6 / (9 * 16 + 9 * 32)) ** 0.5)
        True
""")
glorot_normal_ = _specialisation(
    "glorot_normal_", 1.0, "fan_avg", "truncated_normal",
    """ (JAX's ``xavier_normal``):
    :func:`variance_scaling_` with ``scale=1``, ``"fan_avg"``, ``"truncated_normal"``
    (truncated std ``sqrt(2 / (fan_in + fan_out))``).""",
    """\
        >>> w = init.glorot_normal_(np.empty((600, 200), dtype=np.float32), generator=0)
        >>> round(float(w.std()) * (800 / 2) ** 0.5, 2)
        1.0
""")
he_uniform_ = _specialisation(
    "he_uniform_", 2.0, "fan_in", "uniform",
    """ (JAX's ``kaiming_uniform``):
    :func:`variance_scaling_` with ``scale=2``, ``"fan_in"``, ``"uniform"``, i.e.
    :math:`\\mathcal{U}(-\\sqrt{6/\\text{fan\\_in}}, \\sqrt{6/\\text{fan\\_in}})`.""",
    """\
        >>> w = init.he_uniform_(np.empty((3, 3, 8, 16), dtype=np.float32), generator=0)
        >>> bool(abs(w).max() <= (6 / 72) ** 0.5)
        True
""")
he_normal_ = _specialisation(
    "he_normal_", 2.0, "fan_in", "truncated_normal",
    """ (JAX's ``kaiming_normal``): :func:`variance_scaling_`
    with ``scale=2``, ``"fan_in"``, ``"truncated_normal"`` (truncated std
    ``sqrt(2 / fan_in)``). Note that JAX's "normal" here is the *truncated* normal, unlike
    torch's :func:`ferroinit.kaiming_normal_`.""",
    """\
        >>> w = init.he_normal_(np.empty((200, 2000), dtype=np.float32), generator=0)
        >>> round(float(w.std()) * (200 / 2) ** 0.5, 2)
        1.0
""")


# --------------------------------------------------------------------------- orthogonal families


def _delta_check(shape, column_axis) -> None:
    if len(shape) not in (3, 4, 5):
        raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
    if shape[-1] < shape[-2]:
        raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
    if (not isinstance(column_axis, numbers.Integral) or isinstance(column_axis, bool)
            or not -2 <= int(column_axis) < 2):
        raise IndexError(
            f"column_axis {column_axis!r} is out of range for the 2-D (in, out) centre tap"
        )


def delta_orthogonal_(x, scale: float = 1.0, column_axis: int = -1, *, generator=None):
    """Fill the 3-, 4- or 5-D conv kernel ``x`` by JAX's ``delta_orthogonal``.

    ``x`` has JAX's layout ``(*k, in, out)`` with ``in <= out``. Its centre tap
    ``x[(k1 - 1) // 2, ..., :, :]`` (JAX's centre, also for even ``k``) is an orthogonal
    ``(in, out)`` matrix times ``scale`` (with orthonormal rows since ``in <= out``), as JAX's
    ``orthogonal(scale, column_axis)`` builds it on the shape ``(in, out)``; every other
    element is exactly zero (Xiao et al., 2018). The orthogonal matrix is drawn by
    :func:`ferroinit.orthogonal_` on ``(in, out)`` (``column_axis=-1``) or on ``(out, in)``
    and transposed (``column_axis=0``), so the generator advances as that call's does.

    Args:
        x: a writable float NumPy array ``(*k, in, out)`` with 3, 4 or 5 dimensions.
        scale: the multiplicative factor of the orthogonal matrix.
        column_axis: the axis of the ``(in, out)`` matrix whose columns JAX orthogonalises:
            ``-1``/``1`` (default) or ``-2``/``0``.
        generator: an int seed, a :class:`ferroinit.Generator`, or None.

    Returns:
        ``x``.

    Raises:
        ValueError: for a shape that is not 3-, 4- or 5-D, or ``in > out`` (JAX's messages);
            ``x`` is left untouched.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> w = init.delta_orthogonal_(np.empty((3, 3, 4, 8)), generator=0)
        >>> c = w[1, 1]
        >>> bool(np.allclose(c @ c.T, np.eye(4)))
        True
        >>> w[1, 1] = 0  # everything off the centre tap is zero
        >>> bool((w == 0).all())
        True
    """
    shape = _shape_of(x)
    _delta_check(shape, column_axis)
    scale = _finite(scale, "scale")
    _check_writeable(x)
    if math.prod(shape) == 0:
        return x
    n_in, n_out = shape[-2], shape[-1]
    out = _as_ndarray(x)
    tap = np.empty((n_in, n_out), dtype=out.dtype)
    if int(column_axis) in (-1, 1):
        _fi.orthogonal_(tap, scale, generator=generator)
    else:
        _fi.orthogonal_(tap.T, scale, generator=generator)
    _fi.constant_(out, 0.0)
    out[tuple((k - 1) // 2 for k in shape[:-2])] = tap
    return x


def _identity_check(shape) -> None:
    if len(shape) != 2:
        raise ValueError(
            "Identity matrix initializer can only be used for 2D matrices. "
            f"Received: shape={shape} of rank {len(shape)}."
        )


def identity_(x, gain: float = 1.0):
    """Fill the 2-D ``x`` by Keras' ``Identity``: ``gain`` times the (rectangular) identity.

    Exactly ``gain * eye(*x.shape)`` computed in the dtype of ``x`` (ones on the main
    diagonal, zeros elsewhere, as :func:`ferroinit.eye_`, then times ``gain``).

    Args:
        x: a writable 2-dimensional float NumPy array.
        gain: the multiplicative factor, finite.

    Returns:
        ``x``.

    Raises:
        ValueError: if ``x`` is not 2-D (Keras' message) or ``gain`` is not finite; ``x`` is
            left untouched.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init.identity_(np.empty((2, 3), dtype=np.float32), gain=0.5)
        array([[0.5, 0. , 0. ],
               [0. , 0.5, 0. ]], dtype=float32)
    """
    _identity_check(_shape_of(x))
    gain = _finite(gain, "gain")
    _fi.eye_(x)
    if gain != 1.0:
        out = _as_ndarray(x)
        out *= gain
    return x


def _keras_orthogonal_check(shape) -> None:
    if len(shape) < 2:
        raise ValueError(
            "The tensor to initialize must be at least two-dimensional. "
            f"Received: shape={shape} of rank {len(shape)}."
        )


def keras_orthogonal_(x, gain: float = 1.0, *, generator=None):
    """Fill ``x`` by Keras' ``Orthogonal``: a (semi) orthogonal matrix, Keras' flattening.

    Keras flattens to ``rows = prod(shape[:-1])``, ``cols = shape[-1]`` (torch's
    :func:`ferroinit.orthogonal_` flattens to ``rows = shape[0]``, ``cols = prod(rest)``),
    takes the QR decomposition of a standard normal ``(max, min)`` matrix, multiplies Q by
    ``sign(diag(R))``, transposes when ``rows < cols``, reshapes to ``x.shape`` in C order
    and multiplies by ``gain``. The ``(rows, cols)`` matrix has orthonormal columns when
    ``rows >= cols``, orthonormal rows otherwise. It is drawn by
    :func:`ferroinit.orthogonal_` on the ``(rows, cols)`` matrix (the same algorithm), so the
    generator advances as that call's does.

    Args:
        x: a writable float NumPy array with at least 2 dimensions.
        gain: the multiplicative factor.
        generator: an int seed, a :class:`ferroinit.Generator`, or None.

    Returns:
        ``x``.

    Raises:
        ValueError: for fewer than 2 dimensions (Keras' message); ``x`` is left untouched.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> w = init.keras_orthogonal_(np.empty((3, 3, 4, 16)), generator=0)  # Keras kernel
        >>> m = w.reshape(36, 16)  # rows = 3 * 3 * 4, cols = 16
        >>> bool(np.allclose(m.T @ m, np.eye(16)))
        True
    """
    shape = _shape_of(x)
    _keras_orthogonal_check(shape)
    gain = _finite(gain, "gain")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    if len(shape) == 2:
        return _fi.orthogonal_(x, gain, generator=generator)
    out = _as_ndarray(x)
    if isinstance(out, np.ndarray) and out.flags.c_contiguous:
        _fi.orthogonal_(out.reshape(rows, cols), gain, generator=generator)
        return x
    _check_writeable(out)
    m = np.empty((rows, cols), dtype=out.dtype)
    _fi.orthogonal_(m, gain, generator=generator)
    out[...] = m.reshape(shape)
    return x


# The allocating forms (``lecun_normal(shape, ...)`` from ``lecun_normal_``), one per registry
# entry of the JAX and Keras families.
__all__ += list(_forms.install(
    globals(), _registry.select(family=_registry.JAX) + _registry.select(family=_registry.KERAS),
    _fi.empty, _fi._shape_of))
