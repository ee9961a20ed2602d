"""ferroinit.torch against torch's own reset_parameters, with real torch modules."""

from __future__ import annotations

import math

import ferroinit
import ferroinit.torch as fit
import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

KS_P_MIN = 1e-5


def ks2(a, b, label=""):
    a = a.detach().double().reshape(-1).numpy()
    b = b.detach().double().reshape(-1).numpy()
    assert a.size >= 10**6 and b.size >= 10**6
    r = scipy.stats.ks_2samp(a, b)
    assert r.pvalue > KS_P_MIN, f"{label}: D={r.statistic:.3g} p={r.pvalue:.3g}"


def torch_reset(m: nn.Module, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
            elif hasattr(mod, "_reset_parameters"):
                mod._reset_parameters()
    return m


def both(factory):
    ours, ref = factory(), factory()
    fit.reset_parameters(ours, generator=1)
    torch_reset(ref)
    return ours, ref


def test_linear_bounds_and_ks_against_torch():
    ours, ref = both(lambda: nn.Linear(1250, 1000))
    bound = 1 / math.sqrt(1250)
    w = ours.weight.detach()
    assert w.abs().max() <= bound and w.abs().max() > 0.999 * bound
    assert ours.bias.abs().max() <= bound and ours.bias.abs().max() > 0.99 * bound
    ks2(ours.weight, ref.weight, "Linear.weight")


def test_conv_transpose_fans_match_torch():
    # ConvTranspose weights are (in, out/groups, k...): fan_in comes from dim 1, as in torch.
    ours, ref = both(lambda: nn.ConvTranspose2d(64, 32, 3, groups=2))
    b = 1 / math.sqrt(16 * 9)
    for m in (ours, ref):
        assert m.weight.abs().max() <= b * (1 + 1e-6) and m.weight.abs().max() > 0.99 * b
        assert m.bias.abs().max() <= b
    ours, ref = both(lambda: nn.Conv2d(64, 1024, (5, 5)))
    ks2(ours.weight, ref.weight, "Conv2d.weight")


def test_embedding_normal_and_padding_idx():
    ours, ref = both(lambda: nn.Embedding(20000, 64, padding_idx=3))
    assert bool((ours.weight[3] == 0).all())
    w = torch.cat([ours.weight[:3], ours.weight[4:]])
    r = torch.cat([ref.weight[:3], ref.weight[4:]])
    ks2(w, r, "Embedding.weight")
    bag = fit.reset_parameters(nn.EmbeddingBag(100, 8, padding_idx=0), generator=0)
    assert bool((bag.weight[0] == 0).all()) and bag.weight[1:].abs().sum() > 0


@pytest.mark.parametrize(
    "factory",
    [
        lambda: nn.LayerNorm(16),
        lambda: nn.GroupNorm(4, 16),
        lambda: nn.BatchNorm1d(16),
        lambda: nn.BatchNorm2d(16),
        lambda: nn.BatchNorm3d(16),
        lambda: nn.InstanceNorm1d(16, affine=True, track_running_stats=True),
        lambda: nn.InstanceNorm2d(16, affine=True, track_running_stats=True),
        lambda: nn.InstanceNorm3d(16, affine=True),
        lambda: nn.RMSNorm(16),
    ],
)
def test_norm_layers_constants_and_running_stats(factory):
    m = factory()
    with torch.no_grad():
        for t in list(m.parameters()) + [b for b in m.buffers() if b.is_floating_point()]:
            t.uniform_(2, 3)
        if getattr(m, "num_batches_tracked", None) is not None:
            m.num_batches_tracked.fill_(7)
    ref = torch_reset(factory())
    fit.reset_parameters(m, generator=0)
    ours = list(m.named_parameters()) + list(m.named_buffers())
    theirs = list(ref.named_parameters()) + list(ref.named_buffers())
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (n, a), (_, b) in zip(ours, theirs):
        assert torch.equal(a, b), n


def test_bilinear_bounds():
    m = fit.reset_parameters(nn.Bilinear(50, 30, 20), generator=0)
    b = 1 / math.sqrt(50)
    assert m.weight.abs().max() <= b and m.weight.abs().max() > 0.99 * b
    assert m.bias.abs().max() <= b


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_rnn_uniform_bounds(cls):
    m = fit.reset_parameters(cls(40, 64), generator=0)
    b = 1 / math.sqrt(64)
    for n, p in m.named_parameters():
        assert p.abs().max() <= b and p.abs().max() > 0.9 * b, n


def test_lstm_ks_against_torch():
    ours, ref = both(lambda: nn.LSTM(512, 512, num_layers=2))
    ks2(torch.cat([p.reshape(-1) for p in ours.parameters()]),
        torch.cat([p.reshape(-1) for p in ref.parameters()]), "LSTM")


def test_multihead_attention_like_torch():
    ours, ref = both(lambda: nn.MultiheadAttention(1024, 8, add_bias_kv=True))
    ks2(ours.in_proj_weight, ref.in_proj_weight, "in_proj_weight")
    assert ours.in_proj_weight.abs().max() <= math.sqrt(6 / (1024 + 3 * 1024))
    assert not ours.in_proj_bias.any() and not ours.out_proj.bias.any()
    ks2(ours.out_proj.weight, ref.out_proj.weight, "out_proj.weight")  # Linear's own init
    assert ours.bias_k.abs().max() > 0 and ours.bias_v.abs().max() > 0
    m = fit.reset_parameters(nn.MultiheadAttention(64, 4, kdim=32, vdim=16), generator=0)
    for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
        w = getattr(m, n)
        assert w.abs().max() <= math.sqrt(6 / sum(w.shape)), n


def test_transformer_layers_and_model():
    layer = fit.reset_parameters(nn.TransformerEncoderLayer(64, 4, 128), generator=0)
    assert not layer.self_attn.in_proj_bias.any()
    assert torch.equal(layer.norm1.weight, torch.ones(64))
    assert layer.linear1.weight.abs().max() <= 1 / 8
    dec = fit.reset_parameters(nn.TransformerDecoderLayer(64, 4, 128), generator=0)
    assert not dec.multihead_attn.in_proj_bias.any()
    model = fit.reset_parameters(nn.Transformer(64, 4, 1, 1, 128), generator=0)
    w = model.encoder.layers[0].linear1.weight  # nn.Transformer: xavier for every dim > 1
    assert w.abs().max() <= math.sqrt(6 / (64 + 128)) and w.abs().max() > 1 / 8


def test_parameters_stay_the_same_objects_and_grads_flow():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8 * 6 * 6, 10))
    before = [id(p) for p in net.parameters()]
    data = [p.data_ptr() for p in net.parameters()]
    fit.reset_parameters(net, generator=0)
    assert [id(p) for p in net.parameters()] == before
    assert [p.data_ptr() for p in net.parameters()] == data
    assert all(p.requires_grad and p.is_leaf for p in net.parameters())
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_deterministic_and_generator_advances():
    a = fit.reset_parameters(nn.Linear(30, 20), generator=5)
    b = fit.reset_parameters(nn.Linear(30, 20), generator=5)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    g = ferroinit.Generator(5)
    c = fit.reset_parameters(nn.Linear(30, 20), generator=g)
    assert torch.equal(a.weight, c.weight) and g.position > 0


