"""The torch branch of ferroinit's in-place functions (``ferroinit.normal_(t)`` on a tensor).

``ferroinit/__init__.py`` calls :func:`fill` instead of the core when ``x`` is a torch tensor:

- a meta tensor is returned unchanged, as torch's init does (no key is drawn);
- the generator: an int seed or a ``ferroinit.Generator`` is ferroinit's stream, exactly as for
  a NumPy array; None or a ``torch.Generator`` draws one key from torch (see
  :mod:`.seeding`), and a call that then fails on bad input puts the generator back;
- fills still pending on the tensor (inside ``accelerate()``) are written first;
- a small fill driven by a torch generator (below the size where drawing a key and calling
  the core costs more than torch's own kernel) is torch's kernel with the same parameters:
  ``normal_``, ``uniform_``, ``constant_``, and the xavier/kaiming fills (whose std or bound
  ferroinit computes, with its own errors);
- otherwise the core writes the tensor's memory (by address, dtype and strides through
  ``_core.fill_many``; a NumPy view for the fills it does not take), and the
  autograd version counter is bumped, so a graph that saved the old values fails in backward.

Tensors ferroinit does not write itself (CUDA, integer, bool or complex dtypes, subclasses) get
torch's own code for the same call when a torch generator drives it (or it is deterministic:
``zeros_(bn.num_batches_tracked)``); otherwise the core refuses them with its usual error.
"""

from __future__ import annotations

import contextlib
import math

import torch

from .. import _core
from . import mode as _m
from . import pending as _p
from . import seeding as _s
from . import tensors as _t

_UNSET = object()
_SQRT3 = math.sqrt(3.0)


def _fans(x):
    return _core.fan_in_and_fan_out(list(x.shape)) if x.dim() >= 2 else None


def _kaiming_std(x, a, mode, nonlinearity):
    fans = _fans(x)
    m = mode.lower() if isinstance(mode, str) else None
    if fans is None or m not in ("fan_in", "fan_out"):
        return None  # the core raises ferroinit's error
    fan = fans[0] if m == "fan_in" else fans[1]
    return _core.calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _xavier_std(x, gain):
    fans = _fans(x)
    return None if fans is None else gain * math.sqrt(2.0 / (fans[0] + fans[1]))


# The torch kernel a small fill uses: fn -> (kind, params -> law parameters or None).
def _law(fn, x, params):
    if fn == "normal" or fn == "uniform":
        return fn, params
    if fn is _core.constant_:
        v = params[0]
        exact = type(v) in (float, bool) or (type(v) is int and abs(v) <= 2**53)
        return "fill", (float(v),) if exact else None
    if fn is _core.xavier_normal_:
        s = _xavier_std(x, params[0])
        return "normal", None if s is None else (0.0, s)
    if fn is _core.xavier_uniform_:
        s = _xavier_std(x, params[0])
        return "uniform", None if s is None else (-_SQRT3 * s, _SQRT3 * s)
    if fn is _core.kaiming_normal_:
        s = _kaiming_std(x, *params)
        return "normal", None if s is None else (0.0, s)
    if fn is _core.kaiming_uniform_:
        s = _kaiming_std(x, *params)
        return "uniform", None if s is None else (-_SQRT3 * s, _SQRT3 * s)
    return None, None


def _small_on_torch(fn, x, params, tgen) -> bool:
    """Do a small fill with torch's kernel, when it is one of those and its law is torch's."""
    n = x.numel()
    if n >= _m.MIN_RANDOM["uniform"] or x.dtype not in _t.FILLABLE or not x.is_cpu:
        return False
    if not (x.is_contiguous() or _t._non_overlapping(x)):
        return False  # the core's error for overlapping elements
    kind, law = _law(fn, x, params)
    if law is None:
        return False
    big = _t.FINITE_MAX[x.dtype]
    if kind == "fill":
        (v,) = law
        if math.isfinite(v) and abs(v) > big:
            return False
    else:
        p, q = law
        if not (math.isfinite(p) and math.isfinite(q)):
            return False
        if kind == "normal" and not (q >= 0 and abs(p) + 9 * q <= big):
            return False
        if kind == "uniform" and not (p < q and max(abs(p), abs(q)) <= big / 2):
            return False
    grad = x.requires_grad and torch.is_grad_enabled()
    if grad:
        torch._C._set_grad_enabled(False)
    try:
        if kind == "fill":
            x.fill_(law[0])
        elif tgen is None:  # (a generator= keyword costs a tenth of the call)
            x.normal_(*law) if kind == "normal" else x.uniform_(*law)
        elif kind == "normal":
            x.normal_(*law, generator=tgen)
        else:
            x.uniform_(*law, generator=tgen)
    finally:
        if grad:
            torch._C._set_grad_enabled(True)
    return True


