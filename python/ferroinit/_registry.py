"""The catalogue of ferroinit's initializers: one entry each, data only.

Everything that lists initializers reads this table instead of keeping its own list: the
allocating forms (``normal(shape, ...)`` from ``normal_``) and ``__all__`` of
:mod:`ferroinit` and :mod:`ferroinit.families`, the constructors of :mod:`ferroinit.dask`,
the names :class:`ferroinit.torch.Init` accepts, the bench's throughput sweep and the
tests' tables.

Adding an initializer: a new sampled law is its sampler file in ``src/sampler/`` with its
line in the core's catalogue (``src/sampler/mod.rs``), one :class:`Initializer` below with
``law=`` (its parameters and docstring: the in-place function is made from them), and its
tests. An initializer composed in Python writes its in-place function ``name_(x, ...)``
(with a torch-style docstring) in the module of its family (:mod:`ferroinit` for
``torch.nn.init``, :mod:`ferroinit.families` for JAX and Keras) and adds one entry. Nothing
else names it.

This module imports nothing from ferroinit, so every layer may read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TORCH = "torch.nn.init"
JAX = "jax"
KERAS = "keras"

#: Where the in-place functions of each family are defined (and their allocating forms made).
HOME = {TORCH: "ferroinit", JAX: "ferroinit.families", KERAS: "ferroinit.families"}


@dataclass(frozen=True)
class Initializer:
    """One initializer.

    Attributes:
        name: the in-place function, ``"normal_"``; the allocating form drops the ``_``.
        family: ``"torch.nn.init"``, ``"jax"`` or ``"keras"``: whose semantics it has.
        random: it draws from a generator (takes ``generator=``).
        shardable: it takes ``global_shape=``/``offset=`` (a shard of a larger array).
        core: the ``ferroinit._core`` function that fills, or None where the in-place
            function composes other initializers in Python.
        ndim: the dimensions it accepts, ``(min, max)`` (max None: any).
        args: the required arguments after the array: a minimal valid call is
            ``name_(x, *args)`` (tests, bench).
        test_args: a value for every positional parameter, none the default: what the tests
            pass to check that every parameter reaches the values.
        example: the allocating form's docstring example (a doctest).
        summary: the allocating form's first docstring line, where the generic one is not
            enough.
        dask: how :mod:`ferroinit.dask` builds it chunk by chunk: ``"shard"`` (each chunk a
            shard of the whole), ``"same"`` (each chunk the allocating form on the chunk's
            shape: position-independent values), ``"diagonal"`` (the identity's blocks), or
            None (no Dask constructor).
        dask_example: the Dask constructor's docstring example.
        matrix_args: the allocating form takes ``(rows, cols=None)`` under these names instead
            of a shape (``eye(n, m)``).
        sweep: part of the bench's default throughput sweep.
        validate_first: the allocating form checks its arguments before allocating (the
            JAX/Keras forms always did: an invalid call never pays for an allocation).
        law: a sampled law of the core's catalogue (``_core.laws()``, the ``laws!`` lines
            of ``src/sampler/mod.rs``): its in-place function is made from this entry
            (``_forms.inplace_law``), so no module defines it by hand.
        params: a law's parameters after the array, ``(name, default)`` each, in the
            catalogue's order.
        doc: a law's in-place docstring (torch-style: Args, Returns, Example), where the line
            ``{random_args}`` stands for the Args lines every law shares (``generator``,
            ``global_shape, offset``) and its Returns.
        warn: a law's warning for its parameters: ``warn(*params)`` returns torch's message,
            or None (``trunc_normal_``'s "mean is more than 2 std from [a, b]").
    """

    name: str
    family: str
    random: bool
    shardable: bool
    core: str | None
    ndim: tuple[int, int | None] = (0, None)
    args: tuple[Any, ...] = ()
    test_args: tuple[Any, ...] = ()
    example: str = ""
    summary: str = ""
    dask: str | None = None
    dask_example: str = ""
    matrix_args: tuple[str, ...] = ()
    sweep: bool = False
    validate_first: bool = False
    law: str | None = None
    params: tuple[tuple[str, float], ...] = ()
    doc: str = ""
    warn: Callable[..., str | None] | None = None

    @property
    def allocating(self) -> str:
        """The allocating form's name: ``"normal"`` for ``"normal_"``."""
        return self.name[:-1]

    @property
    def module(self) -> str:
        """The module that defines the in-place function (and makes the allocating one)."""
        return HOME[self.family]


def _trunc_normal_warning(mean: float, std: float, a: float, b: float) -> str | None:
    """torch's warning when ``mean`` lies more than 2 std outside ``[a, b]`` (its own sampler
    loses accuracy there; ferroinit's does not, but the call warns as torch's does)."""
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        return ("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                "The distribution of values may be incorrect.")
    return None


def _jax(name, random=True, *, test_args=(0, 1, ()), ndim=(2, None), **kw) -> Initializer:
    return Initializer(name, JAX, random, False, None, ndim, test_args=test_args,
                       validate_first=True, **kw)


INITIALIZERS: tuple[Initializer, ...] = (
    # ------------------------------------------------------------------ torch.nn.init
    Initializer(
        "uniform_", TORCH, True, True, "fill_law", test_args=(-0.5, 2.0), sweep=True,
        law="uniform", params=(("a", 0.0), ("b", 1.0)),
        doc=r"""Fill ``x`` with values drawn from the uniform distribution :math:`\mathcal{U}(a, b)`.

        Values lie in ``[a, b]`` also after rounding to the dtype.

        Args:
            x: a writable float16/bfloat16/float32/float64 NumPy array (any strides).
            a: the lower bound of the uniform distribution.
            b: the upper bound of the uniform distribution.
            {random_args}

        Example:
            >>> import numpy as np, ferroinit as init
            >>> w = init.uniform_(np.empty((3, 5), dtype=np.float32), generator=0)
            >>> bool(((w >= 0) & (w <= 1)).all())
            True
        """,
        example="""
        >>> import ferroinit as init
        >>> x = init.uniform((2, 2), -1.0, 1.0, generator=3)
        >>> bool((x == init.uniform_(init.empty((2, 2)), -1.0, 1.0, generator=3)).all())
        True
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.uniform((6, 10), -1.0, 1.0, chunks=(4, 4), generator=7)
        >>> x.numblocks
        (2, 3)
        >>> bool((x.compute() == ferroinit.uniform((6, 10), -1.0, 1.0, generator=7)).all())
        True
        """,
    ),
    Initializer(
        "normal_", TORCH, True, True, "fill_law", test_args=(0.3, 1.7), sweep=True,
        law="normal", params=(("mean", 0.0), ("std", 1.0)),
        doc=r"""Fill ``x`` with values drawn from the normal distribution :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

        Args:
            x: a writable float NumPy array.
            mean: the mean of the normal distribution.
            std: the standard deviation of the normal distribution.
            {random_args}

        Example:
            >>> import numpy as np, ferroinit as init
            >>> w = init.normal_(np.empty(100_000, dtype=np.float32), 0.0, 2.0, generator=0)
            >>> round(float(w.std()), 1)
            2.0
        """,
        example="""
        >>> import ferroinit as init
        >>> init.normal((4, 3), dtype="float64", generator=1).dtype
        dtype('float64')
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit, ferroinit.dask
        >>> g = ferroinit.Generator(1)
        >>> x = ferroinit.dask.normal((1000, 100), chunks=(300, 70), dtype="float64", generator=g)
        >>> g.position  # advanced at construction by ceil(100000 / 2) blocks, as ferroinit.normal
        50000
        >>> bool((x.compute() == ferroinit.normal((1000, 100), dtype="float64", generator=1)).all())
        True
        """,
    ),
    Initializer(
        "trunc_normal_", TORCH, True, True, "fill_law", test_args=(0.1, 1.0, -1.5, 2.5),
        sweep=True, law="trunc_normal",
        params=(("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)),
        warn=_trunc_normal_warning,
        doc=r"""Fill ``x`` with values drawn from a truncated normal distribution.

        The values are effectively drawn from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
        restricted to ``[a, b]``, and are never outside ``[a, b]`` in any dtype. They are exact in
        deep tails: an inverse CDF measured from the nearer end of the window (in float64 for
        float64 arrays and for windows beyond float32's reach); a float32 window that holds
        ±6.67 std, the reach of the float32 normal, is that normal itself.

        Args:
            x: a writable float NumPy array.
            mean: the mean of the normal distribution (before truncation).
            std: the standard deviation of the normal distribution (before truncation).
            a: the minimum cutoff value.
            b: the maximum cutoff value.
            {random_args}

        Example:
            >>> import numpy as np, ferroinit as init
            >>> w = init.trunc_normal_(np.empty(1000), mean=0.0, std=1.0, a=5.0, b=6.0, generator=0)
            >>> bool(w.min() >= 5.0 and w.max() <= 6.0)
            True
        """,
        example="""
        >>> import ferroinit as init
        >>> float(abs(init.trunc_normal(1000, std=0.02, a=-0.04, b=0.04, generator=0)).max()) <= 0.04
        True
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit.dask
        >>> x = ferroinit.dask.trunc_normal((500, 500), std=0.02, a=-0.04, b=0.04, chunks=128,
        ...                                 generator=0)
        >>> bool(abs(x).max().compute() <= 0.04)
        True
        """,
    ),
    Initializer(
        "constant_", TORCH, False, False, "constant_", args=(0.5,), test_args=(0.5,),
        example="""
        >>> import ferroinit as init
        >>> init.constant(3, 0.5)
        array([0.5, 0.5, 0.5], dtype=float32)
        """,
        dask="same",
        dask_example="""
        >>> import ferroinit.dask
        >>> ferroinit.dask.constant((2, 3), 0.5, chunks=2).compute()
        array([[0.5, 0.5, 0.5],
               [0.5, 0.5, 0.5]], dtype=float32)
        """,
    ),
    Initializer(
        "ones_", TORCH, False, False, "constant_",
        example="""
        >>> import ferroinit as init
        >>> init.ones(2, dtype="float64")
        array([1., 1.])
        """,
        dask="same",
        dask_example="""
        >>> import ferroinit.dask
        >>> ferroinit.dask.ones(3, chunks=2).compute()
        array([1., 1., 1.], dtype=float32)
        """,
    ),
    Initializer(
        "zeros_", TORCH, False, False, "constant_",
        example="""
        >>> import ferroinit as init
        >>> init.zeros(2)
        array([0., 0.], dtype=float32)
        """,
        dask="same",
        dask_example="""
        >>> import ferroinit.dask
        >>> ferroinit.dask.zeros(3, dtype="float64").compute()
        array([0., 0., 0.])
        """,
    ),
    Initializer(
        "eye_", TORCH, False, False, "eye_", ndim=(2, 2), matrix_args=("n", "m"),
        summary="Allocating :func:`eye_`: an ``n x m`` identity (``m`` defaults to ``n``).",
        example="""
        >>> import ferroinit as init
        >>> init.eye(2, dtype="float64")
        array([[1., 0.],
               [0., 1.]])
        """,
        dask="diagonal",
        dask_example="""
        >>> import ferroinit.dask
        >>> ferroinit.dask.eye(3, 4, chunks=2).compute()
        array([[1., 0., 0., 0.],
               [0., 1., 0., 0.],
               [0., 0., 1., 0.]], dtype=float32)
        """,
    ),
    Initializer(
        "dirac_", TORCH, False, False, "dirac_", ndim=(3, 5), test_args=(2,),
        example="""
        >>> import ferroinit as init
        >>> float(init.dirac((2, 2, 3, 3)).sum())
        2.0
        """,
    ),
    Initializer(
        "xavier_uniform_", TORCH, True, True, "xavier_uniform_", ndim=(2, None),
        test_args=(1.3,), sweep=True,
        example="""
        >>> import ferroinit as init
        >>> init.xavier_uniform((16, 8), generator=0).shape
        (16, 8)
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.xavier_uniform((64, 32, 3, 3), chunks=(16, 8, 3, 3), generator=2)
        >>> bool((x.compute() == ferroinit.xavier_uniform((64, 32, 3, 3), generator=2)).all())
        True
        """,
    ),
    Initializer(
        "xavier_normal_", TORCH, True, True, "xavier_normal_", ndim=(2, None),
        test_args=(0.7,),
        example="""
        >>> import ferroinit as init
        >>> init.xavier_normal((16, 8), generator=0).dtype
        dtype('float32')
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit.dask
        >>> x = ferroinit.dask.xavier_normal((400, 600), chunks=(100, 600), generator=0)
        >>> round(float(x.std().compute()), 3)
        0.045
        """,
    ),
    Initializer(
        "kaiming_uniform_", TORCH, True, True, "kaiming_uniform_", ndim=(2, None),
        test_args=(0.2, "fan_in", "leaky_relu"),
        example="""
        >>> import ferroinit as init
        >>> init.kaiming_uniform((64, 3, 7, 7), a=5 ** 0.5, generator=0).shape
        (64, 3, 7, 7)
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.kaiming_uniform((300, 200), a=5 ** 0.5, chunks=(64, 50), generator=4)
        >>> y = ferroinit.kaiming_uniform((300, 200), a=5 ** 0.5, generator=4)
        >>> bool((x.compute() == y).all())
        True
        """,
    ),
    Initializer(
        "kaiming_normal_", TORCH, True, True, "kaiming_normal_", ndim=(2, None),
        test_args=(0, "fan_out", "relu"), sweep=True,
        example="""
        >>> import ferroinit as init
        >>> init.kaiming_normal((64, 3, 7, 7), mode="fan_out", nonlinearity="relu", generator=0).shape
        (64, 3, 7, 7)
        """,
        dask="shard",
        dask_example="""
        >>> import ferroinit, ferroinit.dask
        >>> x = ferroinit.dask.kaiming_normal((512, 200), mode="fan_out", nonlinearity="relu",
        ...                                   chunks=(100, 64), generator=0)
        >>> round(float(x.std().compute()) * 512 ** 0.5, 1)
        1.4
        """,
    ),
    Initializer(
        "orthogonal_", TORCH, True, False, "orthogonal_", ndim=(2, None), test_args=(1.5,),
        summary="Allocating :func:`orthogonal_`: a (semi) orthogonal matrix distributed as "
                "torch's Q of a standard normal matrix (Haar), formed from directly drawn "
                "Householder vectors.",
        example="""
        >>> import numpy as np, ferroinit as init
        >>> q = init.orthogonal((3, 8), dtype="float64", generator=0)
        >>> bool(np.allclose(q @ q.T, np.eye(3)))
        True
        """,
    ),
    Initializer(
        "sparse_", TORCH, True, False, "sparse_", ndim=(2, 2), args=(0.5,),
        test_args=(0.3, 0.5),
        example="""
        >>> import ferroinit as init
        >>> int((init.sparse((100, 5), 0.1, generator=0) == 0).sum())
        50
        """,
    ),
    # ------------------------------------------------------------------ jax.nn.initializers
    _jax(
        "variance_scaling_", test_args=(1.3, "fan_avg", "uniform", 0, 1, ()),
        example="""
        >>> import ferroinit as init
        >>> w = init.variance_scaling((512, 256), 1.0, "fan_out", "truncated_normal",
        ...                           dtype="float64", generator=0)
        >>> round(float(w.std()) * 256 ** 0.5, 2)  # the truncated std is sqrt(1 / fan_out)
        1.0
        >>> bool(abs(w).max() <= 2 / 0.87962566103423978 / 16)  # within 2 sigma
        True
        """,
    ),
    _jax(
        "lecun_uniform_",
        example="""
        >>> import ferroinit as init
        >>> init.lecun_uniform((5, 3, 8), generator=0).shape
        (5, 3, 8)
        """,
    ),
    _jax(
        "lecun_normal_",
        example="""
        >>> import ferroinit as init
        >>> init.lecun_normal((16, 8), dtype="float64", generator=0).dtype
        dtype('float64')
        """,
    ),
    _jax(
        "glorot_uniform_",
        example="""
        >>> import ferroinit as init
        >>> w = init.glorot_uniform((32, 16, 3, 3), in_axis=1, out_axis=0, generator=0)  # torch
        >>> bool(abs(w).max() <= (6 / (16 * 9 + 32 * 9)) ** 0.5)
        True
        """,
    ),
    _jax(
        "glorot_normal_",
        example="""
        >>> import ferroinit as init
        >>> init.glorot_normal((4, 8, 2), batch_axis=0, generator=0).shape  # 4 stacked (8, 2)
        (4, 8, 2)
        """,
    ),
    _jax(
        "he_uniform_",
        example="""
        >>> import ferroinit as init
        >>> init.he_uniform((64, 32), dtype="float16", generator=0).dtype
        dtype('float16')
        """,
    ),
    _jax(
        "he_normal_",
        example="""
        >>> import ferroinit as init
        >>> w = init.he_normal((16, 8, 3, 3), in_axis=1, out_axis=0, generator=0)  # torch layout
        >>> bool(abs(w).max() <= 2 * (2 / (8 * 9)) ** 0.5 / 0.87962566103423978)
        True
        """,
    ),
    _jax(
        "delta_orthogonal_", ndim=(3, 5), test_args=(1.2, 0),
        example="""
        >>> import ferroinit as init
        >>> w = init.delta_orthogonal((3, 3, 3), generator=0)
        >>> [float(abs(w[i]).sum()) > 0 for i in range(3)]  # only the centre tap is non-zero
        [False, True, False]
        """,
    ),
    # ------------------------------------------------------------------ keras.initializers
    Initializer(
        "identity_", KERAS, False, False, None, ndim=(2, 2), test_args=(1.5,),
        validate_first=True,
        example="""
        >>> import ferroinit as init
        >>> init.identity((2, 2), gain=2.0, dtype="float64")
        array([[2., 0.],
               [0., 2.]])
        """,
    ),
    Initializer(
        "keras_orthogonal_", KERAS, True, False, None, ndim=(2, None), test_args=(0.7,),
        validate_first=True,
        example="""
        >>> import numpy as np, ferroinit as init
        >>> w = init.keras_orthogonal((2, 3, 12), dtype="float64", generator=0)
        >>> m = w.reshape(6, 12)  # 6 rows < 12 cols: orthonormal rows
        >>> bool(np.allclose(m @ m.T, np.eye(6)))
        True
        """,
    ),
)

_BY_NAME = {e.name: e for e in INITIALIZERS}


def get(name: str) -> Initializer:
    """The entry of an initializer by its in-place or allocating name.

    Example:
        >>> from ferroinit import _registry
        >>> _registry.get("normal").name, _registry.get("normal_").random
        ('normal_', True)
    """
    entry = _BY_NAME.get(name) or _BY_NAME.get(name + "_")
    if entry is None:
        raise KeyError(f"unknown ferroinit initializer {name!r}")
    return entry


def select(*, family: str | None = None, random: bool | None = None,
           shardable: bool | None = None, dask: bool | None = None,
           sweep: bool | None = None) -> list[Initializer]:
    """The entries that match every criterion given (None: any), in table order.

    Example:
        >>> from ferroinit import _registry
        >>> [e.name for e in _registry.select(family="keras")]
        ['identity_', 'keras_orthogonal_']
    """
    return [
        e for e in INITIALIZERS
        if (family is None or e.family == family)
        and (random is None or e.random == random)
        and (shardable is None or e.shardable == shardable)
        and (dask is None or (e.dask is not None) == dask)
        and (sweep is None or e.sweep == sweep)
    ]


def names(**criteria: Any) -> list[str]:
    """The in-place names of :func:`select`'s entries.

    Example:
        >>> from ferroinit import _registry
        >>> _registry.names(family="torch.nn.init", random=False)
        ['constant_', 'ones_', 'zeros_', 'eye_', 'dirac_']
    """
    return [e.name for e in select(**criteria)]
