"""The in-place init calls on meta tensors, without torch's Python decompositions.

A meta tensor has no values, so ``normal_``, ``uniform_``, ``erfinv_`` and ``clamp_`` on one
only check their arguments, bump the version counter and return the tensor. torch does that
through its Python reference implementations (``torch._refs``), which cost 0.02-1 ms a call
(``clamp_`` about 0.9 ms, ``normal_`` 0.25 ms here): most of the time of building a model under
:func:`ferroinit.torch.empty_init`, where HF's ``post_init`` and timm's ``trunc_normal_`` run
on every meta parameter. :func:`inplace` does the same calls directly where torch would
surely succeed (plain float tensors, plain numbers within the dtype's range, no generator,
nothing autograd records); any other call is left to torch, so errors stay torch's.

:class:`Mode` is the TorchFunctionMode that :func:`ferroinit.torch.empty_init` enters for
this; ``accelerate()`` takes the same shortcut for the meta tensors it sees.
"""

from __future__ import annotations

import math
from types import FunctionType

import torch
from torch.overrides import TorchFunctionMode

from . import pending as _p
from . import tensors as _t

T = torch.Tensor
_number = _t.is_number


def _args(args, kwargs, names) -> tuple | None:
    """The call's arguments after the tensor (``args``: the positional ones after it), by
    ``names`` (defaults None), or None when it has others or a generator (``generator=None``, as HF passes it, is no generator)."""
    if kwargs.get("generator", None) is not None:
        return None
    if len(args) > len(names) or any(k not in names and k != "generator" for k in kwargs):
        return None
    return tuple(args[i] if i < len(args) else kwargs.get(n) for i, n in enumerate(names))


def _normal(t, args, kwargs) -> bool:
    p = _args(args, kwargs, ("mean", "std"))
    if p is None:
        return False
    mean, std = (0.0 if p[0] is None else p[0]), (1.0 if p[1] is None else p[1])
    # (the range ferroinit's own fills take; std == 0 is torch's too, as any call left out)
    return _number(mean) and _number(std) and _p._in_range("normal", (mean, std),
                                                           _t.FINITE_MAX[t.dtype])


def _uniform(t, args, kwargs, names=("from", "to")) -> bool:
    p = _args(args, kwargs, names)
    if p is None:
        return False
    a, b = (0.0 if p[0] is None else p[0]), (1.0 if p[1] is None else p[1])
    return _number(a) and _number(b) and _p._in_range("uniform", (a, b), _t.FINITE_MAX[t.dtype])


def _erfinv(t, args, kwargs) -> bool:
    return not args and not kwargs


def _clamp(t, args, kwargs) -> bool:
    p = _args(args, kwargs, ("min", "max"))
    if p is None or (p[0] is None and p[1] is None):
        return False
    return all(x is None or (_number(x) and not math.isnan(x)) for x in p)


def _init_uniform(t, args, kwargs) -> bool:
    return _uniform(t, args, kwargs, ("a", "b"))


#: The calls :func:`inplace` does, each with its argument check. torch.nn.init's own
#: functions are here too: a mode does not see the Tensor methods they call.
CHECKS = {T.normal_: _normal, T.uniform_: _uniform, T.erfinv_: _erfinv, T.clamp_: _clamp,
          torch.nn.init.normal_: _normal, torch.nn.init.uniform_: _init_uniform}


_METHODS = frozenset({T.normal_, T.uniform_, T.erfinv_, T.clamp_})  # (init's run under no_grad)
_INIT_NAMES = {"normal_": _normal, "uniform_": _init_uniform}


def _check_of(func):
    check = CHECKS.get(func)
    if check is None and type(func) is FunctionType and func.__name__ in _INIT_NAMES \
            and getattr(torch.nn.init, func.__name__) is func:
        # transformers' guard_torch_init_functions puts wrappers in torch.nn.init while its
        # init runs; torch's originals dispatch with the module's current function.
        check = _INIT_NAMES[func.__name__]
    return check


def inplace(func, args, kwargs):
    """``func(*args, **kwargs)`` for a meta ``args[0]`` when torch would surely succeed: the
    version counter bumped and the tensor returned, as torch does. None: torch must do it."""
    check = _check_of(func)
    if check is None:
        return None
    if args:
        t, args = args[0], args[1:]
    elif "tensor" in kwargs:  # torch.nn.init's functions dispatch with tensor=
        kwargs = dict(kwargs)
        t = kwargs.pop("tensor")
    else:
        return None
    if type(t) not in _t._PLAIN or not t.is_meta or t.dtype not in _t.FILLABLE:
        return None
    if t.requires_grad and torch.is_grad_enabled() and func in _METHODS:
        return None  # autograd's rules (a leaf raises, a non-leaf records the op): torch's
    if t.is_inference() and not torch.is_inference_mode_enabled():
        return None
    if not check(t, args, kwargs):
        return None
    _t.bump(t)
    return t


class Mode(TorchFunctionMode):
    """Only :func:`inplace`'s shortcut; every other call is torch's own."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        out = inplace(func, args, kwargs)
        return func(*args, **kwargs) if out is None else out
