"""Initialize ``torch.nn`` modules with ferroinit.

:func:`reset_parameters` re-initializes a module's parameters and buffers exactly as torch's own
``reset_parameters`` does in distribution (same bounds, stds and constants), from ferroinit's
deterministic generator. :func:`apply` fills parameters from a rule table (what people write as
``model.apply(weight_init)``), and :func:`materialize` takes a module built on the meta device
to initialized CPU memory without running torch's per-parameter init.

Tensors are filled in place through ferroinit's core (NumPy views for float16/32/64, DLPack for
bfloat16), so parameters stay the same objects (except in :func:`materialize`, where meta
parameters are replaced by CPU ones, as ``Module.to_empty`` does).

Example:
    >>> import torch, ferroinit.torch as fit
    >>> with torch.device("meta"):
    ...     model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16))
    >>> model = fit.materialize(model, generator=0)
    >>> model[0].weight.device, bool(model[1].weight.eq(1).all())
    (device(type='cpu'), True)
"""

from __future__ import annotations

import fnmatch
import math
import warnings
from collections.abc import Iterable
from typing import Any, Callable, Union

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.rnn import RNNBase, RNNCellBase

import ferroinit as _fi
from ferroinit import _registry

__all__ = ["Init", "apply", "materialize", "reset_parameters"]

_RANDOM = set(_registry.names(family=_registry.TORCH, random=True))
_DETERMINISTIC = set(_registry.names(family=_registry.TORCH, random=False))
_NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64)


def _target(t: torch.Tensor):
    """What ferroinit's core fills: a NumPy view (the fast path) or the tensor (DLPack)."""
    t = t.detach()
    if t.dtype in _NUMPY_DTYPES and t.device.type == "cpu" and not t.is_conj():
        return t.numpy()
    return t


