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
- otherwise the core writes the tensor's memory (a NumPy view, DLPack for bfloat16), and the
  autograd version counter is bumped, so a graph that saved the old values fails in backward.

Tensors ferroinit cannot write directly (CUDA, integer dtypes, subclasses) go to the core as
they are, which refuses them with its usual error.
"""

from __future__ import annotations

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
    if fn is _core.normal_:
        return "normal", params
    if fn is _core.uniform_:
        return "uniform", params
    if fn is _core.constant_:
        return "fill", params
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


def fill(fn, x: torch.Tensor, params: tuple, generator=_UNSET, shard=None) -> torch.Tensor:
    """``fn(x, *params[, generator], **shard)`` for a torch tensor ``x``, as torch treats it.

    Args:
        fn: the core function (``ferroinit._core.normal_``, ...).
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


def _fill(fn, x, params, generator, shard):
    if x.is_meta:
        return x
    torch_seeded = generator is None or type(generator) is torch.Generator
    if not shard and (torch_seeded or generator is _UNSET):
        tgen = None if generator is _UNSET else (generator or _s.current())
        reg = _p.registry()
        if reg.fills:
            reg.touch(x)
        if _small_on_torch(fn, x, params, tgen):
            if reg.watch is not None:
                reg.watch.written(x)
            return x
    shard = shard or {}
    if not _t.direct(x):
        # The core's own error (not a CPU tensor, not a float dtype ...), before any draw.
        fn(x, *params, *(() if generator is _UNSET else (_core.Generator(0),)), **shard)
        return x  # pragma: no cover - a tensor the core fills but direct() refuses
    reg = _p.registry()
    reg.touch(x)
    restore = None
    if generator is _UNSET:
        args = params
    elif torch_seeded:
        g = generator or _s.current() or torch.default_generator
        restore = (g, g.get_state())
        args = (*params, _core.Generator(_s.draw_key(g)))
    else:
        import ferroinit

        args = (*params, ferroinit._gen(generator))
    try:
        fn(_t.target(x), *args, **shard)
    except BaseException:
        if restore is not None:  # bad input leaves the torch generator as it was
            restore[0].set_state(restore[1])
        raise
    _t.bump(x)
    if reg.watch is not None:
        reg.watch.written(x)
    return x
