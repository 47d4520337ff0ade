"""Network samples: loading, shape inference and its explanations, summary, activations, weights files."""

from __future__ import annotations

import os

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET

from engine.errors import CnnError
from engine.network import Network, load
from engine.network.model import LayerError, from_sample

SAMPLE = {"op": "network", "input_shape": [3, 8, 8], "layer": SMALL_CONVNET}


def test_lecture_sample_has_the_lectures_names_shapes_and_sizes():
    network = load("seed_convnet")
    rows = {row.name: row for row in network.summary()}
    assert [k for k in network.parameter_keys()] == [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "conv2.weight",
        "conv2.bias",
        "bn2.weight",
        "bn2.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert rows["conv1"].output_shape == (64, 32, 32) and rows["maxpool2"].output_shape == (128, 8, 8)
    assert rows["fc1"].parameters == 8192 * 256 + 256
    assert rows["conv2"].macs == 16 * 16 * 128 * 64 * 9
    assert sum(r.parameters for r in network.summary()) == 2_176_010
    assert len(network.classes) == 10 and "bn1.running_var" in network.state_dict()


def test_as_printed_sample_explains_the_pooling_arithmetic():
    with pytest.raises(CnnError) as error:
        load("seed_convnet_as_printed")
    message = str(error.value)
    assert "two 2x2 poolings leave 128×8×8 = 8192 features, not 32768" in message
    assert "fc1" in message and "seed_convnet_as_printed.toml" in message and "\n" not in message


def test_a_layer_error_names_the_failing_layer_and_the_rows_before_it():
    with pytest.raises(LayerError) as error:
        load("seed_convnet_as_printed")
    assert error.value.layer == 9 and error.value.spec[9]["name"] == "fc1"
    assert [row.name for row in error.value.rows][:2] == ["conv1", "bn1"] and len(error.value.rows) == 9
    assert error.value.rows[-1].output_shape == (8192,) and error.value.input_shape == (3, 32, 32)


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"op": "conv"}, "is a single-operation sample"),
        ({"op": "convolution"}, 'op must be "network"'),
        ({"input_shap": [3, 8, 8]}, 'did you mean "input_shape"'),
        ({"input_shape": [3, 8]}, "input_shape must be [C, H, W]"),
        ({"layer": [{"type": "maxpooling", "size": 2}]}, 'did you mean "maxpool"'),
        ({"layer": [{"type": "conv", "out_channels": 2, "kernal": 3}]}, 'did you mean "kernel"'),
        ({"layer": [{"type": "conv", "out_channels": 2}]}, "needs 'kernel'"),
        ({"layer": [{"type": "conv", "out_channels": 2, "kernel": 9}]}, "larger than the padded input"),
        ({"layer": [{"type": "conv", "out_channels": 2, "kernel": 3, "in_channels": 1}]}, "have 3 channels"),
        ({"layer": [{"type": "conv", "out_channels": 2.5, "kernel": 3}]}, "whole number"),
        ({"layer": [{"type": "linear", "out_features": 3}]}, 'add a [[layer]] type = "flatten"'),
        ({"layer": [{"type": "flatten"}, {"type": "maxpool", "size": 2}]}, "move it before the flatten"),
        ({"layer": [{"type": "relu"}]}, "must end in logits"),
        ({"layer": [{"type": "relu", "name": "a"}, {"type": "relu", "name": "a"}]}, "already used"),
        ({"layer": [{"type": "flatten", "name": "fc.1"}]}, "name must be letters"),
        ({"classes": ["a", "b"]}, "names 2 classes, but the last layer gives 5 logits"),
    ],
)
def test_bad_samples_are_one_line_errors_naming_what_is_valid(change, expected):
    with pytest.raises(CnnError) as error:
        from_sample(SAMPLE | change, "bad.toml")
    assert expected in str(error.value) and str(error.value).startswith("bad.toml")


def test_unreadable_files_are_cnn_errors(tmp_path):
    (tmp_path / "broken.toml").write_text("op = [", encoding="utf-8")
    with pytest.raises(CnnError, match="not valid TOML"):
        load(tmp_path / "broken.toml")
    with pytest.raises(CnnError, match='did you mean "seed_convnet"'):
        load("seed_convnt")


def test_forward_gives_every_layers_activation_by_name_in_nchw():
    network = from_sample(SAMPLE)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    logits, activations = network.forward(x, activations=True)
    assert list(activations) == [layer.name for layer in network.layers]
    assert activations["conv1"].shape == (2, 4, 8, 8) and activations["flatten1"].shape == (2, 24)
    np.testing.assert_array_equal(activations["fc2"], logits)
    assert logits.dtype == np.float32 and logits.shape == (2, 5)
    with pytest.raises(CnnError, match=r"input must have shape \(N, 3, 8, 8\)"):
        network.forward(x[:, :2])


