"""The training loop as a generator of small metric records.

A caller (the CLI, or a UI worker thread) iterates train(...) and may stop at
any point by closing the generator or simply not asking for more: the
network keeps every step it has taken.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.errors import CnnError
from engine.limits import MAX_STEP_BYTES
from engine.network.data import Dataset
from engine.network.loss import cross_entropy
from engine.network.model import Network
from engine.network.optim import SGD, check_hyperparameters

#: Fewer steps than this rarely get the lecture's network past chance on the synthetic set.
FEW_STEPS = 150


class Diverged(CnnError):
    """The loss became inf or nan: raised at that step, before its backward pass and update
    (the weights may already hold inf or nan from the step before)."""


@dataclass(frozen=True)
class BatchDone:
    """One SGD step done: its loss and accuracy on that mini-batch."""

    epoch: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    images_per_second: float


@dataclass(frozen=True)
class EpochDone:
    """One pass over the training set done, with the test set's loss and accuracy (eval mode)."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float


def check_options(epochs: int, batch_size: int, lr: float, momentum: float, weight_decay: float, seed: int) -> None:
    """Refuse training options that cannot work, before any data is read or anything printed."""
    if epochs < 1 or batch_size < 2:
        raise CnnError(f"training needs epochs ≥ 1 and batch size ≥ 2, got {epochs} and {batch_size}")
    if seed < 0:
        raise CnnError(f"the seed must be a whole number ≥ 0, got {seed}")
    check_hyperparameters(lr, momentum, weight_decay)


def largest_batch(network: Network) -> int:
    """The most images one step may hold within MAX_STEP_BYTES (estimated from the network's shapes)."""
    return max(1, MAX_STEP_BYTES // max(1, network.bytes_per_image))


def check_batch_memory(network: Network, batch_size: int) -> None:
    """Refuse (CnnError) a batch whose training step would need more than MAX_STEP_BYTES."""
    if batch_size * network.bytes_per_image > MAX_STEP_BYTES:
        raise CnnError(
            f"a batch of {batch_size} images needs about {batch_size * network.bytes_per_image / 2**30:.1f} GiB "
            f"per step, over the limit of {MAX_STEP_BYTES / 2**30:.0f} GiB; use a batch size up to "
            f"{largest_batch(network)}"
        )


def verdict(accuracy: float, classes: int, steps: int) -> str:
    """A sentence when a run ended near chance accuracy (why, and what to try), else ''."""
    chance = 1 / classes
    if accuracy > 1.5 * chance:
        return ""
    if steps < FEW_STEPS:
        return (
            f"{accuracy:.1%} is chance level ({chance:.0%} for {classes} classes): {steps} steps are too few to "
            f"learn; train for more steps (more --epochs or a larger --train-size, e.g. --epochs 3 --train-size 5000)"
        )
    return (
        f"{accuracy:.1%} is chance level ({chance:.0%} for {classes} classes) after {steps} steps: the network "
        "did not learn; try a smaller --lr, or --momentum 0.9"
    )


def evaluate(network: Network, data: Dataset, batch_size: int = 256) -> tuple[float, float]:
    """(mean loss, accuracy) of the network in eval mode (running batch-norm statistics)."""
    total_loss = correct = 0.0
    batch_size = min(batch_size, largest_batch(network))
    for x, labels in data.batches(batch_size):
        logits = network.forward(x, training=False)
        loss, _ = cross_entropy(logits, labels)
        total_loss += loss * len(labels)
        correct += int(np.sum(logits.argmax(axis=1) == labels))
    return total_loss / len(data), correct / len(data)


def train(
    network: Network,
    train_set: Dataset,
    test_set: Dataset,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 0.01,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> Iterator[BatchDone | EpochDone]:
    """SGD on train_set for epochs passes, shuffled by seed; yields after every step and every epoch.

    The options are checked when train() is called, not at the first step. A batch size larger
    than the training set is cut to its size (callers say so: see `effective_batch`). The first step
    whose loss is inf or nan raises Diverged.
    """
    check_options(epochs, batch_size, lr, momentum, weight_decay, seed)
    batch_size = effective_batch(batch_size, len(train_set))
    check_batch_memory(network, batch_size)
    if train_set.images.shape[1:] != network.input_shape:
        raise CnnError(f"the data's images are {train_set.images.shape[1:]}, the network takes {network.input_shape}")
    classes = len(network.classes)
    if max(train_set.labels.max(), test_set.labels.max()) >= classes:
        raise CnnError(
            f"the data has labels up to {max(train_set.labels.max(), test_set.labels.max())}, "
            f"but the network gives only {classes} logits"
        )
    optimiser = SGD(network.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    return _steps(network, train_set, test_set, optimiser, epochs, batch_size, seed)


def effective_batch(batch_size: int, images: int) -> int:
    """The batch size used on a training set of `images` images: at most their number."""
    return min(batch_size, images)


def batches_per_epoch(images: int, batch_size: int) -> int:
    """Steps in an epoch over `images` images at batch_size (cut to effective_batch): a last, smaller
    batch counts when it holds at least 2 images (batch norm needs 2), else it is left out."""
    batch_size = effective_batch(batch_size, images)
    return images // batch_size + (images % batch_size > 1)


def _steps(
    network: Network, train_set: Dataset, test_set: Dataset, optimiser: SGD, epochs: int, batch_size: int, seed: int
) -> Iterator[BatchDone | EpochDone]:
    rng = np.random.default_rng(seed)
    batches = batches_per_epoch(len(train_set), batch_size)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        seen = total_loss = correct = 0
        for batch, (x, labels) in enumerate(train_set.batches(batch_size, rng), 1):
            step_started = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging loss is reported below, in words
                logits = network.forward(x, training=True)
                loss, dlogits = cross_entropy(logits, labels)
            if not math.isfinite(loss):
                raise Diverged(
                    f"training diverged at epoch {epoch}, step {batch}: the loss became {loss}; "
                    f"lower the learning rate (now {optimiser.lr:g}) or the momentum"
                )
            network.backward(dlogits)
            optimiser.step(network.grads)
            hits = int(np.sum(logits.argmax(axis=1) == labels))
            seen += len(labels)
            total_loss += loss * len(labels)
            correct += hits
            yield BatchDone(
                epoch, batch, batches, loss, hits / len(labels), len(labels) / (time.perf_counter() - step_started)
            )
        test_loss, test_accuracy = evaluate(network, test_set)
        yield EpochDone(
            epoch, epochs, total_loss / seen, correct / seen, test_loss, test_accuracy, time.perf_counter() - started
        )
