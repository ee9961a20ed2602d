"""PyTorch on ferroinit: unchanged init code, meta models, rule tables.

- :func:`accelerate` runs unchanged torch / transformers / timm init code on ferroinit: every
  ``torch.nn.init`` function and the Tensor methods init code ends in, on CPU tensors, with
  torch's semantics per call; whatever ferroinit does not do goes to torch unchanged.
- :func:`materialize` takes a model built on the meta device (or under :func:`empty_init`) to
  CPU memory initialized by the model's own init code, and never returns uninitialized memory.
- :func:`reset_parameters` re-runs every module's own ``reset_parameters``; :func:`apply` fills
  tensors from a rule table (what people write as ``model.apply(weight_init)``).

Values come from torch's generators: ``torch.manual_seed(s)`` (or ``generator=``) decides
them, one key per fill drawn from the generator (see ``docs/torch.md``).

Example:
    >>> import torch, ferroinit.torch as fit
    >>> with torch.device("meta"):
    ...     model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16))
    >>> model = fit.materialize(model, generator=0)
    >>> model[0].weight.device, bool(model[1].weight.eq(1).all())
    (device(type='cpu'), True)
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Union

import torch
from torch import nn

import ferroinit as _fi
from ferroinit import _registry

from ._torch import empty as _empty
from ._torch import mode as _mode
from ._torch import pending as _p
from ._torch import seeding as _s
from ._torch import tensors as _t
from ._torch import tracking as _tracking

__all__ = ["Init", "accelerate", "apply", "empty_init", "materialize", "reset_parameters"]

TorchGeneratorLike = Union[int, "_fi.Generator", torch.Generator, None]

_RANDOM = set(_registry.names(family=_registry.TORCH, random=True))
_DETERMINISTIC = set(_registry.names(family=_registry.TORCH, random=False))
# torch.nn.init functions whose torch implementation is the slow one: Init uses ferroinit's
# (same law) instead of routing torch's QR / per-column loop.
_FERROINIT_IMPL = {"orthogonal_", "sparse_"}


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

    def __call__(self, tensor: torch.Tensor, generator: TorchGeneratorLike = None) -> torch.Tensor:
        """Fill ``tensor`` in place and return it.

        ``generator``: a ``torch.Generator``, an int seed or a ``ferroinit.Generator`` (see
        :func:`materialize`), or None for torch's default generator (the enclosing
        :func:`accelerate` block's, inside one).
        """
        if generator is None and _p.registry().depth:
            self._fill(tensor)
        else:
            with _mode.Scope(_s.torch_generator(generator)):
                self._fill(tensor)
        return tensor

    def _fill(self, tensor: torch.Tensor) -> None:
        # Inside an accelerate scope: torch.nn.init's functions are routed (and deferred);
        # ferroinit's own are written at once with a key from the scope's generator.
        with _mode._NoGrad():
            if isinstance(self.fn, str):
                tfn = None if self.fn in _FERROINIT_IMPL else getattr(nn.init, self.fn, None)
                if tfn is not None:
                    tfn(tensor, *self.args, **self.kwargs)
                elif not tensor.is_meta:
                    fn = getattr(_fi, self.fn)
                    key = _s.draw_key(None) if self.fn in _RANDOM else None
                    if _t.direct(tensor):
                        _p.registry().record(tensor, "call", (fn, self.args, self.kwargs), key,
                                             defer=False)
                    else:  # ferroinit's own error (CUDA, integer dtype, ...)
                        fn(tensor, *self.args, **self.kwargs)
            else:
                self.fn(tensor, *self.args, **self.kwargs)
            if self.scale != 1.0:
                tensor.mul_(self.scale)

    def __repr__(self) -> str:
        parts = [repr(self.fn) if isinstance(self.fn, str) else getattr(self.fn, "__name__", "fn")]
        parts += [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        if self.scale != 1.0:
            parts.append(f"scale={self.scale!r}")
        return f"Init({', '.join(parts)})"


InitLike = Init | str | Callable | tuple[Any, ...] | None


def _as_init(spec: InitLike) -> Init | None:
    if spec is None or isinstance(spec, Init):
        return spec
    if isinstance(spec, tuple):
        fn, *rest = spec
        kwargs = rest.pop() if rest and isinstance(rest[-1], dict) else {}
        return Init(fn, *rest, **kwargs)
    return Init(spec)




def _is_uninitialized(t) -> bool:
    return isinstance(t, nn.parameter.UninitializedTensorMixin)


def _post_order(module: nn.Module) -> list[nn.Module]:
    """Every module once, each after all its descendants (the order their ``__init__``s end)."""
    out, seen = [], set()

    def visit(m):
        if id(m) in seen:
            return
        seen.add(id(m))
        for c in m.children():
            visit(c)
        out.append(m)

    visit(module)
    return out


def _reset_all(module: nn.Module) -> None:
    # What each module's __init__ ends with: its reset_parameters (torch's MultiheadAttention
    # and Transformer name theirs _reset_parameters), children before parents. A tensor tied
    # into several modules keeps the init of its first owner, as tying after construction
    # (``head.weight = emb.weight``) does: the later owners' resets see a meta stand-in.
    first: dict[int, nn.Module] = {}
    for m in module.modules():
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None:
                first.setdefault(id(t), m)
    for m in _post_order(module):
        fn = getattr(m, "reset_parameters", None)
        if not callable(fn):
            fn = getattr(m, "_reset_parameters", None)
        if not callable(fn):
            continue
        stand_ins = []
        for slot in (m._parameters, m._buffers):
            for name, t in slot.items():
                if t is not None and first[id(t)] is not m:
                    with torch._C.DisableTorchFunction():
                        meta = torch.empty_like(t, device="meta")
                    stand_in = nn.Parameter(meta, t.requires_grad) if slot is m._parameters \
                        else meta
                    stand_ins.append((slot, name, t, stand_in))
        for slot, name, _, stand_in in stand_ins:
            slot[name] = stand_in
        try:
            fn()
        finally:
            for slot, name, t, stand_in in stand_ins:
                if slot.get(name) is stand_in:
                    slot[name] = t


def _takes_no_arguments(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


def _init_weights_all(module: nn.Module) -> None:
    # The framework hook: the outermost modules with an init_weights() (transformers'
    # PreTrainedModel, timm's models, torchtitan's root module) run it; it covers its subtree.
    stack = [module]
    while stack:
        m = stack.pop()
        fn = getattr(m, "init_weights", None)
        if callable(fn) and _takes_no_arguments(fn):
            fn()
        else:
            stack.extend(reversed(list(m.children())))


def reset_parameters(module: nn.Module, generator: TorchGeneratorLike = None) -> nn.Module:
    """Re-initialize ``module`` by running every submodule's own ``reset_parameters``.

    Each submodule's ``reset_parameters`` (``_reset_parameters`` for torch's
    MultiheadAttention and Transformer) runs, children before parents, under
    :func:`accelerate`: the values have torch's laws exactly (they are torch's own init code),
    their sampling runs on ferroinit, a tensor that several of them write is written once, and
    running statistics are reset. Tensors on the meta device are left alone, as torch does.

    Args:
        module: the module; parameters are filled in place and stay the same objects.
        generator: a ``torch.Generator``, an int seed or a :class:`ferroinit.Generator` (a
            seed for a fresh ``torch.Generator``, see :func:`materialize`), or None for
            torch's default generator.

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
    with _mode.Scope(_s.torch_generator(generator)), torch.no_grad():
        _reset_all(module)
    return module


