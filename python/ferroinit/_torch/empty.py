"""``empty_init()``: build a module with its parameters on the meta device and its buffers on
the CPU, as accelerate's ``init_empty_weights(include_buffers=False)`` does.

Parameters are moved to meta as they are registered (``Module.register_parameter``, which
``module.x = Parameter(...)`` goes through), so their memory is never written and the init code
that runs on them in ``__init__`` does nothing. Buffers keep what ``__init__`` computed (rotary
frequencies, masks), which no init code may recompute later.

The patch of ``register_parameter`` is installed while any thread is inside ``empty_init`` and
acts only in those threads. The block also runs under :class:`.meta.Mode`, so the init calls
of ``__init__`` on the meta parameters (HF's ``post_init``, timm's ``trunc_normal_``) cost what
they do, nothing, instead of torch's Python decompositions for meta tensors.
"""

from __future__ import annotations

import threading

import torch
from torch import nn

from . import meta as _meta

_local = threading.local()
_lock = threading.Lock()
_users = 0
_original = None


def _depth() -> int:
    return getattr(_local, "depth", 0)


def _register_parameter(module, name, param):
    _original(module, name, param)
    if _depth() <= 0 or param is None or param.device.type == "meta":
        return
    p = module._parameters[name]
    with torch._C.DisableTorchFunction():
        data = p.detach().to("meta")
    cls = type(p)
    try:
        q = cls(data, requires_grad=p.requires_grad)
    except TypeError:  # a Parameter subclass with its own constructor
        q = nn.Parameter(data, requires_grad=p.requires_grad)
    q.__dict__.update(p.__dict__)
    module._parameters[name] = q


class empty_init:
    """See :func:`ferroinit.torch.empty_init`."""

    def __enter__(self):
        global _users, _original
        with _lock:
            if _users == 0:
                _original = nn.Module.register_parameter
                nn.Module.register_parameter = _register_parameter
            _users += 1
        _local.depth = _depth() + 1
        mode = _meta.Mode()
        mode.__enter__()
        self.__dict__.setdefault("_modes", []).append(mode)  # one per entry (re-entrant)
        return self

    def __exit__(self, *exc):
        global _users
        self._modes.pop().__exit__(*exc)
        _local.depth = _depth() - 1
        with _lock:
            _users -= 1
            # Someone may have patched it after us: then theirs stays (and calls ours, which
            # is a no-op outside empty_init).
            if _users == 0 and nn.Module.register_parameter is _register_parameter:
                nn.Module.register_parameter = _original
        return False
