"""The TorchFunctionMode behind :func:`ferroinit.torch.accelerate`.

Inside the mode every torch call reaches :meth:`_Accelerate.__torch_function__`. The calls
init code makes (see ``_HANDLERS``) are done by ferroinit when it can do them with torch's
semantics: the torch.nn.init functions that dispatch themselves (``uniform_``, ``normal_``,
``constant_``, ``kaiming_uniform_``) and the Tensor methods the others and library init code
end in (``normal_``, ``uniform_``, ``fill_``, ``zero_``, ``torch.eye(out=)``, plus the
transforms :mod:`.pending` absorbs). Each handler either does the call or returns ``_PASS``,
and then torch does it, unchanged: the same errors, warnings and results as without the mode.

torch pops a mode while its ``__torch_function__`` runs, so the torch calls made here go to
the modes below (or to torch), never back into this one; ferroinit's own bookkeeping runs with
torch functions disabled altogether.
"""

from __future__ import annotations

import math
import sys
from types import FunctionType

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._device import DeviceContext

from . import meta as _meta
from . import pending as _p
from . import seeding as _s
from . import tensors as _t

_PASS = object()
_init = torch.nn.init
T = torch.Tensor

# Below these sizes torch's own kernel is faster than drawing a key and calling the core
# (measured on this project's 2-core CI box, see docs/torch.md): torch does those calls.
MIN_RANDOM = {"normal": 2048, "uniform": 1024, "trunc_normal": 2048}
MIN_CONSTANT = 1 << 16


_number = _t.is_number


def _arg(args, kwargs, i, name, default):
    return args[i] if len(args) > i else kwargs.get(name, default)


def _only(kwargs, allowed) -> bool:
    return all(k in allowed for k in kwargs)


def _lower_modes_ok() -> bool:
    """The modes below this one (it is popped while it handles a call) leave routed calls
    alone: only device contexts (which do not affect in-place fills), other accelerates and
    empty_init's meta mode (which only takes calls on meta tensors).
    Any other mode sees every call, so torch does it."""
    if not torch._C._len_torch_function_stack():
        return True
    return all(isinstance(m, (DeviceContext, _Accelerate, _meta.Mode))
               for m in torch.overrides._get_current_function_mode_stack())


def _generator_ok(g) -> bool:
    return g is None or (type(g) is torch.Generator and g.device.type == "cpu")


class _Accelerate(TorchFunctionMode):
    def __init__(self, generator: torch.Generator | None, defer: bool):
        super().__init__()
        self.generator = generator
        self.defer = defer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        handler = _HANDLERS.get(func)
        if handler is None and type(func) is FunctionType:
            handler = _patched_init(func)
        if handler is not None:
            out = handler(self, args, kwargs)
            if out is not _PASS:
                return out
            out = _meta.inplace(func, args, kwargs)  # a meta tensor: without torch's refs
            if out is not None:
                return out
        reg = _p.registry()
        if reg.fills or reg.watch is not None or self.generator is not None:
            return self.passthrough(func, args, kwargs)
        # Nothing pending, tracked or substituted: the passthrough is the call itself (most
        # calls in model code; every one pays this mode's dispatch, so none pays more).
        return func(*args, **kwargs)

    def passthrough(self, func, args, kwargs):
        """torch does the call: after the pending fills it reads are written, with the
        scope's generator where the call takes one and got none."""
        reg = _p.registry()
        if reg.fills and func not in _METADATA:
            for t in _tensors(args, kwargs):
                reg.touch(t)
        if self.generator is not None and func in _TAKES_GENERATOR and \
                kwargs.get("generator") is None:
            kwargs = {**kwargs, "generator": self.generator}
        out = func(*args, **kwargs)
        if reg.watch is not None:
            reg.watch.after(func, args, kwargs)
        return out

    # ------------------------------------------------------------------ the routed fills

    def random(self, t, kind, params, generator, grad_checked: bool, vrange=None):
        """Fill all of ``t`` from the law (kind, params), or ``_PASS``."""
        if type(t) not in _t._PLAIN or t.numel() < MIN_RANDOM[kind]:
            return _PASS
        # ferroinit's own torch calls (metadata, the key draw): no mode below sees them.
        with torch._C.DisableTorchFunction():
            if not (_t.direct(t) and _t.writable_now(t, grad_checked)
                    and _generator_ok(generator) and _lower_modes_ok()):
                return _PASS
            if not _p._in_range(kind, params, _t.FINITE_MAX[t.dtype]):
                return _PASS
            key = _s.draw_key(generator if generator is not None else self.generator)
            _p.registry().record(t, kind, params, key, vrange, self.defer)
        return t

    def constant(self, t, kind, params, grad_checked: bool):
        if type(t) not in _t._PLAIN or t.numel() < MIN_CONSTANT:
            return _PASS
        with torch._C.DisableTorchFunction():
            if not (_t.direct(t) and _t.writable_now(t, grad_checked) and _lower_modes_ok()):
                return _PASS
            _p.registry().record(t, kind, params, None, None, self.defer)
        return t


