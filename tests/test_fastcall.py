"""The per-call fast paths and the batch entry: same values and errors as the general paths."""

import ferroinit
import numpy as np
import pytest
from ferroinit import _core

torch = pytest.importorskip("torch")
from ferroinit._torch import tensors as _t


def _job(t, kind, params, key):
    return _t.job(t, kind, params, key)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_fill_many_equals_single_fills(dtype):
    laws = [("normal", (1.0, 2.0)), ("uniform", (-1.0, 3.0)),
            ("trunc_normal", (0.0, 1.0, -0.5, 2.0)), ("constant", (4.5,))]
    shapes = [(3,), (300, 700), (40, 50), (17,)]
    batch = [torch.empty(s, dtype=dtype) for s in shapes]
    _core.fill_many([_job(t, k, p, 7 + i) for i, (t, (k, p)) in enumerate(zip(batch, laws))])
    for i, (t, (k, p)) in enumerate(zip(batch, laws)):
        ref = torch.empty_like(t)
        _core.fill_many([_job(ref, k, p, 7 + i)])
        assert torch.equal(t, ref), k
    eye = torch.empty(2, 3, dtype=dtype)
    _core.fill_many([_job(eye, "eye", (), 0)])
    assert torch.equal(eye, torch.eye(2, 3, dtype=dtype))


def test_fill_many_by_address_matches_the_numpy_path():
    t = torch.empty(64, 33)
    _core.fill_many([_job(t, "normal", (0.0, 1.0), 5)])
    a = np.empty((64, 33), dtype=np.float32)
    _core.fill_law(a, "normal", (0.0, 1.0), ferroinit.Generator(5))
    np.testing.assert_array_equal(t.numpy(), a)
    # a strided view gets the values of its own logical order
    base = torch.zeros(64, 66)
    view = base[:, ::2]
    _core.fill_many([_job(view, "normal", (0.0, 1.0), 5)])
    np.testing.assert_array_equal(view.numpy(), a)
    assert not base[:, 1::2].any()


def test_fill_many_checks_every_job_before_writing():
    good, bad = torch.full((8,), 5.0), torch.full((8,), 5.0)
    with pytest.raises(RuntimeError, match="from=2 > to=1"):
        _core.fill_many([_job(good, "normal", (0.0, 1.0), 1), _job(bad, "uniform", (2.0, 1.0), 1)])
    assert (good == 5).all() and (bad == 5).all()
    with pytest.raises(ValueError, match="2 dimensions"):
        _core.fill_many([_job(good, "normal", (0.0, 1.0), 1), _job(bad, "eye", (), 0)])
    assert (good == 5).all()
    with pytest.raises(ValueError, match=r"law \"normal\" takes 2 parameters \(mean, std\)"):
        _core.fill_many([_job(good, "normal", (0.0,), 1)])
    with pytest.raises(ValueError, match="no law \"no_such_law\"; the laws are uniform, normal"):
        _core.fill_many([_job(good, "no_such_law", (0.0, 1.0), 1)])
    with pytest.raises(TypeError, match="dtype"):
        _core.fill_many([(good.data_ptr(), "int8", (8,), (1,), "normal", (0.0, 1.0), 1)])


def test_numpy_fast_path_is_the_general_path():
    a, b = np.empty(16, dtype=np.float32), np.empty(16, dtype=np.float32)
    ferroinit.normal_(a, 0.5, 2.0, generator=3)
    _core.fill_law(b, "normal", (0.5, 2.0), ferroinit.Generator(3))
    np.testing.assert_array_equal(a, b)
    ferroinit.manual_seed(9)
    ferroinit.uniform_(a)
    ferroinit.trunc_normal_(a, std=0.02)
    assert ferroinit.default_generator.position > 0
    with pytest.raises(TypeError, match="generator must be"):
        ferroinit.normal_(a, generator="x")


@pytest.mark.parametrize("fn,method", [("normal_", "normal_"), ("uniform_", "uniform_")])
def test_tiny_torch_fill_is_torch_own(fn, method):
    t, ref = torch.empty(16), torch.empty(16)
    torch.manual_seed(1)
    getattr(ferroinit, fn)(t)
    torch.manual_seed(1)
    getattr(ref, method)()
    assert torch.equal(t, ref)
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    getattr(ferroinit, fn)(t, generator=g1)
    getattr(ref, method)(generator=g2)
    assert torch.equal(t, ref)


def test_tiny_fills_under_accelerate_are_torch_own():
    import ferroinit.torch as fit

    t, ref = torch.empty(16), torch.empty(16)
    for call in (lambda x: torch.nn.init.normal_(x, 0.1, 0.5),
                 lambda x: torch.nn.init.uniform_(x, b=2.0),
                 lambda x: torch.nn.init.normal_(tensor=x, std=3.0)):
        torch.manual_seed(2)
        call(ref)
        torch.manual_seed(2)
        with fit.accelerate():
            call(t)
        assert torch.equal(t, ref)
    g = torch.Generator().manual_seed(3)
    with fit.accelerate(generator=g):
        torch.nn.init.normal_(t)
    torch.nn.init.normal_(ref, generator=torch.Generator().manual_seed(3))
    assert torch.equal(t, ref)
    with fit.accelerate(), pytest.raises(RuntimeError, match="std"):
        torch.nn.init.normal_(t, std=-1.0)
