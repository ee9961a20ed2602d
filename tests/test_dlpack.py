"""DLPack in and out with real consumers and producers (NumPy, torch), no mocks."""

from __future__ import annotations

import gc

import ferroinit as init
import ml_dtypes
import numpy as np
import pytest
import torch


class Legacy:
    """A pre-1.0 producer: __dlpack__ takes no keywords."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self):
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class Versioned:
    """A DLPack 1.x producer that forwards every keyword (NumPy's own export)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


@pytest.mark.parametrize("wrap", [Legacy, Versioned])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_generic_producer_gets_the_numpy_values(wrap, dtype):
    a = np.zeros((7, 9), dtype)[:, ::2]  # strided
    ref = np.zeros((7, 9), dtype)[:, ::2]
    assert init.normal_(wrap(a), 0.5, 2.0, generator=3) is not None
    init.normal_(ref, 0.5, 2.0, generator=3)
    np.testing.assert_array_equal(a, ref)


def test_read_only_producer_is_refused_untouched():
    a = np.zeros(8, np.float32)
    a.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init.uniform_(Versioned(a), generator=0)
    assert not a.any()


def test_not_a_producer_and_non_float_dtypes():
    with pytest.raises(TypeError, match="DLPack producer"):
        init.normal_([1.0, 2.0])
    b = np.zeros(4, np.int32)
    with pytest.raises(TypeError, match="int32"):
        init.normal_(Versioned(b))
    assert not b.any()


def test_overlapping_producer_refused_untouched():
    base = torch.zeros(3)
    with pytest.raises(ValueError, match="overlapping"):
        init.normal_(base.expand(4, 3))
    assert not base.any()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_export_zero_copy_to_torch_and_numpy(dtype):
    buf = init.normal((64, 33), dtype=dtype, generator=7, dlpack=True)
    assert buf.__dlpack_device__() == (1, 0)
    t = torch.from_dlpack(buf)
    assert t.data_ptr() == buf.data_ptr and tuple(t.shape) == (64, 33)
    assert str(t.dtype) == f"torch.{dtype}"
    same = init.normal((64, 33), dtype="float32", generator=7)
    want = same.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)
    np.testing.assert_array_equal(t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
                                  if dtype == "bfloat16" else t.numpy(),
                                  want if dtype != "float64" else
                                  init.normal((64, 33), dtype="float64", generator=7))
    if dtype != "bfloat16":  # NumPy cannot import bfloat16 through DLPack
        a = np.from_dlpack(buf)
        assert a.ctypes.data == buf.data_ptr


def test_capsule_versions_and_consumption():
    buf = init.zeros(3, dlpack=True)
    assert "dltensor_versioned" in repr(buf.__dlpack__(max_version=(1, 0)))
    assert "dltensor_versioned" in repr(buf.__dlpack__(max_version=(1, 2)))
    assert '"dltensor"' in repr(buf.__dlpack__())
    assert '"dltensor"' in repr(buf.__dlpack__(max_version=(0, 8)))
    cap = buf.__dlpack__(max_version=(1, 0))
    torch.utils.dlpack.from_dlpack(cap)  # consumes: renames the capsule
    assert "used_dltensor_versioned" in repr(cap)
    with pytest.raises(BufferError):
        buf.__dlpack__(dl_device=(2, 0))
    c = torch.from_dlpack(buf.__dlpack__(max_version=(1, 0), copy=True))
    assert c.data_ptr() != buf.data_ptr


def test_memory_outlives_the_buffer_and_is_freed_once():
    buf = init.uniform(1000, dtype="float64", generator=0, dlpack=True)
    t = torch.from_dlpack(buf)
    a = np.from_dlpack(buf)
    expect = t.clone()
    del buf
    gc.collect()
    assert torch.equal(t, expect) and np.array_equal(a, expect.numpy())


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_thousand_create_convert_drop_cycles_leave_rss_flat():
    def cycle(i):
        buf = init.normal((512, 512), generator=i, dlpack=True)  # 1 MiB
        t = torch.from_dlpack(buf)
        a = np.from_dlpack(buf)
        cap = buf.__dlpack__(max_version=(1, 0))  # never consumed: its destructor frees
        del buf, t, a, cap

    for i in range(50):
        cycle(i)
    gc.collect()
    before = _rss_mib()
    for i in range(1000):
        cycle(i)
    gc.collect()
    # A leak would be ~1000 MiB; allow generous slack for allocator noise.
    assert _rss_mib() - before < 100


def test_ml_dtypes_bfloat16_numpy_in_place_is_rounded_float32_stream():
    a = np.empty((300, 301), ml_dtypes.bfloat16)
    init.normal_(a, 0.0, 1.0, generator=11)
    f = init.normal_(np.empty((300, 301), np.float32), 0.0, 1.0, generator=11)
    np.testing.assert_array_equal(a.view(np.uint16), f.astype(ml_dtypes.bfloat16).view(np.uint16))


def test_ml_dtypes_bfloat16_trunc_normal_never_outside():
    a = init.trunc_normal(2_000_000, 0.0, 1.0, -0.01, 0.013, dtype="bfloat16", generator=0)
    x = a.astype(np.float64)
    assert x.min() >= -0.01 and x.max() <= 0.013


def test_shard_through_dlpack_matches_numpy():
    g = np.empty((6, 8), np.float32)
    init.uniform_(g, generator=4)
    t = torch.empty(2, 3)
    init.uniform_(t, generator=4, global_shape=(6, 8), offset=(2, 5))
    np.testing.assert_array_equal(t.numpy(), g[2:4, 5:8])
