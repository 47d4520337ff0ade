"""Every layer's backward against central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET, numerical_gradient

from engine.network import Network
from engine.network import layers as F
from engine.network.loss import cross_entropy
from engine.network.workspace import Workspace
from engine.shapes import output_hw


@pytest.fixture
def rng() -> np.random.Generator:
    """The same numbers for a test however the tests are ordered or selected."""
    return np.random.default_rng(7)


def check(rng: np.random.Generator, forward, backward, inputs: dict[str, np.ndarray], tolerance: float = 1e-6) -> None:
    """forward(**inputs) -> (out, cache); backward(dout, cache) -> gradients in the order of inputs."""
    out, _ = forward(**inputs)
    weights = rng.standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(forward(**inputs)[0] * weights))

    _, cache = forward(**inputs)
    analytic = backward(weights, cache)
    for (name, array), grad in zip(inputs.items(), analytic):
        expected = numerical_gradient(loss, array)
        np.testing.assert_allclose(grad, expected, rtol=tolerance, atol=tolerance, err_msg=name)


@pytest.mark.parametrize("channels", [3, 6])  # im2col by channel planes (few channels) and by rows
@pytest.mark.parametrize(
    "stride,padding,dilation,bias",
    [
        ((1, 1), (1, 1), (1, 1), True),
        ((2, 1), (0, 2), (1, 1), False),
        ((1, 2), (1, 0), (2, 1), True),
        ((1, 1), (2, 1), (2, 1), True),  # stride 1, dilated: the input gradient is gathered
    ],
)
def test_conv_gradients(stride, padding, dilation, bias, channels, rng):
    x = rng.standard_normal((2, 6, 7, channels))
    weight = rng.standard_normal((4, channels, 3, 2))
    out_hw = output_hw((6, 7), (3, 2), stride, padding, dilation)
    inputs = {"x": x, "weight": weight} | ({"bias": rng.standard_normal(4)} if bias else {})

    def forward(x, weight, bias=None):
        return F.conv_forward(x, weight, bias, stride, padding, dilation, out_hw)

    def backward(dout, cache):
        dx, dweight, dbias = F.conv_backward(dout, cache)
        return (dx, dweight, dbias) if bias else (dx, dweight)

    check(rng, forward, backward, inputs)


@pytest.mark.parametrize(
    "kernel,padding,dilation",
    [
        ((3, 3), (1, 1), (1, 1)),
        ((3, 2), (2, 0), (2, 1)),
        ((1, 1), (0, 0), (1, 1)),
        ((2, 3), (1, 2), (1, 2)),
        ((5, 5), (4, 2), (2, 1)),
    ],
)
def test_the_gathered_input_gradient_is_the_scattered_one(kernel, padding, dilation, rng):
    """Stride 1: one GEMM and one einsum over a strided view give what one GEMM and add per tap give."""
    out_hw = output_hw((20, 21), kernel, (1, 1), padding, dilation)
    assert F.gathers(out_hw, kernel, (1, 1), padding, dilation)
    dout, weight = rng.standard_normal((2, *out_hw, 4)), rng.standard_normal((4, 5, *kernel))
    x_shape = (2, 20, 21, 5)
    gathered = F.input_gradient(dout, weight, x_shape, (1, 1), padding, dilation, Workspace())
    rows = dout.reshape(-1, 4)
    scattered = F.scatter_input_gradient(rows, weight, x_shape, out_hw, (1, 1), padding, dilation, Workspace())
    assert gathered.shape == x_shape
    np.testing.assert_allclose(gathered, scattered, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "out_hw,kernel,stride,padding,dilation,expected",
    [
        ((16, 16), (3, 3), (1, 1), (1, 1), (1, 1), True),  # the lecture's conv2
        ((16, 16), (3, 3), (2, 2), (1, 1), (1, 1), False),  # stride 2
        ((16, 16), (3, 3), (1, 1), (3, 1), (1, 1), False),  # padding beyond the kernel's reach
        ((4, 4), (3, 3), (1, 1), (1, 1), (3, 3), False),  # the grid would be 14×14 for 4×4 maps
    ],
)
def test_which_input_gradients_are_gathered(out_hw, kernel, stride, padding, dilation, expected):
    assert F.gathers(out_hw, kernel, stride, padding, dilation) is expected


def test_conv_without_input_gradient_gives_the_same_weight_gradient(rng):
    x, weight = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((4, 3, 3, 3))
    out, cache = F.conv_forward(x, weight, None, (1, 1), (1, 1), (1, 1), (5, 5))
    dout = rng.standard_normal(out.shape)
    full, skipped = F.conv_backward(dout, cache), F.conv_backward(dout, cache, need_dx=False)
    assert skipped[0] is None
    np.testing.assert_array_equal(full[1], skipped[1])


@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (6, 4)])
def test_batchnorm_gradients(shape, rng):
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])

    def forward(x, gamma, beta):
        mean, var = np.zeros(shape[-1]), np.ones(shape[-1])
        return F.batchnorm_forward(x, gamma, beta, mean, var, True, 0.1, 1e-5)

    check(rng, forward, F.batchnorm_backward, {"x": x, "gamma": gamma, "beta": beta})


def test_relu_gradient(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    check(rng, F.relu_forward, lambda dout, out: (F.relu_backward(dout, out),), {"x": x})


@pytest.mark.parametrize(
    "kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (1, 0))]
)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients(kind, kernel, stride, padding, rng):
    x = rng.standard_normal((2, 7, 6, 3))
    out_hw = output_hw((7, 6), kernel, stride, padding, (1, 1))
    forward = F.maxpool_forward if kind == "max" else F.avgpool_forward
    backward = F.maxpool_backward if kind == "max" else F.avgpool_backward
    check(rng, lambda x: forward(x, kernel, stride, padding, out_hw), lambda d, c: (backward(d, c),), {"x": x})


def test_maxpool_sends_a_tie_to_the_first_maximum_like_pytorch():
    x = np.zeros((1, 2, 2, 1))
    out, cache = F.maxpool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1))
    dx = F.maxpool_backward(np.ones_like(out), cache)
    assert dx[0, :, :, 0].tolist() == [[1, 0], [0, 0]]


def test_flatten_and_linear_gradients(rng):
    x = rng.standard_normal((3, 2, 2, 4))
    check(rng, F.flatten_forward, lambda d, c: (F.flatten_backward(d, c),), {"x": x})
    check(
        rng,
        F.linear_forward,
        F.linear_backward,
        {"x": rng.standard_normal((3, 5)), "weight": rng.standard_normal((4, 5)), "bias": rng.standard_normal(4)},
    )


def test_flatten_orders_features_like_torch_flatten():
    nchw = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    flat, _ = F.flatten_forward(nchw.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(flat, nchw.reshape(2, -1))


def test_cross_entropy_gradient_and_value(rng):
    logits, labels = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    loss, dlogits = cross_entropy(logits, labels)
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(4), labels])
    assert loss == pytest.approx(expected)
    np.testing.assert_allclose(dlogits, numerical_gradient(lambda: cross_entropy(logits, labels)[0], logits), atol=1e-8)


def test_cross_entropy_is_stable_for_huge_logits():
    loss, dlogits = cross_entropy(np.array([[1000.0, 0.0]], dtype=np.float32), np.array([1]))
    assert loss == pytest.approx(1000.0) and np.all(np.isfinite(dlogits))


def test_whole_network_gradients_in_float64(rng):
    network = Network([3, 8, 8], SMALL_CONVNET, seed=1, dtype=np.float64)
    x, labels = rng.standard_normal((3, 3, 8, 8)), np.array([0, 3, 4])
    # running statistics change on every training forward; they do not enter the loss
    loss, dlogits = cross_entropy(network.forward(x), labels)
    network.backward(dlogits)
    for key in ("conv1.weight", "bn1.weight", "bn2.bias", "fc1.bias", "fc2.weight"):
        expected = numerical_gradient(lambda: cross_entropy(network.forward(x), labels)[0], network.state[key])
        np.testing.assert_allclose(network.grads[key], expected, rtol=1e-5, atol=1e-7, err_msg=key)
