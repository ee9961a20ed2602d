"""ferroinit: ``torch.nn.init``, exact and deterministic, at memory bandwidth on every core.

A tiny Python layer over a Rust core (``ferroinit._core``). Every initializer of
``torch.nn.init`` is here under the same name and positional parameters, so
``import ferroinit as init`` works in torch-style code, on NumPy arrays::

    >>> import numpy as np
    >>> import ferroinit as init
    >>> w = np.empty((256, 128), dtype=np.float32)
    >>> init.kaiming_uniform_(w, a=5 ** 0.5, generator=0) is w
    True

Values are a pure function of (seed, generator position, shape, parameters, dtype): never of
the thread count, the chunking or the SIMD level.
"""

from __future__ import annotations

import numbers
import operator
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from . import _core, _forms, _integers, _registry
from ._core import Generator
from ._fans import _calculate_correct_fan as _calculate_correct_fan
from ._fans import _calculate_fan_in_and_fan_out as _calculate_fan_in_and_fan_out
from ._fans import calculate_fan_in_and_fan_out, calculate_gain
from ._forms import shape_of as _shape_of
from ._torch import fill as _torch_fill
from ._torch import is_tensor as _torch_tensor

# The initializers' names join these where their allocating forms are made (the registry).
__all__ = [
    "Generator",
    "calculate_fan_in_and_fan_out",
    "calculate_gain",
    "default_generator",
    "empty",
    "manual_seed",
    "simd_level",
]

__version__ = "0.3.0"

GeneratorLike = int | Generator | None
Shape = int | Sequence[int]

#: The global generator, used when ``generator=None``. Seeded with torch's default seed, so an
#: unseeded program is reproducible too; :func:`manual_seed` reseeds it.
default_generator = Generator(_core.DEFAULT_SEED)

simd_level = _core.simd_level


def manual_seed(seed: int) -> Generator:
    """Seed the global generator and reset its position to 0.

    Args:
        seed: an int in ``[-2**63, 2**64)``; negative seeds wrap modulo ``2**64`` as in torch.

    Returns:
        The global generator.

    Example:
        >>> import ferroinit as init
        >>> g = init.manual_seed(42)
        >>> (g.seed, g.position)
        (42, 0)
    """
    return default_generator.manual_seed(seed)


