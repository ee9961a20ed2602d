"""How a torch generator decides ferroinit's values.

Every random fill ferroinit does for torch draws one key from a torch generator: it calls
``random_()`` on a one-element int64 tensor with that generator, which advances the generator
as any one-element ``random_()`` does (one 64-bit draw) and yields a uniform integer in
``[0, 2**63)``. The fill then writes ferroinit's stream at ``(key, position 0)``: the values are
a pure function of (key, shape, parameters, dtype), never of the thread count, the SIMD level
or the shard layout. So ``torch.manual_seed(s)`` (or a ``torch.Generator`` in a given state)
decides ferroinit's values, and successive calls get successive keys, hence different values.
"""

from __future__ import annotations

import threading

import torch

from .. import _core

_local = threading.local()



class _Scope(threading.local):
    #: The generator a scope (``accelerate(generator=...)``, ``materialize``) puts in place
    #: of torch's default one, in this thread; None: torch's default CPU generator.
    generator: torch.Generator | None = None


_scope = _Scope()


def _key_buffer():
    try:
        return _local.buf
    except AttributeError:
        buf = torch.empty(1, dtype=torch.int64)
        # One buffer per thread: torch releases the GIL inside random_, so a shared buffer
        # could be overwritten between the draw and the read.
        _local.buf, _local.view = buf, buf.numpy()
        return buf


def draw_key(generator: torch.Generator | None = None) -> int:
    """One key for one fill, drawn from ``generator`` (None: the scope's, else torch's
    default CPU generator); the generator advances by one 64-bit draw. A CUDA generator
    raises torch's own error (a CPU tensor cannot be filled from it)."""
    if generator is None:
        generator = current()
    buf = _key_buffer()
    with torch._C.DisableTorchFunction():
        buf.random_(generator=generator)
    return int(_local.view[0])


def current() -> torch.Generator | None:
    """The torch generator that ``generator=None`` means here: the innermost scope's, or None
    (torch's default CPU generator)."""
    return _scope.generator


class scoped:
    """Within the block, ``generator=None`` means ``generator`` (a torch.Generator or None)."""

    def __init__(self, generator: torch.Generator | None):
        self.generator = generator

    def __enter__(self):
        self.prev = _scope.generator
        _scope.generator = self.generator
        return self

    def __exit__(self, *exc):
        _scope.generator = self.prev


def torch_generator(generator) -> torch.Generator | None:
    """The torch generator a torch-facing call with ``generator=`` uses for all its fills.

    None: torch's default CPU generator (returned as None). A ``torch.Generator``: itself. An
    int seed or a ``ferroinit.Generator``: a new CPU ``torch.Generator`` seeded with one 64-bit
    word of ferroinit's stream (which advances the ferroinit generator by one block), so a seed
    decides every value, those torch draws too.
    """
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    import numbers

    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        generator = _core.Generator(int(generator))
    if isinstance(generator, _core.Generator):
        lo, hi = (int(w) for w in generator.random_raw(2))
        return torch.Generator().manual_seed(lo | (hi << 32))
    raise TypeError(
        "generator must be an int seed, a ferroinit.Generator, a torch.Generator or None, "
        f"but got {type(generator).__name__}"
    )


def generator_for(generator, x=None) -> _core.Generator | None:
    """The ferroinit generator for one fill of ``x``, when torch decides it, else None.

    For ``ferroinit._gen``: a ``torch.Generator`` gives a fresh ``ferroinit.Generator`` at its
    drawn key (whatever ``x`` is); ``generator=None`` with a torch tensor ``x`` draws the key
    from the scope's generator or torch's default one. Anything else (an int seed, a
    ``ferroinit.Generator``, None for a NumPy array) is not torch's business: None.
    """
    if type(generator) is torch.Generator:
        return _core.Generator(draw_key(generator))
    if generator is None and isinstance(x, torch.Tensor):
        return _core.Generator(draw_key(None))
    return None
