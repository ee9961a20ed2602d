"""The registry of initializers and the forms derived from it: every entry has its in-place
function, an allocating form with a real signature and docstring that equals the in-place
call, ``dlpack=`` everywhere, and arrays refused where a shape is expected."""

from __future__ import annotations

import inspect
import math
import warnings

import ferroinit as init
import ferroinit.families
import numpy as np
import pytest
import torch
from ferroinit import _registry

ENTRIES = _registry.INITIALIZERS
IDS = [e.name for e in ENTRIES]
DTYPES = ["float16", "bfloat16", "float32", "float64"]


def shape_of(e):
    """A valid, non-square shape for the entry (in <= out for delta_orthogonal)."""
    lo, hi = e.ndim
    if e.matrix_args:
        return (5, 7)
    if lo >= 3:
        return (4, 4, 6)
    if hi == 2:
        return (8, 5)
    return (8, 5, 3) if lo <= 2 and e.family != _registry.KERAS else (4, 6)


def alloc_call(e, shape, **kw):
    fn = getattr(init, e.allocating)
    gen = {"generator": 5} if e.random else {}
    head = shape if e.matrix_args else (shape,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*head, *e.test_args, **gen, **kw)


def inplace_call(e, x):
    gen = {"generator": 5} if e.random else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(init, e.name)(x, *e.test_args, **gen)


def bits(a):
    a = np.asarray(a)
    return a.view(f"u{a.dtype.itemsize}")


def test_registry_is_consistent():
    assert len({e.name for e in ENTRIES}) == len(ENTRIES)
    for e in ENTRIES:
        assert e.name.endswith("_") and e.family in _registry.HOME
        inplace = getattr(init, e.name)
        assert getattr(init, e.allocating).__module__ == e.module == inplace.__module__
        params = inspect.signature(inplace).parameters
        assert ("generator" in params) == e.random, e.name
        assert ("global_shape" in params and "offset" in params) == e.shardable or (
            e.name in ("orthogonal_", "sparse_") and not e.shardable), e.name
        if e.core is not None:
            assert callable(getattr(init._core, e.core))
        assert e.example.strip().startswith(">>>") and e.allocating in e.example
        assert bool(e.dask) == bool(e.dask_example)
    public = set(init.__all__)
    for e in ENTRIES:
        assert {e.name, e.allocating} <= public
    families = set(ferroinit.families.__all__)
    assert families == {"compute_fans"} | {
        n for e in ENTRIES if e.module == "ferroinit.families" for n in (e.name, e.allocating)}
    assert _registry.get("normal") is _registry.get("normal_")
    with pytest.raises(KeyError):
        _registry.get("nonsense")


def test_every_law_of_the_core_is_an_entry_and_its_inplace_form_is_made_from_it():
    catalogue = dict(init._core.laws())
    laws = [e for e in ENTRIES if e.law is not None]
    assert {e.law for e in laws} == set(catalogue)
    for e in laws:
        assert e.core == "fill_law" and e.random and e.shardable
        assert [p for p, _ in e.params] == catalogue[e.law], e.name
        fn = getattr(init, e.name)
        params = inspect.signature(fn).parameters
        assert list(params) == ["x", *catalogue[e.law], "generator", "global_shape", "offset"]
        assert [params[p].default for p, _ in e.params] == [d for _, d in e.params]
        assert fn.__doc__.startswith(e.doc.split("{random_args}")[0]) and fn.__name__ == e.name
        assert "{random_args}" not in fn.__doc__
        for part in ("generator:", "global_shape, offset:", "Returns:", "Example:"):
            assert part in fn.__doc__, (e.name, part)
        # a bad call names the function, as a hand-written one would
        with pytest.raises(TypeError, match=rf"^{e.name}\(\) got an unexpected keyword"):
            fn(np.empty(2), nonsense=1)
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(np.empty(4), 10.0, 1.0, generator=0)


def test_fill_law_refuses_bad_laws_and_parameters_and_writes_nothing():
    x = np.full(4, 7.0)
    g = init.Generator(0)
    with pytest.raises(ValueError, match="no law"):
        init._core.fill_law(x, "no_such_law", (0.0, 1.0), g)
    with pytest.raises(ValueError, match="takes 4 parameters"):
        init._core.fill_law(x, "trunc_normal", (0.0, 1.0), g)
    with pytest.raises(TypeError, match="argument 'std': must be real number, not str"):
        init._core.fill_law(x, "normal", (0.0, "1"), g)
    with pytest.raises(TypeError, match="argument 'b': must be real number, not NoneType"):
        init.uniform_(x, 0.0, None, generator=g)
    with pytest.raises(ValueError, match="at most 8"):
        init._core.fill_law(x, "normal", (0.0,) * 9, g)
    assert (x == 7.0).all() and g.position == 0