# The fills ``_core.fill_many`` does, by its name for them: every sampled law (``fn`` is the
# law's name), and these two.
_KINDS = {_core.constant_: "constant", _core.eye_: "eye"}
_SMALL = {kind: _m.MIN_RANDOM[kind] for kind in ("normal", "uniform")}  # kind -> below
_NUMBER = (float, int)
_mode_on = torch._C._is_torch_function_mode_enabled


def small(fn, x, params, generator) -> bool:
    """The per-call fast path of :func:`_small_on_torch`: a tiny ``normal_``/``uniform_`` (below
    ``mode.MIN_RANDOM``, where torch's own kernel is faster than drawing a key and calling the
    core, so torch's generator gives torch's values, as torch.nn.init would) of a
    plain contiguous CPU tensor, seeded by torch, with nothing pending, no torch function mode
    (which would see the call) and no grad to record, is torch's own kernel, called directly
    (torch.nn.init's own cost, less its ``no_grad`` block). False: nothing was done, and the
    general path decides (it does the same call in the cases this one leaves out)."""
    below = _SMALL.get(fn)
    if below is None or type(x) not in _t._PLAIN or _mode_on() or not x.is_cpu:
        return False
    kind = fn
    if x.numel() >= below or not x.is_contiguous():
        return False
    big = _t.FINITE_MAX.get(x.dtype)
    p, q = params
    if big is None or type(p) not in _NUMBER or type(q) not in _NUMBER:
        return False
    if kind == "normal":
        # (comparisons with NaN or inf fail: those go to the general path and its errors)
        if not (q >= 0 and abs(p) + 9 * q <= big):
            return False
    elif not (p < q and abs(p) <= big / 2 and abs(q) <= big / 2):
        return False
    if generator is not None and type(generator) is not torch.Generator:
        return False
    reg = _p.registry()
    if reg.fills or reg.watch is not None or (x.requires_grad and torch.is_grad_enabled()):
        return False
    tgen = generator if generator is not None else _s._scope.generator
    if kind == "normal":
        if tgen is None:  # (a generator= keyword costs a tenth of the call)
            x.normal_(p, q)
        else:
            x.normal_(p, q, generator=tgen)
    elif tgen is None:
        x.uniform_(p, q)
    else:
        x.uniform_(p, q, generator=tgen)
    return True


def fill(fn, x: torch.Tensor, params: tuple, generator=_UNSET, shard=None) -> torch.Tensor:
    """``fn(x, *params[, generator], **shard)`` for a torch tensor ``x``, as torch treats it.

    Args:
        fn: a sampled law's name (``"normal"``: ``_core.fill_law`` with it), or the core
            function (``ferroinit._core.constant_``, ...).
        x: the tensor.
        params: ``fn``'s arguments between the array and the generator.
        generator: what the caller was given (int, ferroinit/torch Generator or None); leave
            it out for the deterministic fills (``constant_``, ``eye_``, ``dirac_``).
        shard: ``{"global_shape": ..., "offset": ...}`` or None.

    Returns:
        ``x``.
    """
    # ferroinit's own work: no torch function mode (accelerate's or any) sees its calls.
    with torch._C.DisableTorchFunction():
        return _fill(fn, x, params, generator, shard)


