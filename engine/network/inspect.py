"""Looking at a network without changing it: what the network view and the training screen show.

The screens draw; the numbers they draw come from here. A look at a batch runs
the training-mode forward (batch statistics, as during training) and leaves
the running statistics as they were, so looking changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.network.data import synthetic
from engine.network.model import BatchNorm, Network

#: Images in the batch the network view shows. Small enough that one batch-norm channel of the
#: first layer (8·32·32 elements, 3 steps each) can be stepped through whole (engine.shapes.MAX_STEPS).
VIEW_BATCH = 8


@dataclass(frozen=True)
class ChannelStats:
    """One batch-norm channel on a batch (training mode)."""

    batch_mean: float
    batch_var: float
    out_mean: float
    out_std: float
    running_mean: float
    running_var: float
    gamma: float
    beta: float


def batchnorm_stats(
    network: Network, layer: BatchNorm, layer_input: np.ndarray, output: np.ndarray
) -> list[ChannelStats]:
    """Per channel: the batch's μ and σ² (biased, what normalises), the output's mean and std,
    the running statistics and γ, β. layer_input and output (N, C, H, W) or (N, F)."""
    axes = (0, 2, 3) if layer_input.ndim == 4 else (0,)
    x, y = layer_input.astype(np.float64), output.astype(np.float64)
    columns = (
        x.mean(axes),
        x.var(axes),
        y.mean(axes),
        y.std(axes),
        *(network.state[layer.key(k)] for k in ("running_mean", "running_var", "weight", "bias")),
    )
    return [ChannelStats(*map(float, values)) for values in zip(*columns)]


def view_batch(network: Network, count: int = VIEW_BATCH, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, C, H, W) float32, labels (N,) int64): the synthetic set when the network takes
    3×H×H images, else seeded standard-normal noise (labels 0)."""
    c, h, w = network.input_shape
    if c == 3 and h == w:
        data = synthetic(count, seed, size=h)
        return data.images.astype(np.float32), data.labels
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, c, h, w)).astype(np.float32), np.zeros(count, np.int64)


def look(network: Network, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """x (N, C, H, W) -> (logits (N, classes), {layer name: activation (N, C, H, W) or (N, F)}),
    forwarded in training mode (batch statistics) with the running statistics left unchanged."""
    kept = {key: value.copy() for key, value in network.state.items() if ".running_" in key}
    try:
        logits, activations = network.forward(x, training=True, activations=True)
    finally:
        for key, value in kept.items():
            network.state[key][...] = value
    return logits, activations


def fresh_copy(network: Network) -> Network:
    """The same network freshly initialised from its seed (its current weights are not copied)."""
    return Network(
        network.input_shape,
        network.spec,
        title=network.title,
        description=network.description,
        classes=network.classes,
        seed=network.seed,
        dtype=network.dtype,
        source=network.source,
    )


def smoothed(values: list[float] | np.ndarray, window: int) -> np.ndarray:
    """(T,) values -> (T,) running mean over the last `window` values (fewer at the start)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return array
    sums = np.cumsum(np.insert(array, 0, 0.0))
    counts = np.minimum(np.arange(1, array.size + 1), window)
    return (sums[1:] - sums[np.arange(1, array.size + 1) - counts]) / counts


def seconds_left(done: int, total: int, seconds: float) -> float | None:
    """Estimated seconds to finish `total` steps after `done` took `seconds` of running time
    (None before the first step: nothing to estimate from)."""
    if done <= 0 or total <= 0:
        return None
    return max(total - done, 0) * seconds / done
