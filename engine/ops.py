"""Vectorised operations on NCHW arrays, with torch.nn.functional semantics.

These are the truth the step-by-step trace is checked against. They keep the
dtype they are given: float64 on the teaching path, float32 on the batch path.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.errors import CnnError
from engine.shapes import output_hw, pair

IntOrPair = int | tuple[int, int]


def _nchw(x: np.ndarray, name: str = "input") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise CnnError(f"{name} must have 4 dimensions (N, C, H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def windows(
    x: np.ndarray,
    kernel: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    pad_value: float = 0.0,
    what: str = "kernel",
) -> np.ndarray:
    """Every window of x as a read-only view.

    x (N, C, H, W) -> (N, C, H_out, W_out, kh, kw); padding cells hold pad_value.
    """
    x = _nchw(x)
    k, s, p, d = (
        pair(kernel, "kernel size"),
        pair(stride, "stride"),
        pair(padding, "padding", 0),
        pair(dilation, "dilation"),
    )
    h_out, w_out = output_hw(x.shape[2:], k, s, p, d, what)
    if p != (0, 0):
        x = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=pad_value)
    span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    view = sliding_window_view(x, span, axis=(2, 3))
    view = view[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]
    return view[:, :, :h_out, :w_out]


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """Cross-correlation as in torch.nn.functional.conv2d (zero padding, groups=1).

    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, H_out, W_out).
    """
    x = _nchw(x)
    weight = _nchw(weight, "kernel").astype(x.dtype, copy=False)
    if weight.shape[1] != x.shape[1]:
        raise CnnError(
            f"kernel has {weight.shape[1]} channel(s) but the input has {x.shape[1]}; "
            "a kernel needs one slice per input channel"
        )
    win = windows(x, weight.shape[2:], stride, padding, dilation)
    out = np.tensordot(win, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, O)
    if bias is not None:
        out += np.asarray(bias, dtype=x.dtype)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _check_pool_padding(kernel: IntOrPair, padding: IntOrPair) -> None:
    k, p = pair(kernel, "pool size"), pair(padding, "padding", 0)
    for dim, kk, pp in zip(("height", "width"), k, p):
        if 2 * pp > kk:
            raise CnnError(f"pool padding {pp} must be at most half the pool size {kk} ({dim})")


def max_pool2d(
    x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> np.ndarray:
    """torch.nn.functional.max_pool2d: padding counts as −∞. (N, C, H, W) -> (N, C, H_out, W_out)."""
    _check_pool_padding(kernel_size, padding)
    win = windows(
        x, kernel_size, kernel_size if stride is None else stride, padding, pad_value=-np.inf, what="pool size"
    )
    return win.max(axis=(4, 5))


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """torch.nn.functional.avg_pool2d (zero padding). (N, C, H, W) -> (N, C, H_out, W_out)."""
    _check_pool_padding(kernel_size, padding)
    stride = kernel_size if stride is None else stride
    win = windows(x, kernel_size, stride, padding, what="pool size")
    total = win.sum(axis=(4, 5))
    if count_include_pad:
        kh, kw = pair(kernel_size, "pool size")
        return total / total.dtype.type(kh * kw)
    ones = np.ones((1, 1) + np.asarray(x).shape[2:], dtype=total.dtype)
    count = windows(ones, kernel_size, stride, padding, what="pool size").sum(axis=(4, 5))
    return total / count


def batch_norm(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> np.ndarray:
    """torch.nn.functional.batch_norm over (N, H, W) per channel.

    x (N, C, H, W); running_mean, running_var, weight (γ), bias (β) all (C,).
    Training normalises with the biased batch variance and updates the running
    statistics in place with the unbiased one; eval uses the running statistics.
    """
    x = _nchw(x)
    if training:
        count = x.shape[0] * x.shape[2] * x.shape[3]
        if count < 2:
            raise CnnError("batch norm in training needs more than 1 value per channel (N·H·W ≥ 2)")
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (count / (count - 1))
    else:
        mean = np.asarray(running_mean, dtype=x.dtype)
        var = np.asarray(running_var, dtype=x.dtype)
    scale = 1 / np.sqrt(var + x.dtype.type(eps))
    if weight is not None:
        scale = scale * np.asarray(weight, dtype=x.dtype)
    shift = -mean * scale
    if bias is not None:
        shift = shift + np.asarray(bias, dtype=x.dtype)
    return x * scale.astype(x.dtype)[:, None, None] + shift.astype(x.dtype)[:, None, None]


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x) element-wise, any shape."""
    return np.maximum(x, 0)
