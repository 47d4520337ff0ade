"""The training loop: what it yields, that it learns, and that stopping keeps what was trained."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET

from engine.errors import CnnError
from engine.network import Network
from engine.network.data import Dataset
from engine.network.train import BatchDone, Diverged, EpochDone, batches_per_epoch, evaluate, train, verdict


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


def test_options_are_checked_when_train_is_called_not_at_the_first_step():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    data = tiny_set(16, 0)
    for options, message in (
        ({"epochs": 0}, "epochs ≥ 1"),
        ({"lr": float("inf")}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"weight_decay": float("nan")}, "weight decay"),
        ({"seed": -1}, "seed must be"),
    ):
        with pytest.raises(CnnError, match=message):
            train(network, data, data, **options)  # no next(): the call itself refuses


def test_a_batch_larger_than_the_data_is_cut_to_its_size():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    records = list(train(network, tiny_set(12, 0), tiny_set(4, 1), batch_size=10_000_000))
    steps = [r for r in records if isinstance(r, BatchDone)]
    assert len(steps) == 1 and steps[0].batches == 1


def test_a_diverging_run_stops_at_the_first_non_finite_loss():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=0)
    seen = []
    with pytest.raises(Diverged, match="training diverged at epoch 1, step .*lower the learning rate"):
        for record in train(network, tiny_set(64, 0), tiny_set(8, 1), epochs=50, batch_size=8, lr=1000, momentum=0.9):
            seen.append(record.loss if isinstance(record, BatchDone) else record.train_loss)
    assert all(np.isfinite(loss) for loss in seen)


def test_a_run_at_chance_says_why():
    assert "too few to learn" in verdict(0.105, 10, 31)
    assert "did not learn" in verdict(0.10, 10, 2000)
    assert verdict(0.6, 10, 31) == ""


@pytest.mark.parametrize("images,batch_size", [(5000, 32), (33, 32), (34, 32), (20, 32), (64, 16), (3, 2)])
def test_batches_per_epoch_counts_the_steps_an_epoch_runs(images, batch_size):
    """The one count the progress bars use: what train() really yields per epoch (a last batch
    of 1 is left out, a batch larger than the data is cut to it)."""
    rng = np.random.default_rng(0)
    data = Dataset(rng.standard_normal((images, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, images), [])
    network = Network([3, 8, 8], SMALL_CONVNET)
    steps = list(train(network, data, data, epochs=1, batch_size=batch_size))
    done = [r for r in steps if isinstance(r, BatchDone)]
    assert len(done) == batches_per_epoch(images, batch_size) == done[-1].batches
