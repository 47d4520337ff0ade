"""Receptive fields: which input cells an output cell depends on, from the layers' parameters.

A sliding-window layer (convolution or pooling) with kernel k, stride s, padding p
and dilation d reads, for output row o, the input rows o·s − p + d·t for t in
0..k−1. Composing that through a stack gives, for one output cell, the exact
input rows and columns it depends on (`cell_field`); its nominal size and jump
(`fields`) follow the usual recurrence

    size_out = size_in + d·(k − 1)·jump_in        jump_out = jump_in · s

(conv1 3×3 → maxpool 4×4 → conv2 8×8 → maxpool 10×10 in the lecture's network).
Batch norm and ReLU are element-wise and change nothing; flatten and a linear
layer see the whole image. Pure arithmetic on integers: no arrays are touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.shapes import Pair


@dataclass(frozen=True)
class Window:
    """One sliding-window layer, (height, width) pairs."""

    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)


#: Element-wise layers: the receptive field passes through unchanged.
IDENTITY = None


@dataclass(frozen=True)
class Field:
    """The nominal receptive field after a layer: size and jump (input cells between neighbouring outputs)
    on the input, height and width; whole=True once every input cell counts (after flatten / linear)."""

    size: Pair
    jump: Pair
    whole: bool = False

    def text(self) -> str:
        """'3×3 /1' (size, jump) or 'whole image'."""
        if self.whole:
            return "whole image"
        jump = f"{self.jump[0]}" if self.jump[0] == self.jump[1] else f"{self.jump[0]}×{self.jump[1]}"
        return f"{self.size[0]}×{self.size[1]} /{jump}"


def fields(layers: Sequence[Window | str | None]) -> list[Field]:
    """The receptive field after each layer. A layer is a Window, None (element-wise) or "whole"
    (flatten, linear: from there on every input cell counts)."""
    size, jump, whole = (1, 1), (1, 1), False
    out = []
    for layer in layers:
        if layer == "whole":
            whole = True
        elif isinstance(layer, Window) and not whole:
            size = tuple(n + d * (k - 1) * j for n, d, k, j in zip(size, layer.dilation, layer.kernel, jump))  # type: ignore[assignment]
            jump = tuple(j * s for j, s in zip(jump, layer.stride))  # type: ignore[assignment]
        out.append(Field(size, jump, whole))
    return out


def input_lines(index: int, windows: Sequence[Window], sizes: Sequence[int], axis: int) -> tuple[int, ...]:
    """The input rows (axis 0) or columns (axis 1) that output line `index` of the last window depends on.

    sizes[k] is the input size of windows[k] along that axis; padding lines are left out, so the
    result lies in 0..sizes[0]−1 and may have holes (dilation)."""
    lines = {index}
    for window, size in zip(reversed(windows), reversed(sizes)):
        k, s, p, d = window.kernel[axis], window.stride[axis], window.padding[axis], window.dilation[axis]
        lines = {o * s - p + d * t for o in lines for t in range(k)}
        lines = {line for line in lines if 0 <= line < size}
    return tuple(sorted(lines))


def cell_field(
    cell: tuple[int, int], windows: Sequence[Window], input_hw: Pair
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(rows, cols) of the input (H, W) = input_hw that output cell (i, j) of the stack depends on.

    Every layer's input size follows from input_hw by PyTorch's output-size formula."""
    heights, widths = [input_hw[0]], [input_hw[1]]
    for window in windows[:-1]:
        for sizes, axis in ((heights, 0), (widths, 1)):
            k, s, p, d = window.kernel[axis], window.stride[axis], window.padding[axis], window.dilation[axis]
            sizes.append((sizes[-1] + 2 * p - d * (k - 1) - 1) // s + 1)
    return input_lines(cell[0], windows, heights, 0), input_lines(cell[1], windows, widths, 1)


def stage_window(op: str, params: dict) -> Window | None:
    """The Window of a sample stage (conv or pool parameters as the tracer takes them); None for
    element-wise stages (batch norm, ReLU)."""
    if op == "conv":
        kernel = params["kernel"] if "kernel" in params else params["weight"]
        return Window(tuple(kernel.shape[-2:]), params["stride"], params["padding"], params["dilation"])
    if op == "pool":
        return Window(tuple(params["size"]), tuple(params["stride"]), tuple(params["padding"]))
    return None


def layer_window(layer: object) -> Window | str | None:
    """The Window of a network layer (engine.network.model: conv, maxpool, avgpool), "whole" for
    flatten and linear, None for element-wise layers (batch norm, ReLU)."""
    kind = getattr(layer, "kind", "")
    if kind in ("flatten", "linear"):
        return "whole"
    if kind == "conv":
        return Window(layer.kernel, layer.stride, layer.padding, layer.dilation)  # type: ignore[attr-defined]
    if kind in ("maxpool", "avgpool"):
        return Window(layer.kernel, layer.stride, layer.padding)  # type: ignore[attr-defined]
    return None
