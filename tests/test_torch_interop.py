"""In-place fills of real torch tensors (through DLPack), bfloat16, and the error paths."""

from __future__ import annotations

import ferroinit as init
import numpy as np
import pytest
import scipy.stats
import torch

TORCH_NP = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}


def bf16_bits(t):
    return t.view(torch.int16).numpy().view(np.uint16)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_torch_in_place_equals_numpy(dtype):
    t = torch.empty(37, 41, dtype=dtype)
    a = np.empty((37, 41), TORCH_NP[dtype])
    assert init.kaiming_normal_(t, generator=9) is t
    init.kaiming_normal_(a, generator=9)
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_strided_torch_views_follow_logical_order(dtype):
    base = torch.zeros(40, 30, dtype=dtype)
    view = base.T[::2, 1:]  # (15, 39), non-contiguous, offset
    init.uniform_(view, -1.0, 1.0, generator=2)
    ref = torch.zeros(15, 39, dtype=dtype)
    init.uniform_(ref, -1.0, 1.0, generator=2)
    assert torch.equal(view, ref)
    untouched = base.clone()
    untouched.T[::2, 1:] = 0
    assert not untouched.any()  # nothing outside the view was written


# Just above a half-way point of the target format: rounded once from float64 they go up;
# through float32 first (as torch's fill_ does) they go down.
DOUBLE_ROUNDING_VALUES = [
    1 + 2**-8 + 2**-30,
    -(1 + 2**-8 + 2**-30),
    1 + 2**-11 + 2**-40,
    3.0000000001,
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("val", DOUBLE_ROUNDING_VALUES)
def test_half_constant_rounds_like_torch(dtype, val):
    # torch.nn.init.constant_ converts float64 -> float32 -> half; ferroinit keeps torch's bits
    # (NumPy's float64 -> float16 rounds once and can differ in the last place).
    t = torch.empty(5, dtype=dtype)
    init.constant_(t, val)
    ref = torch.empty(5, dtype=dtype)
    torch.nn.init.constant_(ref, val)
    assert torch.equal(t.view(torch.int16), ref.view(torch.int16))


def test_parameter_requiring_grad_is_filled_in_place():
    p = torch.nn.Parameter(torch.zeros(64, 32))
    ptr = p.data_ptr()
    out = init.xavier_uniform_(p, generator=0)
    assert out is p and p.requires_grad and p.is_leaf and p.data_ptr() == ptr
    ref = init.xavier_uniform_(np.empty((64, 32), np.float32), generator=0)
    np.testing.assert_array_equal(p.detach().numpy(), ref)
    (p * 2).sum().backward()
    assert torch.equal(p.grad, torch.full_like(p, 2.0))


def test_bf16_tensor_is_float32_stream_rounded_to_nearest_even():
    t = torch.empty(1000, 1003, dtype=torch.bfloat16)
    init.normal_(t, 0.25, 3.0, generator=21)
    f = torch.empty(1000, 1003, dtype=torch.float32)
    init.normal_(f, 0.25, 3.0, generator=21)
    assert torch.equal(t, f.to(torch.bfloat16))  # torch's cast is round-to-nearest-even


def test_bf16_normal_distribution():
    t = torch.empty(1_000_000, dtype=torch.bfloat16)
    init.normal_(t, 0.0, 1.0, generator=5)
    x = t.double().numpy()
    # bf16 keeps 8 significant bits: compare against N(0,1) rounded the same way.
    ref = torch.from_numpy(np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32))
    r = scipy.stats.ks_2samp(x, ref.to(torch.bfloat16).double().numpy())
    assert r.pvalue > 1e-5, r
    assert abs(x.mean()) < 0.005 and abs(x.std() - 1) < 0.005


def test_bf16_uniform_and_trunc_normal_stay_inside():
    t = torch.empty(2_000_000, dtype=torch.bfloat16)
    init.uniform_(t, -0.3, 0.7, generator=0)
    assert t.min() >= -0.3 and t.max() <= 0.7
    init.trunc_normal_(t, 0.0, 1.0, -0.01, 0.013, generator=0)
    x = t.double()
    assert x.min() >= -0.01 and x.max() <= 0.013
    init.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04, generator=1)
    x = t.double()
    assert x.min() >= -0.04 and x.max() <= 0.04
    assert abs(float(x.std()) / 0.0176 - 1) < 0.02  # std of N(0, .02) truncated at 2 sigma


def test_meta_tensors_are_returned_unchanged_as_torch_does():
    m = torch.empty(3, 3, device="meta")
    assert init.normal_(m) is m and m.is_meta
    p = torch.nn.Parameter(torch.empty(3, device="meta"))
    assert init.ones_(p) is p and init.kaiming_uniform_(torch.empty(4, 4, device="meta")).is_meta


def test_non_float_torch_dtype_is_refused_untouched():
    t = torch.zeros(5, dtype=torch.int64)
    with pytest.raises(TypeError, match="int64"):
        init.normal_(t)
    assert not t.any()


def test_jax_arrays_are_refused_as_read_only():
    jnp = pytest.importorskip("jax.numpy")
    x = jnp.zeros(4)
    with pytest.raises(ValueError, match="read-only"):
        init.normal_(x)
    buf = init.normal(8, generator=0, dlpack=True)
    y = jnp.from_dlpack(buf)
    assert y.unsafe_buffer_pointer() == buf.data_ptr


def test_errors_leave_the_tensor_untouched():
    t = torch.zeros(4, 4)
    with pytest.raises(RuntimeError) as torch_err:
        torch.nn.init.uniform_(torch.zeros(4, 4), 1.0, 0.0)
    with pytest.raises(RuntimeError) as ours:
        init.uniform_(t, 1.0, 0.0)
    assert str(ours.value) == str(torch_err.value)  # torch's type and wording: from=1 > to=0
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(torch.zeros(2, 2, 2))
    assert not t.any()


def test_torch_dtypes_for_allocating_dlpack_forms():
    t = torch.from_dlpack(init.ones((2, 2), dtype=torch.bfloat16, dlpack=True))
    assert t.dtype == torch.bfloat16 and bool((t == 1).all())
    with pytest.raises(TypeError, match="int8"):
        init.empty(3, dtype="int8", dlpack=True)
