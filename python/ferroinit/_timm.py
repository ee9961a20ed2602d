"""Import timm on a machine without a working torchvision (the tests' and the bench's way in).

timm 1.0 imports torchvision unconditionally at ``import timm`` (``timm.layers`` takes
``FrozenBatchNorm2d`` from ``torchvision.ops.misc``; ``timm.models`` imports ``timm.data``,
which takes dataset classes, ``transforms.ToTensor`` and ``InterpolationMode``), although
building a model never touches torchvision. On a CPU-only host torchvision is not installable
(PyPI has only CUDA builds, which fail to import on a CPU torch), so :func:`import_timm`
stands in for exactly the names timm imports, and only while timm is being imported: the
stand-in modules are removed from ``sys.modules`` afterwards, so no other library (e.g.
transformers probing for torchvision) ever sees a fake torchvision. Where torchvision imports,
nothing here is used.

``FrozenBatchNorm2d`` is a working module (timm can convert BatchNorm layers to it); every other
name is a placeholder that raises ``ImportError`` when used, since nothing in model
construction uses them.
"""

from __future__ import annotations

import enum
import importlib
import importlib.machinery
import importlib.util
import sys
import types

_MISSING = (
    "torchvision is not installed (on a CPU-only host PyPI offers only CUDA builds); "
    "ferroinit's stand-in provides only what `import timm` needs, not {name}"
)

#: What timm 1.0 imports from torchvision at ``import timm`` (torchvision module -> names).
_DATASETS = ("CIFAR10", "CIFAR100", "FashionMNIST", "INaturalist", "ImageFolder", "ImageNet",
             "KMNIST", "MNIST", "Places365", "QMNIST")


def _placeholder(qualname: str) -> type:
    """A class timm can subclass or refer to at import time, raising if ever instantiated."""

    def __init__(self, *args, **kwargs):
        raise ImportError(_MISSING.format(name=qualname))

    return type(qualname.rsplit(".", 1)[1], (), {"__init__": __init__,
                                                "__module__": qualname.rsplit(".", 1)[0]})


class InterpolationMode(enum.Enum):
    """torchvision's interpolation modes (the names and string values torchvision documents)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _frozen_batch_norm_2d():
    import torch
    from torch import nn

    class FrozenBatchNorm2d(nn.Module):
        """BatchNorm2d whose statistics and affine parameters are fixed buffers.

        As torchvision documents ``torchvision.ops.FrozenBatchNorm2d(num_features, eps=1e-5)``:
        buffers ``weight`` (ones), ``bias`` (zeros), ``running_mean`` (zeros) and
        ``running_var`` (ones); the output is
        ``(x - running_mean) / sqrt(running_var + eps) * weight + bias`` per channel; a state
        dict from a ``BatchNorm2d`` loads (its ``num_batches_tracked`` is ignored).
        """

        def __init__(self, num_features: int, eps: float = 1e-5):
            super().__init__()
            self.eps = eps
            self.register_buffer("weight", torch.ones(num_features))
            self.register_buffer("bias", torch.zeros(num_features))
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                  missing_keys, unexpected_keys, error_msgs):
            state_dict.pop(prefix + "num_batches_tracked", None)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                          missing_keys, unexpected_keys, error_msgs)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            scale = self.weight * (self.running_var + self.eps).rsqrt()
            shift = self.bias - self.running_mean * scale
            return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

        def extra_repr(self) -> str:
            return f"{self.weight.shape[0]}, eps={self.eps}"

    FrozenBatchNorm2d.__module__ = "torchvision.ops.misc"
    FrozenBatchNorm2d.__qualname__ = "FrozenBatchNorm2d"
    return FrozenBatchNorm2d


def _package(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    # A real spec and an empty __path__: `import torchvision.models...` (timm tries it inside
    # try/except ImportError) then fails as for any absent submodule.
    m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    m.__path__ = []
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def _stand_in() -> dict[str, types.ModuleType]:
    misc = _package("torchvision.ops.misc", FrozenBatchNorm2d=_frozen_batch_norm_2d())
    ops = _package("torchvision.ops", misc=misc, FrozenBatchNorm2d=misc.FrozenBatchNorm2d)
    datasets = _package("torchvision.datasets",
                        **{n: _placeholder(f"torchvision.datasets.{n}") for n in _DATASETS})
    functional = _package("torchvision.transforms.functional",
                          InterpolationMode=InterpolationMode)
    transforms = _package("torchvision.transforms", functional=functional,
                          InterpolationMode=InterpolationMode,
                          ToTensor=_placeholder("torchvision.transforms.ToTensor"))
    root = _package("torchvision", ops=ops, datasets=datasets, transforms=transforms,
                    __version__="0.0.0+ferroinit-stand-in")
    return {m.__name__: m for m in (root, ops, misc, datasets, transforms, functional)}


def _torchvision_imports() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - a CUDA build fails with OSError/RuntimeError, not only ImportError
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        return False
    return True


def import_timm():
    """Import and return ``timm``, standing in for torchvision only if it does not import.

    Returns:
        the ``timm`` module.

    Raises:
        ImportError: timm itself is not installed (callers skip on it).

    Example:
        >>> from ferroinit._timm import import_timm
        >>> timm = import_timm()  # doctest: +SKIP
        >>> timm.create_model("resnet18", pretrained=False)  # doctest: +SKIP
    """
    if "timm" in sys.modules:
        return sys.modules["timm"]
    if importlib.util.find_spec("timm") is None:
        raise ImportError("timm is not installed")
    if _torchvision_imports():
        return importlib.import_module("timm")
    stand_in = _stand_in()
    sys.modules.update(stand_in)
    try:
        return importlib.import_module("timm")
    except BaseException:
        for name in [n for n in sys.modules if n == "timm" or n.startswith("timm.")]:
            del sys.modules[name]
        raise
    finally:
        for name, module in stand_in.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
