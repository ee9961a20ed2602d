"""calculate_gain and calculate_fan_in_and_fan_out against torch.nn.init."""

from __future__ import annotations

import ferroinit
import numpy as np
import pytest
import torch

LINEAR_LIKE = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
]


@pytest.mark.parametrize("nonlinearity", LINEAR_LIKE + ["tanh", "relu", "leaky_relu", "selu"])
def test_gain_default_param(nonlinearity):
    expected = torch.nn.init.calculate_gain(nonlinearity)
    got = ferroinit.calculate_gain(nonlinearity)
    assert got == expected, (nonlinearity, got, expected)
    assert isinstance(got, (int, float))


@pytest.mark.parametrize("nonlinearity", LINEAR_LIKE + ["tanh", "relu", "selu"])
@pytest.mark.parametrize("param", [0.2, 3, -1.5, "ignored", True])
def test_gain_param_ignored_for_non_leaky(nonlinearity, param):
    # torch ignores param for every nonlinearity except leaky_relu
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert ferroinit.calculate_gain(nonlinearity, param) == expected


@pytest.mark.parametrize(
    "param", [None, 0, 0.0, 0.01, 0.2, 1, 2, -0.3, 1e-8, 100.0, 5, -7, 0.5, np.float64(0.3)]
)
def test_gain_leaky_relu_param_variants(param):
    expected = torch.nn.init.calculate_gain("leaky_relu", param)
    got = ferroinit.calculate_gain("leaky_relu", param)
    assert got == expected, (param, got, expected)


def test_gain_positional_and_keyword():
    assert ferroinit.calculate_gain("leaky_relu", param=0.2) == torch.nn.init.calculate_gain(
        "leaky_relu", 0.2
    )
    assert ferroinit.calculate_gain(nonlinearity="tanh") == 5.0 / 3


def _torch_error(fn, *args):
    with pytest.raises(Exception) as ti:
        fn(*args)
    return ti.value


@pytest.mark.parametrize(
    "param", [True, False, "0.1", np.float32(0.2), np.int64(3), [0.1], complex(1, 0)]
)
def test_gain_leaky_relu_invalid_param_matches_torch(param):
    terr = _torch_error(torch.nn.init.calculate_gain, "leaky_relu", param)
    assert type(terr) is ValueError
    with pytest.raises(ValueError) as ei:
        ferroinit.calculate_gain("leaky_relu", param)
    assert type(ei.value) is ValueError
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize(
    "nonlinearity", ["gelu", "Relu", "RELU", "", "swish", "leaky relu", None, "linear ", "softplus"]
)
def test_gain_unsupported_matches_torch(nonlinearity):
    terr = _torch_error(torch.nn.init.calculate_gain, nonlinearity)
    assert type(terr) is ValueError
    with pytest.raises(ValueError) as ei:
        ferroinit.calculate_gain(nonlinearity)
    assert type(ei.value) is ValueError
    assert str(ei.value) == str(terr)


FAN_SHAPES = [
    (2, 3),
    (3, 2),
    (1, 1),
    (1000, 1),
    (64, 128),
    (4, 5, 6),
    (8, 3, 3, 3),
    (16, 8, 3, 3, 3),
    (1, 1, 1, 1, 1),
    (3, 7, 2, 1, 5, 2),
    (0, 5),
    (5, 0),
    (4, 3, 0),
    (2, 3, 4, 0, 5),
    (10, 20, 1),
]


@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_fans_match_torch_array(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    x = np.empty(shape, dtype=np.float32)
    got = ferroinit.calculate_fan_in_and_fan_out(x)
    assert tuple(got) == tuple(expected)
    assert all(isinstance(v, int) for v in got)


@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_fans_match_torch_shape_tuple(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    got = ferroinit.calculate_fan_in_and_fan_out(tuple(shape))
    assert tuple(got) == tuple(expected)
    assert all(isinstance(v, int) for v in got)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_fans_any_float_dtype_and_view(dtype):
    x = np.empty((6, 4, 3, 2), dtype=dtype)
    assert tuple(ferroinit.calculate_fan_in_and_fan_out(x)) == (24, 36)
    # non-contiguous view: the logical shape counts
    v = x.transpose(1, 0, 2, 3)
    assert tuple(ferroinit.calculate_fan_in_and_fan_out(v)) == (36, 24)


def test_fans_huge_shape_tuple_no_overflow():
    shape = (2**20, 2**20, 2**10)
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))
    assert tuple(ferroinit.calculate_fan_in_and_fan_out(shape)) == tuple(expected)


@pytest.mark.parametrize("shape", [(), (5,), (0,)])
def test_fans_fewer_than_2_dims_matches_torch(shape):
    terr = _torch_error(torch.nn.init._calculate_fan_in_and_fan_out, torch.empty(shape))
    assert type(terr) is ValueError
    with pytest.raises(ValueError) as ei:
        ferroinit.calculate_fan_in_and_fan_out(np.empty(shape, dtype=np.float32))
    assert str(ei.value) == str(terr)
    with pytest.raises(ValueError) as ei:
        ferroinit.calculate_fan_in_and_fan_out(tuple(shape))
    assert str(ei.value) == str(terr)


@pytest.mark.parametrize("shape", [(3,), (), (2, 3), (0, 4, 5), (64, 32, 3, 3), (5, 0),
                                   (2**20, 2**20, 2**10)])
def test_private_fan_helper_is_torchs(shape):
    """User code calls torch's private helpers; ferroinit's have torch's results and errors."""
    def both(fn_t, fn_f, *args):
        out = []
        for fn in (fn_t, fn_f):
            try:
                out.append(("ok", fn(*args)))
            except Exception as e:  # noqa: BLE001 - the comparison is the point
                out.append((type(e), str(e)))
        return out

    t = torch.empty(shape, device="meta")
    a = np.lib.stride_tricks.as_strided(np.zeros(1), shape, (0,) * len(shape))
    want = both(torch.nn.init._calculate_fan_in_and_fan_out,
                ferroinit._calculate_fan_in_and_fan_out, t)[0]
    for x in (t, a):
        got = both(torch.nn.init._calculate_fan_in_and_fan_out,
                   ferroinit._calculate_fan_in_and_fan_out, x)[1]
        assert got == want, (shape, got, want)
    for mode in ("fan_in", "fan_out", "FAN_OUT", "Fan_In", "fan_avg", "bad"):
        want_t, got_f = both(torch.nn.init._calculate_correct_fan,
                             lambda x, m: ferroinit._calculate_correct_fan(a, m), t, mode)
        assert got_f == want_t, (shape, mode, got_f, want_t)


def test_private_correct_fan_mode_not_a_string_like_torch():
    with pytest.raises(AttributeError):
        torch.nn.init._calculate_correct_fan(torch.empty(3, 4), 3)
    with pytest.raises(AttributeError):
        ferroinit._calculate_correct_fan(np.empty((3, 4)), 3)
