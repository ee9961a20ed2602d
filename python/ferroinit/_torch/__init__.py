"""The torch side of ferroinit (private): seeding from torch generators, writing torch tensors
the way torch's in-place methods do, the deferred fills, and the TorchFunctionMode that routes
unchanged torch init code to ferroinit. The public API is :mod:`ferroinit.torch`.

This module itself imports nothing of torch: ``ferroinit/__init__.py`` uses :func:`is_tensor`
and :func:`fill` for its torch branch without making ``import ferroinit`` import torch.
"""

from __future__ import annotations

import sys

_api = None


def is_tensor(x) -> bool:
    """Whether ``x`` is a torch tensor (False without a lookup when torch was never imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def fill(fn, x, params, generator=None, global_shape=None, offset=None, *,
         deterministic=False):
    """The torch branch of ferroinit's in-place functions: ``fn(x, *params, generator, shard)``
    as torch treats a tensor (see :func:`ferroinit._torch.api.fill`). ``deterministic``: a fill
    without a generator (``constant_``, ``eye_``, ``dirac_``)."""
    global _api
    if _api is None:
        from . import api

        _api = api
    if deterministic:
        return _api.fill(fn, x, params)
    if global_shape is None and offset is None:
        if _api.small(fn, x, params, generator):
            return x
        return _api.fill(fn, x, params, generator)
    from .. import _shard

    return _api.fill(fn, x, params, generator, _shard(global_shape, offset))
