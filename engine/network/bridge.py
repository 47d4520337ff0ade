"""The bridge from the batch path to the teaching path.

Given one output cell of a network layer on a batch (what the batch path
computed in float32), build an `engine.samples.Sample` whose trace computes
exactly that number step by step in float64:

- conv: the cell's input window across all input channels, cropped from the
  real layer input, with the layer's padding reproduced where the window
  leaves the image; the cell's filter and bias;
- max/avg pool: the cell's window on its channel, padding reproduced;
- batch norm: the cell's channel over the whole batch (its batch mean and
  variance), with the layer's γ, β, ε, momentum and running statistics.

Each Bridge names the global step of the trace that computes the cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import CnnError
from engine.network.inspect import look
from engine.network.loss import cross_entropy
from engine.network.model import BatchNorm, Conv, Layer, Network, Pool
from engine.samples import Sample, Stage, validate
from engine.shapes import MAX_STEPS, output_size, output_size_formula, window_span
from engine.trace import batchnorm_steps


@dataclass(frozen=True)
class Bridge:
    """A teaching-path sample for one batch-path cell."""

    sample: Sample
    step: int
    """Global index of the trace step that computes the cell."""
    batch_value: float
    """What the batch path produced at the cell (float32)."""
    where: str
    """e.g. 'conv2 · image 3 · map 17 · cell (5, 9)'."""
    note: str = ""
    """What was left out or changed to make the computation steppable, if anything."""
    cell: tuple[int, int, int, int] | None = None
    """(n, c, i, j) of the cell in the layer's output (None for a weight's gradient, which is no cell)."""
    formulas: tuple[str, ...] = ()
    """The layer's own output-size formulas (height, width) on its real input (conv and pool)."""


def _formulas(layer: Conv | Pool, layer_input: np.ndarray) -> tuple[str, ...]:
    dilation = getattr(layer, "dilation", (1, 1))
    return tuple(
        output_size_formula(n, k, s, p, d)
        for n, k, s, p, d in zip(layer_input.shape[2:], layer.kernel_size, layer.stride, layer.padding, dilation)
    )


def _window_crop(size: int, index: int, kernel: int, stride: int, padding: int, dilation: int):
    """One axis of a window: (first, last+1) real input rows, the sample's padding, stride and the
    output index at which the sample's window lands exactly on the cell's window."""
    span = window_span(kernel, dilation)
    start = index * stride - padding
    low, high = max(start, 0), min(start + span, size)
    before, after = low - start, start + span - high
    pad = max(before, after)
    offset = pad - before  # where our window starts, counted from the sample's first window
    if offset % stride == 0:
        return low, high, pad, stride, offset // stride
    return low, high, pad, 1, offset  # only at a far edge with stride > 1: step 1 keeps the window exact


def _windowed(layer: Conv | Pool, image: np.ndarray, i: int, j: int):
    """image (C, H, W) -> the cropped input (C, h, w), padding, stride, and the output cell (a, b)."""
    dilation = getattr(layer, "dilation", (1, 1))
    rows = _window_crop(image.shape[1], i, layer.kernel_size[0], layer.stride[0], layer.padding[0], dilation[0])
    cols = _window_crop(image.shape[2], j, layer.kernel_size[1], layer.stride[1], layer.padding[1], dilation[1])
    crop = image[:, rows[0] : rows[1], cols[0] : cols[1]]
    return crop, (rows[2], cols[2]), (rows[3], cols[3]), (rows[4], cols[4])


def conv_cell(
    layer: Conv,
    layer_input: np.ndarray,
    state: dict[str, np.ndarray],
    output: np.ndarray,
    n: int,
    o: int,
    i: int,
    j: int,
) -> Bridge:
    """Output cell (n, o, i, j) of a conv layer. layer_input (N, C, H, W), output (N, O, H', W')."""
    crop, padding, stride, (a, b) = _windowed(layer, np.asarray(layer_input[n], np.float64), i, j)
    weight = np.asarray(state[layer.key("weight")][o : o + 1], np.float64)
    bias = np.asarray(state[layer.key("bias")][o : o + 1], np.float64) if layer.has_bias else None
    params = {"kernel": weight, "bias": bias, "stride": stride, "padding": padding, "dilation": layer.dilation}
    where = f"{layer.name} · image {n} · map {o} · cell ({i}, {j})"
    sample = Sample(
        title=f"{where}: filter {o} on the real window",
        input=crop[None],
        stages=[Stage("conv", layer.name, params)],
        description=f"One output cell of {layer.name} from the batch path, step by step.",
    )
    validate(sample, "")
    w_out = output_size(crop.shape[2], layer.kernel_size[1], stride[1], padding[1], layer.dilation[1])
    note = "" if stride == layer.stride else "stride 1 here so the window at the image's edge stays exact"
    formulas = _formulas(layer, layer_input)
    return Bridge(sample, a * w_out + b, float(output[n, o, i, j]), where, note, (n, o, i, j), formulas)


def pool_cell(layer: Pool, layer_input: np.ndarray, output: np.ndarray, n: int, c: int, i: int, j: int) -> Bridge:
    """Output cell (n, c, i, j) of a max- or average-pooling layer."""
    crop, padding, stride, (a, b) = _windowed(layer, np.asarray(layer_input[n, c : c + 1], np.float64), i, j)
    mode = "max" if layer.op == "maxpool" else "avg"
    params = {"mode": mode, "size": layer.kernel_size, "stride": stride, "padding": padding}
    where = f"{layer.name} · image {n} · channel {c} · cell ({i}, {j})"
    sample = Sample(
        title=f"{where}: {mode} of the real window", input=crop[None], stages=[Stage("pool", layer.name, params)]
    )
    validate(sample, "")
    w_out = output_size(crop.shape[2], layer.kernel_size[1], stride[1], padding[1])
    formulas = _formulas(layer, layer_input)
    return Bridge(sample, a * w_out + b, float(output[n, c, i, j]), where, "", (n, c, i, j), formulas)