class Init:
    """One initializer with its arguments, for rule tables.

    Args:
        fn: a ferroinit initializer name (``"kaiming_normal_"``; the trailing ``_`` is
            optional) or a callable taking the tensor (e.g. a ``torch.nn.init`` function).
        *args, **kwargs: the initializer's arguments after the tensor.
        scale: multiply the values by this factor after filling (``0.1 * Init(...)`` too).

    Example:
        >>> import torch, ferroinit.torch as fit
        >>> w = torch.empty(64, 32)
        >>> init = 0.1 * fit.Init("kaiming_normal_", mode="fan_in", nonlinearity="relu")
        >>> _ = init(w, generator=0)
        >>> round(float(w.std() * 32 ** 0.5 / 2 ** 0.5), 1)
        0.1
    """

    def __init__(self, fn: str | Callable, *args, scale: float = 1.0, **kwargs):
        if isinstance(fn, str):
            name = fn if fn.endswith("_") else fn + "_"
            if name not in _RANDOM and name not in _DETERMINISTIC:
                raise ValueError(f"unknown ferroinit initializer {fn!r}")
            self.fn: str | Callable = name
        elif callable(fn):
            self.fn = fn
        else:
            raise TypeError(f"an initializer must be a name or a callable, but got {fn!r}")
        self.args = args
        self.kwargs = kwargs
        self.scale = float(scale)

    def __mul__(self, k: float) -> Init:
        return Init(self.fn, *self.args, scale=self.scale * float(k), **self.kwargs)

    __rmul__ = __mul__

    def __call__(self, tensor: torch.Tensor, generator: _fi.GeneratorLike = None) -> torch.Tensor:
        """Fill ``tensor`` in place and return it."""
        with torch.no_grad():
            if isinstance(self.fn, str):
                fn = getattr(_fi, self.fn)
                kw = dict(self.kwargs)
                if self.fn in _RANDOM:
                    kw["generator"] = generator
                fn(_target(tensor), *self.args, **kw)
            else:
                self.fn(tensor, *self.args, **self.kwargs)
            if self.scale != 1.0:
                tensor.mul_(self.scale)
        return tensor

    def __repr__(self) -> str:
        parts = [repr(self.fn) if isinstance(self.fn, str) else getattr(self.fn, "__name__", "fn")]
        parts += [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        if self.scale != 1.0:
            parts.append(f"scale={self.scale!r}")
        return f"Init({', '.join(parts)})"


InitLike = Union[Init, str, Callable, tuple[Any, ...], None]


def _as_init(spec: InitLike) -> Init | None:
    if spec is None or isinstance(spec, Init):
        return spec
    if isinstance(spec, tuple):
        fn, *rest = spec
        kwargs = rest.pop() if rest and isinstance(rest[-1], dict) else {}
        return Init(fn, *rest, **kwargs)
    return Init(spec)


def _uniform(bound: float) -> Init:
    # torch fills U(-0, 0) with zeros; ferroinit refuses an empty range, so say zeros.
    return Init("uniform_", -bound, bound) if bound > 0 else Init("zeros_")


_KAIMING_A5 = Init("kaiming_uniform_", a=math.sqrt(5))
_ONES, _ZEROS = Init("ones_"), Init("zeros_")


# Each planner returns ({tensor name: Init}, post-fill callable or None), reproducing the
# module type's reset_parameters (torch 2.x, nn/modules/*.py).
def _plan_linear_like(m):
    # Linear and _ConvNd: kaiming_uniform_(a=sqrt(5)); bias U(+-1/sqrt(fan_in)).
    plan = {"weight": _KAIMING_A5}
    if getattr(m, "bias", None) is not None:
        fan_in, _ = _fi.calculate_fan_in_and_fan_out(tuple(m.weight.shape))
        plan["bias"] = _uniform(1 / math.sqrt(fan_in) if fan_in > 0 else 0)
    return plan, None


def _plan_bilinear(m):
    u = _uniform(1 / math.sqrt(m.weight.size(1)))
    return {"weight": u, "bias": u} if m.bias is not None else {"weight": u}, None


def _plan_embedding(m):
    post = None
    if m.padding_idx is not None:
        def post(m=m):
            m.weight[m.padding_idx].fill_(0)
    return {"weight": Init("normal_")}, post


def _plan_affine(flag):
    def plan(m):
        p = {}
        if getattr(m, flag):
            p["weight"] = _ONES
            if getattr(m, "bias", None) is not None:
                p["bias"] = _ZEROS
        return p, None
    return plan


def _plan_norm_base(m):
    p, post = {}, None
    if m.track_running_stats:
        p["running_mean"], p["running_var"] = _ZEROS, _ONES

        def post(m=m):
            if m.num_batches_tracked is not None:
                m.num_batches_tracked.zero_()
    if m.affine:
        p["weight"], p["bias"] = _ONES, _ZEROS
    return p, post


def _plan_rnn(m):
    u = _uniform(1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0)
    return {name: u for name, _ in m.named_parameters(recurse=False)}, None


def _plan_mha(m):
    p = {}
    if m._qkv_same_embed_dim:
        p["in_proj_weight"] = Init("xavier_uniform_")
    else:
        for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            p[n] = Init("xavier_uniform_")
    if m.in_proj_bias is not None:
        p["in_proj_bias"] = _ZEROS
        p["out_proj.bias"] = _ZEROS
    if m.bias_k is not None:
        p["bias_k"] = Init("xavier_normal_")
    if m.bias_v is not None:
        p["bias_v"] = Init("xavier_normal_")
    return p, None


def _plan_transformer(m):
    return {n: Init("xavier_uniform_") for n, q in m.named_parameters() if q.dim() > 1}, None


# (class, the method whose behaviour the planner reproduces, planner). A subclass that
# overrides that method is not "standard": it falls back to its own reset_parameters.
_PLANNERS: list[tuple[type, str, Callable]] = [
    (nn.Linear, "reset_parameters", _plan_linear_like),
    (_ConvNd, "reset_parameters", _plan_linear_like),
    (nn.Bilinear, "reset_parameters", _plan_bilinear),
    (nn.Embedding, "reset_parameters", _plan_embedding),
    (nn.EmbeddingBag, "reset_parameters", _plan_embedding),
    (nn.LayerNorm, "reset_parameters", _plan_affine("elementwise_affine")),
    (nn.GroupNorm, "reset_parameters", _plan_affine("affine")),
    (_NormBase, "reset_parameters", _plan_norm_base),
    (RNNBase, "reset_parameters", _plan_rnn),
    (RNNCellBase, "reset_parameters", _plan_rnn),
    (nn.MultiheadAttention, "_reset_parameters", _plan_mha),
    (nn.Transformer, "_reset_parameters", _plan_transformer),
]
if hasattr(nn, "RMSNorm"):
    _PLANNERS.append((nn.RMSNorm, "reset_parameters", _plan_affine("elementwise_affine")))


def _planner(m: nn.Module):
    for cls, method, planner in _PLANNERS:
        if isinstance(m, cls):
            if getattr(type(m), method, None) is getattr(cls, method):
                return planner
            return None
    return None


def _lookup(m: nn.Module, name: str) -> torch.Tensor | None:
    *path, leaf = name.split(".")
    for p in path:
        m = getattr(m, p)
    t = m._parameters.get(leaf) if leaf in m._parameters else m._buffers.get(leaf)
    return t


def _is_uninitialized(t) -> bool:
    return isinstance(t, nn.parameter.UninitializedTensorMixin)


class _Plan:
    """Tensors to fill (one entry per tensor, later entries override), post-fill hooks, and
    modules whose own reset_parameters runs (unknown types)."""

    def __init__(self):
        self.fills: dict[int, tuple[torch.Tensor, Init]] = {}
        self.posts: list[Callable] = []
        self.fallback: list[nn.Module] = []

    def set(self, t: torch.Tensor | None, init: Init | None):
        if t is None or _is_uninitialized(t):
            return
        if init is None:
            self.fills.pop(id(t), None)
        else:
            self.fills[id(t)] = (t, init)

    def run(self, generator):
        g = _fi._gen(generator)
        with torch.no_grad():
            for t, init in self.fills.values():
                if t.device.type == "meta" or t.numel() == 0:
                    continue
                init(t, g)
            for post in self.posts:
                post()
            for m in self.fallback:
                m.reset_parameters()


def _default_plan(module: nn.Module, plan: _Plan) -> None:
    # Reversed pre-order: every module comes after all its descendants, so a parent's init
    # (MultiheadAttention's out_proj.bias, Transformer's xavier) overrides its children's.
    for m in reversed(list(module.modules())):
        if any(_is_uninitialized(t) for t in _own_tensors(m)):
            continue  # a lazy module before its first forward: nothing to fill yet
        planner = _planner(m)
        if planner is not None:
            fills, post = planner(m)
            for name, init in fills.items():
                plan.set(_lookup(m, name), init)
            if post is not None:
                plan.posts.append(post)
        elif callable(getattr(m, "reset_parameters", None)):
            plan.fallback.append(m)


def reset_parameters(module: nn.Module, generator: _fi.GeneratorLike = None) -> nn.Module:
    """Re-initialize every parameter and buffer of ``module`` as torch's own init does.

    For every submodule of a standard type (Linear, Bilinear, Conv/ConvTranspose 1-3d,
    Embedding, EmbeddingBag, LayerNorm, RMSNorm, GroupNorm, BatchNorm/InstanceNorm 1-3d,
    MultiheadAttention, RNN/LSTM/GRU and their cells, Transformer and its layers) the values
    follow the same distributions, bounds and constants as its ``reset_parameters``; running
    statistics are reset. Values come from ferroinit's generator, in one pass over all
    tensors (each large one filled in parallel). Submodules of other types (or subclasses that
    override ``reset_parameters``) fall back to their own ``reset_parameters``. Tensors on the
    meta device are skipped, as torch's init does nothing to them.

    Args:
        module: the module; parameters are filled in place and stay the same objects.
        generator: an int seed, a :class:`ferroinit.Generator`, or None for the global one.

    Returns:
        ``module``.

    Example:
        >>> import torch, ferroinit.torch as fit
        >>> lin = torch.nn.Linear(100, 10)
        >>> w = lin.weight
        >>> _ = fit.reset_parameters(lin, generator=0)
        >>> lin.weight is w, bool(w.abs().max() <= 0.1)
        (True, True)
    """
    plan = _Plan()
    _default_plan(module, plan)
    plan.run(generator)
    return module


Rules = Union[dict[Any, Any], Iterable[tuple[Any, Any]]]


def _rule_plan(module: nn.Module, rules: Rules, plan: _Plan) -> None:
    items = list(rules.items()) if isinstance(rules, dict) else list(rules)
    decided: set = set()
    named = list(module.named_parameters(remove_duplicate=True))
    owner = {}
    for mname, m in module.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            owner.setdefault(id(p), (m, pname))
    for key, spec in items:
        for full, p in named:
            if id(p) in decided:
                continue
            init: InitLike | None = None
            matched = False
            if isinstance(key, str):
                if fnmatch.fnmatchcase(full, key):
                    matched, init = True, spec
            else:
                m, pname = owner[id(p)]
                if isinstance(m, key):
                    table = spec if isinstance(spec, dict) else {"*": spec}
                    for pat, s in table.items():
                        if fnmatch.fnmatchcase(pname, pat):
                            matched, init = True, s
                            break
            if matched:
                decided.add(id(p))
                plan.set(p, _as_init(init))


def apply(module: nn.Module, rules: Rules, generator: _fi.GeneratorLike = None) -> nn.Module:
    """Initialize parameters from a rule table, in one pass.

    Each rule maps a key to initializers:

    - a module type (or tuple of types) to ``{parameter name or pattern: initializer}`` (or to
      one initializer for all of that module's own parameters);
    - a string pattern (``fnmatch``) to an initializer for the parameters whose full name
      (``"encoder.layers.0.linear1.weight"``) matches.

    An initializer is a ferroinit name (``"zeros_"``), an :class:`Init` (with arguments and
    an optional ``scale``), a tuple ``(name, *args, {kwargs})``, a callable taking the tensor
    (e.g. a ``torch.nn.init`` function), or None to leave the parameter alone. The first rule
    that matches a parameter decides it; parameters no rule matches are left untouched.

    Args:
        module: the module; parameters are filled in place and stay the same objects.
        rules: a dict or a list of ``(key, initializers)`` pairs.
        generator: an int seed, a :class:`ferroinit.Generator`, or None for the global one.

    Returns:
        ``module``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import ferroinit, ferroinit.torch as fit
        >>> from ferroinit.torch import Init
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),
        ...                     nn.Linear(8, 4), nn.LSTM(4, 4))
        >>> relu = ferroinit.calculate_gain("relu")
        >>> _ = fit.apply(net, {
        ...     "4.weight_hh_*": Init("orthogonal_", gain=relu),
        ...     nn.Linear: {"weight": "xavier_normal_", "bias": "zeros_"},
        ...     nn.Conv2d: {"weight": Init("kaiming_normal_", mode="fan_out",
        ...                                nonlinearity="relu"), "bias": "zeros_"},
        ...     nn.BatchNorm2d: {"weight": "ones_", "bias": "zeros_"},
        ...     "*.residual.*.weight": 0.1 * Init("kaiming_normal_"),
        ... }, generator=0)
        >>> net[3].bias.abs().sum().item(), net[1].weight.sum().item()
        (0.0, 8.0)
    """
    plan = _Plan()
    _rule_plan(module, rules, plan)
    plan.run(generator)
    return module


def _alloc(t: torch.Tensor) -> torch.Tensor:
    """Uninitialized CPU memory for a meta tensor, with its strides. (torch.empty: on hosts
    whose THP defrag policy compacts on fault, madvise'd huge pages were slower to fault in.)"""
    return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="cpu")


