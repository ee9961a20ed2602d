"""ferroinit.torch.accelerate(): unchanged torch init code on ferroinit, with torch's semantics.

Against real torch (and timm's own weight_init.py): every torch.nn.init function and routed
Tensor method has torch's law (two-sample KS against torch at 10**6 samples, exact constants),
torch's errors and warnings, torch's seeding, version counters, and everything ferroinit does
not do falls back to torch bit for bit.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import threading
import warnings

import ferroinit
import ferroinit.torch as fit
import numpy as np
import pytest
import scipy.stats
import torch
from conftest import KS_P_MIN, ks_2samp, ks_test
from ferroinit._torch import pending as _pending
from torch import nn
from torch.overrides import TorchFunctionMode

init = nn.init
N = 1000  # a 1000 x 1000 tensor: 10**6 samples per KS test


def _timm_weight_init():
    """timm's layers/weight_init.py, loaded on its own: it needs only torch (timm's package
    __init__ imports torchvision, which this CPU environment cannot install)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm is not installed")
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "layers" / "weight_init.py"
    s = importlib.util.spec_from_file_location("timm_weight_init", path)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


def one_draw_state(seed: int) -> torch.Tensor:
    """The state of a generator seeded ``seed`` after one key draw (what a routed fill does)."""
    g = torch.Generator().manual_seed(seed)
    torch.empty(1, dtype=torch.int64).random_(generator=g)
    return g.get_state()


def ours_and_torch(fill, shape=(N, N), dtype=torch.float32, seed=3):
    """``fill(tensor, generator)`` under accelerate and plain, and whether ours was routed
    (the generator advanced by exactly one key draw)."""
    g = torch.Generator().manual_seed(seed)
    ours = torch.empty(shape, dtype=dtype)
    with fit.accelerate():
        fill(ours, g)
    routed = torch.equal(g.get_state(), one_draw_state(seed))
    theirs = torch.empty(shape, dtype=dtype)
    fill(theirs, torch.Generator().manual_seed(seed + 1))
    return ours, theirs, routed


def as_np(t):
    return t.detach().double().reshape(-1).numpy()


# --------------------------------------------------------------------------- laws

RANDOM_INITS = {
    "uniform_": lambda t, g: init.uniform_(t, -0.5, 2.0, generator=g),
    "normal_": lambda t, g: init.normal_(t, 0.3, 2.0, generator=g),
    "trunc_normal_ default window": lambda t, g: init.trunc_normal_(t, generator=g),
    "trunc_normal_ std=.02": lambda t, g: init.trunc_normal_(t, std=0.02, generator=g),
    "trunc_normal_ 3 sigma": lambda t, g: init.trunc_normal_(t, 0.1, 0.5, -1.4, 1.6, generator=g),
    "xavier_uniform_": lambda t, g: init.xavier_uniform_(t, gain=1.5, generator=g),
    "xavier_normal_": lambda t, g: init.xavier_normal_(t, generator=g),
    "kaiming_uniform_ a=sqrt5": lambda t, g: init.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    "kaiming_uniform_ fan_out relu": lambda t, g: init.kaiming_uniform_(
        t, mode="fan_out", nonlinearity="relu", generator=g),
    "kaiming_normal_": lambda t, g: init.kaiming_normal_(t, generator=g),
    "kaiming_normal_ fan_out relu": lambda t, g: init.kaiming_normal_(
        t, mode="fan_out", nonlinearity="relu", generator=g),
    "Tensor.normal_": lambda t, g: t.normal_(-1.0, 0.25, generator=g),
    "Tensor.uniform_": lambda t, g: t.uniform_(3.0, 4.0, generator=g),
}


