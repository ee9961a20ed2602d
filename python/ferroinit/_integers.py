"""Integer and bool arrays for the deterministic initializers, by torch's rules.

torch fills integer and bool tensors with ``constant_``/``zeros_``/``ones_``/``eye_``/
``dirac_`` (``zeros_(bn.num_batches_tracked)`` is in every BatchNorm), so ferroinit does too
for integer and bool NumPy arrays. The Rust core writes float dtypes only; these fills are
NumPy's (they are memory-bound writes of one value or a sparse pattern). The random
initializers keep refusing integer arrays, as torch's do.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

#: torch's names of the C++ types in its overflow message.
_TORCH_NAMES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t",
                "uint16": "uint16_t", "int32": "int", "uint32": "uint32_t",
                "int64": "int64_t", "uint64": "uint64_t"}


def is_integer_array(x: Any) -> bool:
    """True for a NumPy array of an integer or bool dtype."""
    return isinstance(x, np.ndarray) and x.dtype.kind in "iub"


def _overflow(dtype: np.dtype) -> RuntimeError:
    name = _TORCH_NAMES.get(dtype.name, dtype.name)
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def torch_value(val: Any, dtype: np.dtype) -> int | bool:
    """``val`` converted to an integer or bool ``dtype`` as torch's ``fill_`` converts it.

    Python ints go through torch's Scalar (int64, or uint64 from 2**63): outside
    ``[-2**63, 2**64)`` an OverflowError. Then, as c10's ``checked_convert``: a bool target
    takes ``val != 0``; an integer target refuses a value out of its range with torch's
    RuntimeError, except that an unsigned target takes a negative integer down to
    ``-max`` modulo ``2**bits`` (two's complement); a float is truncated toward zero, and
    NaN, infinities and values outside ``[min, max]`` (compared in float64) are refused.

    Example:
        >>> import numpy as np
        >>> torch_value(2.7, np.dtype(np.int32)), torch_value(-1, np.dtype(np.uint8))
        (2, 255)
        >>> torch_value(300, np.dtype(np.int8))
        Traceback (most recent call last):
        ...
        RuntimeError: value cannot be converted to type int8_t without overflow
    """
    if hasattr(val, "item") and not isinstance(val, (bool, int, float)):
        val = val.item()  # NumPy scalars, 0-d arrays and tensors
    if isinstance(val, bool):
        return val if dtype.kind == "b" else int(val)
    if isinstance(val, numbers.Integral):
        v = int(val)
        if v < -(1 << 63):
            raise OverflowError("can't convert negative int to unsigned")
        if v >= 1 << 64:
            raise OverflowError("int too big to convert")
        if dtype.kind == "b":
            return v != 0
        info = np.iinfo(dtype)
        if dtype.kind == "u" and v < 0:
            if -v > info.max:
                raise _overflow(dtype)
            return v % (info.max + 1)
        if not info.min <= v <= info.max:
            raise _overflow(dtype)
        return v
    f = float(val)
    if dtype.kind == "b":
        return f != 0.0
    info = np.iinfo(dtype)
    if math.isnan(f) or f < float(info.min) or f > float(info.max):
        raise _overflow(dtype)
    v = int(f)  # toward zero, as a C++ cast
    # A 64-bit max rounds up in float64 (2**63, 2**64): the cast wraps there, as on x86.
    return v if v <= info.max else v - (info.max + 1) + (info.min if info.min else 0)


def fill(x: np.ndarray, val: Any) -> np.ndarray:
    """``x.fill(val)`` with torch's conversion of ``val`` (see :func:`torch_value`)."""
    x.fill(torch_value(val, x.dtype))
    return x


def pattern(x: np.ndarray, write: Any) -> np.ndarray:
    """Write a 0/1 pattern into the integer or bool ``x``: ``write`` draws it (and checks the
    shape) on a float16 array of the same shape, so the checks and the pattern are the float
    path's exactly; then it is cast into ``x``."""
    if not x.flags.writeable:
        raise ValueError("assignment destination is read-only")
    scratch = np.empty(x.shape, dtype=np.float16)
    write(scratch)
    np.copyto(x, scratch, casting="unsafe")
    return x
