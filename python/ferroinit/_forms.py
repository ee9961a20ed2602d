"""The forms derived from an in-place initializer and its registry entry.

One in-place function ``name_(x, ...)`` per initializer holds the semantics; from it and its
entry in :mod:`ferroinit._registry` this module makes the allocating form ``name(shape, ...)``
(with a real signature and a torch-style docstring, for ``help()`` and the doctests) and the
pieces :mod:`ferroinit.dask` builds its constructors from. Each allocating form is a closure
over the in-place function, with ``__signature__`` and ``__doc__`` set.

The in-place function of a sampled law (an entry with ``law=``: ``uniform_``, ``normal_``,
``trunc_normal_``, ...) is itself made here, by :func:`inplace_law`, from the entry's
parameters and docstring: every law has the same body, "one type check, then
``_core.fill_law``", so no module writes one by hand.
"""

from __future__ import annotations

import inspect
import numbers
import operator
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._registry import Initializer

_P = inspect.Parameter
_KW = _P.KEYWORD_ONLY
_POS = _P.POSITIONAL_OR_KEYWORD
SHARD_PARAMS = ("global_shape", "offset")
READ_ONLY = "assignment destination is read-only"

#: Docstring lines of the parameters every allocating form adds or shares.
_ARG_DOCS = {
    "dtype": '``"float16"``, ``"bfloat16"`` (needs ml_dtypes unless ``dlpack=True``), '
             '``"float32"`` or ``"float64"`` (or the NumPy/torch dtype).',
    "dlpack": "return a ``RustBuffer`` (a zero-copy DLPack producer for "
              "``torch.from_dlpack``, ``np.from_dlpack``, ``jax.numpy.from_dlpack``) instead "
              "of a NumPy array.",
    "generator": "an int seed, a :class:`ferroinit.Generator`, or None for the global "
                 "generator.",
    "global_shape, offset": "write the shard at ``offset`` of an array of ``global_shape`` "
                            "(see :func:`ferroinit.uniform_`).",
}


def shape_of(x_or_shape: Any) -> tuple[int, ...]:
    """A shape as a tuple of ints: an int, a sequence of ints, or an array's ``.shape``.

    Example:
        >>> shape_of(3), shape_of((2, 3)), shape_of(np.empty((4, 1)))
        ((3,), (2, 3), (4, 1))
    """
    if isinstance(x_or_shape, numbers.Integral):
        shape = (int(x_or_shape),)
    elif hasattr(x_or_shape, "shape"):
        shape = tuple(int(d) for d in x_or_shape.shape)
    else:
        shape = tuple(operator.index(d) for d in x_or_shape)
    if any(d < 0 for d in shape):
        raise ValueError("negative dimensions are not allowed")  # NumPy's wording
    return shape


def named(fill: Callable, name: str, summary: str, args: str, example: str) -> Callable:
    """Name and document an in-place function made by a factory (twins such as
    ``xavier_uniform_``/``xavier_normal_`` share one body): a torch-style docstring from its
    summary, its Args lines (unindented) and its example (doctest lines, indented 8).

    Example:
        >>> f = named(lambda x: x, "noop_", "Return ``x``.", "x: anything.",
        ...           "        >>> noop_(3)\\n        3\\n")
        >>> f.__name__, f(3), "Returns:" in f.__doc__
        ('noop_', 3, True)
    """
    fill.__name__ = fill.__qualname__ = name
    fill.__doc__ = (f"{summary}\n\n    Args:\n{textwrap.indent(args, ' ' * 8)}\n\n"
                    f"    Returns:\n        ``x``.\n\n    Example:\n"
                    f"        >>> import numpy as np, ferroinit as init\n{example}")
    return fill


def refuse_array(name: str, shape: Any) -> None:
    """Refuse an array (anything with ``.shape``) where a shape is expected.

    torch's deprecated ``init.normal(t)`` filled ``t``; here the allocating form would return
    a new array and leave ``t`` as it was, so it is an error that names the in-place form.

    Example:
        >>> import numpy as np
        >>> refuse_array("normal", np.empty(3))
        Traceback (most recent call last):
        ...
        TypeError: normal() takes a shape; to fill an existing array use ferroinit.normal_(x, ...)
    """
    if hasattr(shape, "shape") and not isinstance(shape, numbers.Integral):
        raise TypeError(f"{name}() takes a shape; to fill an existing array use "
                        f"ferroinit.{name}_(x, ...)")


def _params_after_x(inplace: Callable, entry: Initializer) -> tuple[list[_P], list[_P]]:
    """The in-place function's parameters after the array: (positional, keyword-only)."""
    params = list(inspect.signature(inplace).parameters.values())[1:]
    if not entry.shardable:
        params = [p for p in params if p.name not in SHARD_PARAMS]
    return [p for p in params if p.kind is _POS], [p for p in params if p.kind is _KW]


def _head(entry: Initializer) -> list[_P]:
    if entry.matrix_args:
        rows, cols = entry.matrix_args
        return [_P(rows, _POS, annotation="int"),
                _P(cols, _POS, default=None, annotation="int | None")]
    return [_P("shape", _POS, annotation="Shape")]