def _tensors(args, kwargs):
    for a in args:
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, torch.Tensor))
    for a in kwargs.values():
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, torch.Tensor))


class _NoGrad:
    """``torch.no_grad()`` without its dispatch (it goes through the modes, twice)."""

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)

    def __exit__(self, *exc):
        torch._C._set_grad_enabled(self.prev)


# ---------------------------------------------------------------------- Tensor methods


def _trunc_caller(t):
    """``(mean, std, a, b)`` when this ``normal_`` is torch.nn.init.trunc_normal_'s first draw
    into its own tensor (the branch for windows holding > 0.3 of the mass, which then redraws
    what falls outside ``[a, b]``): ferroinit fills the truncated normal directly, and the
    redraw loop finds nothing to redraw (its comparisons are answered from the known bounds)."""
    f = sys._getframe(3)  # _h_normal <- __torch_function__ <- the caller of Tensor.normal_
    if f.f_code is not _TRUNC_CODE:
        return None
    loc = f.f_locals
    if loc.get("tensor") is not t:
        return None
    try:
        p = (loc["mean"], loc["std"], loc["a"], loc["b"])
    except KeyError:
        return None
    return p if all(_number(x) for x in p) else None


_TRUNC_CODE = _init._no_grad_trunc_normal_.__code__


def _big(args, kind) -> bool:
    """The first argument is a plain tensor large enough for ferroinit (checked first: most
    calls in model code are on small tensors, which go straight to torch)."""
    return bool(args) and type(args[0]) in _t._PLAIN and args[0].numel() >= MIN_RANDOM[kind]


def _h_normal(mode, args, kwargs):
    if not _big(args, "normal") or not _only(kwargs, ("mean", "std", "generator")):
        return _PASS
    t = args[0]
    mean, std = _arg(args, kwargs, 1, "mean", 0.0), _arg(args, kwargs, 2, "std", 1.0)
    if not (_number(mean) and _number(std) and len(args) <= 3):
        return _PASS
    gen = kwargs.get("generator")
    trunc = _trunc_caller(t)
    if trunc is not None:
        m, s, a, b = (float(x) for x in trunc)
        if float(mean) == m and float(std) == s and s > 0 and a < b:
            kind, params = _p._normalized("trunc_normal", (m, s, a, b))
            return mode.random(t, kind, params, gen, True, vrange=(a, b))
    if not (math.isfinite(mean) and std > 0):
        return _PASS  # torch's error (std < 0), or its exact constant (std == 0)
    return mode.random(t, "normal", (float(mean), float(std)), gen, True)


def _h_uniform(mode, args, kwargs):
    if not _big(args, "uniform") or len(args) > 3 or not _only(kwargs, ("from", "to", "generator")):
        return _PASS
    t = args[0]
    a, b = _arg(args, kwargs, 1, "from", 0.0), _arg(args, kwargs, 2, "to", 1.0)
    if not (_number(a) and _number(b) and a < b):
        return _PASS  # torch's error for from > to; its constant for from == to
    a, b = float(a), float(b)
    return mode.random(t, "uniform", (a, b), kwargs.get("generator"), True, vrange=(a, b))


def _fill_value(t, v):
    """``v`` as ferroinit's constant_ takes it, when that is torch's value exactly."""
    if type(v) is bool:
        return float(v)
    if type(v) is int:
        return float(v) if abs(v) <= 2**53 else None  # no double rounding through float64
    if type(v) is float:
        return v if not math.isfinite(v) or abs(v) <= _t.FINITE_MAX.get(t.dtype, 0.0) else None
    return None  # a tensor value, a complex: torch's


def _h_fill(mode, args, kwargs):
    if len(args) != 2 or kwargs:
        return _PASS
    t = args[0]
    if type(t) not in _t._PLAIN or t.numel() < MIN_CONSTANT or t.dtype not in _t.FILLABLE:
        return _PASS
    v = _fill_value(t, args[1])
    return _PASS if v is None else mode.constant(t, "constant", (v,), True)


