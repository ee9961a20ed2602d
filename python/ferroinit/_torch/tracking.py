"""Which freshly allocated tensors init code has written, byte for byte (for materialize).

``materialize`` allocates uninitialized CPU memory for a model's meta tensors and then runs the
model's init code. Every write the init code makes is seen here: ferroinit's own fills, torch
calls that overwrite a tensor or a view of it (``copy_``, ``fill_``, the random fills, ``out=``)
and index assignments (``t[i] = v``). A tensor counts as initialized once every byte of it was
written; one that init code replaced (``module.x = ...``, ``p.data = ...``) counts as
initialized by whatever replaced it. Reads and read-modify-writes (``mul_``) initialize nothing.
"""

from __future__ import annotations

import torch

from . import tensors as _t

T = torch.Tensor
_init = torch.nn.init

# Calls that overwrite every element of their first argument (or of ``tensor=``).
_OVERWRITES = frozenset({
    T.copy_, T.fill_, T.zero_, T.normal_, T.uniform_, T.random_, T.bernoulli_,
    T.exponential_, T.geometric_, T.log_normal_, T.cauchy_,
    _init.uniform_, _init.normal_, _init.constant_, _init.kaiming_uniform_,
})


class Allocation:
    __slots__ = ("done", "mask", "nbytes", "tensor")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.nbytes = tensor.untyped_storage().nbytes()
        self.mask: torch.Tensor | None = None  # bytes written so far, once a part was
        self.done = self.nbytes == 0


class Allocations:
    """The watch of one materialize call: its allocations, by storage address."""

    def __init__(self):
        self.by_storage: dict[int, Allocation] = {}

    def add(self, t: torch.Tensor) -> None:
        self.by_storage[_t.storage_key(t)] = Allocation(t)

    def _find(self, t) -> Allocation | None:
        if not isinstance(t, torch.Tensor) or not self.by_storage:
            return None
        a = self.by_storage.get(_t.storage_key(t))
        return None if a is None or a.done else a

    def _bytes_of(self, a: Allocation, t: torch.Tensor) -> torch.Tensor:
        """The bytes of ``a``'s storage that ``t`` (a view of it) covers, as a uint8 view of
        the written-bytes mask with ``t``'s shape plus a trailing dim of its element size."""
        if a.mask is None:
            a.mask = torch.zeros(a.nbytes, dtype=torch.uint8)
        size = t.element_size()
        offset = t.data_ptr() - a.tensor.untyped_storage().data_ptr()
        return a.mask.as_strided(
            (*t.shape, size), (*(s * size for s in t.stride()), 1), offset
        )

    def written(self, t) -> None:
        """``t`` (a tensor or a view) was overwritten entirely."""
        a = self._find(t)
        if a is None:
            return
        with torch._C.DisableTorchFunction():
            if t.is_contiguous() and t.numel() * t.element_size() == a.nbytes:
                a.done, a.mask = True, None
            else:
                self._bytes_of(a, t).fill_(1)

    def written_index(self, t, index) -> None:
        """``t[index] = value`` was done."""
        a = self._find(t)
        if a is None:
            return
        index = index if isinstance(index, tuple) else (index,)
        with torch._C.DisableTorchFunction():
            # The trailing full slice keeps the element-size dim whole: after an Ellipsis it
            # is that dim; otherwise it lands on a dim the index leaves whole anyway.
            self._bytes_of(a, t)[(*index, slice(None))] = 1

    def after(self, func, args, kwargs) -> None:
        """Account for the writes of a call torch just did."""
        if func in _OVERWRITES:
            self.written(kwargs["tensor"] if "tensor" in kwargs else args[0] if args else None)
        elif func is T.__setitem__ and len(args) >= 2:
            self.written_index(args[0], args[1])
        out = kwargs.get("out")
        if out is not None:
            for o in out if isinstance(out, (tuple, list)) else (out,):
                self.written(o)

    def unwritten(self) -> list[torch.Tensor]:
        """The allocations some byte of which nothing wrote."""
        left = []
        for a in self.by_storage.values():
            if not a.done and (a.mask is None or not bool(a.mask.all())):
                left.append(a.tensor)
        return left
