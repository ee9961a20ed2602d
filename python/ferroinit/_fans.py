"""Gains and fans: torch's ``calculate_gain`` and fan rules (public and private helpers)."""

from __future__ import annotations

from typing import Any

from . import _core
from ._forms import shape_of as _shape_of


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""Return the recommended gain value for the given nonlinearity function.

    The values are as follows (torch's):

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    Linear / Identity :math:`1`
    Conv{1,2,3}D      :math:`1`
    Sigmoid           :math:`1`
    Tanh              :math:`\frac{5}{3}`
    ReLU              :math:`\sqrt{2}`
    Leaky Relu        :math:`\sqrt{\frac{2}{1 + \text{negative\_slope}^2}}`
    SELU              :math:`\frac{3}{4}`
    ================= ====================================================

    Args:
        nonlinearity: the non-linear function (`nn.functional` name).
        param: optional parameter for the non-linear function (the negative slope of
            leaky_relu, default 0.01).

    Returns:
        The gain, a float.

    Raises:
        ValueError: for an unsupported nonlinearity or a param that is not a number, with
            torch's messages.

    Example:
        >>> import ferroinit as init
        >>> init.calculate_gain("leaky_relu", 0.2)  # leaky_relu with negative_slope=0.2
        1.3867504905630728
    """
    slope: float | None = None
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
    if not isinstance(nonlinearity, str):
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")  # noqa: TRY004 (torch's type)
    return _core.calculate_gain(nonlinearity, slope)


def calculate_fan_in_and_fan_out(x_or_shape: Any) -> tuple[int, int]:
    """Compute ``(fan_in, fan_out)`` of an array or a shape, by torch's rule.

    ``fan_in = shape[1] * rf`` and ``fan_out = shape[0] * rf``, where the receptive field
    ``rf`` is the product of dims 2 and up.

    Args:
        x_or_shape: an array (anything with ``.shape``) or a shape tuple.

    Returns:
        ``(fan_in, fan_out)``.

    Example:
        >>> import ferroinit as init
        >>> init.calculate_fan_in_and_fan_out((64, 32, 3, 3))
        (288, 576)
    """
    return _core.fan_in_and_fan_out(list(_shape_of(x_or_shape)))


def _calculate_fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """torch's private ``nn.init._calculate_fan_in_and_fan_out``, which user code calls.

    The same results, errors and messages as torch's, for a NumPy array or a tensor (anything
    with ``.shape``).

    Args:
        tensor: an array with at least 2 dimensions.

    Returns:
        ``(fan_in, fan_out)``, ints.

    Raises:
        ValueError: for fewer than 2 dimensions, with torch's message.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init._calculate_fan_in_and_fan_out(np.empty((64, 32, 3, 3)))
        (288, 576)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= int(s)
    return int(shape[1]) * receptive_field_size, int(shape[0]) * receptive_field_size


def _calculate_correct_fan(tensor: Any, mode: str) -> int:
    """torch's private ``nn.init._calculate_correct_fan``: the fan ``mode`` names.

    Args:
        tensor: an array with at least 2 dimensions.
        mode: ``"fan_in"`` or ``"fan_out"`` (any case).

    Returns:
        The fan, an int.

    Raises:
        ValueError: for another mode or fewer than 2 dimensions, with torch's messages.

    Example:
        >>> import numpy as np, ferroinit as init
        >>> init._calculate_correct_fan(np.empty((64, 32, 3, 3)), "FAN_OUT")
        576
    """
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out