Rules = dict[Any, Any] | Iterable[tuple[Any, Any]]


def _rule_plan(module: nn.Module, rules: Rules) -> list[tuple[torch.Tensor, Init]]:
    """(tensor, initializer) for every parameter or buffer a rule decides, first rule first."""
    items = list(rules.items()) if isinstance(rules, dict) else list(rules)
    named: list[tuple[str, torch.Tensor, nn.Module, str]] = []
    seen: set[int] = set()
    for mname, m in module.named_modules():
        for slot in (m._parameters, m._buffers):
            for leaf, t in slot.items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                named.append((f"{mname}.{leaf}" if mname else leaf, t, m, leaf))
    decided: set[int] = set()
    plan = []
    for key, spec in items:
        for full, t, m, leaf in named:
            if id(t) in decided:
                continue
            matched, init = False, None
            if isinstance(key, str):
                if fnmatch.fnmatchcase(full, key):
                    matched, init = True, spec
            elif isinstance(m, key):
                table = spec if isinstance(spec, dict) else {"*": spec}
                for pat, sp in table.items():
                    if fnmatch.fnmatchcase(leaf, pat):
                        matched, init = True, sp
                        break
            if matched:
                decided.add(id(t))
                init = _as_init(init)
                if init is not None and not _is_uninitialized(t):
                    plan.append((t, init))
    return plan