def test_batch_norm_refuses_to_train_on_one_value_per_channel():
    network = Network(
        [3, 2, 2],
        [
            {"type": "conv", "out_channels": 2, "kernel": 2},
            {"type": "batchnorm"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 2},
        ],
    )
    with pytest.raises(CnnError, match="more than 1 value per channel"):
        network.forward(np.zeros((1, 3, 2, 2), np.float32))
    assert network.forward(np.zeros((1, 3, 2, 2), np.float32), training=False).shape == (1, 2)


def test_without_batchnorm_keeps_everything_else():
    network = from_sample(SAMPLE)
    plain = network.without_batchnorm()
    assert [layer.kind for layer in plain.layers].count("batchnorm") == 0
    np.testing.assert_array_equal(plain.state["conv1.weight"], network.state["conv1.weight"])


def test_weights_npz_round_trip_is_atomic(tmp_path, monkeypatch):
    network = from_sample(SAMPLE, seed=1)
    path = tmp_path / "weights.npz"
    network.save(path)
    other = from_sample(SAMPLE, seed=2)
    other.load_weights(path)
    for key, value in network.state.items():
        np.testing.assert_array_equal(other.state[key], value)
    assert os.listdir(tmp_path) == ["weights.npz"]

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(CnnError, match="disk full"):
        other.save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["weights.npz"]  # no temp file left, the old file intact
    from_sample(SAMPLE).load_weights(path)


def test_bad_weights_files_are_cnn_errors(tmp_path):
    network = from_sample(SAMPLE)
    with pytest.raises(CnnError, match="no such weights file"):
        network.load_weights(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CnnError, match="not a readable .npz"):
        network.load_weights(tmp_path / "junk.npz")
    good = network.state_dict()
    np.savez(tmp_path / "pickled.npz", **(good | {"fc2.bias": np.array([object()], dtype=object)}))
    with pytest.raises(CnnError, match="not a readable"):
        network.load_weights(tmp_path / "pickled.npz")
    np.savez(tmp_path / "shape.npz", **(good | {"fc2.bias": np.zeros(3, np.float32)}))
    with pytest.raises(CnnError, match=r"fc2.bias has shape \(3,\)"):
        network.load_weights(tmp_path / "shape.npz")
    np.savez(tmp_path / "key.npz", **(good | {"fc3.bias": np.zeros(5, np.float32)}))
    with pytest.raises(CnnError, match="unknown key 'fc3.bias'"):
        network.load_weights(tmp_path / "key.npz")
    del good["bn1.running_var"]
    with pytest.raises(CnnError, match="missing bn1.running_var"):
        network.load_state_dict(good)


def test_running_relu_after_max_pool_changes_no_number():
    """Without activations the network runs ReLU after the max-pool it precedes; with them, as written."""
    x = np.random.default_rng(3).standard_normal((3, 3, 8, 8)).astype(np.float32)
    x[0, :, :4, :4] = -1  # whole windows of ReLU zeros: ties
    results = []
    for activations in (False, True):
        network = from_sample(SAMPLE, seed=4)
        network.fuse = False  # the fused block's own agreement is tested in test_fused.py
        out = network.forward(x, activations=activations)
        logits = out[0] if activations else out
        grads = network.backward(np.ones_like(logits))
        results.append((logits, grads, network.state["bn2.running_var"]))
    (logits, grads, running), (logits2, grads2, running2) = results
    np.testing.assert_array_equal(logits, logits2)
    np.testing.assert_array_equal(running, running2)
    for key in grads:
        np.testing.assert_array_equal(grads[key], grads2[key], err_msg=key)


def test_backward_to_stops_at_a_layer_with_its_upstream_gradient_and_its_own_gradients():
    from engine.network.loss import cross_entropy

    network = Network([3, 8, 8], SMALL_CONVNET, seed=4)
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((4, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, 4)
    logits, _ = network.forward(x, training=True, activations=True)
    _, dlogits = cross_entropy(logits, labels)
    conv2 = next(i for i, layer in enumerate(network.layers) if layer.name == "conv2")
    upstream, grads = network.backward_to(dlogits, conv2)
    assert upstream.shape == (4, 4, 4, 6)  # dY at conv2's output, channels-last
    whole = network.backward(dlogits)
    assert set(grads) == {"conv2.weight", "conv2.bias"}
    for key, value in grads.items():
        np.testing.assert_allclose(value, whole[key], rtol=1e-6, atol=1e-7)
    network.forward(x, training=True)  # fused: no layer-by-layer record to stop in
    with pytest.raises(RuntimeError, match="layer-by-layer"):
        network.backward_to(dlogits, conv2)
