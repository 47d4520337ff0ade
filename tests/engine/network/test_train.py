"""The training loop: what it yields, that it learns, and that stopping keeps what was trained."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET

from engine.errors import CnnError
from engine.network import Network
from engine.network.data import Dataset
from engine.network.train import BatchDone, EpochDone, evaluate, train


def tiny_set(count: int, seed: int) -> Dataset:
    """Five classes told apart by which colour channel is bright."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 5
    images = rng.normal(0, 0.3, (count, 3, 8, 8)).astype(np.float32)
    images[labels < 3, labels[labels < 3]] += 1.5
    images[labels == 4] -= 1.0
    return Dataset(images, labels.astype(np.int64), tuple("abcde"))


def test_training_yields_steps_and_epochs_and_learns():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    train_set, test_set = tiny_set(120, 0), tiny_set(40, 1)
    before = evaluate(network, test_set)[1]
    records = list(train(network, train_set, test_set, epochs=3, batch_size=16, lr=0.05, momentum=0.9))
    steps = [r for r in records if isinstance(r, BatchDone)]
    epochs = [r for r in records if isinstance(r, EpochDone)]
    assert len(steps) == 3 * 8 and steps[-1].batches == 8 and [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].test_accuracy > max(0.6, before) and epochs[-1].train_loss < epochs[0].train_loss


def test_closing_the_generator_keeps_the_steps_taken():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    start = network.state_dict()
    steps = train(network, tiny_set(64, 0), tiny_set(10, 1), epochs=5, batch_size=8)
    for record in steps:
        if record.batch == 2:
            break
    steps.close()
    assert not np.array_equal(network.state["fc2.weight"], start["fc2.weight"])


def test_training_refuses_data_that_does_not_fit():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    with pytest.raises(CnnError, match="the network takes"):
        next(train(network, Dataset(np.zeros((4, 3, 9, 9), np.float32), np.zeros(4, np.int64), ("a",)), tiny_set(4, 0)))
    labels = np.full(8, 7)
    with pytest.raises(CnnError, match="only 5 logits"):
        next(train(network, Dataset(np.zeros((8, 3, 8, 8), np.float32), labels, ("a",)), tiny_set(4, 0)))