def test_unknown_module_falls_back_to_its_own_reset_parameters():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.zeros(4))

        def reset_parameters(self):
            nn.init.constant_(self.s, 3.0)

    class MyLinear(nn.Linear):
        def reset_parameters(self):
            nn.init.constant_(self.weight, 2.0)
            nn.init.zeros_(self.bias)

    net = nn.Sequential(Scale(), MyLinear(3, 3), nn.Linear(3, 3))
    fit.reset_parameters(net, generator=0)
    assert bool((net[0].s == 3).all()) and bool((net[1].weight == 2).all())
    assert net[2].weight.abs().max() <= 1 / math.sqrt(3)


def test_apply_rule_table():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(16, 16, 3)
            self.residual = nn.Sequential(nn.Linear(512, 512))

    net = nn.Sequential(nn.Conv2d(64, 256, 3), nn.BatchNorm2d(16), Block(), nn.Linear(512, 256),
                        nn.LSTM(16, 16))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(9.0)
    relu = ferroinit.calculate_gain("relu")
    fit.apply(net, [
        ("*.residual.*.weight", 0.1 * fit.Init("kaiming_normal_", nonlinearity="relu")),
        ("4.weight_hh_*", fit.Init("orthogonal_", gain=relu)),
        (nn.Linear, {"weight": "xavier_normal_", "bias": "zeros_"}),
        (nn.Conv2d, {"weight": fit.Init("kaiming_normal_", mode="fan_out", nonlinearity="relu"),
                     "bias": None}),
        (nn.BatchNorm2d, {"weight": "ones_", "bias": "zeros_"}),
    ], generator=0)
    res = net[2].residual[0].weight.detach()
    want = 0.1 * relu / math.sqrt(512)
    assert abs(float(res.std()) / want - 1) < 0.01
    assert bool((net[2].residual[0].bias == 0).all())
    q = net[4].weight_hh_l0.detach().double()
    assert torch.allclose(q.T @ q, relu**2 * torch.eye(16, dtype=torch.float64), atol=1e-5)
    assert bool((net[4].weight_ih_l0 == 9).all())  # no rule: untouched
    w = net[3].weight.detach()
    assert abs(float(w.std()) / math.sqrt(2 / (512 + 256)) - 1) < 0.01
    c = net[0].weight.detach()
    assert abs(float(c.std()) / (relu / math.sqrt(256 * 9)) - 1) < 0.01
    assert bool((net[0].bias == 9).all())  # None: left alone
    assert bool((net[1].weight == 1).all()) and bool((net[1].bias == 0).all())


