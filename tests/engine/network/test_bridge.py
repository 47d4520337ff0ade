"""The bridge: a batch-path cell rebuilt as a teaching-path sample computes the same number."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import samples
from engine.errors import CnnError
from engine.network import Network, load
from engine.network.bridge import bridge, weight_gradient
from engine.network.inspect import view_batch


def small_network() -> Network:
    layers = [
        {"type": "conv", "name": "conv1", "out_channels": 3, "kernel": 3, "stride": 2, "padding": 1},
        {"type": "batchnorm", "name": "bn1"},
        {"type": "relu"},
        {"type": "avgpool", "size": 3, "stride": 2, "padding": 1},
        {"type": "conv", "name": "conv2", "out_channels": 2, "kernel": [2, 3], "dilation": 2, "padding": 2},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 4},
    ]
    return Network((2, 7, 8), layers, seed=3)


@pytest.mark.parametrize("layer_index", [0, 1, 3, 4, 5])
def test_every_cell_of_every_steppable_layer_matches_the_batch_path(layer_index):
    network = small_network()
    x = np.random.default_rng(1).standard_normal((3, 2, 7, 8)).astype(np.float32)
    before = network.state_dict()
    _, acts = network.forward(x, training=True, activations=True)
    layer = network.layers[layer_index]
    layer_input = x if layer_index == 0 else acts[network.layers[layer_index - 1].name]
    output = acts[layer.name]
    n_batch, channels, height, width = output.shape
    for n, c, i, j in itertools.product(range(n_batch), range(channels), range(height), range(width)):
        link = bridge(layer, layer_input, before, output, n, c, i, j)
        step = link.sample.trace()[link.step]
        assert step.value == pytest.approx(float(output[n, c, i, j]), rel=1e-5, abs=1e-6), (n, c, i, j)
        assert link.batch_value == float(output[n, c, i, j])


def test_layers_without_a_stepper_are_refused_with_a_reason():
    network = small_network()
    x = np.zeros((2, 2, 7, 8), np.float32)
    _, acts = network.forward(x, training=True, activations=True)
    with pytest.raises(CnnError, match="no step-by-step view"):
        bridge(network.layers[2], acts["conv1"], network.state, acts["relu1"], 0, 0, 0, 0)


def test_a_batch_too_large_for_one_trace_is_cut_to_the_most_images_that_fit():
    from engine.shapes import MAX_STEPS
    from engine.trace import batchnorm_steps

    network = Network((1, 32, 32), [{"type": "batchnorm", "name": "bn1"}, {"type": "flatten"}])
    x = np.random.default_rng(2).standard_normal((40, 1, 32, 32)).astype(np.float32)
    before = network.state_dict()
    _, acts = network.forward(x, training=True, activations=True)
    link = bridge(network.layers[0], x, before, acts["bn1"], 39, 0, 31, 31)
    images = link.sample.input.shape[0]
    assert batchnorm_steps(1, images * 32 * 32) <= MAX_STEPS < batchnorm_steps(1, (images + 1) * 32 * 32)
    assert images == 16 and link.note.startswith("the first 16 of 40 images")
    trace = link.sample.trace()
    assert len(trace) == batchnorm_steps(1, images * 32 * 32)
    assert trace[link.step].out_index == (images - 1, 0, 31, 31)  # the last image kept, its last cell


@pytest.mark.parametrize("name", ["conv1", "conv2"])
def test_the_weight_gradient_bridge_fits_the_limits_for_the_view_batch(name):
    """The network view's d on either conv layer of the lecture's network: the view's 8 images, the
    backward stages counted in the step limit (conv1: 8,192 forward steps and 9 for dW)."""
    network = load("seed_convnet")
    x, labels = view_batch(network)
    layer = next(layer for layer in network.layers if layer.name == name)
    before = {key: value.copy() for key, value in network.state.items()}
    bridge = weight_gradient(network, x, labels, layer, 0, 0)
    assert samples.work(bridge.sample)[0] == sum(len(stage.steps) for stage in bridge.sample.trace().stages)
    for key, value in before.items():  # nothing about the network changes, its running statistics included
        np.testing.assert_array_equal(network.state[key], value, err_msg=key)
