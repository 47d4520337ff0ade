"""One truth: engine.ops is the NCHW face of the batch path's NHWC layers (what the teaching trace is
checked against is what the network trains with), the trace agrees with both, and bench's
step-by-step forward, which runs the teaching path, agrees with the batch forward."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from network_helpers import SMALL_CONVNET

from engine import ops, trace
from engine.network import Network
from engine.network import layers as F
from engine.network.bench import step_flops, stepwise_forward
from engine.shapes import output_hw


def nhwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1)


def nchw(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 3, 1, 2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    h=st.integers(4, 9),
    w=st.integers(4, 9),
    o=st.integers(1, 4),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 99),
)
def test_conv_matches_ops(n, c, h, w, o, k, stride, padding, dilation, seed):
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, k, k)), rng.standard_normal(o)
    assume(dilation * (k - 1) + 1 <= min(h, w) + 2 * padding)
    out_hw = output_hw((h, w), (k, k), (stride,) * 2, (padding,) * 2, (dilation,) * 2)
    out, _ = F.conv_forward(nhwc(x), weight, bias, (stride,) * 2, (padding,) * 2, (dilation,) * 2, out_hw)
    np.testing.assert_allclose(nchw(out), ops.conv2d(x, weight, bias, stride, padding, dilation), atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    seed=st.integers(0, 99),
)
def test_pools_match_ops(h, w, k, stride, padding, seed):
    assume(2 * padding <= k)
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    out_hw = output_hw((h, w), (k, k), (stride,) * 2, (padding,) * 2, (1, 1))
    got_max, _ = F.maxpool_forward(nhwc(x), (k, k), (stride,) * 2, (padding,) * 2, out_hw)
    got_avg, _ = F.avgpool_forward(nhwc(x), (k, k), (stride,) * 2, (padding,) * 2, out_hw)
    np.testing.assert_array_equal(nchw(got_max), ops.max_pool2d(x, k, stride, padding))
    np.testing.assert_allclose(nchw(got_avg), ops.avg_pool2d(x, k, stride, padding), atol=1e-12)


def test_batch_norm_matches_ops_in_training_and_eval():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5)) * 2 + 0.5
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    ours_stats = [np.zeros(3), np.ones(3)]
    ops_stats = [np.zeros(3), np.ones(3)]
    for training in (True, False):
        out, _ = F.batchnorm_forward(nhwc(x), gamma, beta, *ours_stats, training, 0.1, 1e-5)
        expected = ops.batch_norm(x, *ops_stats, gamma, beta, training=training)
        np.testing.assert_allclose(nchw(out), expected, atol=1e-12)
        np.testing.assert_allclose(ours_stats, ops_stats, atol=1e-12)


def test_stepwise_forward_matches_the_batch_forward():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=1)
    rng = np.random.default_rng(2)
    network.forward(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))  # move the running statistics
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(stepwise_forward(network, x[0]), network.forward(x, training=False)[0], atol=1e-5)


def test_stepwise_forward_runs_every_kind_of_layer_on_the_teaching_path():
    """Strides, padding, dilation, average pooling, a conv and a linear layer without bias and a batch
    norm on flat features (BatchNorm1d), in float64: the teaching path gives the batch path's logits."""
    layers = [
        {"type": "conv", "out_channels": 3, "kernel": [3, 2], "stride": [1, 2], "padding": 1, "dilation": [2, 1]},
        {"type": "batchnorm", "momentum": 1},
        {"type": "relu"},
        {"type": "avgpool", "size": 3, "stride": 2, "padding": 1},
        {"type": "conv", "out_channels": 2, "kernel": 1, "bias": False},
        {"type": "maxpool", "size": [2, 1], "padding": [1, 0]},
        {"type": "flatten"},
        {"type": "linear", "out_features": 5, "bias": False},
        {"type": "batchnorm", "eps": 0.5},
        {"type": "linear", "out_features": 3},
    ]
    network = Network([2, 7, 9], layers, seed=3, dtype=np.float64)
    rng = np.random.default_rng(4)
    network.forward(rng.standard_normal((5, 2, 7, 9)))  # running statistics that are not 0 and 1
    x = rng.standard_normal((1, 2, 7, 9))
    np.testing.assert_allclose(stepwise_forward(network, x[0]), network.forward(x, training=False)[0], atol=1e-12)


def test_ops_are_the_layers_the_network_trains_with():
    """engine.ops computes with engine.network.layers itself: the same numbers bit for bit."""
    rng = np.random.default_rng(6)
    x, weight, bias = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv, _ = F.conv_forward(nhwc(x), weight, bias, (2, 1), (1, 1), (1, 2), (3, 3))
    np.testing.assert_array_equal(ops.conv2d(x, weight, bias, (2, 1), 1, (1, 2)), nchw(conv))
    averaged, _ = F.avgpool_forward(nhwc(x), (2, 2), (1, 1), (1, 1), (7, 6))
    np.testing.assert_array_equal(ops.avg_pool2d(x, 2, 1, 1), nchw(averaged))


def test_flop_counts_of_the_lecture_network():
    from engine.network import load

    forward, step = step_flops(load("seed_convnet"), 32)
    assert forward == 2 * 32 * 22_743_552
    # weight gradients of every layer, input gradients of all but conv1
    assert step == forward + 2 * 32 * (2 * 22_743_552 - 1_769_472)


def test_layers_agree_with_the_teaching_trace():
    """The step-by-step trace (engine.trace, on the teaching path) and the batch path are one truth."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6))
    weight, bias = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv, _ = F.conv_forward(nhwc(x), weight, bias, (1, 1), (1, 1), (1, 1), (6, 6))
    np.testing.assert_allclose(nchw(conv), trace.trace_conv(x, weight, bias, 1, 1).output, atol=1e-12)
    pooled, _ = F.maxpool_forward(nhwc(x), (2, 2), (2, 2), (0, 0), (3, 3))
    np.testing.assert_array_equal(nchw(pooled), trace.trace_pool(x, "max", 2).output)
    averaged, _ = F.avgpool_forward(nhwc(x), (3, 3), (1, 1), (1, 1), (6, 6))
    np.testing.assert_allclose(nchw(averaged), trace.trace_pool(x, "avg", 3, 1, 1).output, atol=1e-12)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    normed, _ = F.batchnorm_forward(nhwc(x), gamma, beta, np.zeros(3), np.ones(3), True, 0.1, 1e-5)
    np.testing.assert_allclose(nchw(normed), trace.trace_batchnorm(x, gamma, beta).output, atol=1e-10)
    np.testing.assert_array_equal(nchw(F.relu_forward(nhwc(x))[0]), trace.trace_relu(x).output)