def _gen(generator: GeneratorLike) -> Generator:
    if generator is None:
        return default_generator
    if isinstance(generator, Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return Generator(int(generator))
    if "torch" in sys.modules:
        from ._torch.seeding import generator_for  # a torch.Generator: a key drawn from it

        g = generator_for(generator)
        if g is not None:
            return g
    raise TypeError(
        "generator must be an int seed, a ferroinit.Generator, a torch.Generator or None, "
        f"but got {type(generator).__name__}"
    )


def _shard_dims(name, dims):
    if dims is None:
        return None
    out = [operator.index(d) for d in dims]
    if any(d < 0 for d in out):
        raise ValueError(f"{name} must not have negative entries, but got {tuple(out)}")
    return out


def _shard(global_shape, offset):
    if global_shape is None and offset is None:
        return {}
    return {
        "global_shape": _shard_dims("global_shape", global_shape),
        "offset": _shard_dims("offset", offset),
    }


def _no_shards(what, why, x, global_shape, offset):
    if global_shape is None and offset is None:
        return
    shape = list(np.shape(x))
    if (list(global_shape or shape) == shape) and not any(offset or ()):
        return  # the shard is the whole array
    raise ValueError(f"{what} does not support shards: {why}")




# --------------------------------------------------------------------------- in place

# The sampled laws (uniform_, normal_, trunc_normal_, ...): one in-place function per registry
# entry with a law, made from the entry (its parameters, docstring and warning). The fast path
# (a NumPy array, no shard) is one type check, then the core: a 16-element fill costs about
# 1 us in all.
for _entry in _registry.select(family=_registry.TORCH):
    if _entry.law is not None:
        globals()[_entry.name] = _forms.inplace_law(_entry, globals(), {
            "fill_law": _core.fill_law, "default": default_generator, "gen": _gen,
            "shard": _shard, "torch_tensor": _torch_tensor, "torch_fill": _torch_fill})
del _entry


def constant_(x, val: float):
    r"""Fill ``x`` with the value ``val``.

    Args:
        x: a writable float, integer or bool NumPy array. Integer and bool arrays take
            ``val`` as torch converts it for such tensors (truncated toward zero; a value
            out of range is refused with torch's RuntimeError).
        val: the value to fill with (NaN and infinities allowed in float arrays, as in
            torch).

    Returns:
        ``x``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init.constant_(np.empty(3), 0.3)
        array([0.3, 0.3, 0.3])
        >>> init.constant_(np.empty(3, dtype=np.int64), 2.7)  # as torch: truncated
        array([2, 2, 2])
    """
    if _torch_tensor(x):
        return _torch_fill(_core.constant_, x, (val,), deterministic=True)
    if _integers.is_integer_array(x):
        return _integers.fill(x, val)
    _core.constant_(x, float(val))
    return x


def _filled_with(name: str, value: float, word: str, example: str):
    """``ones_`` and ``zeros_``: :func:`constant_` with a fixed value."""

    def fill(x):
        return constant_(x, value)

    return _forms.named(fill, name, f"Fill ``x`` with the scalar value {word}.",
                        "x: a writable float, integer or bool NumPy array.", example)


ones_ = _filled_with("ones_", 1.0, "1", """\
        >>> init.ones_(np.empty(2, dtype=np.float32))
        array([1., 1.], dtype=float32)
""")
zeros_ = _filled_with("zeros_", 0.0, "0", """\
        >>> init.zeros_(np.empty(2, dtype=np.float32))
        array([0., 0.], dtype=float32)
""")


def eye_(x):
    r"""Fill the 2-dimensional ``x`` with the identity matrix (as ``torch.eye``).

    Args:
        x: a writable 2-dimensional float, integer or bool NumPy array.

    Returns:
        ``x``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init.eye_(np.empty((2, 3), dtype=np.float32))
        array([[1., 0., 0.],
               [0., 1., 0.]], dtype=float32)
    """
    if _torch_tensor(x):
        return _torch_fill(_core.eye_, x, (), deterministic=True)
    if _integers.is_integer_array(x):
        return _integers.pattern(x, _core.eye_)
    _core.eye_(x)
    return x


def dirac_(x, groups: int = 1):
    r"""Fill the {3, 4, 5}-dimensional ``x`` with the Dirac delta function.

    Preserves the identity of the inputs in convolutional layers, where as many input
    channels are preserved as possible. With ``groups > 1``, each group of channels
    preserves identity.

    Args:
        x: a writable {3, 4, 5}-dimensional float, integer or bool NumPy array.
        groups: number of groups in the conv layer (default: 1).

    Returns:
        ``x``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> w = init.dirac_(np.empty((4, 2, 3), dtype=np.float32), groups=2)
        >>> w[:, :, 1]
        array([[1., 0.],
               [0., 1.],
               [1., 0.],
               [0., 1.]], dtype=float32)
    """
    if _torch_tensor(x):
        return _torch_fill(_core.dirac_, x, (int(groups),), deterministic=True)
    if _integers.is_integer_array(x):
        return _integers.pattern(x, lambda scratch: _core.dirac_(scratch, int(groups)))
    _core.dirac_(x, int(groups))
    return x


_RANDOM_ARGS = """\
generator: an int seed, a :class:`Generator`, or None for the global generator.
global_shape, offset: shard placement (see :func:`uniform_`)."""


def _xavier(name: str, law: str, example: str):
    """``xavier_uniform_`` and ``xavier_normal_``: one body, torch's fan rule."""
    fill_core = getattr(_core, name)

    def fill(x, gain: float = 1.0, *, generator: GeneratorLike = None, global_shape=None,
             offset=None):
        if _torch_tensor(x):
            return _torch_fill(fill_core, x, (float(gain),), generator, global_shape, offset)
        fill_core(x, float(gain), _gen(generator), **_shard(global_shape, offset))
        return x

    return _forms.named(fill, name, f"""Fill ``x`` with values from the Xavier (Glorot) {law}
    Fans come from the global shape when ``global_shape`` is given.""", f"""\
x: a writable float NumPy array with at least 2 dimensions.
gain: an optional scaling factor.
{_RANDOM_ARGS}""", example)


xavier_uniform_ = _xavier("xavier_uniform_", r"""uniform distribution.

    :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}`.""", """\
        >>> w = init.xavier_uniform_(np.empty((3, 5)), gain=init.calculate_gain("relu"), generator=0)
        >>> bool(abs(w).max() <= 2 ** 0.5 * (6 / 8) ** 0.5)
        True
""")
xavier_normal_ = _xavier("xavier_normal_", r"""normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}`.""", """\
        >>> w = init.xavier_normal_(np.empty((400, 600), dtype=np.float32), generator=0)
        >>> round(float(w.std()), 3)
        0.045
""")


def _kaiming_args(x, a, mode, nonlinearity, global_shape=None):
    if 0 in (np.shape(x) if global_shape is None else tuple(global_shape)):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    if nonlinearity == "leaky_relu" and not (
        (not isinstance(a, bool) and isinstance(a, int)) or isinstance(a, float)
    ):
        raise ValueError(f"negative_slope {a} not a valid number")
    return float(a), str(mode), str(nonlinearity)


def _kaiming(name: str, law: str, example: str):
    """``kaiming_uniform_`` and ``kaiming_normal_``: one body, torch's fan and gain rule."""
    fill_core = getattr(_core, name)

    def fill(x, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", *,
             generator: GeneratorLike = None, global_shape=None, offset=None):
        args = _kaiming_args(x, a, mode, nonlinearity, global_shape)
        if args is not None and _torch_tensor(x):
            return _torch_fill(fill_core, x, args, generator, global_shape, offset)
        if args is not None:
            fill_core(x, *args, _gen(generator), **_shard(global_shape, offset))
        return x

    return _forms.named(fill, name, f"Fill ``x`` with values from the Kaiming (He) {law}",
                        f"""\
x: a writable float NumPy array with at least 2 dimensions.
a: the negative slope of the rectifier used after this layer (only with
    ``'leaky_relu'``).
mode: ``'fan_in'`` (default) preserves the magnitude of the variance of the weights
    in the forward pass; ``'fan_out'`` in the backward pass.
nonlinearity: the non-linear function (`nn.functional` name), recommended only with
    ``'relu'`` or ``'leaky_relu'`` (default).
{_RANDOM_ARGS}""", example)


kaiming_uniform_ = _kaiming("kaiming_uniform_", r"""uniform distribution.

    :math:`\mathcal{U}(-\text{bound}, \text{bound})` with
    :math:`\text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}`.""", """\
        >>> w = init.kaiming_uniform_(np.empty((3, 5)), mode="fan_in", nonlinearity="relu", generator=0)
        >>> bool(abs(w).max() <= (6 / 5) ** 0.5)
        True
""")
kaiming_normal_ = _kaiming("kaiming_normal_", r"""normal distribution.

    :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}`.""", """\
        >>> w = init.kaiming_normal_(np.empty((512, 200)), mode="fan_out", nonlinearity="relu", generator=0)
        >>> round(float(w.std()) * 512 ** 0.5, 1)
        1.4
""")


def orthogonal_(x, gain: float = 1, *, generator: GeneratorLike = None, global_shape=None,
                offset=None):
    r"""Fill ``x`` with a (semi) orthogonal matrix, as torch does.

    Described in *Exact solutions to the nonlinear dynamics of learning in deep linear
    neural networks* (Saxe et al., 2013). ``x`` must have at least 2 dimensions; trailing
    dimensions are flattened. The result has exactly the distribution of torch's (Haar): the
    Q factor of the QR decomposition of a standard normal ``(rows, cols)`` matrix (transposed
    when ``rows < cols``) with its columns multiplied by the signs of ``diag(R)``, times
    ``gain``. It is not the QR of a stored normal matrix, though: the Householder vectors
    are drawn directly as independent normal vectors (Stewart, 1980; the lower trapezoid of
    a :func:`normal_` draw of that matrix, and the generator advances as that call would),
    and only Q is formed from them.

    Args:
        x: a writable float NumPy array with at least 2 dimensions.
        gain: optional scaling factor.
        generator: an int seed, a :class:`Generator`, or None for the global generator.

    Returns:
        ``x``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> q = init.orthogonal_(np.empty((6, 4)), generator=0)
        >>> bool(np.allclose(q.T @ q, np.eye(4)))
        True
    """
    _no_shards("orthogonal_", "the QR factorization couples every element of the matrix",
               x, global_shape, offset)
    if _torch_tensor(x):
        return _torch_fill(_core.orthogonal_, x, (float(gain),), generator)
    _core.orthogonal_(x, float(gain), _gen(generator))
    return x


def sparse_(x, sparsity: float, std: float = 0.01, *, generator: GeneratorLike = None,
            global_shape=None, offset=None):
    r"""Fill the 2-dimensional ``x`` as a sparse matrix.

    The non-zero elements are drawn from :math:`\mathcal{N}(0, \text{std}^2)`; every column
    gets exactly ``ceil(sparsity * rows)`` zeros, at rows chosen by the generator (Martens,
    2010).

    Args:
        x: a writable 2-dimensional float NumPy array.
        sparsity: the fraction of elements in each column to be set to zero, in ``[0, 1)``.
        std: the standard deviation of the normal distribution.
        generator: an int seed, a :class:`Generator`, or None for the global generator.

    Returns:
        ``x``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> w = init.sparse_(np.empty((10, 3), dtype=np.float32), sparsity=0.25, generator=0)
        >>> (w == 0).sum(axis=0)
        array([3, 3, 3])
    """
    _no_shards("sparse_", "each column's zero rows are drawn over the whole column",
               x, global_shape, offset)
    if _torch_tensor(x):
        return _torch_fill(_core.sparse_, x, (float(sparsity), float(std)), generator)
    _core.sparse_(x, float(sparsity), float(std), _gen(generator))
    return x


# --------------------------------------------------------------------------- allocating

_DTYPES = {}


def _dtype(dtype) -> np.dtype:
    try:
        return _DTYPES[dtype]
    except (KeyError, TypeError):
        pass
    if isinstance(dtype, str) and dtype == "bfloat16":
        import ml_dtypes

        d = np.dtype(ml_dtypes.bfloat16)
    else:
        d = np.dtype(dtype)
    try:
        _DTYPES[dtype] = d
    except TypeError:
        pass
    return d


def _dtype_name(dtype) -> str:
    if isinstance(dtype, str):
        return dtype
    if type(dtype).__module__ == "torch":  # torch.float32 and co., without importing torch
        return str(dtype)
    return _dtype(dtype).name


def empty(shape: Shape, *, dtype="float32", dlpack: bool = False):
    """A new uninitialized C-contiguous array whose memory Rust allocated (64-byte aligned,
    huge pages for large sizes) and NumPy owns without a copy.

    With ``dlpack=True`` (here and in every allocating form) the result is instead a
    ``RustBuffer``: a zero-copy DLPack producer for ``torch.from_dlpack``, ``np.from_dlpack``
    or ``jax.numpy.from_dlpack``, bfloat16 included (NumPy cannot export bfloat16). Its memory
    is freed once, when the buffer and every tensor taken from it are gone.

    Args:
        shape: an int or a sequence of ints.
        dtype: ``"float16"``, ``"bfloat16"`` (needs ml_dtypes unless ``dlpack=True``),
            ``"float32"`` or ``"float64"`` (or the NumPy/torch dtype).
        dlpack: return a DLPack producer (``RustBuffer``) instead of a NumPy array.

    Returns:
        A NumPy array, or a ``RustBuffer`` with ``dlpack=True``.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init.empty((2, 3), dtype="float64").shape
        (2, 3)
        >>> buf = init.normal((2, 3), generator=0, dlpack=True)
        >>> x = np.from_dlpack(buf)  # or torch.from_dlpack(buf): no copy
        >>> x.shape, x.ctypes.data == buf.data_ptr
        ((2, 3), True)
    """
    if dlpack:
        return _core.buffer(list(_shape_of(shape)), _dtype_name(dtype))
    return _core.empty(list(_shape_of(shape)), _dtype(dtype))


# The allocating forms (``normal(shape, ...)`` from ``normal_``), one per registry entry.
__all__ += list(_forms.install(globals(), _registry.select(family=_registry.TORCH), empty,
                               _shape_of))
__all__.sort()


# The JAX/Keras families (variance_scaling, lecun_*, glorot_*, he_*, delta_orthogonal,
# identity, keras_orthogonal): a thin layer over the samplers above.
from .families import *
from .families import __all__ as _families_all

__all__ += list(_families_all)


def __getattr__(name: str):
    # Framework glue is imported on first use, so `import ferroinit` needs neither torch, dask
    # nor jax.
    if name in ("torch", "dask", "jax"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ferroinit' has no attribute {name!r}")