def batchnorm_channel(
    layer: BatchNorm,
    layer_input: np.ndarray,
    state: dict[str, np.ndarray],
    output: np.ndarray,
    n: int,
    c: int,
    i: int,
    j: int,
) -> Bridge:
    """Channel c of a batch-norm layer in training mode over the batch; the step is cell (n, c, i, j).

    state holds the running statistics from before this batch. A trace is limited to
    MAX_STEPS steps (3 per element and channel): a larger batch is cut to its first images,
    which the note says (its μ and σ² then differ from the whole batch's).
    """
    if np.ndim(layer_input) != 4:
        raise CnnError(f"{layer.name}: only batch norm over feature maps can be stepped through")
    batch, _, height, width = layer_input.shape
    images = batch
    while images > 2 and batchnorm_steps(1, images * height * width) > MAX_STEPS:
        images -= 1
    note = ""
    if images < batch:
        note = (
            f"the first {images} of {batch} images: a trace holds at most {MAX_STEPS:,} steps, "
            "so μ and σ² are those of these images"
        )
        n = min(n, images - 1)
    x = np.asarray(layer_input[:images, c : c + 1], np.float64)

    def one(key: str) -> np.ndarray:
        return np.asarray(state[layer.key(key)][c : c + 1], np.float64)

    params = {
        "gamma": one("weight"),
        "beta": one("bias"),
        "running_mean": one("running_mean"),
        "running_var": one("running_var"),
        "eps": float(layer.options["eps"]),
        "momentum": float(layer.options["momentum"]),
        "training": True,
    }
    where = f"{layer.name} · channel {c} · image {n} · cell ({i}, {j})"
    sample = Sample(
        title=f"{where}: the channel over the batch of {images}",
        input=x,
        stages=[Stage("batchnorm", layer.name, params)],
    )
    validate(sample, "")
    count = images * height * width
    step = 2 * count + (n * height + i) * width + j
    return Bridge(sample, step, float(output[n, c, i, j]), where, note, (n, c, i, j))


def bridge(
    layer: Layer,
    layer_input: np.ndarray,
    state: dict[str, np.ndarray],
    output: np.ndarray,
    n: int,
    c: int,
    i: int,
    j: int,
) -> Bridge:
    """The bridge for cell (n, c, i, j) of any layer that has one; CnnError for the others."""
    if isinstance(layer, Conv):
        return conv_cell(layer, layer_input, state, output, n, c, i, j)
    if isinstance(layer, Pool):
        return pool_cell(layer, layer_input, output, n, c, i, j)
    if isinstance(layer, BatchNorm) and np.ndim(layer_input) == 4:
        return batchnorm_channel(layer, layer_input, state, output, n, c, i, j)
    raise CnnError(f"{layer.name} ({layer.op}) has no step-by-step view: choose a conv, pooling or batch-norm layer")


# ---------------------------------------------------------------- backward: a weight's gradient


def weight_gradient(
    network: Network, images: np.ndarray, labels: np.ndarray, layer: Conv, o: int, c: int, tap: tuple[int, int] = (0, 0)
) -> Bridge:
    """dW[o, c] of a conv layer after one training batch (cross-entropy on images (N, C, H, W), labels (N,)).

    The batch path runs the batch forward and backward (float32) down to the layer; the Sample holds
    the layer's input channel c over the whole batch, filter o's slice for that channel and, as
    grad_output, the dY the batch path found at filter o's map, so that its backward trace steps
    dW[o, c, a, b] for every tap in float64. Its step is the one for `tap`. The running statistics
    are restored afterwards: nothing about the network changes.
    """
    from engine.backward import BackwardSpec

    logits, acts = look(network, images)  # the running statistics stay as they were
    index = network.layers.index(layer)
    _, dout = cross_entropy(logits, np.asarray(labels))
    dout, grads = network.backward_to(dout, index)
    layer_input = images if index == 0 else acts[network.layers[index - 1].name]
    upstream = np.asarray(dout, np.float64).transpose(0, 3, 1, 2)[:, o : o + 1]  # NHWC -> (N, 1, H', W')
    weight = np.asarray(network.state[layer.key("weight")][o : o + 1, c : c + 1], np.float64)
    params = {"weight": weight, "bias": None, "stride": layer.stride, "padding": layer.padding}
    params["dilation"] = layer.dilation
    where = f"{layer.name} · dW[{o}, {c}] · batch of {len(images)}"
    sample = Sample(
        title=f"{where}: the gradient of filter {o}, input channel {c}, after one training batch",
        input=np.asarray(layer_input, np.float64)[:, c : c + 1],
        stages=[Stage("conv", layer.name, params)],
        description="loss.backward() of one cross-entropy batch, from the batch path's dY at this layer.",
        backward=BackwardSpec(grad_output=upstream, input_gradient=False),
    )
    validate(sample, "")
    n, _, h_out, w_out = upstream.shape
    kw = weight.shape[3]
    batch_value = float(grads[layer.key("weight")][o, c, tap[0], tap[1]])
    note = (
        f"the forward steps use input channel {c} only (the stepped dW needs no other); "
        "dY comes from the batch path's backward through the layers above"
    )
    return Bridge(sample, n * h_out * w_out + tap[0] * kw + tap[1], batch_value, where, note)