def _h_zero(mode, args, kwargs):
    if len(args) != 1 or kwargs or type(args[0]) not in _t._PLAIN or \
            args[0].numel() < MIN_CONSTANT:
        return _PASS
    return mode.constant(args[0], "constant", (0.0,), True)


def _h_eye(mode, args, kwargs):
    out = kwargs.get("out")
    if out is None or not _only(kwargs, ("out", "requires_grad")) or not 1 <= len(args) <= 2:
        return _PASS
    if not all(type(d) is int for d in args):
        return _PASS
    n, m = args[0], args[-1]
    if type(out) not in _t._PLAIN or tuple(out.shape) != (n, m):
        return _PASS
    if kwargs.get("requires_grad", False) and not out.requires_grad:
        return _PASS
    return mode.constant(out, "eye", (), True)


# ---------------------------------------------------------------------- absorbed transforms


def _absorbing(op, operand):
    """A handler folding ``t.<op>(...)`` into the pending fill of ``t`` when there is one."""

    def handler(mode, args, kwargs):
        reg = _p.registry()
        if not reg.fills or not args:
            return _PASS
        t = args[0]
        values = operand(args, kwargs)
        if values is None or type(t) not in _t._PLAIN:
            return _PASS
        with torch._C.DisableTorchFunction():
            f = reg.sole(t)
            if f is None or not _t.writable_now(t, True) or not reg.absorb(f, op, *values):
                return _PASS
            _t.bump(t)
        return t

    return handler


def _scalar(i=1, name="other", alpha=False, sign=1.0, invert=False):
    def operand(args, kwargs):
        allowed = ("other", "alpha") if alpha else ("other",)
        if len(args) > 2 or not _only(kwargs, allowed):
            return None
        c = _arg(args, kwargs, i, name, None)
        k = kwargs.get("alpha", 1) if alpha else 1
        if not (_number(c) and _number(k)) or type(c) is bool:
            return None
        c = float(c) * float(k) * sign
        if invert:
            return None if c == 0 else (1.0 / c,)
        return (c,)

    return operand


def _no_operand(args, kwargs):
    return () if len(args) == 1 and not kwargs else None


def _clamp_operand(args, kwargs):
    if len(args) > 3 or not _only(kwargs, ("min", "max")):
        return None
    lo, hi = _arg(args, kwargs, 1, "min", None), _arg(args, kwargs, 2, "max", None)
    if (lo is not None and not _number(lo)) or (hi is not None and not _number(hi)):
        return None
    if lo is None and hi is None:
        return None  # torch's error
    return (None if lo is None else float(lo), None if hi is None else float(hi))


def _bound_operand(which):
    def operand(args, kwargs):
        if len(args) != 2 or kwargs or not _number(args[1]):
            return None
        v = float(args[1])
        return (v, None) if which == "min" else (None, v)

    return operand


def _division(args, kwargs):
    if "rounding_mode" in kwargs and kwargs["rounding_mode"] is not None:
        return None
    kw = {k: v for k, v in kwargs.items() if k != "rounding_mode"}
    return _scalar(invert=True)(args, kw)


# ---------------------------------------------------------------------- comparisons


def _compare(less: bool):
    """``t < c`` / ``t > c`` on a pending fill whose values all lie in known bounds that
    decide it: all False, without writing or reading ``t``."""

    def handler(mode, args, kwargs):
        reg = _p.registry()
        if not reg.fills or len(args) != 2 or kwargs or not _number(args[1]):
            return _PASS
        t, c = args
        if type(t) not in _t._PLAIN:
            return _PASS
        with torch._C.DisableTorchFunction():
            f = reg.sole(t)
            if f is None or f.vrange is None:
                return _PASS
            lo, hi = f.vrange
            # The bound as t's dtype holds it (trunc_normal_ compares with those).
            edge = t.new_tensor(lo if less else hi, device="cpu").item()
            # A value is >= lo and representable, so it is >= the rounding of lo when that
            # rounds up (and >= lo itself otherwise).
            decided = c <= max(lo, edge) if less else c >= min(hi, edge)
            if not decided:
                return _PASS
            return torch.zeros(t.shape, dtype=torch.bool, device=t.device)

    return handler


# ---------------------------------------------------------------------- torch.nn.init


def _init_tensor(args, kwargs, kind):
    """The tensor of a torch.nn.init call, when it is large enough for ferroinit."""
    t = kwargs["tensor"] if "tensor" in kwargs else (args[0] if args else None)
    if type(t) not in _t._PLAIN:
        return None
    return t if t.numel() >= (MIN_CONSTANT if kind == "constant" else MIN_RANDOM[kind]) else None