@pytest.mark.parametrize("name", list(RANDOM_INITS))
def test_random_inits_have_torchs_law_and_run_on_ferroinit(name):
    ours, theirs, routed = ours_and_torch(RANDOM_INITS[name], shape=(N, N // 2 * 2))
    assert routed, f"{name} did not run on ferroinit (the generator moved otherwise)"
    ks_2samp(as_np(ours), as_np(theirs), label=name)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_routed_with_torchs_law(dtype):
    ours, theirs, routed = ours_and_torch(lambda t, g: init.normal_(t, 0.0, 1.0, generator=g),
                                          dtype=dtype)
    assert routed and ours.dtype == dtype
    # Both sides are rounded to the same dtype: the two-sample test compares like with like.
    r = scipy.stats.ks_2samp(as_np(ours), as_np(theirs))
    assert r.pvalue > KS_P_MIN, r


def test_trunc_normal_narrow_window_keeps_torchs_law():
    # A window holding < 0.3 of the mass: torch's other branch (uniform proposals), whose
    # uniform_ draws run on ferroinit; the values must still be the truncated normal.
    def fill(t, g):
        init.trunc_normal_(t, 0.0, 1.0, 1.0, 1.5, generator=g)

    ours, theirs, _ = ours_and_torch(fill)
    assert float(ours.min()) >= 1.0 and float(ours.max()) <= 1.5
    ks_2samp(as_np(ours), as_np(theirs), label="trunc_normal_ [1, 1.5]")


def test_trunc_normal_one_sample_law():
    ours, _, routed = ours_and_torch(lambda t, g: init.trunc_normal_(t, 0.0, 1.0, -2.0, 2.0,
                                                                   generator=g))
    assert routed
    d = scipy.stats.truncnorm(-2.0, 2.0)
    ks_test(as_np(ours), d, label="trunc_normal_ one-sample")


def test_orthogonal_and_sparse_laws():
    relu = init.calculate_gain("relu")
    ours, theirs, _ = ours_and_torch(lambda t, g: init.orthogonal_(t, gain=relu, generator=g),
                                     shape=(1000, 1000))
    q = ours.double() / relu
    assert torch.allclose(q.T @ q, torch.eye(1000, dtype=torch.float64), atol=1e-4)
    ks_2samp(as_np(ours), as_np(theirs), label="orthogonal_")
    ours, theirs, _ = ours_and_torch(lambda t, g: init.sparse_(t, 0.3, 0.05, generator=g),
                                     shape=(2000, 720))
    assert ((ours == 0).sum(0) == 600).all()  # exactly ceil(0.3 * 2000) zeros per column
    ks_2samp(as_np(ours[ours != 0]), as_np(theirs[theirs != 0]), label="sparse_ values")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_deterministic_inits_equal_torchs_exactly(dtype):
    calls = [
        lambda t: init.constant_(t, 0.1 + 2**-30),
        lambda t: init.ones_(t),
        lambda t: init.zeros_(t),
        lambda t: t.fill_(-3.25),
        lambda t: t.zero_(),
        lambda t: init.eye_(t),
    ]
    for call in calls:
        ours, theirs = torch.full((700, 300), 7.0, dtype=dtype), torch.full((700, 300), 7, dtype=dtype)
        with fit.accelerate():
            out = call(ours)
        assert out is ours
        call(theirs)
        assert torch.equal(ours.view(torch.int8), theirs.view(torch.int8))
    ours, theirs = torch.empty(64, 32, 3, 3, dtype=dtype), torch.empty(64, 32, 3, 3, dtype=dtype)
    with fit.accelerate():
        init.dirac_(ours, groups=2)
    init.dirac_(theirs, groups=2)
    assert torch.equal(ours, theirs)


def test_big_constant_fills_run_on_ferroinit():
    # Above MIN_CONSTANT a fill is ferroinit's (deferred): a later overwrite drops it unwritten.
    t = torch.empty(1 << 17)
    with fit.accelerate():
        init.ones_(t)
        assert len(_pending.registry().fills) == 1
        init.zeros_(t)
        fills = [f for fs in _pending.registry().fills.values() for f in fs]
        assert [(f.kind, f.params) for f in fills] == [("constant", (0.0,))]
    assert not t.any()


# --------------------------------------------------------------------------- timm, chains


def test_timm_trunc_normal_lecun_and_variance_scaling():
    wi = _timm_weight_init()
    cases = {
        "trunc_normal_ std=.02": lambda t: wi.trunc_normal_(t, std=0.02),
        "trunc_normal_ [-1, 2]": lambda t: wi.trunc_normal_(t, 0.5, 1.0, -1.0, 2.0),
        "trunc_normal_tf_": lambda t: wi.trunc_normal_tf_(t, 0.1, 0.3, -2.0, 2.0),
        "lecun_normal_": lambda t: wi.lecun_normal_(t),
        "variance_scaling_ normal": lambda t: wi.variance_scaling_(t, 2.0, "fan_avg", "normal"),
        "variance_scaling_ uniform": lambda t: wi.variance_scaling_(t, 1.0, "fan_out", "uniform"),
    }
    for name, fill in cases.items():
        torch.manual_seed(11)
        ours = torch.empty(N, N)
        with fit.accelerate():
            fill(ours)
            # uniform_, erfinv_, mul_, add_, clamp_ became one pending fill: nothing written yet
            assert len(_pending.registry().fills) == 1, name
        assert torch.equal(torch.default_generator.get_state(), one_draw_state(11)), name
        theirs = torch.empty(N, N)
        fill(theirs)
        ks_2samp(as_np(ours), as_np(theirs), label=name)


def test_chain_that_changes_the_law_is_left_to_torch():
    # A clamp that cuts real mass makes atoms at the bounds: torch does it, exactly.
    wi = _timm_weight_init()
    ours = torch.empty(N, N)
    with fit.accelerate():
        init.normal_(ours)
        ours.clamp_(-0.5, 0.5)
    assert abs(float((ours == 0.5).double().mean()) - scipy.stats.norm.sf(0.5)) < 0.003
    ours = torch.empty(N, N)
    with fit.accelerate():
        wi.trunc_normal_(ours, std=1.0)
        ours.mul_(0)  # not a law: torch's zeros
    assert not ours.any()


def test_kaiming_uniform_then_data_times_point_one():
    torch.manual_seed(0)
    with fit.accelerate():
        lin = nn.Linear(1000, 1000)
        init.kaiming_uniform_(lin.weight, a=math.sqrt(5))
        lin.weight.data *= 0.1
    bound = 0.1 / math.sqrt(1000)
    w = as_np(lin.weight)
    assert w.max() <= bound and w.min() >= -bound
    ks_test(w, scipy.stats.uniform(-bound, 2 * bound), label="kaiming_uniform * 0.1")


# --------------------------------------------------------------------------- model.apply


def weight_init(m):
    # As users write it.
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
        nn.init.constant_(m.bias, 0.01)
    elif isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LSTM):
        for name, p in m.named_parameters():
            if "weight_hh" in name:
                nn.init.orthogonal_(p, gain=nn.init.calculate_gain("relu"))


def build_net():
    return nn.Sequential(nn.Conv2d(128, 1024, 3), nn.BatchNorm2d(1024), nn.Flatten(),
                         nn.Linear(1000, 1000), nn.LSTM(250, 250))


def test_model_apply_weight_init_as_users_write_it():
    torch.manual_seed(0)
    with fit.accelerate():
        ours = build_net()
        ours.apply(weight_init)
    theirs = build_net()
    theirs.apply(weight_init)
    ks_2samp(as_np(ours[0].weight), as_np(theirs[0].weight), label="conv kaiming fan_out")
    ks_2samp(as_np(ours[3].weight), as_np(theirs[3].weight), label="linear xavier_normal")
    assert bool((ours[3].bias == 0.01).all()) and not ours[0].bias.any()
    assert bool((ours[1].weight == 1).all()) and not ours[1].bias.any()
    q = ours[4].weight_hh_l0.detach().double() / math.sqrt(2)
    assert torch.allclose(q.T @ q, torch.eye(250, dtype=torch.float64), atol=1e-5)
    assert all(p.requires_grad and p.is_leaf for p in ours.parameters())


# --------------------------------------------------------------------------- errors, warnings


def _outcome(call, shape):
    t = torch.zeros(shape)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = call(t)
        except Exception as e:  # noqa: BLE001 - the exception is what we compare
            return ("raised", type(e), str(e), [])
    return ("ok", out is t, [(type(x.message), str(x.message)) for x in w])


ERRORS_AND_WARNINGS = {
    "uniform_ from > to": lambda t: init.uniform_(t, 1.0, 0.0),
    "Tensor.uniform_ from > to": lambda t: t.uniform_(1.0, 0.0),
    "normal_ std < 0": lambda t: init.normal_(t, 0.0, -1.0),
    "Tensor.normal_ std < 0": lambda t: t.normal_(0.0, -1.0),
    "kaiming_uniform_ bad mode": lambda t: init.kaiming_uniform_(t, mode="fan_avg"),
    "kaiming_uniform_ bad nonlinearity": lambda t: init.kaiming_uniform_(t, nonlinearity="x"),
    "kaiming_uniform_ bad slope": lambda t: init.kaiming_uniform_(t, a="0.1"),
    "kaiming_uniform_ 1-d": lambda t: init.kaiming_uniform_(t[0]),
    "kaiming_uniform_ zero elements": lambda t: init.kaiming_uniform_(t[:0]),
    "kaiming_normal_ zero elements": lambda t: init.kaiming_normal_(t[:, :0]),
    "kaiming_normal_ bad mode": lambda t: init.kaiming_normal_(t, mode="x"),
    "xavier_uniform_ 1-d": lambda t: init.xavier_uniform_(t[0]),
    "eye_ 3-d": lambda t: init.eye_(t.reshape(2, t.shape[0] // 2, -1)),
    "dirac_ 2-d": lambda t: init.dirac_(t),
    "orthogonal_ 1-d": lambda t: init.orthogonal_(t[0]),
    "sparse_ 3-d": lambda t: init.sparse_(t.reshape(2, t.shape[0] // 2, -1), 0.1),
    "trunc_normal_ far mean": lambda t: init.trunc_normal_(t, 10.0, 1.0, -2.0, 2.0),
    "fill_ overflow float16": lambda t: t.half().fill_(1e6),
    "constant_ tensor value": lambda t: init.constant_(t, torch.tensor(2.0)),
    "generator of the wrong type": lambda t: init.normal_(t, generator=3),
    "uniform_ on int": lambda t: t.long().uniform_(),
    "normal_ expanded": lambda t: t[:1].expand(*t.shape).normal_(),
    "calculate_gain bad": lambda t: init.calculate_gain("nope"),
}


@pytest.mark.parametrize("name", list(ERRORS_AND_WARNINGS))
@pytest.mark.parametrize("shape", [(40, 30), (400, 300)], ids=["small", "large"])
def test_errors_and_warnings_are_torchs(name, shape):
    # Small tensors are torch's anyway; large ones are where ferroinit takes over.
    call = ERRORS_AND_WARNINGS[name]
    theirs = _outcome(call, shape)
    with fit.accelerate():
        ours = _outcome(call, shape)
    assert ours == theirs


def test_routed_calls_return_the_tensor_itself():
    p = nn.Parameter(torch.empty(300, 300))
    t = torch.empty(300, 300)
    with fit.accelerate():
        assert init.normal_(p) is p and init.uniform_(t) is t
        assert init.kaiming_uniform_(p) is p and init.xavier_normal_(p) is p
        with torch.no_grad():
            assert p.normal_() is p and p.uniform_() is p and p.fill_(1.0) is p
        assert t.mul_(2.0) is t and t.erfinv_() is not None


# --------------------------------------------------------------------------- seeding


def test_manual_seed_reproduces_and_successive_calls_differ():
    def run():
        torch.manual_seed(1234)
        with fit.accelerate():
            a = init.normal_(torch.empty(500, 500))
            b = init.normal_(torch.empty(500, 500))
            net = nn.Linear(300, 300)
        return a, b, net

    a1, b1, n1 = run()
    a2, b2, n2 = run()
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    assert torch.equal(n1.weight, n2.weight) and torch.equal(n1.bias, n2.bias)
    assert not torch.equal(a1, b1)
    torch.manual_seed(1235)
    with fit.accelerate():
        a3 = init.normal_(torch.empty(500, 500))
    assert not torch.equal(a1, a3)


def test_torch_generator_decides_and_advances_default_untouched():
    torch.manual_seed(5)
    before = torch.default_generator.get_state()
    g = torch.Generator().manual_seed(42)
    with fit.accelerate():
        a = init.kaiming_normal_(torch.empty(400, 400), generator=g)
        b = torch.empty(400, 400).uniform_(-1, 1, generator=g)
    assert torch.equal(torch.default_generator.get_state(), before)
    g2 = torch.Generator().manual_seed(42)
    with fit.accelerate():
        a2 = init.kaiming_normal_(torch.empty(400, 400), generator=g2)
        b2 = torch.empty(400, 400).uniform_(-1, 1, generator=g2)
    assert torch.equal(a, a2) and torch.equal(b, b2) and not torch.equal(a, b)
    assert torch.equal(g.get_state(), g2.get_state())


def test_accelerate_generator_replaces_the_default_one_everywhere():
    def run(seed):
        with fit.accelerate(generator=seed):
            big = init.normal_(torch.empty(600, 600))
            small = init.normal_(torch.empty(7))  # torch's kernel, with the scope's generator
            perm = torch.randperm(50)
        return big, small, perm

    before = torch.default_generator.get_state()
    x, y = run(3), run(3)
    assert all(torch.equal(a, b) for a, b in zip(x, y))
    assert not torch.equal(run(4)[0], x[0])
    assert torch.equal(torch.default_generator.get_state(), before)


def test_key_is_the_fills_only_input_thread_count_does_not_matter():
    # The values are ferroinit's stream at (the drawn key, 0): the same whatever the number
    # of threads ferroinit's core runs (its pool is sized at import; compare against the
    # NumPy path, which takes the key as a seed).
    g = torch.Generator().manual_seed(9)
    key = int(torch.empty(1, dtype=torch.int64).random_(generator=g))
    with fit.accelerate():
        t = init.normal_(torch.empty(1000, 1003), 0.5, 2.0,
                         generator=torch.Generator().manual_seed(9))
    ref = ferroinit.normal_(np.empty((1000, 1003), np.float32), 0.5, 2.0,
                            generator=ferroinit.Generator(key))
    np.testing.assert_array_equal(t.numpy(), ref)


def test_fills_in_threads_are_independent_and_reproducible():
    def work(seed, out, i):
        g = torch.Generator().manual_seed(seed)
        with fit.accelerate():
            out[i] = init.normal_(torch.empty(700, 700), generator=g)

    out = [None] * 4
    threads = [threading.Thread(target=work, args=(s % 2, out, s)) for s in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert torch.equal(out[0], out[2]) and torch.equal(out[1], out[3])
    assert not torch.equal(out[0], out[1])


# --------------------------------------------------------------------------- autograd


def test_version_counter_makes_a_stale_graph_fail_as_with_torch():
    w = torch.randn(300, 300, requires_grad=True)
    y = (w * w).sum()
    v = w._version
    with fit.accelerate(), torch.no_grad():
        init.normal_(w)
        assert w._version > v  # bumped when called, before the deferred write
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_absorbed_transforms_bump_the_version_too():
    w = torch.randn(300, 300, requires_grad=True)
    with fit.accelerate(), torch.no_grad():
        init.uniform_(w, -1, 1)
        y_version = w._version
        w.mul_(0.5)
        assert w._version > y_version


def test_leaf_requiring_grad_outside_no_grad_raises_torchs_error():
    p = nn.Parameter(torch.empty(500, 500))
    with fit.accelerate():
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            p.normal_()
        init.normal_(p)  # torch.nn.init works under no_grad itself
    x = torch.randn(500, 500, requires_grad=True)
    y = x * 2
    with fit.accelerate():
        y.uniform_()  # a non-leaf: torch records the op (its grad is zero)
    assert y.grad_fn is not None and "Uniform" in type(y.grad_fn).__name__
    y.sum().backward()
    assert not x.grad.any()


# --------------------------------------------------------------------------- devices, modes


def test_meta_tensors_and_meta_device_construction():
    with torch.device("meta"), fit.accelerate():
        net = nn.Sequential(nn.Linear(4000, 4000), nn.LayerNorm(4000), nn.Embedding(9000, 512))
        init.trunc_normal_(net[0].weight, std=0.02)
        init.orthogonal_(net[0].weight)
    assert all(p.is_meta for p in net.parameters())
    m = torch.empty(3000, 3000, device="meta")
    with fit.accelerate():
        assert init.normal_(m) is m and m.is_meta


# Calls on meta tensors that ferroinit answers itself (without torch's Python refs), and some
# it must leave to torch: each is run under accelerate() and under empty_init's meta mode and
# compared with torch on its own (result, version counter, exception type and message).
_META_CALLS = [
    ("normal_", lambda t: t.normal_(0.0, 0.02)),
    ("normal_ kw", lambda t: t.normal_(mean=1, std=2)),
    ("normal_ std<0", lambda t: t.normal_(0.0, -1.0)),
    ("normal_ nan", lambda t: t.normal_(float("nan"), 1.0)),
    ("uniform_", lambda t: t.uniform_(-1, 1)),
    ("uniform_ a>b", lambda t: t.uniform_(2.0, 1.0)),
    ("erfinv_", lambda t: t.erfinv_()),
    ("clamp_", lambda t: t.clamp_(min=-2.0, max=2.0)),
    ("clamp_ min", lambda t: t.clamp_(-2)),
    ("clamp_ none", lambda t: t.clamp_()),
    ("init.normal_", lambda t: init.normal_(t, std=0.02)),
    ("init.normal_ gen", lambda t: init.normal_(t, generator=torch.Generator().manual_seed(0))),
    ("init.uniform_", lambda t: init.uniform_(t, -0.1, 0.1)),
    ("init.uniform_ bad", lambda t: init.uniform_(t, 1.0, -1.0)),
    ("timm trunc", lambda t: t.uniform_(-0.9, 0.9).erfinv_().mul_(0.02).add_(0.0).clamp_(-2, 2)),
]


def _meta_outcome(make, call, context):
    t = make()
    v0 = t._version
    with context():
        try:
            out = call(t)
            result = ("ok", out is t, out.is_meta, out.shape, out.dtype)
        except Exception as e:  # noqa: BLE001 - compared with torch's own
            result = (type(e).__name__, str(e))
    return result, t._version - v0


@pytest.mark.parametrize("name,call", _META_CALLS, ids=[c[0] for c in _META_CALLS])
@pytest.mark.parametrize("kind", ["leaf", "parameter", "int", "bf16"])
def test_meta_calls_are_torch_calls(name, call, kind):
    import contextlib

    def make():
        if kind == "int":
            return torch.empty(64, 64, dtype=torch.int32, device="meta")
        dtype = torch.bfloat16 if kind == "bf16" else torch.float32
        t = torch.empty(3000, 2, dtype=dtype, device="meta")
        return nn.Parameter(t) if kind == "parameter" else t

    theirs = _meta_outcome(make, call, contextlib.nullcontext)
    assert _meta_outcome(make, call, fit.accelerate) == theirs
    assert _meta_outcome(make, call, fit.empty_init) == theirs
    with torch.no_grad():
        theirs = _meta_outcome(make, call, contextlib.nullcontext)
        assert _meta_outcome(make, call, fit.accelerate) == theirs
        assert _meta_outcome(make, call, fit.empty_init) == theirs


def test_empty_init_meta_mode_leaves_cpu_tensors_and_nests():
    torch.manual_seed(3)
    with fit.empty_init(), fit.empty_init():
        t = torch.empty(5000)
        t.normal_()  # a CPU tensor: torch's own call and values
        lin = nn.Linear(3000, 3000)
    torch.manual_seed(3)
    ref = torch.empty(5000).normal_()
    assert torch.equal(t, ref) and lin.weight.is_meta
    assert not torch._C._len_torch_function_stack()


def test_fake_tensors_keep_working():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(), fit.accelerate():
        lin = nn.Linear(3000, 3000)
        init.xavier_uniform_(lin.weight)
        init.zeros_(lin.bias)
        y = lin(torch.empty(2, 3000))
    assert y.shape == (2, 3000)
    assert type(lin.weight).__name__ in ("FakeTensor", "Parameter")


def test_no_grad_and_inference_mode():
    with torch.no_grad(), fit.accelerate():
        p = nn.Parameter(torch.empty(600, 600))
        assert p.normal_() is p and p.requires_grad
    with torch.inference_mode(), fit.accelerate():
        t = torch.empty(600, 600)
        init.normal_(t, 0.0, 3.0)
        assert t.is_inference()
    assert abs(float(t.std()) - 3.0) < 0.05
    with fit.accelerate(), pytest.raises(RuntimeError, match="Inplace update to inference"):
        init.normal_(t)


class Counting(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.seen.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def test_nested_modes():
    # A mode below accelerate sees the calls: torch does them then.
    below = Counting()
    t = torch.empty(800, 800)
    with below, fit.accelerate():
        init.normal_(t)
    assert "normal_" in below.seen
    # A mode above it sees every call first, then accelerate routes it.
    above = Counting()
    g = torch.Generator().manual_seed(8)
    with fit.accelerate(), above:
        init.normal_(t, generator=g)
    assert "normal_" in above.seen and torch.equal(g.get_state(), one_draw_state(8))
    # accelerate inside accelerate, and as a decorator.
    with fit.accelerate():
        with fit.accelerate():
            a = init.normal_(torch.empty(800, 800))
        b = init.normal_(torch.empty(800, 800))
    assert abs(float(a.std()) - 1) < 0.01 and abs(float(b.std()) - 1) < 0.01

    @fit.accelerate()
    def build(n):
        return nn.Linear(n, n) if n < 300 else build(n // 2)

    assert abs(float(build(1024).weight.detach().abs().max()) - 1 / 16) < 1e-3


def test_pending_fills_are_written_before_torch_reads_them():
    t = torch.full((1000, 1000), float("nan"))
    with fit.accelerate():
        init.normal_(t)
        assert torch.isfinite(t).all()  # the read wrote it first
        init.uniform_(t, 2, 3)
        row = t[5]
        assert bool((row >= 2).all())
        assert bool(np.isfinite(t.numpy()).all())


# --------------------------------------------------------------------------- fallbacks


def test_fallbacks_are_torchs_bit_for_bit():
    calls = {
        "int64 zeros_": (torch.int64, lambda t: init.zeros_(t)),
        "bool ones_": (torch.bool, lambda t: init.ones_(t)),
        "int32 constant_": (torch.int32, lambda t: init.constant_(t, 3)),
        "int64 random_": (torch.int64, lambda t: t.random_(0, 10)),
        "complex normal_": (torch.complex64, lambda t: init.normal_(t)),
        "complex uniform_": (torch.complex64, lambda t: t.uniform_()),
        "tiny normal_": (torch.float32, lambda t: init.normal_(t[:3, :5])),
        "tiny kaiming_uniform_": (torch.float32, lambda t: init.kaiming_uniform_(t[:4, :4])),
        "std=0 normal_": (torch.float32, lambda t: init.normal_(t, 2.0, 0.0)),
        "empty uniform_": (torch.float32, lambda t: init.uniform_(t, 1.0, 1.0)),
        "neg view": (torch.float32, lambda t: torch._neg_view(t).uniform_(0.0, 1.0)),
        "float16 overflowing normal_": (torch.float16, lambda t: init.normal_(t, 0.0, 30000.0)),
    }
    for name, (dtype, call) in calls.items():
        ours, theirs = torch.zeros(60, 50, dtype=dtype), torch.zeros(60, 50, dtype=dtype)
        torch.manual_seed(77)
        with fit.accelerate():
            call(ours)
        torch.manual_seed(77)
        call(theirs)
        assert torch.equal(ours, theirs), name


def test_tensor_subclass_falls_back():
    class Tagged(torch.Tensor):
        pass

    t = torch.zeros(900, 900).as_subclass(Tagged)
    torch.manual_seed(2)
    with fit.accelerate():
        init.normal_(t)
    ref = torch.zeros(900, 900)
    torch.manual_seed(2)
    init.normal_(ref)
    assert torch.equal(t.as_subclass(torch.Tensor), ref)


# --------------------------------------------------------------------------- ferroinit's API


def test_top_level_fill_bumps_the_version_counter():
    w = torch.randn(300, 300, requires_grad=True)
    y = (w * w).sum()
    assert ferroinit.normal_(w) is w
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    p = nn.Parameter(torch.randn(2, 3))  # small: torch's kernel, which bumps it itself
    y = (p * p).sum()
    ferroinit.uniform_(p)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_top_level_fill_is_seeded_by_torch():
    for shape in [(5, 3), (600, 500)]:  # torch's kernel, ferroinit's core
        torch.manual_seed(4)
        a = ferroinit.kaiming_normal_(torch.empty(shape), mode="fan_out")
        b = ferroinit.kaiming_normal_(torch.empty(shape), mode="fan_out")
        torch.manual_seed(4)
        c = ferroinit.kaiming_normal_(torch.empty(shape), mode="fan_out")
        assert torch.equal(a, c) and not torch.equal(a, b)
        g = torch.Generator().manual_seed(4)
        d = ferroinit.normal_(torch.empty(shape), generator=g)
        assert not torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())
        e = ferroinit.normal_(torch.empty(shape), generator=torch.Generator().manual_seed(4))
        assert torch.equal(d, e)
    # small: exactly torch's kernel with the same parameters
    torch.manual_seed(6)
    x = ferroinit.normal_(torch.empty(16), 0.5, 2.0)
    torch.manual_seed(6)
    assert torch.equal(x, torch.empty(16).normal_(0.5, 2.0))
    # an int seed or a ferroinit.Generator: ferroinit's stream, as for NumPy
    t = ferroinit.normal_(torch.empty(16), generator=3)
    np.testing.assert_array_equal(t.numpy(), ferroinit.normal_(np.empty(16, np.float32),
                                                               generator=3))


def test_top_level_bad_input_leaves_the_torch_generator_alone():
    torch.manual_seed(1)
    before = torch.default_generator.get_state()
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        ferroinit.kaiming_uniform_(torch.empty(600, 500), mode="fan_avg")
    assert torch.equal(torch.default_generator.get_state(), before)


def test_top_level_fill_inside_accelerate_does_not_reenter_it():
    t = torch.empty(600, 600)
    above = Counting()
    with fit.accelerate():
        init.ones_(t)  # pending
        with above:
            ferroinit.normal_(t, 1.0, 0.5)  # writes, after dropping the pending ones_
        assert abs(float(t.mean()) - 1.0) < 0.01
    assert above.seen == []


# --------------------------------------------------------------------------- materialize


def torch_net():
    return nn.Sequential(nn.Linear(300, 400), nn.TransformerEncoderLayer(64, 4, 128),
                         nn.Embedding(1000, 64, padding_idx=0), nn.LSTM(32, 64),
                         nn.BatchNorm1d(64), nn.MultiheadAttention(64, 4, add_bias_kv=True))


def test_materialize_is_the_constructors_own_init_bit_for_bit():
    # Same generator, same draws in the same order: materialize's deferred, write-once fills
    # give exactly what construction under accelerate() gives.
    with fit.accelerate(generator=torch.Generator().manual_seed(5)):
        eager = torch_net()
    with torch.device("meta"):
        lazy = torch_net()
    fit.materialize(lazy, generator=torch.Generator().manual_seed(5))
    a, b = eager.state_dict(), lazy.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert all(t.device.type == "cpu" for t in b.values())


def test_materialize_seeding():
    def run(generator):
        with torch.device("meta"):
            net = torch_net()
        return fit.materialize(net, generator=generator).state_dict()

    def equal(x, y):
        return all(torch.equal(x[k], y[k]) for k in x)

    assert equal(run(3), run(3)) and not equal(run(3), run(4))
    assert equal(run(3), run(ferroinit.Generator(3)))
    torch.manual_seed(8)
    x = run(None)
    torch.manual_seed(8)
    assert equal(x, run(None)) and not equal(x, run(None))


class RotaryLike(nn.Module):
    """A module whose buffers only __init__ computes, and a parameter set from a constant."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(64, 64)
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, 64, 2).float() / 64),
                             persistent=False)
        self.register_buffer("mask", torch.tril(torch.ones(16, 16, dtype=torch.bool)))
        self.scale = nn.Parameter(torch.full((64,), 0.5))


def test_materialize_raises_naming_what_no_init_code_wrote():
    with torch.device("meta"):
        m = RotaryLike()
    with pytest.raises(RuntimeError, match=r"meta device: inv_freq, mask, scale\. Give"):
        fit.materialize(m, generator=0)
    assert m.inv_freq.is_meta and m.mask.is_meta and m.scale.is_meta
    assert not m.proj.weight.is_meta  # what was initialized stays so
    # rules can name buffers; empty_init keeps what __init__ computed
    ref = RotaryLike()
    with torch.device("meta"):
        m = RotaryLike()
    fit.materialize(m, rules={"inv_freq": fit.Init(lambda t: t.copy_(ref.inv_freq)),
                              "mask": "ones_", "scale": fit.Init("constant_", 0.5)}, generator=0)
    assert torch.equal(m.inv_freq, ref.inv_freq) and bool(m.mask.all())
    with fit.empty_init():
        m = RotaryLike()
    assert m.proj.weight.is_meta and m.scale.is_meta and not m.inv_freq.is_meta
    with pytest.raises(RuntimeError, match=r"meta device: scale\. Give"):
        fit.materialize(m, generator=0)
    with fit.empty_init():
        m = RotaryLike()
    fit.materialize(m, rules={RotaryLike: {"scale": fit.Init("constant_", 0.5)}}, generator=0)
    assert torch.equal(m.inv_freq, ref.inv_freq) and torch.equal(m.mask, ref.mask)
    assert bool((m.scale == 0.5).all()) and m.scale.requires_grad


def test_materialize_counts_piecewise_writes_and_replacements():
    class Piecewise(nn.Module):
        def __init__(self, full=True):
            super().__init__()
            self.full = full
            self.register_buffer("table", torch.empty(8, 100))
            self.register_buffer("swapped", torch.empty(3))
            self.w = nn.Parameter(torch.empty(50, 40))

        def reset_parameters(self):
            with torch.no_grad():
                for i in range(8 if self.full else 7):
                    self.table[i] = i
                self.swapped = torch.arange(3.0)  # replaced, not written
                self.w[:, :20].normal_()
                self.w[:, 20:].fill_(2.0)

    with torch.device("meta"):
        m = Piecewise()
    fit.materialize(m, generator=0)
    assert torch.equal(m.table[:, 0], torch.arange(8.0)) and torch.equal(m.swapped, torch.arange(3.0))
    assert bool((m.w[:, 20:] == 2).all())
    with torch.device("meta"):
        m = Piecewise(full=False)
    with pytest.raises(RuntimeError, match=r"meta device: table\. Give"):
        fit.materialize(m, generator=0)


def test_materialize_writes_each_tensor_once(monkeypatch):
    writes = []
    original = _pending.Fill.job

    def counting(self):  # every fill the core writes is handed to it as a job, once
        job = original(self)
        if job is not None:
            writes.append(self.geom[1])
        return job

    monkeypatch.setattr(_pending.Fill, "job", counting)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(1000, 1000)
            self.b = nn.Linear(1000, 500)

        def init_weights(self):  # the framework hook, overriding reset_parameters
            init.normal_(self.a.weight, std=0.02)
            init.trunc_normal_(self.b.weight, std=0.02)

    with torch.device("meta"):
        m = Model()
    fit.materialize(m, generator=0)
    assert sorted(writes) == [(500, 1000), (1000, 1000)]  # the kaiming fills were never written
    assert abs(float(m.a.weight.detach().std()) - 0.02) < 2e-4
    assert float(m.b.weight.detach().abs().max()) <= 2


def test_materialize_torchtitan_style_root():
    class Titan(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(4000, 256)
            self.layers = nn.ModuleList(nn.Linear(256, 256, bias=False) for _ in range(4))
            self.norm = nn.RMSNorm(256)
            self.register_buffer("freqs_cis", self._freqs(), persistent=True)

        def _freqs(self):
            f = 1.0 / (10000 ** (torch.arange(0, 64, 2).float() / 64))
            return torch.polar(torch.ones(32, 32), torch.outer(torch.arange(32.0), f))

        def init_weights(self, buffer_device=None):
            buffer_device = buffer_device or self.freqs_cis.device
            with torch.device(buffer_device):
                self.freqs_cis = self._freqs()
            nn.init.normal_(self.tok.weight)
            for i, lin in enumerate(self.layers):
                std = 0.02 / (2 * (i + 1)) ** 0.5
                nn.init.trunc_normal_(lin.weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
            self.norm.reset_parameters()

    with torch.device("meta"):
        m = Titan()
    fit.materialize(m, generator=1)
    ref = Titan()
    assert torch.equal(m.freqs_cis, ref.freqs_cis) and m.freqs_cis.dtype == torch.complex64
    ks_test(as_np(m.tok.weight), scipy.stats.norm(), min_n=10**6, label="tok")
    for i, lin in enumerate(m.layers):
        std = 0.02 / (2 * (i + 1)) ** 0.5
        w = as_np(lin.weight)
        assert np.abs(w).max() <= 3 * std and abs(w.std() / (std * 0.98658) - 1) < 0.02


def test_materialize_hf_model_built_under_empty_init():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(num_hidden_layers=2, hidden_size=256, num_attention_heads=4,
                                   intermediate_size=512, vocab_size=4000)
    with fit.empty_init():
        m = transformers.LlamaForCausalLM(cfg)  # post_init ran on meta and set its flags
    assert all(p.is_meta for p in m.parameters())
    fit.materialize(m, generator=0)
    ref = transformers.LlamaForCausalLM(cfg)
    for (n, a), (_, b) in zip(m.named_parameters(), ref.named_parameters()):
        if n.endswith("norm.weight"):
            assert bool((a == 1).all()), n
        else:
            assert abs(float(a.detach().std()) / float(b.detach().std()) - 1) < 0.05, n
    for (n, a), (_, b) in zip(m.named_buffers(), ref.named_buffers()):
        assert torch.equal(a, b), n


def test_materialize_tied_dtype_and_lazy():
    with torch.device("meta"):
        emb = nn.Embedding(5000, 256)
        head = nn.Linear(256, 5000, bias=False)
        head.weight = emb.weight
        net = nn.Sequential(emb, head, nn.LazyLinear(8))
    fit.materialize(net, dtype=torch.bfloat16, generator=0)
    assert net[0].weight is net[1].weight and net[0].weight.dtype == torch.bfloat16
    assert abs(float(net[0].weight.detach().float().std()) - 1) < 0.01  # the embedding's own init
    assert isinstance(net[2].weight, nn.parameter.UninitializedParameter)


def test_storage_stays_resizable_as_with_torch():
    # torch's init leaves a tensor's storage resizable (t.numpy() would pin it for good).
    for dtype in (torch.float32, torch.bfloat16):
        t = torch.empty(1000, 1000, dtype=dtype)
        with fit.accelerate():
            init.normal_(t)
        t.resize_(2000, 1000)
        t = torch.empty(1000, 1000, dtype=dtype)
        with fit.accelerate():
            init.normal_(t)
            t.resize_(10)  # the pending fill is written first, then torch resizes
        assert torch.isfinite(t).all()
    with torch.device("meta"):
        lin = nn.Linear(1000, 1000)
    fit.materialize(lin, generator=0)
    lin.weight.data.resize_(10)


def test_materialize_error_in_init_code_leaves_no_garbage():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(100, 100)
            self.b = nn.Parameter(torch.empty(100))

        def init_weights(self):
            raise KeyError("boom")

    with torch.device("meta"):
        m = Broken()
    with pytest.raises(KeyError, match="boom"):
        fit.materialize(m, generator=0)
    assert m.b.is_meta and not m.a.weight.is_meta  # a's reset_parameters did run


def test_top_level_deterministic_fills_of_other_dtypes_are_torchs():
    # zeros_(bn.num_batches_tracked) and co.: torch's own fill, bit for bit, version bumped.
    for dtype in (torch.int64, torch.int8, torch.bool, torch.complex64):
        t = torch.full((6, 6), 3, dtype=dtype)
        v = t._version
        assert ferroinit.zeros_(t) is t and not t.any() and t._version > v
        ferroinit.constant_(t, 1)
        assert torch.equal(t, torch.ones(6, 6, dtype=dtype))
        assert torch.equal(ferroinit.eye_(t), torch.eye(6, dtype=dtype))
    t = torch.empty(4, 2, 3, dtype=torch.int32)
    assert torch.equal(ferroinit.dirac_(t, 2), init.dirac_(torch.empty_like(t), 2))
    with pytest.raises(RuntimeError, match="without overflow"):  # torch's error
        ferroinit.constant_(torch.zeros(3, dtype=torch.int8), 300)
    with pytest.raises(TypeError, match="int64"):  # random fills of integers: refused
        ferroinit.normal_(torch.zeros(5, dtype=torch.int64))
