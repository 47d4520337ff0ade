"""Output-size arithmetic shared by every operation (the parameter rules are in engine.rules).

The one formula (PyTorch's, for convolution and pooling alike):
    H_out = floor((H + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1
"""

from __future__ import annotations

import numbers

from engine.errors import CnnError, shown
from engine.limits import MAX_SIDE, MAX_STEPS, MAX_WHOLE, check_steps  # noqa: F401 (limits live in engine.limits)

Pair = tuple[int, int]


def pair(value: object, name: str, minimum: int = 1) -> Pair:
    """Read an int or an (h, w) pair as (h, w); refuse non-integers and values below minimum."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise CnnError(f"{name} must be one integer or a pair [h, w], got {shown(list(value))}")
        items = list(value)
    else:
        items = [value, value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            if isinstance(item, float) and item.is_integer():
                item = int(item)
            else:
                raise CnnError(f"{name} must be a whole number, got {shown(item)}")
        if item < minimum:
            raise CnnError(f"{name} must be at least {minimum}, got {shown(int(item))}")
        if item > MAX_WHOLE:
            raise CnnError(f"{name} must be at most {MAX_WHOLE:,}, got {shown(int(item))}")
        out.append(int(item))
    return out[0], out[1]


def window_span(kernel: int, dilation: int = 1) -> int:
    """How many input cells a dilated window covers along one axis: dilation·(kernel − 1) + 1."""
    return dilation * (kernel - 1) + 1


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1; may be < 1."""
    return (size + 2 * padding - window_span(kernel, dilation)) // stride + 1


def output_size_formula(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The formula with the numbers filled in, e.g. '⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3'."""
    result = output_size(size, kernel, stride, padding, dilation)
    return f"⌊({size} + 2·{padding} − {dilation}·({kernel}−1) − 1)/{stride}⌋ + 1 = {result}"


#: The formula in its general form, shown beside the filled-in one; pooling has no dilation term.
GENERAL_FORMULA = "H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1"
GENERAL_POOL_FORMULA = "H_out = ⌊(H + 2p − k)/s⌋ + 1"


def pool_size_formula(size: int, kernel: int, stride: int, padding: int = 0) -> str:
    """Pooling's formula filled in, without the dilation term: '⌊(4 + 2·0 − 2)/2⌋ + 1 = 2'."""
    result = output_size(size, kernel, stride, padding)
    return f"⌊({size} + 2·{padding} − {kernel})/{stride}⌋ + 1 = {result}"


def output_hw(hw: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, what: str = "kernel") -> Pair:
    """(H_out, W_out) for a sliding window; CnnError naming the dimension when it does not fit."""
    out = []
    for dim, (n, k, s, p, d) in zip(("height", "width"), zip(hw, kernel, stride, padding, dilation)):
        span = window_span(k, d)
        if span > n + 2 * p:
            raise CnnError(
                f"{what} {dim} {k} (dilated span {span}) is larger than the padded input "
                f"{dim} {n} + 2·{p} = {n + 2 * p}: {output_size_formula(n, k, s, p, d)}"
            )
        out.append(output_size(n, k, s, p, d))
    return out[0], out[1]