def materialize(module: nn.Module, rules: Rules | None = None, dtype=None,
                generator: _fi.GeneratorLike = None) -> nn.Module:
    """Take a module built on the meta device to initialized CPU memory.

    Equivalent in distribution to ``module.to_empty(device="cpu")`` followed by every
    submodule's ``reset_parameters`` (see :func:`reset_parameters`), with ``rules`` (as in
    :func:`apply`) overriding the default init of the parameters they match, but without
    running torch's per-parameter init: memory is allocated uninitialized and every tensor is
    filled in one pass by ferroinit's core. Meta parameters are replaced by new CPU
    ``Parameter`` objects (as ``to_empty`` does; tied parameters stay tied); tensors already
    on the CPU are re-initialized in place.

    Args:
        module: a module whose parameters and buffers are on the meta device (or the CPU).
        rules: optional rule table overriding the default init (see :func:`apply`).
        dtype: optional floating dtype to convert to first (``torch.bfloat16``: no fp32 copy).
        generator: an int seed, a :class:`ferroinit.Generator`, or None for the global one.

    Returns:
        ``module``, on the CPU.

    Example:
        >>> import torch, ferroinit.torch as fit
        >>> with torch.device("meta"):
        ...     net = torch.nn.Linear(1024, 1024)
        >>> net = fit.materialize(net, dtype=torch.bfloat16, generator=0)
        >>> net.weight.dtype, net.weight.device, net.weight.requires_grad
        (torch.bfloat16, device(type='cpu'), True)
    """
    if dtype is not None:
        module.to(dtype)
    new: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for m in module.modules():
            for name, p in list(m._parameters.items()):
                if p is None or p.device.type != "meta" or _is_uninitialized(p):
                    continue
                q = new.get(id(p))
                if q is None:
                    q = nn.Parameter(_alloc(p), requires_grad=p.requires_grad)
                    new[id(p)] = q
                m._parameters[name] = q
            for name, b in list(m._buffers.items()):
                if b is None or b.device.type != "meta":
                    continue
                q = new.get(id(b))
                if q is None:
                    q = _alloc(b)
                    new[id(b)] = q
                m._buffers[name] = q
    plan = _Plan()
    _default_plan(module, plan)
    if rules is not None:
        _rule_plan(module, rules, plan)
    covered = set(plan.fills) | {id(t) for f in plan.fallback for t in _own_tensors(f)}
    missed = [n for n, t in _named_tensors(module) if id(t) in _ids(new) and id(t) not in covered
              and t.is_floating_point()]
    plan.run(generator)
    if missed:
        warnings.warn(
            "materialize left these tensors uninitialized (no standard init, no rule, no "
            f"reset_parameters): {', '.join(missed)}",
            stacklevel=2,
        )
    return module


def _ids(new: dict[int, torch.Tensor]) -> set:
    return {id(t) for t in new.values()}


def _own_tensors(m: nn.Module):
    yield from (t for t in m._parameters.values() if t is not None)
    yield from (t for t in m._buffers.values() if t is not None)


def _named_tensors(module: nn.Module):
    yield from module.named_parameters()
    yield from module.named_buffers()