def signature(entry: Initializer, inplace: Callable, extra: list[_P]) -> inspect.Signature:
    """The derived form's signature: the shape (or rows and columns), the in-place function's
    parameters after the array, ``extra`` first among the keyword-only ones."""
    positional, kwonly = _params_after_x(inplace, entry)
    return inspect.Signature(_head(entry) + positional + extra + kwonly)


def _bind_error(name: str, sig: inspect.Signature, args: tuple, kwargs: dict) -> None:
    """Raise the TypeError of a call that does not fit ``sig``, naming ``name``; else return."""
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}() {e}") from None


def docstring(entry: Initializer, sig: inspect.Signature, *, summary: str, shape_doc: str,
              args: dict[str, str], returns: str, example: str) -> str:
    """A torch-style docstring (summary, Args, Returns, Example) for a derived form: the
    parameters in signature order, the in-place function's own referred to it."""
    docs = {**_ARG_DOCS, **args}
    if entry.matrix_args:
        rows, cols = entry.matrix_args
        lines = [f"{rows}: the number of rows.",
                 f"{cols}: the number of columns (default ``{rows}``)."]
    else:
        lines = [f"shape: {shape_doc}"]
    own = [p.name for p in sig.parameters.values()
           if p.kind is _POS and p.name not in ("shape", *entry.matrix_args)]
    if own:
        lines.append(f"{', '.join(own)}: as in :func:`ferroinit.{entry.name}`.")
    for p in sig.parameters.values():
        key = "global_shape, offset" if p.name == "global_shape" else p.name
        if p.kind is _KW and key in docs:
            lines.append(f"{key}: {docs[key]}")
    body = "\n".join(textwrap.fill(line, 92, initial_indent="    ",
                                   subsequent_indent="        ") for line in lines)
    example = textwrap.indent(textwrap.dedent(example).strip("\n"), "    ")
    return f"{summary}\n\nArgs:\n{body}\n\nReturns:\n    {returns}\n\nExample:\n{example}\n"


def _validator(inplace: Callable) -> Callable[[tuple[int, ...], tuple, dict], None]:
    """Check a call's arguments on a read-only stand-in of the shape (no memory), so an
    invalid call raises before anything is allocated (the in-place function validates, then
    stops at the read-only stand-in; the generator is left where it was)."""

    def validate(dims: tuple[int, ...], args: tuple, kwargs: dict) -> None:
        try:
            stand_in = np.lib.stride_tricks.as_strided(
                np.zeros(1, dtype=np.float16), dims, (0,) * len(dims), writeable=False)
        except ValueError:
            return  # more bytes than NumPy can describe: the allocation refuses it
        try:
            inplace(stand_in, *args, **kwargs)
        except ValueError as e:
            if str(e) != READ_ONLY:
                raise

    return validate


def allocating(entry: Initializer, inplace: Callable, empty: Callable,
               shape_of: Callable[[Any], tuple[int, ...]]) -> Callable:
    """Make the allocating form of ``inplace``: ``name(shape, ...)`` fills ``empty(shape)``.

    Args:
        entry: the initializer's registry entry.
        inplace: its in-place function.
        empty: ``ferroinit.empty`` (the allocator).
        shape_of: the shape normalizer (ints, sequences of ints; negative dims refused).

    Returns:
        The allocating function, with its ``__signature__`` and ``__doc__``.
    """
    name = entry.allocating
    extra = [_P("dtype", _KW, default="float32"),
             _P("dlpack", _KW, default=False, annotation="bool")]
    sig = signature(entry, inplace, extra).replace(return_annotation="np.ndarray")
    refused = () if entry.shardable else SHARD_PARAMS
    validate = _validator(inplace) if entry.validate_first else None

    def fill(shape, args, kwargs, dtype, dlpack, head):
        for k in refused:
            if k in kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument {k!r}")
        try:
            if validate is not None:
                validate(shape_of(shape), args, kwargs)
            return inplace(empty(shape, dtype=dtype, dlpack=dlpack), *args, **kwargs)
        except TypeError:
            _bind_error(name, sig, (*head, *args), kwargs)
            raise

    if entry.matrix_args:
        def form(n, m=None, *args, dtype="float32", dlpack=False, **kwargs):
            refuse_array(name, n)
            refuse_array(name, m)
            return fill((n, n if m is None else m), args, kwargs, dtype, dlpack, (n, m))
    else:
        def form(shape, *args, dtype="float32", dlpack=False, **kwargs):
            refuse_array(name, shape)
            return fill(shape, args, kwargs, dtype, dlpack, (shape,))

    form.__name__ = form.__qualname__ = name
    form.__module__ = entry.module
    form.__signature__ = sig
    what = ("a new array of ``shape``" if not entry.matrix_args else "a new matrix")
    form.__doc__ = docstring(
        entry, sig,
        summary=entry.summary or f"Allocating :func:`{entry.name}`: {what} holding the values "
                                 f":func:`{entry.name}` writes (for the same generator state).",
        shape_doc=f"an int or a sequence of ints. Not an array (a ``TypeError``): "
                  f":func:`{entry.name}` fills one.",
        args={}, returns="A new C-contiguous NumPy array, or a ``RustBuffer`` with "
                         "``dlpack=True``.",
        example=entry.example)
    return form


