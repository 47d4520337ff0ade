"""The batch path's layers as plain forward/backward functions (cs231n style).

Feature maps are kept channels-last, (N, H, W, C), inside the network: a
convolution then becomes one GEMM of the im2col matrix (N·H_out·W_out, kh·kw·C)
with the kernel matrix (kh·kw·C, O) whose result is already the next layer's
NHWC input, and batch norm reduces over the rows of an (N·H·W, C) matrix.
Weights keep PyTorch's layouts so state_dicts move between the two unchanged.

Every forward returns (out, cache); every backward takes (dout, cache) and
returns the gradient of its input first, then those of its parameters. The
functions keep the dtype they are given (float32 for training, float64 for the
numerical gradient checks).

The GEMMs run on every core through numpy's BLAS. (Splitting the memory-bound
element-wise passes between threads as well was measured, and gained nothing
while BLAS's own threads wait spinning for the next GEMM.)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.network.workspace import Workspace
from engine.shapes import Pair


def _padded(x: np.ndarray, padding: Pair, fill: float = 0.0) -> np.ndarray:
    """(N, H, W, C) -> contiguous (N, H + 2·ph, W + 2·pw, C) with the border set to fill."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return np.ascontiguousarray(x)
    n, h, w, c = x.shape
    out = np.empty((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
    out[:, :ph] = fill
    out[:, ph + h :] = fill
    out[:, ph : ph + h, :pw] = fill
    out[:, ph : ph + h, pw + w :] = fill
    out[:, ph : ph + h, pw : pw + w] = x
    return out


def tap_view(x_pad: np.ndarray, i: int, j: int, out_hw: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """The (N, H_out, W_out, C) view of x_pad that kernel tap (i, j) reads at every output position."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    top, left = i * dh, j * dw
    return x_pad[:, top : top + sh * (ho - 1) + 1 : sh, left : left + sw * (wo - 1) + 1 : sw]


def _im2col(x_pad: np.ndarray, kernel: Pair, out_hw: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """(N, Hp, Wp, C) -> (N·H_out·W_out, kh·kw·C): one row per output position, one column per weight."""
    n, _, _, c = x_pad.shape
    sn, sh, sw, sc = x_pad.strides
    view = as_strided(
        x_pad,
        (n, out_hw[0], out_hw[1], kernel[0], kernel[1], c),
        (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc),
        writeable=False,
    )
    return np.ascontiguousarray(view).reshape(n * out_hw[0] * out_hw[1], -1)


#: Up to this many input channels, im2col copies whole channel planes tap by tap.
FEW_CHANNELS = 4


def _im2col_planes(
    x: np.ndarray, kernel: Pair, out_hw: Pair, stride: Pair, padding: Pair, dilation: Pair, ones_row: bool
) -> np.ndarray:
    """(N, H, W, C) with few channels -> (C·kh·kw [+ 1], N·H_out·W_out), one row per weight.

    With C = 3 a row-per-position im2col would copy runs of 3 numbers; here
    each of the kh·kw copies moves whole (C, N, H_out, W_out) planes instead.
    ones_row appends a row of ones, so that the GEMM adds the bias (and the
    weight-gradient GEMM yields the bias gradient) without a pass of its own.
    """
    n, h, w, c = x.shape
    (ph, pw), (kh, kw) = padding, kernel
    planes = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    planes[:, :, ph : ph + h, pw : pw + w] = x.transpose(3, 0, 1, 2)
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    rows = np.empty((c * kh * kw + ones_row, n * ho * wo), dtype=x.dtype)
    cols = rows[: c * kh * kw].reshape(c, kh, kw, n, ho, wo)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = planes[
                :, :, i * dh : i * dh + sh * (ho - 1) + 1 : sh, j * dw : j * dw + sw * (wo - 1) + 1 : sw
            ]
    if ones_row:
        rows[-1] = 1
    return rows


def conv_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    out_hw: Pair,
) -> tuple[np.ndarray, tuple]:
    """Convolution by im2col and one GEMM.

    x (N, H, W, C), weight (O, C, kh, kw) as in PyTorch, bias (O,) or None
    -> out (N, H_out, W_out, O).
    """
    n, h, w, c = x.shape
    o, _, kh, kw = weight.shape
    pad_shape = (n, h + 2 * padding[0], w + 2 * padding[1], c)
    if c <= FEW_CHANNELS:
        cols = _im2col_planes(x, (kh, kw), out_hw, stride, padding, dilation, bias is not None)  # (C·kh·kw [+1], M)
        kernel_matrix = weight.reshape(o, -1) if bias is None else np.hstack([weight.reshape(o, -1), bias[:, None]])
        out = cols.T @ kernel_matrix.T
    else:
        cols = _im2col(_padded(x, padding), (kh, kw), out_hw, stride, dilation)  # (M, kh·kw·C)
        out = cols @ weight.transpose(2, 3, 1, 0).reshape(-1, o)
        if bias is not None:
            out += bias
    cache = (cols, pad_shape, weight, bias is not None, stride, padding, dilation, out_hw)
    return out.reshape(n, out_hw[0], out_hw[1], o), cache


def conv_backward(
    dout: np.ndarray, cache: tuple, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """dout (N, H_out, W_out, O) -> dx (N, H, W, C) or None, dweight (O, C, kh, kw), dbias (O,) or None.

    The weight gradient is one GEMM; the input gradient is input_gradient's: never a loop over pixels.
    """
    cols, pad_shape, weight, has_bias, stride, padding, dilation, out_hw = cache
    o, c, kh, kw = weight.shape
    dout2 = dout.reshape(-1, o)
    if c <= FEW_CHANNELS:
        both = (cols @ dout2).T  # (O, C·kh·kw [+ 1]): the bias gradient is the ones row's column
        dweight = both[:, : c * kh * kw].reshape(o, c, kh, kw)
        dbias = both[:, -1].copy() if has_bias else None
    else:
        dweight = (dout2.T @ cols).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        dbias = np.ones(len(dout2), dout.dtype) @ dout2 if has_bias else None
    if not need_dx:
        return None, np.ascontiguousarray(dweight), dbias
    n, hp, wp, _ = pad_shape
    x_shape = (n, hp - 2 * padding[0], wp - 2 * padding[1], c)
    dx = input_gradient(dout, weight, x_shape, stride, padding, dilation, Workspace())
    return dx, np.ascontiguousarray(dweight), dbias


def gathers(out_hw: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> bool:
    """Whether a convolution's input gradient is gathered (gather_input_gradient) rather than scattered
    tap by tap: stride 1, padding at most the kernel's reach (kh−1)·dh, and dout_grid's grid at most
    twice dout's maps."""
    (ho, wo), (kh, kw), (ph, pw), (dh, dw) = out_hw, kernel, padding, dilation
    eh, ew = (kh - 1) * dh, (kw - 1) * dw
    grid = (ho - 2 * ph + 2 * eh) * (wo - 2 * pw + 2 * ew)
    return stride == (1, 1) and ph <= eh and pw <= ew and grid <= 2 * ho * wo


def dout_grid(shape: tuple[int, ...], kernel: Pair, padding: Pair, dilation: Pair, dtype, ws: Workspace):
    """dout (N, H_out, W_out, O) of a stride-1 convolution, placed in a zero grid (N, H + (kh−1)·dh,
    W + (kw−1)·dw, O) at row (kh−1)·dh − p_h, column (kw−1)·dw − p_w: grid position (y + (kh−1)·dh − i·dh,
    x + (kw−1)·dw − j·dw) holds what kernel tap (i, j) hands to input position (y, x), or 0.
    -> (the grid, its (N, H_out, W_out, O) view to write dout into)."""
    n, ho, wo, o = shape
    (ph, pw), eh, ew = padding, (kernel[0] - 1) * dilation[0], (kernel[1] - 1) * dilation[1]
    grid = ws.get("dout_grid", (n, ho - 2 * ph + 2 * eh, wo - 2 * pw + 2 * ew, o), dtype, fill=0)
    return grid, grid[:, eh - ph : eh - ph + ho, ew - pw : ew - pw + wo]


def gather_input_gradient(grid: np.ndarray, weight: np.ndarray, dilation: Pair, ws: Workspace) -> np.ndarray:
    """A stride-1 convolution's input gradient from dout_grid's grid (N, H + (kh−1)·dh, W + (kw−1)·dw, O)
    -> dx (N, H, W, C).

    One GEMM gives every kernel tap's share at every grid position, (N·G_h·G_w, kh·kw·C); one strided
    view holds, for each input position, the kh·kw shares that land on it, and one einsum sums them:
    no zero fill and no read-modify-write per tap, as scatter_input_gradient needs.
    """
    o, c, kh, kw = weight.shape
    n, gh, gw, _ = grid.shape
    (dh, dw), eh, ew = dilation, (kh - 1) * dilation[0], (kw - 1) * dilation[1]
    shares = ws.get("tap_shares", (n, gh, gw, kh * kw * c), grid.dtype)
    np.matmul(grid.reshape(-1, o), weight.transpose(0, 2, 3, 1).reshape(o, -1), out=shares.reshape(-1, kh * kw * c))
    sn, sy, sx, sc = shares.strides
    landing = as_strided(
        shares[:, eh:, ew:],
        (n, gh - eh, gw - ew, kh, kw, c),
        (sn, sy, sx, kw * c * sc - dh * sy, c * sc - dw * sx, sc),
        writeable=False,
    )
    return np.einsum("nyxijc->nyxc", landing, out=ws.get("dx", (n, gh - eh, gw - ew, c), grid.dtype))


def scatter_input_gradient(
    rows: np.ndarray,
    weight: np.ndarray,
    x_shape: tuple[int, ...],
    out_hw: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    ws: Workspace,
) -> np.ndarray:
    """A convolution's input gradient from dout's rows (N·H_out·W_out, O) in (n, y, x) order -> dx (N, H, W, C):
    one GEMM per kernel tap, (M, O) @ (O, C), added into the tap's strided view of the padded input."""
    n, h, w, c = x_shape
    ph, pw = padding
    tap_weights = weight.transpose(2, 3, 0, 1)  # (kh, kw, O, C)
    dx_pad = ws.get("dx_pad", (n, h + 2 * ph, w + 2 * pw, c), rows.dtype)
    dx_pad.fill(0)
    share = ws.get("share", (len(rows), c), rows.dtype)
    share_maps = share.reshape(n, *out_hw, c)
    for i in range(weight.shape[2]):
        for j in range(weight.shape[3]):
            np.matmul(rows, tap_weights[i, j], out=share)
            tap_view(dx_pad, i, j, out_hw, stride, dilation)[...] += share_maps
    return dx_pad[:, ph : ph + h, pw : pw + w]


def input_gradient(
    dout: np.ndarray,
    weight: np.ndarray,
    x_shape: tuple[int, ...],
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    ws: Workspace,
) -> np.ndarray:
    """dout (N, H_out, W_out, O), weight (O, C, kh, kw) -> dx (N, H, W, C): gathered where gathers() says so,
    else scattered tap by tap."""
    out_hw, kernel = dout.shape[1:3], weight.shape[2:]
    if gathers(out_hw, kernel, stride, padding, dilation):
        grid, interior = dout_grid(dout.shape, kernel, padding, dilation, dout.dtype, ws)
        interior[...] = dout
        return gather_input_gradient(grid, weight, dilation, ws)
    rows = dout.reshape(-1, dout.shape[3])
    return scatter_input_gradient(rows, weight, x_shape, out_hw, stride, padding, dilation, ws)


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[np.ndarray, tuple | None]:
    """BatchNorm2d over every axis but the channels, with PyTorch's running statistics.

    x (N, H, W, C) or (N, C); gamma, beta, running_mean, running_var (C,).
    Training uses the biased batch variance to normalise and updates the
    running statistics in place with the unbiased one: r ← (1 − momentum)·r + momentum·batch.
    """
    rows = x.reshape(-1, x.shape[-1])
    if not training:
        scale = gamma / np.sqrt(running_var + eps)
        return (rows * scale + (beta - running_mean * scale)).reshape(x.shape), None
    count = rows.shape[0]
    ones = np.ones(count, dtype=x.dtype)
    mean = ones @ rows / count  # a GEMV: faster than mean(axis=0) over rows
    centred = rows - mean
    var = np.einsum("ij,ij->j", centred, centred) / count
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    running_mean *= 1 - momentum
    running_mean += momentum * mean
    running_var *= 1 - momentum
    running_var += momentum * var * (count / max(count - 1, 1))
    out = centred * (gamma * inv_std)
    out += beta
    return out.reshape(x.shape), (centred, inv_std, gamma)


def batchnorm_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dout like x -> dx like x, dgamma (C,), dbeta (C,).

    With x̂ = (x − μ)/σ: dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
    """
    centred, inv_std, gamma = cache
    dy = dout.reshape(centred.shape)
    count = centred.shape[0]
    dbeta = np.ones(count, dtype=dy.dtype) @ dy
    dy_centred = np.einsum("ij,ij->j", dy, centred)
    dgamma = dy_centred * inv_std
    scale = gamma * inv_std
    shift = scale * dbeta / count
    slope = scale * inv_std * inv_std * dy_centred / count
    dx = dy * scale
    dx -= shift
    dx -= centred * slope
    return dx.reshape(dout.shape), dgamma, dbeta


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(0, x), any shape; the cache is the output."""
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient passes where the output was positive (0 at exactly 0, as in PyTorch)."""
    return np.multiply(dout, out > 0)  # np.where with a scalar is several times slower


def maxpool_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, out_hw: Pair) -> tuple[np.ndarray, tuple]:
    """MaxPool2d with padding as −∞. x (N, H, W, C) -> out (N, H_out, W_out, C): a running maximum over the taps."""
    x_pad = _padded(x, padding, -np.inf)
    out = tap_view(x_pad, 0, 0, out_hw, stride, (1, 1)).copy()
    for t in range(1, kernel[0] * kernel[1]):
        np.maximum(out, tap_view(x_pad, *divmod(t, kernel[1]), out_hw, stride, (1, 1)), out=out)
    return out, (x_pad, out, kernel, stride, padding, out_hw)


def _first_winners(winners: np.ndarray, taps: list[tuple[int, int]], at) -> None:
    """Keep, per window, only the first tap (row-major) marked in the boolean winners, in place;
    at(winners, i, j) is tap (i, j)'s view."""
    seen = at(winners, *taps[0]).copy()
    for i, j in taps[1:]:
        tap = at(winners, i, j)
        first = tap & ~seen
        seen |= tap
        tap[...] = first


def maxpool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dout (N, H_out, W_out, C) -> dx (N, H, W, C).

    Each output's gradient goes to the first tap (row-major in its window)
    that holds the maximum, as PyTorch does with ties (common after a ReLU:
    windows of zeros). When the windows tile the input exactly, the input is
    viewed as (N, H_out, kh, W_out, kw, C) and the whole of dx is one multiply.
    """
    x_pad, out, kernel, stride, padding, out_hw = cache
    (kh, kw), (ho, wo) = kernel, out_hw
    taps = [(i, j) for i in range(kh) for j in range(kw)]
    if stride == kernel and padding == (0, 0) and x_pad.shape[1:3] == (ho * kh, wo * kw):
        n, _, _, c = x_pad.shape
        winners = x_pad.reshape(n, ho, kh, wo, kw, c) == out[:, :, None, :, None]
        _first_winners(winners, taps, lambda a, i, j: a[:, :, i, :, j])
        return np.multiply(winners, dout[:, :, None, :, None]).reshape(x_pad.shape)
    dx_pad = np.zeros(x_pad.shape, dtype=dout.dtype)
    winners = np.stack([tap_view(x_pad, i, j, out_hw, stride, (1, 1)) == out for i, j in taps])
    _first_winners(winners, taps, lambda a, i, j: a[i * kw + j])
    for t, (i, j) in enumerate(taps):
        tap_view(dx_pad, i, j, out_hw, stride, (1, 1))[...] += np.multiply(dout, winners[t])
    ph, pw = padding
    return dx_pad[:, ph : x_pad.shape[1] - ph, pw : x_pad.shape[2] - pw]


def avgpool_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, out_hw: Pair) -> tuple[np.ndarray, tuple]:
    """AvgPool2d with zero padding counted in the mean (PyTorch's default). (N, H, W, C) -> (N, H_out, W_out, C)."""
    x_pad = _padded(x, padding)
    out = tap_view(x_pad, 0, 0, out_hw, stride, (1, 1)).copy()
    for t in range(1, kernel[0] * kernel[1]):
        out += tap_view(x_pad, *divmod(t, kernel[1]), out_hw, stride, (1, 1))
    out /= x.dtype.type(kernel[0] * kernel[1])
    return out, (x_pad.shape, kernel, stride, padding, out_hw)


def avgpool_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dout (N, H_out, W_out, C) -> dx (N, H, W, C): each output's gradient spread evenly over its window."""
    pad_shape, kernel, stride, padding, out_hw = cache
    share = dout / dout.dtype.type(kernel[0] * kernel[1])
    dx_pad = np.zeros(pad_shape, dtype=dout.dtype)
    for t in range(kernel[0] * kernel[1]):
        tap_view(dx_pad, *divmod(t, kernel[1]), out_hw, stride, (1, 1))[...] += share
    ph, pw = padding
    return dx_pad[:, ph : pad_shape[1] - ph, pw : pad_shape[2] - pw]


def flatten_forward(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(N, H, W, C) -> (N, C·H·W) in PyTorch's (C, H, W) order, so Linear weights match torch.flatten."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1), x.shape


def flatten_backward(dout: np.ndarray, shape: tuple) -> np.ndarray:
    """(N, C·H·W) -> (N, H, W, C)."""
    n, h, w, c = shape
    return dout.reshape(n, c, h, w).transpose(0, 2, 3, 1)


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> tuple[np.ndarray, tuple]:
    """x (N, F_in), weight (F_out, F_in), bias (F_out,) -> (N, F_out)."""
    out = (weight @ x.T).T  # for a small batch this orientation is the faster GEMM
    if bias is not None:
        out += bias
    return out, (x, weight, bias is not None)


def linear_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """dout (N, F_out) -> dx (N, F_in), dweight (F_out, F_in), dbias (F_out,) or None."""
    x, weight, has_bias = cache
    return dout @ weight, dout.T @ x, np.ones(len(dout), dout.dtype) @ dout if has_bias else None