def test_materialize_meta_module_matches_torch_in_distribution():
    def build():
        with torch.device("meta"):
            net = nn.Sequential(nn.Linear(1000, 1200), nn.LayerNorm(1200), nn.BatchNorm1d(1200),
                                nn.Embedding(10, 4, padding_idx=1))
            net[0].extra = nn.Parameter(torch.empty(3))  # no init anywhere
        return net

    net = build()
    # A tensor no init code writes is an error naming it, never uninitialized memory.
    with pytest.raises(RuntimeError, match=r"no init code initialized these tensors.*: 0\.extra\."):
        fit.materialize(net, generator=0)
    assert net[0].extra.device.type == "meta"
    net = fit.materialize(build(), rules={"0.extra": "zeros_"}, generator=0)
    assert bool((net[0].extra == 0).all())
    assert all(t.device.type == "cpu" for t in list(net.parameters()) + list(net.buffers()))
    ref = torch_reset(nn.Sequential(nn.Linear(1000, 1200)))
    ks2(net[0].weight, ref[0].weight, "materialized Linear")
    assert bool((net[1].weight == 1).all()) and bool((net[2].running_var == 1).all())
    assert int(net[2].num_batches_tracked) == 0 and bool((net[3].weight[1] == 0).all())
    assert all(p.requires_grad for p in net.parameters())
    net[:3](torch.randn(4, 1000)).sum().backward()
    assert net[0].weight.grad is not None


def test_materialize_bf16_tied_and_rules():
    with torch.device("meta"):
        emb = nn.Embedding(100, 32)
        head = nn.Linear(32, 100, bias=False)
        head.weight = emb.weight
        net = nn.Sequential(emb, head, nn.Linear(32, 32))
    fit.materialize(net, rules={nn.Linear: {"bias": "zeros_"}}, dtype=torch.bfloat16,
                    generator=0)
    assert net[0].weight is net[1].weight and net[0].weight.dtype == torch.bfloat16
    assert net[0].weight.device.type == "cpu"
    assert bool((net[2].bias == 0).all()) and net[2].weight.abs().max() <= 1 / math.sqrt(32)


def test_reset_parameters_skips_meta_tensors():
    with torch.device("meta"):
        m = nn.Linear(4, 4)
    assert fit.reset_parameters(m) is m


def test_rules_reject_unknown_initializer():
    with pytest.raises(ValueError, match="unknown ferroinit initializer"):
        fit.Init("glorot_")
    assert np.isclose(float((0.5 * fit.Init("normal_")).scale), 0.5)