def apply(module: nn.Module, rules: Rules, generator: TorchGeneratorLike = None) -> nn.Module:
    """Initialize parameters and buffers from a rule table, in one pass.

    Each rule maps a key to initializers:

    - a module type (or tuple of types) to ``{tensor name or pattern: initializer}`` (or to
      one initializer for all of that module's own parameters and buffers);
    - a string pattern (``fnmatch``) to an initializer for the parameters and buffers whose
      full name (``"encoder.layers.0.linear1.weight"``, ``"bn.running_var"``) matches.

    An initializer is a ferroinit name (``"zeros_"``), an :class:`Init` (with arguments and
    an optional ``scale``), a tuple ``(name, *args, {kwargs})``, a callable taking the tensor
    (e.g. a ``torch.nn.init`` function), or None to leave the tensor alone. The first rule
    that matches a tensor decides it; tensors no rule matches are left untouched. Names that
    ``torch.nn.init`` has run torch's code under :func:`accelerate` (torch's semantics);
    ``orthogonal_``, ``sparse_`` and ferroinit's own families run ferroinit's (same laws).

    Args:
        module: the module; tensors are filled in place and stay the same objects.
        rules: a dict or a list of ``(key, initializers)`` pairs.
        generator: as in :func:`reset_parameters`.

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
        ...     nn.BatchNorm2d: {"weight": "ones_", "bias": "zeros_", "running_var": "ones_"},
        ...     "*.residual.*.weight": 0.1 * Init("kaiming_normal_"),
        ... }, generator=0)
        >>> net[3].bias.abs().sum().item(), net[1].weight.sum().item()
        (0.0, 8.0)
    """
    with _mode.Scope(_s.torch_generator(generator)), torch.no_grad():
        for t, init in _rule_plan(module, rules):
            init._fill(t)
    return module


def _alloc(t: torch.Tensor) -> torch.Tensor:
    """Uninitialized CPU memory for a meta tensor, with its strides. (torch.empty: on hosts
    whose THP defrag policy compacts on fault, madvise'd huge pages were slower to fault in.)"""
    with torch._C.DisableTorchFunction():
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="cpu")


def _new_parameter(p: nn.Parameter) -> nn.Parameter:
    data = _alloc(p)
    try:
        q = type(p)(data, requires_grad=p.requires_grad)
    except TypeError:  # a Parameter subclass with its own constructor
        q = nn.Parameter(data, requires_grad=p.requires_grad)
    q.__dict__.update({k: v for k, v in p.__dict__.items() if k != "_is_hf_initialized"})
    return q


def _allocate(module: nn.Module, watch: _tracking.Allocations):
    """Replace every meta parameter and buffer by uninitialized CPU memory (tied tensors stay
    tied) and watch it; returns (module, slot, name, meta tensor, new tensor) for each."""
    new: dict[int, torch.Tensor] = {}
    done = []
    for m in module.modules():
        for slot in (m._parameters, m._buffers):
            for name, t in list(slot.items()):
                if t is None or t.device.type != "meta" or _is_uninitialized(t):
                    continue
                q = new.get(id(t))
                if q is None:
                    q = _new_parameter(t) if slot is m._parameters else _alloc(t)
                    new[id(t)] = q
                    watch.add(q)
                slot[name] = q
                done.append((m, slot, name, t, q))
    return done


