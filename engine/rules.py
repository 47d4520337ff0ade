"""The rules an operation's parameters obey, each in one place.

The sample reader (engine.samples), the teaching path (engine.trace), the
vectorised NCHW functions (engine.ops) and the network (engine.network.model,
engine.network.bridge) all call these, so a rule cannot say one thing in a file
and another in the network. Shapes and the output-size formula live beside
them in engine.shapes.

Every check raises CnnError with a one-line message; `where` (a file and key,
or a layer) is put in front of it when given.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from engine.errors import CnnError, quoted, shown, suggest
from engine.shapes import Pair, pair

POOL_MODES = ("max", "avg")


def _fail(where: str, text: str) -> CnnError:
    return CnnError(f"{where}: {text}" if where else text)


def pool_padding(size: Pair, padding: Pair, where: str = "") -> None:
    """Pooling padding is at most half the pool size in each dimension (PyTorch's rule: no window
    may lie wholly in the padding, where a max would be −∞)."""
    for dim, kk, pp in zip(("height", "width"), size, padding):
        if 2 * pp > kk:
            raise _fail(where, f"pool padding {pp} must be at most half the pool size {kk} ({dim})")


def pool_stride(stride: object, size: Pair, name: str = "pool stride") -> Pair:
    """A pooling stride as a pair; left out (None) it is the pool size, as in PyTorch."""
    return size if stride is None else pair(stride, name)


def pool_mode(mode: object, name: str = "pool mode") -> str:
    """'max' or 'avg'."""
    if mode not in POOL_MODES:
        raise CnnError(f'{name} must be "max" or "avg", got {shown(mode)}{suggest(str(mode), POOL_MODES)}')
    return mode  # type: ignore[return-value]


def batch_statistics(count: int, where: str = "") -> None:
    """Batch norm in training needs N·H·W ≥ 2 values per channel: one value has no variance to
    normalise by (and no unbiased variance for the running statistics)."""
    if count < 2:
        raise _fail(
            where,
            f"batch norm in training needs more than 1 value per channel (N·H·W ≥ 2, got {count}); "
            "use a batch of 2 or more",
        )


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CnnError(f"{name} must be a number, got {quoted(repr(value))}")
    try:
        return float(value)
    except OverflowError:  # a 400-digit integer
        raise CnnError(f"{name} must be a number of ordinary size, got {shown(value)}") from None


def eps(value: object, name: str = "eps") -> float:
    """ε > 0 and finite: it keeps √(σ² + ε) away from 0. (PyTorch takes any float; 0 divides by
    zero on a constant channel, and a negative ε can take the root of a negative number.)"""
    number = _real(value, name)
    if not number > 0 or not math.isfinite(number):
        raise CnnError(f"{name} must be a small positive number, got {value}")
    return number


def momentum(value: object, name: str = "momentum") -> float:
    """0 ≤ momentum ≤ 1, the range PyTorch's BatchNorm accepts: running ← (1 − m)·running + m·batch,
    so 0 keeps the running statistics as they are and 1 replaces them with the batch's."""
    number = _real(value, name)
    if not 0 <= number <= 1:
        raise CnnError(f"{name} must be between 0 and 1, got {value}")
    return number


def per_channel(value: object, count: int, name: str, default: float = 0.0, unit: str = "channel") -> np.ndarray:
    """A vector with one value per channel (or per filter): None gives `default` everywhere, one
    value is repeated, otherwise exactly `count` values. -> float64 (count,)."""
    if value is None:
        return np.full(count, float(default))
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size == 1:
        return np.full(count, float(array[0]))
    if array.size != count:
        raise CnnError(f"{name} needs one value per {unit} ({count}), got {array.size}")
    return array


def running_var(values: np.ndarray, name: str = "running_var") -> None:
    """A running variance is never negative."""
    if np.any(np.asarray(values) < 0):
        raise CnnError(f"{name} must not be negative")


def kernel_channels(kernel: int, channels: int, where: str = "", hint: str = "") -> None:
    """A kernel has one slice per input channel: weight (filters, channels, kh, kw) on C = channels."""
    if kernel != channels:
        raise _fail(
            where,
            f"the kernel has {kernel} channel(s) but its input has {channels}; "
            + (hint or "a kernel is (filters, channels, kh, kw) with one slice per input channel"),
        )