_INIT_KWARGS = {"normal": ("tensor", "mean", "std", "generator"),
                "uniform": ("tensor", "a", "b", "generator")}


def _small_init(mode, args, kwargs, kind):
    """A small ``torch.nn.init.normal_``/``uniform_`` call done here as torch.nn.init does it
    (``t.normal_(mean, std, generator=...)`` with grad off), or ``_PASS``. It skips the
    passthrough's second trip through torch.nn.init and torch.no_grad's context manager, a
    third of such a call's cost under the mode; with other modes below, torch does it."""
    t = kwargs["tensor"] if "tensor" in kwargs else (args[0] if args else None)
    if type(t) not in _t._PLAIN or t.numel() >= MIN_RANDOM[kind]:
        return _PASS
    names = _INIT_KWARGS[kind]
    if len(args) + len(kwargs) > 4 or not _only(kwargs, names) or _lower_modes():
        return _PASS  # torch's own errors, or other modes that must see the call
    p = _arg(args, kwargs, 1, names[1], 0.0)
    q = _arg(args, kwargs, 2, names[2], 1.0)
    if not (_number(p) and _number(q)):
        return _PASS
    gen = _arg(args, kwargs, 3, "generator", None)
    if gen is None:
        gen = mode.generator
    reg = _p.registry()
    if reg.fills:
        reg.touch(t)
    with _NoGrad():
        if kind == "normal":
            t.normal_(p, q) if gen is None else t.normal_(p, q, generator=gen)
        else:
            t.uniform_(p, q) if gen is None else t.uniform_(p, q, generator=gen)
    if reg.watch is not None:
        reg.watch.written(t)
    return t


_lower_modes = torch._C._len_torch_function_stack


def _h_init_uniform(mode, args, kwargs):
    small = _small_init(mode, args, kwargs, "uniform")
    if small is not _PASS:
        return small
    t = _init_tensor(args, kwargs, "uniform")
    a, b = _arg(args, kwargs, 1, "a", 0.0), _arg(args, kwargs, 2, "b", 1.0)
    gen = _arg(args, kwargs, 3, "generator", None)
    if t is None or not (_number(a) and _number(b) and a < b):
        return _PASS
    with _NoGrad():
        return mode.random(t, "uniform", (float(a), float(b)), gen, False,
                           vrange=(float(a), float(b)))


def _h_init_normal(mode, args, kwargs):
    small = _small_init(mode, args, kwargs, "normal")
    if small is not _PASS:
        return small
    t = _init_tensor(args, kwargs, "normal")
    mean, std = _arg(args, kwargs, 1, "mean", 0.0), _arg(args, kwargs, 2, "std", 1.0)
    gen = _arg(args, kwargs, 3, "generator", None)
    if t is None or not (_number(mean) and _number(std) and math.isfinite(mean) and std > 0):
        return _PASS
    with _NoGrad():
        return mode.random(t, "normal", (float(mean), float(std)), gen, False)


def _h_init_constant(mode, args, kwargs):
    t = _init_tensor(args, kwargs, "constant")
    val = _arg(args, kwargs, 1, "val", None)
    if t is None or t.dtype not in _t.FILLABLE:
        return _PASS
    v = _fill_value(t, val)
    if v is None:
        return _PASS
    with _NoGrad():
        return mode.constant(t, "constant", (v,), False)


def _h_init_kaiming_uniform(mode, args, kwargs):
    t = _init_tensor(args, kwargs, "uniform")
    if t is None:
        return _PASS  # torch does it all (the zero-element warning included)
    a = _arg(args, kwargs, 1, "a", 0)
    fan_mode = _arg(args, kwargs, 2, "mode", "fan_in")
    nonlinearity = _arg(args, kwargs, 3, "nonlinearity", "leaky_relu")
    gen = _arg(args, kwargs, 4, "generator", None)
    with torch._C.DisableTorchFunction():
        if not _t.direct(t):
            return _PASS
    # torch's own helpers: its errors for a bad mode, nonlinearity or slope, or < 2 dims.
    fan = _init._calculate_correct_fan(t, fan_mode)
    gain = _init.calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * (gain / math.sqrt(fan))
    if not bound > 0:
        return _PASS
    with _NoGrad():
        return mode.random(t, "uniform", (-bound, bound), gen, False, vrange=(-bound, bound))


_INIT_HANDLERS = {
    "uniform_": _h_init_uniform,
    "normal_": _h_init_normal,
    "constant_": _h_init_constant,
    "kaiming_uniform_": _h_init_kaiming_uniform,
}