def _clear_hf_flags(module: nn.Module) -> None:
    # transformers skips what carries _is_hf_initialized (set by an earlier init_weights, e.g.
    # in __init__ under empty_init): materialize runs the model's whole init.
    for m in module.modules():
        m.__dict__.pop("_is_hf_initialized", None)
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None and "_is_hf_initialized" in getattr(t, "__dict__", {}):
                del t._is_hf_initialized


def _names(module: nn.Module) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for mname, m in module.named_modules(remove_duplicate=False):
        for slot in (m._parameters, m._buffers):
            for leaf, t in slot.items():
                if t is not None:
                    out.setdefault(id(t), []).append(f"{mname}.{leaf}" if mname else leaf)
    return out


def _back_to_meta(allocated, watch: _tracking.Allocations) -> list[torch.Tensor]:
    """Put the meta tensors back where no init code wrote all of their new memory; returns
    the new tensors taken out."""
    unwritten = {id(t) for t in watch.unwritten()}
    out = []
    for m, slot, name, meta, q in allocated:
        if id(q) in unwritten and slot.get(name) is q:
            slot[name] = meta
            out.append(q)
    return out


def materialize(module: nn.Module, rules: Rules | None = None, dtype=None,
                generator: TorchGeneratorLike = None) -> nn.Module:
    """Give a module built on the meta device CPU memory initialized by its own init code.

    Every meta parameter and buffer gets uninitialized CPU memory (parameters become new
    ``Parameter`` objects, as ``Module.to_empty`` does; tied ones stay tied), then the model's
    own init runs under :func:`accelerate`, as its constructor would have run it:

    1. every submodule's ``reset_parameters()`` (``_reset_parameters`` for torch's
       MultiheadAttention and Transformer), children before parents;
    2. the framework hook: each outermost submodule with an ``init_weights()`` that takes no
       required arguments runs it (transformers' ``PreTrainedModel.init_weights``, the
       ``post_init`` path, with the ``_is_hf_initialized`` flags cleared first; timm's
       models; torchtitan-style roots). A framework of your own hooks in the same way;
    3. ``rules`` (as in :func:`apply`), overriding what the init code did.

    Tensors already on the CPU are re-initialized in place by the same code. A fill that a
    later one overwrites is never written, and the remaining ones are written together when
    the init code is done.

    Nothing is left uninitialized: a meta tensor that no init code wrote completely (a buffer
    that only ``__init__`` computes, a parameter that ``__init__`` set from a constant) is put
    back on the meta device and the call raises, naming it. Build such models under
    :func:`empty_init` (which keeps buffers on the CPU with their computed values), or give
    the tensor a rule.

    Args:
        module: a module whose parameters and buffers are on the meta device (or the CPU).
        rules: optional rule table overriding the model's init (see :func:`apply`).
        dtype: optional floating dtype to convert to first (``torch.bfloat16``: no fp32 copy).
        generator: a ``torch.Generator`` (its draws decide the values), an int seed or a
            :class:`ferroinit.Generator` (which seed a fresh ``torch.Generator`` with one word
            of ferroinit's stream), or None for torch's default generator. It is the
            generator of every random call the init code makes, those torch does too.

    Returns:
        ``module``, on the CPU.

    Raises:
        RuntimeError: naming the tensors no init code initialized.

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
    watch = _tracking.Allocations()
    allocated = _allocate(module, watch)
    _clear_hf_flags(module)
    try:
        with _mode.Scope(_s.torch_generator(generator), watch=watch), torch.no_grad():
            _reset_all(module)
            _init_weights_all(module)
            if rules is not None:
                for t, init in _rule_plan(module, rules):
                    init._fill(t)
    except BaseException:
        _back_to_meta(allocated, watch)  # an error in init code leaves no garbage behind
        raise
    names = _names(module)
    left = _back_to_meta(allocated, watch)
    if left:
        listed = sorted({n for q in left for n in names.get(id(q), [])})
        raise RuntimeError(
            "materialize: no init code initialized these tensors, so they stay on the meta "
            f"device: {', '.join(listed)}. Give them a rule (rules={{name: initializer}}), a "
            "reset_parameters() on their module, or build the model under "
            "ferroinit.torch.empty_init() if __init__ computes them (buffers)."
        )
    return module


class accelerate(contextlib.ContextDecorator):
    """Run unchanged torch init code on ferroinit: a context manager and a decorator.

    Inside the block, every ``torch.nn.init`` function, and the Tensor methods that init code
    ends in (``normal_``, ``uniform_``, ``fill_``, ``zero_``, ``torch.eye(out=)``, and the
    ``mul_``/``add_``/``erfinv_``/``clamp_`` chains of timm's ``trunc_normal_``), on a CPU
    float16/bfloat16/float32/float64 tensor, is done by ferroinit with torch's semantics per
    call: the same law, errors, warnings and return value. Everything else goes to torch
    unchanged (CUDA and meta tensors, integer and complex dtypes, tensor subclasses and fake
    tensors, tensors below the size where torch's kernel is faster, a leaf that requires grad
    outside ``no_grad``, any call while another function or dispatch mode below this one is
    active): never a new error. (On a meta tensor those in-place calls write nothing either
    way; where torch would surely succeed, ferroinit bumps the version counter and returns the
    tensor itself, without torch's Python decompositions for meta tensors.)

    Values: each fill draws one key from the call's ``generator=`` or, without one, from this
    block's ``generator`` (default: torch's default CPU generator), so ``torch.manual_seed``
    decides them and successive calls differ. Autograd: every tensor written gets its version
    counter bumped, as torch's in-place methods do.

    Fills are deferred: a fill is written when torch code touches the tensor, when a later
    fill overwrites it entirely (then it is never written), or at the end of the block.

    Args:
        generator: a ``torch.Generator``, an int seed or a :class:`ferroinit.Generator` (see
            :func:`materialize`) replacing torch's default generator inside the block, for
            every random torch call that takes a generator; None: torch's default.
        defer: False writes every fill at once (for debugging).

    Example:
        >>> import torch, ferroinit.torch as fit
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> with fit.accelerate():
        ...     net = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.LayerNorm(512))
        ...     torch.nn.init.xavier_normal_(net[0].weight)  # doctest: +ELLIPSIS
        Parameter containing:...
        >>> round(float(net[0].weight.detach().std()) * 1024 ** 0.5 / 2 ** 0.5, 1)
        1.0
        >>> @fit.accelerate()
        ... def build():
        ...     return torch.nn.Linear(256, 256)
        >>> build().weight.abs().max().item() <= 1 / 16
        True
    """

    def __init__(self, generator: TorchGeneratorLike = None, defer: bool = True):
        self._generator = generator
        self._defer = defer
        self._scopes: list[_mode.Scope] = []

    def _recreate_cm(self):
        # A decorated function may run in several threads or recursively: one scope per call.
        return accelerate(self._generator, self._defer)

    def __enter__(self):
        scope = _mode.Scope(_s.torch_generator(self._generator), self._defer)
        scope.__enter__()
        self._scopes.append(scope)
        return self

    def __exit__(self, *exc):
        return self._scopes.pop().__exit__(*exc)


class empty_init(_empty.empty_init):
    """Build modules with parameters on the meta device and buffers on the CPU.

    As accelerate's ``init_empty_weights(include_buffers=False)``: parameters take no memory
    and no init time, while buffers keep the values ``__init__`` computed (rotary ``inv_freq``,
    masks), which no init code recomputes. :func:`materialize` then gives the parameters the
    model's own init. The init calls ``__init__`` makes on the meta parameters (``normal_``,
    ``uniform_``, ``erfinv_``, ``clamp_``) are answered as torch answers them (version counter
    bumped, the tensor returned, torch's errors) without torch's Python decompositions for meta
    tensors, which made most of a meta build's time.

    Example:
        >>> import torch, ferroinit.torch as fit
        >>> class Rotary(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.proj = torch.nn.Linear(8, 8)
        ...         self.register_buffer("inv_freq", 1 / 10000 ** (torch.arange(0, 8, 2) / 8))
        >>> with fit.empty_init():
        ...     m = Rotary()
        >>> m.proj.weight.device.type, m.inv_freq.device.type
        ('meta', 'cpu')
        >>> m = fit.materialize(m, generator=0)
        >>> m.proj.weight.device.type, round(m.inv_freq[1].item(), 2)
        ('cpu', 0.1)
    """
