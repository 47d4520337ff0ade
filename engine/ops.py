"""The vectorised operations on NCHW arrays, with torch.nn.functional semantics.

These are thin NCHW wrappers over engine.network.layers, the code the network
trains with: the step-by-step trace is checked against the very functions that
compute the batch path, so there is one vectorised truth, not two. Each
wrapper checks its parameters with engine.rules and engine.shapes (the same
rules as a sample file and a network layer), moves the channels last, calls the
layer's forward and moves them back. They keep the dtype they are given:
float64 on the teaching path, float32 on the batch path.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine import rules
from engine.errors import CnnError
from engine.network import layers
from engine.shapes import output_hw, pair, window_span

IntOrPair = int | tuple[int, int]


def _nchw(x: np.ndarray, name: str = "input") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise CnnError(f"{name} must have 4 dimensions (N, C, H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _nhwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1)


def _back_to_nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def windows(
    x: np.ndarray,
    kernel: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    pad_value: float = 0.0,
    what: str = "kernel",
) -> np.ndarray:
    """Every window of x as a read-only view (for looking at windows; no operation computes with it).

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
    span = (window_span(k[0], d[0]), window_span(k[1], d[1]))
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
    """Cross-correlation as in torch.nn.functional.conv2d (zero padding, groups=1), by
    engine.network.layers.conv_forward.

    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, H_out, W_out).
    """
    x = _nchw(x)
    weight = _nchw(weight, "kernel").astype(x.dtype, copy=False)
    rules.kernel_channels(weight.shape[1], x.shape[1])
    s, p, d = pair(stride, "stride"), pair(padding, "padding", 0), pair(dilation, "dilation")
    out_hw = output_hw(x.shape[2:], weight.shape[2:], s, p, d)
    if bias is not None:
        bias = rules.per_channel(bias, weight.shape[0], "bias", unit="filter").astype(x.dtype)
    out, _ = layers.conv_forward(_nhwc(x), weight, bias, s, p, d, out_hw)
    return _back_to_nchw(out)


def _pool_geometry(x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair):
    k = pair(kernel_size, "pool size")
    s, p = rules.pool_stride(stride, k), pair(padding, "padding", 0)
    rules.pool_padding(k, p)
    return k, s, p, output_hw(x.shape[2:], k, s, p, (1, 1), "pool size")


def max_pool2d(
    x: np.ndarray, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> np.ndarray:
    """torch.nn.functional.max_pool2d: padding counts as −∞. (N, C, H, W) -> (N, C, H_out, W_out)."""
    x = _nchw(x)
    out, _ = layers.maxpool_forward(_nhwc(x), *_pool_geometry(x, kernel_size, stride, padding))
    return _back_to_nchw(out)


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """torch.nn.functional.avg_pool2d (zero padding). (N, C, H, W) -> (N, C, H_out, W_out).

    Without count_include_pad each window's mean counts only its real cells: the
    layer's mean divided by the same layer's mean of a map of ones (the share of
    real cells in each window).
    """
    x = _nchw(x)
    geometry = _pool_geometry(x, kernel_size, stride, padding)
    out, _ = layers.avgpool_forward(_nhwc(x), *geometry)
    if not count_include_pad:
        ones = np.ones((1, *x.shape[2:], 1), dtype=out.dtype)
        out = out / layers.avgpool_forward(ones, *geometry)[0]
    return _back_to_nchw(out)


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
    """torch.nn.functional.batch_norm over (N, H, W) per channel, by engine.network.layers.batchnorm_forward.

    x (N, C, H, W); running_mean, running_var, weight (γ), bias (β) all (C,).
    Training normalises with the biased batch variance and updates the running
    statistics in place with the unbiased one; eval uses the running statistics.
    """
    x = _nchw(x)
    channels = x.shape[1]
    eps, momentum = rules.eps(eps), rules.momentum(momentum)
    gamma = rules.per_channel(weight, channels, "weight (γ)", 1.0).astype(x.dtype)
    beta = rules.per_channel(bias, channels, "bias (β)", 0.0).astype(x.dtype)
    if training:
        rules.batch_statistics(x.shape[0] * x.shape[2] * x.shape[3])
        # the layer updates the caller's running statistics in place, as PyTorch does
        statistics = running_mean, running_var
    else:
        statistics = tuple(np.asarray(s, dtype=x.dtype) for s in (running_mean, running_var))
    out, _ = layers.batchnorm_forward(_nhwc(x), gamma, beta, *statistics, training, momentum, eps)
    return _back_to_nchw(out)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x) element-wise, any shape, by engine.network.layers.relu_forward."""
    return layers.relu_forward(np.asarray(x))[0]