# The in-place function of a sampled law. Its source is generated (as dataclasses generates
# __init__) rather than a closure over *args/**kwargs: this is the per-call fast path, and a
# real def binds positional and keyword parameters in C and has a real signature. The fast
# path is a NumPy array without a shard: one type check, then the core.
_LAW_SOURCE = """\
def _make(*, _ndarray, _fill_law, _default, _gen, _shard, _torch_tensor, _torch_fill, _warn,
          _warnings):
    def {name}(x, {params}, *, generator=None, global_shape=None, offset=None):
        params = ({args})
{warn}        if type(x) is _ndarray and global_shape is None and offset is None:
            _fill_law(x, {law!r}, params, _default if generator is None else _gen(generator))
            return x
        if _torch_tensor(x):
            return _torch_fill({law!r}, x, params, generator, global_shape, offset)
        _fill_law(x, {law!r}, params, _gen(generator), **_shard(global_shape, offset))
        return x
    return {name}
"""
_WARN_SOURCE = """\
        message = _warn(*params)
        if message is not None:
            _warnings.warn(message, stacklevel=2)
"""


# The Args lines and the Returns that every law's in-place docstring shares (its doc's
# "{random_args}" line, at the registry's 12-space indent).
_LAW_ARGS = f"""\
generator: {_ARG_DOCS["generator"]}
            global_shape, offset: write the values of the sub-array at ``offset`` of an array
                of ``global_shape`` (see the README on shards).

        Returns:
            ``x``."""


def inplace_law(entry: Initializer, namespace: dict[str, Any], helpers: dict[str, Any]
                ) -> Callable:
    """Make the in-place function of the sampled law of ``entry``:
    ``name_(x, *params, generator=None, global_shape=None, offset=None)`` with the entry's
    parameters and defaults, its docstring, and torch's warning where the entry has one.

    Args:
        entry: a registry entry with ``law``.
        namespace: the globals of the module it belongs to (its ``__globals__``, so doctest
            and ``inspect`` find it there).
        helpers: ``fill_law`` (the core), ``default`` (the global generator), ``gen`` and
            ``shard`` (argument normalizers), ``torch_tensor`` and ``torch_fill`` (the torch
            branch).

    Returns:
        The function (not yet bound in ``namespace``).

    Example:
        >>> import numpy as np, ferroinit
        >>> from ferroinit import _registry
        >>> f = inplace_law(_registry.get("normal_"), vars(ferroinit), {
        ...     "fill_law": ferroinit._core.fill_law, "default": ferroinit.default_generator,
        ...     "gen": ferroinit._gen, "shard": ferroinit._shard,
        ...     "torch_tensor": lambda x: False, "torch_fill": None})
        >>> list(inspect.signature(f).parameters)
        ['x', 'mean', 'std', 'generator', 'global_shape', 'offset']
        >>> bool((f(np.empty(3), std=2.0, generator=1) == ferroinit.normal(3, 0.0, 2.0,
        ...       dtype="float64", generator=1)).all())
        True
    """
    names = [p for p, _ in entry.params]
    if not all(p.isidentifier() for p in [entry.name, *names]) or not all(
            isinstance(d, float) for _, d in entry.params):
        raise ValueError(f"registry entry {entry.name!r}: names must be identifiers and "
                         "defaults floats")
    source = _LAW_SOURCE.format(
        name=entry.name, law=entry.law,
        params=", ".join(f"{p}: float = {d!r}" for p, d in entry.params),
        args="".join(f"{p}, " for p in names),
        warn=_WARN_SOURCE if entry.warn is not None else "")
    scope: dict[str, Any] = {}
    # (the source holds only the checked identifiers, float reprs and the law's repr)
    exec(compile(source, f"<ferroinit law {entry.name}>", "exec"), namespace, scope)  # noqa: S102
    fn = scope["_make"](**{f"_{k}": v for k, v in helpers.items()}, _ndarray=np.ndarray,
                        _warn=entry.warn, _warnings=warnings)
    fn.__qualname__ = entry.name
    if hasattr(fn.__code__, "co_qualname"):  # 3.11+ names a bad call by the code's qualname
        fn.__code__ = fn.__code__.replace(co_qualname=entry.name)
    fn.__doc__ = entry.doc.replace("{random_args}", _LAW_ARGS)
    fn.__module__ = entry.module
    return fn


def install(namespace: dict[str, Any], entries: list[Initializer], empty: Callable,
            shape_of: Callable[[Any], tuple[int, ...]]) -> list[str]:
    """Define the allocating form of every entry in ``namespace`` (a module's globals), next
    to its in-place function there. Returns the public names of both forms, sorted."""
    out = []
    for entry in entries:
        namespace[entry.allocating] = allocating(entry, namespace[entry.name], empty, shape_of)
        out += [entry.allocating, entry.name]
    return sorted(out)
