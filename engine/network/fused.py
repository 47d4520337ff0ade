"""The fused block conv → batch norm → ReLU → max-pool, the lecture's building block, in one pass.

The layer-by-layer path (engine.network.layers) computes each layer on its
own: four full-resolution passes forward and four backward, each allocating
its result. Where a network has this block and the max-pool's windows tile the
convolution's output exactly (stride = size, no padding), the block computes
the same numbers — forward, running statistics, every gradient — with:

- **Pool-friendly row order.** The convolution's output rows are ordered
  (pool tap, n, y, x) instead of (n, y, x): im2col reads the input in that
  order, so the GEMM's result is P = ph·pw contiguous blocks, one per tap of
  the pooling window, and a 2×2 max-pool is three `np.maximum` over whole
  blocks; its backward is one masked pass per block (no argmax, no scatter).
- **Batch norm, ReLU after the pool.** With s = γ/σ the affine map s·(z − μ) + β
  is increasing where γ > 0, so max-pool, ReLU and the affine map commute; the
  channels with γ < 0 get their conv weights negated (then max of −z is what
  the layer-by-layer path's max picks). The affine map and the ReLU then run on
  a quarter of the values. Ties keep PyTorch's rule: the first maximal tap of
  the window (row-major) gets the gradient.
- **Statistics without a centred temporary**: z is centred on its batch mean
  (the max-pool commutes with a per-channel shift) and the variance is one
  einsum pass over it; pooled maps, the affine map and the gradient all work on
  the centred z, as the layer-by-layer path does on its centred copy, so
  float32 loses no digits where |mean| ≫ std. Where the im2col matrix has fewer
  columns than z (the first layer: 27 against 64) its columns are centred
  instead, and the GEMM gives the centred z directly; otherwise the mean is one
  sum over z and z is centred in place.
- **No bias before a training-mode batch norm**: the conv bias only shifts
  the batch mean, which the normalisation removes; the running mean is updated
  with it, exactly as PyTorch does. Its gradient is exactly 0 (PyTorch's is
  float rounding noise around 0).
- **The max-pool backward in cache-sized chunks**: dz = a·dy + k₂·z + k₀ is
  formed in place, window tap by tap, over chunks of rows small enough that the
  seven passes over a chunk run in a core's L2 cache.
- **The input gradient gathered** (layers.gather_input_gradient, stride 1): dz's
  rows go from pool order straight into a grid bordered by the kernel's reach;
  one GEMM gives every tap's share and one einsum sums what lands on each input
  position. Other strides scatter tap by tap (layers.scatter_input_gradient).
- **No allocation in the hot loop**: the im2col matrix, the padded input, the
  conv output, pooled maps and the input gradient live in a Workspace reused
  from step to step (training only: an eval-mode forward keeps nothing);
  GEMMs write with `np.matmul(..., out=)` and element-wise passes run in
  place. (What a training forward returns is therefore only valid until the
  next one: the Network uses the block only when it hands out no activations.)

Any other network, or this block with a pooling that does not tile, a zero γ
in training (its gradient would depend on which tied tap PyTorch picks) or a
single value per channel, runs layer by layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.network.layers import FEW_CHANNELS, dout_grid, gather_input_gradient, gathers, scatter_input_gradient
from engine.network.workspace import Workspace

if TYPE_CHECKING:
    from engine.network.model import Layer


def _column_sums(rows: np.ndarray) -> np.ndarray:
    """(M, C) -> (C,) sums, on this thread: a GEMV with ones would wake BLAS's threads, and on a
    busy machine one of them waiting for a core can cost the GEMV 30 times its 0.3 ms."""
    return np.einsum("ij->j", rows)


def _window_view(x_pad: np.ndarray, conv, pool: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """(N, Hp, Wp, C) -> view (ph, pw, N, H_pool, W_pool, kh, kw, C): the im2col matrix in pool order.

    Conv output (y, x) = (y_pool·ph + tap row, x_pool·pw + tap col) reads x_pad at
    (y·sh + i·dh, x·sw + j·dw) for kernel tap (i, j).
    """
    sn, sy, sx, sc = x_pad.strides
    (sh, sw), (dh, dw), (kh, kw) = conv.stride, conv.dilation, conv.kernel
    n, c = x_pad.shape[0], x_pad.shape[3]
    return as_strided(
        x_pad,
        (pool[0], pool[1], n, grid[0], grid[1], kh, kw, c),
        (sy * sh, sx * sw, sn, sy * sh * pool[0], sx * sw * pool[1], sy * dh, sx * dw, sc),
        writeable=False,
    )


def _plane_view(planes: np.ndarray, conv, pool: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """(C, N, Hp, Wp) -> view (C, kh, kw, ph, pw, N, H_pool, W_pool): im2col rows (one per weight) in pool order."""
    sc, sn, sy, sx = planes.strides
    (sh, sw), (dh, dw), (kh, kw) = conv.stride, conv.dilation, conv.kernel
    c, n = planes.shape[:2]
    return as_strided(
        planes,
        (c, kh, kw, pool[0], pool[1], n, grid[0], grid[1]),
        (sc, sy * dh, sx * dw, sy * sh, sx * sw, sn, sy * sh * pool[0], sx * sw * pool[1]),
        writeable=False,
    )


class ConvBlock:
    """conv → batchnorm → relu → maxpool, computed as one; `first` is the conv's index in the network."""

    def __init__(self, first: int, conv: Layer, bn: Layer, pool: Layer) -> None:
        self.first, self.conv, self.bn, self.pool = first, conv, bn, pool
        self.indices = range(first, first + 4)
        self.workspace = Workspace()

    @staticmethod
    def matches(layers: list[Layer], i: int) -> bool:
        """Whether layers[i:i + 4] are conv, 2-d batch norm, ReLU and a max-pool whose windows tile the conv output."""
        if i + 4 > len(layers):
            return False
        conv, bn, relu, pool = layers[i : i + 4]
        if (conv.kind, bn.kind, relu.kind, pool.kind) != ("conv", "batchnorm", "relu", "maxpool"):
            return False
        return (
            pool.stride == pool.kernel
            and pool.padding == (0, 0)
            and conv.out_hw == (pool.out_hw[0] * pool.kernel[0], pool.out_hw[1] * pool.kernel[1])
        )

    # ----- forward ----------------------------------------------------------------------------

    def forward(self, state: dict[str, np.ndarray], x: np.ndarray, training: bool) -> tuple[np.ndarray, Any] | None:
        """x (N, H, W, C) -> (pooled output (N, H_pool, W_pool, O), cache), or None to run layer by layer."""
        conv, bn, pool = self.conv, self.bn, self.pool
        gamma, beta = state[bn.key("weight")], state[bn.key("bias")]
        n = x.shape[0]
        rows = n * conv.out_hw[0] * conv.out_hw[1]
        if training and (rows < 2 or not np.all(gamma)):
            return None
        dtype = x.dtype
        weight = state[conv.key("weight")]
        bias = state[conv.key("bias")] if conv.has_bias else None
        o = conv.out_channels
        sign = np.where(gamma < 0, dtype.type(-1), dtype.type(1))
        signed = weight * sign[:, None, None, None]  # (O, C, kh, kw)
        # eval mode keeps no workspace: evaluation batches are often larger, and nothing is reused
        ws = self.workspace if training else Workspace()
        cols, few = self._im2col(x, ws)
        weights = signed.reshape(o, -1).T if few else signed.transpose(2, 3, 1, 0).reshape(-1, o)  # (K, O)
        # in training z is centred on its batch mean: through the im2col matrix when it has fewer
        # columns than z (the first layer: 27 against 64), else in place after the GEMM
        centre_cols = training and len(weights) < o
        if centre_cols:
            column_means = self._centre_columns(cols, few)
        z = ws.get("z", (rows, o), dtype)  # sign·(conv output without bias), rows in pool order
        np.matmul(cols.T if few else cols, weights, out=z)
        eps = dtype.type(bn.options["eps"])
        if training:
            if centre_cols:
                mean, var = column_means @ weights, np.einsum("ij,ij->j", z, z) / rows
            else:
                mean, var = self._centre(z)
            inv_std = 1 / np.sqrt(var + eps)
            momentum = bn.options["momentum"]
            true_mean = sign * mean if bias is None else sign * mean + bias
            running_mean, running_var = state[bn.key("running_mean")], state[bn.key("running_var")]
            running_mean *= 1 - momentum
            running_mean += momentum * true_mean
            running_var *= 1 - momentum
            running_var += momentum * var * (rows / max(rows - 1, 1))
            scale = np.abs(gamma) * inv_std
            shift = beta
        else:
            running_mean, running_var = state[bn.key("running_mean")], state[bn.key("running_var")]
            inv_std = 1 / np.sqrt(running_var + eps)
            signed_scale = gamma * inv_std
            scale = np.abs(signed_scale)
            shift = beta - signed_scale * running_mean
            if bias is not None:
                shift = shift + signed_scale * bias
        taps = pool.kernel[0] * pool.kernel[1]
        blocks = z.reshape(taps, rows // taps, o)
        pooled = ws.get("pooled", blocks.shape[1:], dtype)
        if taps == 1:
            np.copyto(pooled, blocks[0])
        else:
            np.maximum(blocks[0], blocks[1], out=pooled)
            for t in range(2, taps):
                np.maximum(pooled, blocks[t], out=pooled)
        out = ws.get("out", pooled.shape, dtype)
        np.multiply(pooled, scale, out=out)
        out += shift
        np.maximum(out, 0, out=out)
        cache = (cols, few, centre_cols, signed, sign, z, pooled, out, inv_std, x.shape) if training else None
        return out.reshape(n, *pool.out_hw, o), cache

    def _im2col(self, x: np.ndarray, ws: Workspace) -> tuple[np.ndarray, bool]:
        """x (N, H, W, C) -> the im2col matrix in pool order and whether it is row-per-weight:
        (C·kh·kw, M) for few channels, else (M, kh·kw·C); M = N·H_out·W_out."""
        conv, pool = self.conv, self.pool
        n, h, w, c = x.shape
        (ph, pw), (kh, kw) = conv.padding, conv.kernel
        rows = n * conv.out_hw[0] * conv.out_hw[1]
        if c <= FEW_CHANNELS:
            planes = ws.get("planes", (c, n, h + 2 * ph, w + 2 * pw), x.dtype, fill=0)
            planes[:, :, ph : ph + h, pw : pw + w] = x.transpose(3, 0, 1, 2)
            cols = ws.get("cols", (c * kh * kw, rows), x.dtype)
            cols.reshape(c, kh, kw, *pool.kernel, n, *pool.out_hw)[...] = _plane_view(
                planes, conv, pool.kernel, pool.out_hw
            )
            return cols, True
        x_pad = ws.get("x_pad", (n, h + 2 * ph, w + 2 * pw, c), x.dtype, fill=0)
        x_pad[:, ph : ph + h, pw : pw + w] = x
        cols = ws.get("cols", (rows, kh * kw * c), x.dtype)
        cols.reshape(*pool.kernel, n, *pool.out_hw, kh, kw, c)[...] = _window_view(
            x_pad, conv, pool.kernel, pool.out_hw
        )
        return cols, False

    @staticmethod
    def _centre_columns(cols: np.ndarray, few: bool) -> np.ndarray:
        """Centre each im2col column (one per weight: a row of the (K, M) matrix when few) on its mean
        over the M positions, in place; -> the K means.

        Then cols·W is z − μ directly, μ = means·W, and the weight gradient cols·dz is unchanged:
        Σ over positions of dz is 0 after a training-mode batch norm.
        """
        means = np.einsum("ij->i", cols) if few else _column_sums(cols)
        means /= cols.shape[1] if few else cols.shape[0]
        cols -= means[:, None] if few else means
        return means

    @staticmethod
    def _centre(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre z (M, O) on its batch mean in place; -> the mean and the biased variance (O,).

        As layers.batchnorm_forward computes them (the mean, then Σ(z − μ)² by
        einsum), but without a centred temporary: the pooling and everything
        after it only need z up to a per-channel shift, and the max commutes
        with it. (Σz² − M·μ² needs no pass of its own, but loses float32
        digits to cancellation wherever |μ| ≫ σ; see docs/NETWORK.md.)
        """
        rows = z.shape[0]
        mean = _column_sums(z) / rows
        z -= mean
        return mean, np.einsum("ij,ij->j", z, z) / rows

    # ----- backward ---------------------------------------------------------------------------

    def backward(
        self, state: dict[str, np.ndarray], dout: np.ndarray, cache: tuple, need_dx: bool
    ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """dout (N, H_pool, W_pool, O) -> (dx (N, H, W, C) or None, gradients of conv and batch norm)."""
        cols, few, centred_cols, signed, sign, z, pooled, out, inv_std, x_shape = cache
        conv, bn, ws = self.conv, self.bn, self.workspace
        dtype = z.dtype
        rows, o = z.shape
        gamma = state[bn.key("weight")]
        # through the ReLU: the gradient of the pooled affine map a·pooled + c
        grad = ws.get("grad", out.shape, dtype)
        relu = ws.get("relu", out.shape, np.bool_)
        np.greater(out, 0, out=relu)
        np.multiply(dout, relu.reshape(dout.shape), out=grad.reshape(dout.shape))
        dbeta = _column_sums(grad)
        dgamma_signed = np.einsum("ij,ij->j", grad, pooled) * inv_std  # pooled is centred
        scale = np.abs(gamma) * inv_std
        # batch norm backward on the centred z: dz = a·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + k2·z + k0
        k2 = -scale * inv_std * dgamma_signed / rows
        k0 = -scale * dbeta / rows
        grad *= scale
        # k0 adds k0 ⊗ (column sums of cols) to dW, nothing when the columns were centred: without
        # an input gradient to compute, it is left out of dz (one pass over z fewer)
        self._max_pool_backward(z, pooled, grad, k2, None if centred_cols and not need_dx else k0)
        dz = z  # now the gradient of sign·(conv output)
        grads: dict[str, np.ndarray] = {}
        if few:
            dweight = (cols @ dz).T.reshape(signed.shape)  # this orientation: 1.4 ms, not 1.9
        else:
            dweight = (cols.T @ dz).reshape(conv.kernel[0], conv.kernel[1], -1, o).transpose(3, 2, 0, 1)
        grads[conv.key("weight")] = np.ascontiguousarray(dweight * sign[:, None, None, None])
        if conv.has_bias:
            # Σ dz = a·Σdy + k2·Σ(z − μ) + M·k0 = a·Σdy + 0 − a·Σdy: a bias right before a
            # training-mode batch norm has a gradient of exactly 0 (PyTorch's is float rounding noise)
            grads[conv.key("bias")] = np.zeros(o, dtype)
        grads[bn.key("weight")] = dgamma_signed * sign
        grads[bn.key("bias")] = dbeta
        if not need_dx:
            return None, grads
        return self._input_gradient(dz, signed, x_shape), grads

    #: values per chunk of the max-pool backward: the chunk's four taps, pooled maps, gradient and
    #: masks stay in a core's L2 cache through the seven passes made over them
    CHUNK = 65536

    def _max_pool_backward(
        self, z: np.ndarray, pooled: np.ndarray, grad: np.ndarray, k2: np.ndarray, k0: np.ndarray | None
    ) -> None:
        """z (taps·P, O) in pool order, pooled and grad (P, O) -> dz = k2·z + k0 (k0 None: 0) in place, plus
        grad at each window's first maximal tap (row-major: PyTorch's rule for ties); chunk by chunk of rows."""
        taps = self.pool.kernel[0] * self.pool.kernel[1]
        size, o = grad.shape
        step = max(1, self.CHUNK // o)
        ws = self.workspace
        winner = ws.get("winner", (min(step, size), o), np.bool_)
        seen = ws.get("seen", winner.shape, np.bool_)
        masked = ws.get("masked", winner.shape, grad.dtype)
        blocks = z.reshape(taps, size, o)
        for start in range(0, size, step):
            rows = slice(start, start + step)
            top, gradient = pooled[rows], grad[rows]
            count = len(top)
            won, done, share = winner[:count], seen[:count], masked[:count]
            for t in range(taps):
                block = blocks[t, rows]
                np.equal(block, top, out=won)
                if t > 0:
                    np.greater(won, done, out=won)  # a winner not already seen
                if t == 0:
                    np.copyto(done, won)
                elif t < taps - 1:
                    done |= won
                block *= k2
                if k0 is not None:
                    block += k0
                np.multiply(won, gradient, out=share)  # (np.add with where= is many times slower)
                block += share

    def _input_gradient(self, dz: np.ndarray, signed: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
        """dz (M, O) in pool order -> dx (N, H, W, C): dz's rows are put in (n, y, x) order once, straight
        into the zero-bordered grid that layers.gather_input_gradient reads (or, where the input gradient
        is scattered, into plain rows)."""
        conv, pool, ws = self.conv, self.pool, self.workspace
        n, o = x_shape[0], dz.shape[1]
        (py, px), (gy, gx) = pool.kernel, pool.out_hw
        in_pool_order = dz.reshape(py, px, n, gy, gx, o).transpose(2, 3, 0, 4, 1, 5)  # (n, gy, py, gx, px, o)
        if gathers(conv.out_hw, conv.kernel, conv.stride, conv.padding, conv.dilation):
            grid, interior = dout_grid((n, *conv.out_hw, o), conv.kernel, conv.padding, conv.dilation, dz.dtype, ws)
            sn, sy, sx, so = interior.strides
            as_strided(interior, in_pool_order.shape, (sn, py * sy, sy, px * sx, sx, so))[...] = in_pool_order
            return gather_input_gradient(grid, signed, conv.dilation, ws)
        plain = ws.get("dz_plain", in_pool_order.shape, dz.dtype)
        plain[...] = in_pool_order
        rows = plain.reshape(-1, o)
        return scatter_input_gradient(rows, signed, x_shape, conv.out_hw, conv.stride, conv.padding, conv.dilation, ws)


def plan(layers: list[Layer]) -> list[ConvBlock]:
    """The fusable blocks of a network, in order (none overlap)."""
    blocks, i = [], 0
    while i < len(layers):
        if ConvBlock.matches(layers, i):
            blocks.append(ConvBlock(i, layers[i], layers[i + 1], layers[i + 3]))
            i += 4
        else:
            i += 1
    return blocks
