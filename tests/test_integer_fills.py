"""constant_/zeros_/ones_/eye_/dirac_ fill integer and bool NumPy arrays exactly as torch fills
integer and bool tensors: the same values (torch's conversion of the fill value), the same
errors (type and message), and the array untouched on error. Random initializers keep
refusing them."""

from __future__ import annotations

import ferroinit as init
import numpy as np
import pytest
import torch
from conftest import sentinel
from ferroinit import _registry

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
              np.bool_]
DETERMINISTIC = _registry.names(family=_registry.TORCH, random=False)
VALUES = [0, 1, -1, 2.7, -2.7, 0.5, 300, -255, -256, 70000, 2**31, 2**63 - 1, 2**63, 2**64 - 1,
          -(2**63), -(2**63) - 1, 2**64, 1e20, -1e-300, float("nan"), float("inf"), True, False,
          np.float32(2.5), np.int64(7), np.uint8(200)]


def torch_dtype(dtype):
    return torch.from_numpy(np.zeros(1, dtype=dtype)).dtype


def outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - the comparison is the point
        return type(e), str(e)


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("val", VALUES, ids=repr)
def test_constant_converts_like_torch(dtype, val):
    t = torch.full((3, 2), 5, dtype=torch_dtype(dtype))
    x = np.full((3, 2), 5, dtype=dtype)
    want = outcome(lambda: torch.nn.init.constant_(t, val).numpy().copy())
    got = outcome(lambda: init.constant_(x, val).copy())
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        assert got[1].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got[1], want[1])
    else:
        assert got[1] == want[1]
        np.testing.assert_array_equal(x, np.full((3, 2), 5, dtype=dtype))  # untouched


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name,shape,args", [
    ("zeros_", (4, 3), ()), ("ones_", (4, 3), ()), ("eye_", (3, 5), ()), ("eye_", (5, 3), ()),
    ("dirac_", (4, 2, 3), ()), ("dirac_", (6, 3, 3, 3), (2,)), ("dirac_", (2, 2, 1, 3, 3), ()),
    ("zeros_", (0, 3), ()), ("eye_", (0, 3), ()),
])
def test_patterns_like_torch(dtype, name, shape, args):
    x = np.full(shape, 7, dtype=dtype)
    try:
        want = getattr(torch.nn.init, name)(torch.full(shape, 7, dtype=torch_dtype(dtype)),
                                            *args).numpy()
    except NotImplementedError:  # torch has no eye for uint16/32/64: its int64 pattern
        want = getattr(torch.nn.init, name)(torch.full(shape, 7), *args).numpy().astype(dtype)
    assert getattr(init, name)(x, *args) is x
    np.testing.assert_array_equal(x, want)


@pytest.mark.parametrize("name,shape,args", [("eye_", (2, 2, 2), ()), ("dirac_", (4, 4), ()),
                                             ("dirac_", (3, 2, 3), (2,))])
def test_pattern_errors_like_float_and_untouched(name, shape, args):
    x = np.full(shape, 7, dtype=np.int32)
    with pytest.raises(ValueError) as ours:
        getattr(init, name)(x, *args)
    with pytest.raises(ValueError) as theirs:
        getattr(init, name)(np.empty(shape, dtype=np.float32), *args)
    assert str(ours.value) == str(theirs.value)
    np.testing.assert_array_equal(x, np.full(shape, 7, dtype=np.int32))


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_read_only_integer_array_refused_untouched(name):
    e = _registry.get(name)
    shape = (4, 2, 3) if e.ndim[0] >= 3 else (3, 3)
    x = np.zeros(shape, dtype=np.int64)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        getattr(init, name)(x, *e.args)
    assert not x.any()


@pytest.mark.parametrize("name", _registry.names(family=_registry.TORCH, random=True))
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
def test_random_initializers_still_refuse_integers(name, dtype):
    e = _registry.get(name)
    x = np.zeros((6, 4), dtype=dtype)
    with pytest.raises(TypeError, match="float32"):
        getattr(init, name)(x, *e.args, generator=0)
    assert not x.any()


def test_float_arrays_unchanged_by_the_integer_path():
    x = sentinel((3, 4), np.float32)
    init.constant_(x, 2.7)
    np.testing.assert_array_equal(x, np.full((3, 4), 2.7, dtype=np.float32))