def _patched_init(func):
    """The handler of a torch.nn.init function that someone replaced by a wrapper calling the
    original (transformers' ``guard_torch_init_functions``): the original dispatches with its
    module's current attribute, the wrapper, after the wrapper's own checks ran."""
    name = getattr(func, "__name__", None)
    if name in _INIT_HANDLERS and getattr(_init, name, None) is func:
        return _INIT_HANDLERS[name]
    return None


_HANDLERS = {
    T.normal_: _h_normal,
    T.uniform_: _h_uniform,
    T.fill_: _h_fill,
    T.zero_: _h_zero,
    torch.eye: _h_eye,
    _init.uniform_: _h_init_uniform,
    _init.normal_: _h_init_normal,
    _init.constant_: _h_init_constant,
    _init.kaiming_uniform_: _h_init_kaiming_uniform,
    T.mul_: _absorbing("scale", _scalar()),
    T.__imul__: _absorbing("scale", _scalar()),
    T.div_: _absorbing("scale", _division),
    T.__itruediv__: _absorbing("scale", _scalar(invert=True)),
    T.add_: _absorbing("shift", _scalar(alpha=True)),
    T.__iadd__: _absorbing("shift", _scalar()),
    T.sub_: _absorbing("shift", _scalar(alpha=True, sign=-1.0)),
    T.__isub__: _absorbing("shift", _scalar(sign=-1.0)),
    T.erfinv_: _absorbing("erfinv", _no_operand),
    T.clamp_: _absorbing("clamp", _clamp_operand),
    T.clamp_min_: _absorbing("clamp", _bound_operand("min")),
    T.clamp_max_: _absorbing("clamp", _bound_operand("max")),
    T.lt: _compare(True),
    T.__lt__: _compare(True),
    T.gt: _compare(False),
    T.__gt__: _compare(False),
}

# Calls that take a generator=, so that a scope's generator replaces torch's default one.
_TAKES_GENERATOR = frozenset({
    T.normal_, T.uniform_, T.random_, T.bernoulli_, T.exponential_, T.geometric_,
    T.log_normal_, T.cauchy_, torch.rand, torch.randn, torch.randint, torch.randperm,
    torch.normal, torch.bernoulli, torch.multinomial, torch.poisson,
    _init.uniform_, _init.normal_, _init.kaiming_uniform_,
})

# Calls that neither read nor write a tensor's values: they do not write pending fills.
_METADATA = frozenset({
    *(getattr(T, p).__get__ for p in (
        "shape", "dtype", "device", "requires_grad", "is_leaf", "grad_fn", "layout", "ndim",
        "is_cuda", "is_cpu", "is_meta", "is_sparse", "is_quantized", "is_mkldnn", "data",
        "names", "_base", "is_nested", "itemsize", "nbytes", "_version", "grad",
    ) if hasattr(T, p)),
    T.data.__set__,
    T.size, T.dim, T.ndimension, T.numel, T.nelement, T.stride, T.storage_offset,
    T.is_contiguous, T.is_floating_point, T.is_complex, T.element_size, T.__len__,
    T.is_inference, T.is_neg, T.is_conj, T.get_device, T.requires_grad_, T._is_view,
    T.detach, T.view, T.view_as, T.t, T.transpose, T.permute, T.unsqueeze, T.squeeze,
    T.expand, T.expand_as, T.as_strided, T.narrow, T.select, T.unflatten,
    T.new_empty, T.new_tensor, T.new_zeros, T.new_ones, T.new_full, torch.empty_like,
    torch.zeros_like, torch.ones_like, torch.full_like, T.__hash__,
})


class Scope:
    """One accelerate block: a fresh mode on top of the mode stack, the scope's generator in
    place of torch's default one, and on exit every pending fill of the thread written."""

    def __init__(self, generator: torch.Generator | None = None, defer: bool = True,
                 watch=None):
        self.generator, self.defer, self.watch = generator, defer, watch

    def __enter__(self):
        reg = _p.registry()
        self._prev_watch = reg.watch
        if self.watch is not None:
            reg.watch = self.watch
        self._gen = _s.scoped(self.generator)
        self._gen.__enter__()
        self._mode = _Accelerate(self.generator, self.defer)
        self._mode.__enter__()
        reg.depth += 1
        return self

    def __exit__(self, *exc):
        reg = _p.registry()
        try:
            self._mode.__exit__(*exc)
        finally:
            reg.depth -= 1
            self._gen.__exit__(*exc)
            try:
                reg.flush()
            finally:
                reg.watch = self._prev_watch
        return False
