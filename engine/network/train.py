"""The training loop as a generator of small metric records.

A caller (the CLI, or a UI worker thread) iterates train(...) and may stop at
any point by closing the generator or simply not asking for more: the
network keeps every step it has taken.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.errors import CnnError
from engine.network.data import Dataset
from engine.network.loss import cross_entropy
from engine.network.model import Network
from engine.network.optim import SGD


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


def evaluate(network: Network, data: Dataset, batch_size: int = 256) -> tuple[float, float]:
    """(mean loss, accuracy) of the network in eval mode (running batch-norm statistics)."""
    total_loss = correct = 0.0
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
    """SGD on train_set for epochs passes, shuffled by seed; yields after every step and every epoch."""
    if epochs < 1 or batch_size < 2:
        raise CnnError(f"training needs epochs ≥ 1 and batch size ≥ 2, got {epochs} and {batch_size}")
    if train_set.images.shape[1:] != network.input_shape:
        raise CnnError(f"the data's images are {train_set.images.shape[1:]}, the network takes {network.input_shape}")
    classes = len(network.classes)
    if max(train_set.labels.max(), test_set.labels.max()) >= classes:
        raise CnnError(
            f"the data has labels up to {max(train_set.labels.max(), test_set.labels.max())}, "
            f"but the network gives only {classes} logits"
        )
    optimiser = SGD(network.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    batches = len(train_set) // batch_size + (len(train_set) % batch_size > 1)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        seen = total_loss = correct = 0
        for batch, (x, labels) in enumerate(train_set.batches(batch_size, rng), 1):
            step_started = time.perf_counter()
            logits = network.forward(x, training=True)
            loss, dlogits = cross_entropy(logits, labels)
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