@pytest.mark.parametrize("e", ENTRIES, ids=IDS)
def test_allocating_signature_and_doc(e):
    fn = getattr(init, e.allocating)
    sig = inspect.signature(fn)
    inplace = inspect.signature(getattr(init, e.name))
    names = list(sig.parameters)
    head = list(e.matrix_args) or ["shape"]
    assert names[:len(head)] == head
    assert {"dtype", "dlpack"} <= set(names)
    assert sig.parameters["dtype"].default == "float32"
    assert sig.parameters["dlpack"].default is False
    for p in list(inplace.parameters.values())[1:]:
        if p.name in ("global_shape", "offset") and not e.shardable:
            assert p.name not in names
            continue
        assert sig.parameters[p.name].default == p.default
        assert sig.parameters[p.name].kind == p.kind
    doc = fn.__doc__
    for section in ("Args:", "Returns:", "Example:", ">>>"):
        assert section in doc, (e.allocating, section)
    assert fn.__name__ == e.allocating


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("e", ENTRIES, ids=IDS)
def test_allocating_equals_inplace(e, dtype):
    shape = shape_of(e)
    got = alloc_call(e, shape, dtype=dtype)
    assert got.shape == shape and got.dtype == np.dtype(dtype) and got.flags.c_contiguous
    want = inplace_call(e, np.full(shape, np.nan, dtype=dtype))
    np.testing.assert_array_equal(bits(got), bits(want))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("e", ENTRIES, ids=IDS)
def test_every_allocator_takes_dlpack(e, dtype):
    shape = shape_of(e)
    buf = alloc_call(e, shape, dtype=dtype, dlpack=True)
    assert isinstance(buf, init._core.RustBuffer) and buf.dtype == dtype
    t = torch.from_dlpack(buf)
    assert tuple(t.shape) == shape and t.data_ptr() == buf.data_ptr
    want = alloc_call(e, shape, dtype=dtype)
    got = t.view(torch.int16).numpy() if dtype == "bfloat16" else t.numpy()
    np.testing.assert_array_equal(bits(got), bits(want))


@pytest.mark.parametrize("e", ENTRIES, ids=IDS)
def test_allocating_form_refuses_an_array(e):
    fn = getattr(init, e.allocating)
    want = (f"{e.allocating}() takes a shape; to fill an existing array use "
            f"ferroinit.{e.name}(x, ...)")
    for x in (np.zeros(shape_of(e), dtype=np.float32), torch.zeros(shape_of(e))):
        before = x.clone() if isinstance(x, torch.Tensor) else x.copy()
        with pytest.raises(TypeError) as ei:
            fn(x, *e.args)
        assert str(ei.value) == want
        assert (x == before).all()
    assert alloc_call(e, shape_of(e)).shape == shape_of(e)  # a 0-d integer is a shape


def test_numpy_integer_scalars_are_shapes():
    assert init.normal(np.int64(5), generator=0).shape == (5,)
    assert init.eye(np.int32(2), np.int64(3)).shape == (2, 3)
    assert init.normal((np.int64(2), 3), generator=0).shape == (2, 3)


@pytest.mark.parametrize("e", [e for e in ENTRIES if not e.shardable], ids=lambda e: e.name)
def test_allocating_refuses_shards_where_unshardable(e):
    shape = shape_of(e)
    with pytest.raises(TypeError, match="unexpected keyword argument 'global_shape'"):
        alloc_call(e, shape, global_shape=shape)


def test_allocating_argument_errors_name_the_allocating_form():
    with pytest.raises(TypeError, match=r"^normal\(\) "):
        init.normal((2, 2), 0.0, 1.0, 3.0)
    with pytest.raises(TypeError, match=r"^constant\(\) .*'val'"):
        init.constant((2, 2))
    with pytest.raises(TypeError, match=r"^lecun_normal\(\) .*'nonsense'"):
        init.lecun_normal((2, 2), nonsense=1)
    with pytest.raises(TypeError, match=r"^eye\(\) "):
        init.eye(2, 2, 2)


@pytest.mark.parametrize("e", [e for e in ENTRIES if e.validate_first], ids=lambda e: e.name)
def test_validating_forms_raise_before_allocating(e):
    """An invalid call to a JAX/Keras allocating form fails on its arguments, not on memory,
    and leaves the generator where it was."""
    huge = (2**40, 2**20) if e.ndim == (2, 2) else (2**40, 2**10, 2**10)
    bad = {"variance_scaling_": {"mode": "bad"}, "delta_orthogonal_": {"scale": math.nan},
           "identity_": {"gain": math.inf}, "keras_orthogonal_": {"gain": math.nan}}
    kwargs = bad.get(e.name, {"in_axis": 7})
    g = init.Generator(3)
    gen = {"generator": g} if e.random else {}
    with pytest.raises((ValueError, IndexError)):
        getattr(init, e.allocating)(huge, **kwargs, **gen)
    assert g.position == 0
    if e.name != "delta_orthogonal_":  # valid arguments: then the allocation is refused
        with pytest.raises((MemoryError, OverflowError)):
            getattr(init, e.allocating)((2**40, 2**21), **gen)


def test_torch_init_names_come_from_the_registry():
    import ferroinit.torch as fit

    for name in _registry.names(family=_registry.TORCH):
        fit.Init(name)
        fit.Init(name[:-1])
    with pytest.raises(ValueError, match="unknown ferroinit initializer"):
        fit.Init("nonsense_")