def _on_torch(fn, x, params, tgen, deterministic: bool) -> bool:
    """A fill of a tensor ferroinit does not write itself (CUDA, integer, bool or complex
    dtypes, subclasses), done by torch's own code, as torch would: the deterministic fills of
    any dtype, the random ones of floating dtypes. False: the core refuses it."""
    if type(x) in _t._PLAIN and x.is_cpu and x.dtype in _t.FILLABLE:
        return False  # a tensor the core takes: its errors (overlapping elements) are ours
    if deterministic:
        if fn is _core.constant_:
            op = lambda: x.fill_(params[0])
        elif fn is _core.eye_:
            op = lambda: torch.nn.init.eye_(x)
        elif fn is _core.dirac_:
            op = lambda: torch.nn.init.dirac_(x, *params)
        else:
            return False
    elif not x.is_floating_point():
        return False
    elif fn == "trunc_normal":
        op = lambda: torch.nn.init.trunc_normal_(x, *params, generator=tgen)
    elif fn is _core.orthogonal_:
        op = lambda: torch.nn.init.orthogonal_(x, *params, generator=tgen)
    elif fn is _core.sparse_:
        op = lambda: torch.nn.init.sparse_(x, *params, generator=tgen)
    else:
        kind, law = _law(fn, x, params)
        if law is None:
            return False
        if kind == "normal":
            op = lambda: x.normal_(*law, generator=tgen)
        else:
            op = lambda: x.uniform_(*law, generator=tgen)
    prev = torch.is_grad_enabled()
    torch._C._set_grad_enabled(False)
    try:
        op()
    finally:
        torch._C._set_grad_enabled(prev)
    return True


def _fill(fn, x, params, generator, shard):
    if x.is_meta:
        return x
    deterministic = generator is _UNSET
    torch_seeded = generator is None or type(generator) is torch.Generator
    reg = _p.registry()
    if not shard and (torch_seeded or deterministic):
        tgen = None if deterministic else (generator or _s.current())
        if reg.fills:
            reg.touch(x)
        done = _small_on_torch(fn, x, params, tgen) or (
            not _t.direct(x) and _on_torch(fn, x, params, tgen, deterministic))
        if done:
            if reg.watch is not None:
                reg.watch.written(x)
            return x
    shard = shard or {}
    if fn is _core.constant_:
        params = (float(params[0]),)
    if not _t.direct(x):
        # The core's own error (not a CPU tensor, not a float dtype ...), before any draw.
        _core_call(fn, x, params, () if deterministic else (_core.Generator(0),), shard)
        return x  # pragma: no cover - a tensor the core fills but direct() refuses
    reg.touch(x)
    restore = None
    kind = fn if type(fn) is str else _KINDS.get(fn)
    if kind is not None and not shard and (deterministic or torch_seeded):
        # The core's batch entry with one job: the tensor by address, no NumPy view.
        key = 0
        if not deterministic:
            g = generator or _s.current() or torch.default_generator
            restore = (g, g.get_state())
            key = _s.draw_key(g)
        with _restoring(restore):
            _core.fill_many([_t.job(x, kind, tuple(map(float, params)), key)])
        return _written(x, reg)
    if deterministic:
        gen = ()
    elif torch_seeded:
        g = generator or _s.current() or torch.default_generator
        restore = (g, g.get_state())
        gen = (_core.Generator(_s.draw_key(g)),)
    else:
        import ferroinit

        gen = (ferroinit._gen(generator),)
    with _restoring(restore):
        _core_call(fn, _t.target(x), params, gen, shard)
    return _written(x, reg)


def _core_call(fn, x, params, generator, shard):
    """``fn(x, *params, *generator, **shard)``, where a law's name is ``_core.fill_law``."""
    if type(fn) is str:
        return _core.fill_law(x, fn, params, *generator, **shard)
    return fn(x, *params, *generator, **shard)


@contextlib.contextmanager
def _restoring(restore):
    """On any exception, puts the torch generator back: bad input leaves it as it was."""
    try:
        yield
    except BaseException:
        if restore is not None:
            restore[0].set_state(restore[1])
        raise


def _written(x, reg):
    """After ferroinit wrote ``x``: its version counter bumped, a materialize watch told."""
    _t.bump(x)
    if reg.watch is not None:
        reg.watch.written(x)
    return x
