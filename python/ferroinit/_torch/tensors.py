"""Which torch tensors ferroinit writes itself, and how, with torch's bookkeeping.

ferroinit writes a tensor's memory directly only where the result is exactly what torch's own
in-place method would leave: a plain CPU tensor (or Parameter) of a float dtype ferroinit
fills, strided, without a negative bit, whose elements do not overlap, and outside any
transform that wraps tensors (vmap, functionalization) or dispatch mode (FakeTensorMode, ...).
Everything else goes to torch. A direct write bumps the autograd version counter, as torch's
in-place methods do, so a graph that saved the old values fails in backward exactly as with
torch.
"""

from __future__ import annotations

import ctypes

import numpy as np
import torch
from torch import nn

_PLAIN = (torch.Tensor, nn.Parameter)
FILLABLE = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})
_NUMPY = {torch.float16: np.dtype(np.float16), torch.float32: np.dtype(np.float32),
          torch.float64: np.dtype(np.float64)}
try:  # bfloat16 as NumPy holds it (ferroinit's core takes ml_dtypes' bfloat16)
    import ml_dtypes

    _NUMPY[torch.bfloat16] = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # then the core imports bfloat16 tensors by DLPack
    pass
#: The dtype names ``ferroinit._core.fill_many`` takes.
DTYPE_NAME = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32",
              torch.float64: "float64"}
#: Largest finite value per dtype, as a Python float (for the parameter ranges ferroinit takes).
FINITE_MAX = {d: float(torch.finfo(d).max) for d in FILLABLE}


def is_number(x) -> bool:
    """A plain Python float or int (not a bool, tensor or NumPy scalar): an argument ferroinit
    takes as torch would."""
    return type(x) is float or type(x) is int

_dispatch_depth = torch._C._len_torch_dispatch_stack
_functorch_active = torch._C._are_functorch_transforms_active


def _non_overlapping(t: torch.Tensor) -> bool:
    dims = sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz > 1)
    span = 1  # elements covered by the dims seen so far, as one block
    for st, sz in dims:
        if st < span:
            return False
        span = st * (sz - 1) + span
    return True


def direct(t) -> bool:
    """True when ferroinit may write ``t``'s memory itself (see the module docstring)."""
    return (
        type(t) in _PLAIN
        and t.is_cpu
        and t.dtype in FILLABLE
        and t.layout is torch.strided
        and not t.is_neg()
        and not _dispatch_depth()
        and not _functorch_active()
        and (t.is_contiguous() or _non_overlapping(t))
    )


def writable_now(t: torch.Tensor, grad_checked: bool) -> bool:
    """Whether an in-place write of ``t`` may bypass torch here.

    ``grad_checked``: the call comes from a Tensor method (``t.normal_()``), whose autograd
    rules apply: with grad mode on, a tensor that requires grad goes to torch (which raises
    for a leaf, or records the op for a non-leaf). torch.nn.init functions run under no_grad.
    An inference tensor outside inference mode goes to torch too (which raises).
    """
    if grad_checked and t.requires_grad and torch.is_grad_enabled():
        return False
    return not (t.is_inference() and not torch.is_inference_mode_enabled())


def target(t: torch.Tensor):
    """What ferroinit's core fills for ``t``: a NumPy view of its memory, made from its address
    (``t.numpy()`` would mark the storage non-resizable for good, and a later ``resize_`` would
    then fail where torch's own init leaves it resizable); a detached alias imported by DLPack
    when NumPy has no such dtype. The view does not own the memory: keep ``t`` (or an alias)
    alive until the fill is done."""
    with torch._C.DisableTorchFunction():
        dtype = _NUMPY.get(t.dtype)
        n = t.numel()
        if dtype is None or n == 0:
            return t.detach()
        size = t.element_size()
        if t.is_contiguous():
            buf = (ctypes.c_char * (n * size)).from_address(t.data_ptr())
            return np.ndarray(tuple(t.shape), dtype, buf)
        stride = t.stride()
        extent = 1 + sum((d - 1) * st for d, st in zip(t.shape, stride))
        buf = (ctypes.c_char * (extent * size)).from_address(t.data_ptr())
        return np.ndarray(tuple(t.shape), dtype, buf, 0, tuple(st * size for st in stride))


def job(t: torch.Tensor, kind: str, params: tuple, key: int) -> tuple:
    """``t``'s fill as ``ferroinit._core.fill_many`` takes it: the tensor's address, dtype,
    shape and strides as torch reports them (no DLPack export, no NumPy view). Keep ``t`` (or
    an alias) alive until the fill is done."""
    return (t.data_ptr(), DTYPE_NAME[t.dtype], t.shape, t.stride(), kind, params, key)


def bump(t: torch.Tensor) -> None:
    """Tell autograd that ``t`` was written in place (a no-op for inference tensors)."""
    torch._C._increment_version((t,))


def storage_key(t) -> int:
    """The address of ``t``'s storage: equal for every view of one tensor's memory; 0 for
    tensors without CPU memory (meta) or without a storage (wrappers)."""
    try:
        with torch._C.DisableTorchFunction():
            return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError, TypeError):
        return 0
