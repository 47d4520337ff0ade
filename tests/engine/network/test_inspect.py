"""engine.network.inspect: the numbers the network view and the training screen show."""

from __future__ import annotations

import numpy as np
import pytest

from engine.network import load
from engine.network.inspect import (
    VIEW_BATCH,
    batchnorm_stats,
    fresh_copy,
    look,
    seconds_left,
    smoothed,
    view_batch,
)
from engine.network.loss import softmax
from engine.network.model import LayerError, Network
from tests.engine.network.network_helpers import SMALL_CONVNET


def small(seed: int = 0) -> Network:
    return Network((3, 8, 8), SMALL_CONVNET, seed=seed)


def test_look_forwards_in_training_mode_and_leaves_the_running_statistics_alone():
    network = small()
    network.state["bn1.running_mean"][...] = 0.25
    before = network.state_dict()
    x, _ = view_batch(network, 6)
    logits, activations = look(network, x)
    assert logits.shape == (6, 5) and activations["conv1"].shape == (6, 4, 8, 8)
    for key, value in before.items():
        assert np.array_equal(network.state[key], value), key
    # batch statistics, not the running ones: every bn1 channel comes out with mean 0 over the batch
    assert np.allclose(activations["bn1"].mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_batchnorm_stats_are_the_batch_moments_and_the_layers_parameters():
    network = small()
    network.state["bn1.weight"][...] = 2.0
    network.state["bn1.running_var"][...] = 3.0
    x, _ = view_batch(network, 6)
    _, activations = look(network, x)
    layer = network.layers[1]
    stats = batchnorm_stats(network, layer, activations["conv1"], activations["bn1"])
    conv1 = activations["conv1"].astype(np.float64)
    assert len(stats) == 4
    assert stats[2].batch_mean == pytest.approx(conv1[:, 2].mean())
    assert stats[2].batch_var == pytest.approx(conv1[:, 2].var())  # biased: what normalises
    assert stats[2].out_mean == pytest.approx(0, abs=1e-5) and stats[2].out_std == pytest.approx(2, rel=1e-3)
    assert (stats[2].gamma, stats[2].beta, stats[2].running_mean, stats[2].running_var) == (2, 0, 0, 3)


def test_view_batch_is_the_seeded_synthetic_set_or_noise():
    images, labels = view_batch(small())
    assert images.shape == (VIEW_BATCH, 3, 8, 8) and images.dtype == np.float32
    again, _ = view_batch(small())
    assert np.array_equal(images, again) and labels.dtype == np.int64
    grey = Network((1, 6, 6), [{"type": "flatten"}, {"type": "linear", "out_features": 2}])
    noise, zeros = view_batch(grey, 3)
    assert noise.shape == (3, 1, 6, 6) and not zeros.any()


def test_softmax_is_stable_and_sums_to_one():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]], np.float32))
    assert p.dtype == np.float64
    assert np.allclose(p.sum(axis=1), 1)
    assert p[0].tolist() == pytest.approx([0.5, 0.5, 0])
    assert p[1].tolist() == pytest.approx([0.2, 0.6, 0.2])


def test_fresh_copy_starts_again_from_the_seed():
    network = small(seed=7)
    initial = network.state_dict()
    network.state["conv1.weight"][...] = 0
    copy = fresh_copy(network)
    assert copy is not network and copy.seed == 7 and copy.spec == network.spec
    for key, value in initial.items():
        assert np.array_equal(copy.state[key], value), key


def test_smoothed_is_a_running_mean():
    assert smoothed([1.0, 3.0, 5.0], window=2).tolist() == [1.0, 2.0, 4.0]
    assert smoothed([], window=3).size == 0


def test_seconds_left_counts_running_time_only():
    assert seconds_left(0, 10, 5.0) is None
    assert seconds_left(2, 10, 4.0) == 16.0
    assert seconds_left(10, 10, 7.0) == 0


def test_layer_error_names_the_failing_layer_and_its_reason():
    with pytest.raises(LayerError) as caught:
        load("seed_convnet_as_printed")
    error = caught.value
    assert (error.layer, error.name, error.kind) == (9, "fc1", "linear")
    assert error.reason.startswith("in_features = 32768, but from the 3×32×32 input two 2x2 poolings")
    assert str(error).endswith(error.reason) and "[[layer]]" not in error.reason
    assert error.names[:3] == ["conv1", "bn1", "relu1"]


def test_layer_error_names_an_unnamed_layer_as_the_network_does():
    spec = [{"type": "conv", "out_channels": 2, "kernel": 3}, {"type": "conv", "out_channels": 2, "kernel": 9}]
    with pytest.raises(LayerError) as caught:
        Network((1, 5, 5), spec)
    assert caught.value.name == "conv2" and caught.value.kind == "conv"
    assert "[[layer]]" not in caught.value.reason and "conv2" not in caught.value.reason
