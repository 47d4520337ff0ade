"""Every rule of engine.rules (and the output size of engine.shapes) holds alike wherever a user can
meet it: a sample file (engine.samples), the teaching path (engine.trace), the vectorised ops
(engine.ops) and the network (engine.network). One test per rule."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ops, rules, samples, trace
from engine.errors import CnnError
from engine.network import Network
from engine.network.bridge import conv_cell, pool_cell
from engine.shapes import output_hw, output_size, window_span

X = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)


def sample(op: str, **params) -> samples.Sample:
    return samples.parse({"title": "t", "op": op, "input": X[0, 0].tolist(), **params}, "s.toml")


def network(*layers: dict, shape=(1, 4, 4)) -> Network:
    return Network(list(shape), [*layers, {"type": "flatten"}])


def refused_everywhere(callers: dict, message: str) -> None:
    for where, call in callers.items():
        with pytest.raises(CnnError) as error:
            call()
        assert message in str(error.value), where


def accepted_everywhere(callers: dict) -> None:
    for call in callers.values():
        call()


def pool_callers(size, padding):
    return {
        "sample": lambda: sample("pool", size=size, padding=padding),
        "trace": lambda: trace.trace_pool(X, "max", size, None, padding),
        "ops max": lambda: ops.max_pool2d(X, size, None, padding),
        "ops avg": lambda: ops.avg_pool2d(X, size, None, padding),
        "network": lambda: network({"type": "maxpool", "size": size, "padding": padding}),
    }


def test_pool_padding_is_at_most_half_the_pool_size():
    refused_everywhere(pool_callers(2, 2), "pool padding 2 must be at most half the pool size 2 (height)")
    refused_everywhere(pool_callers([3, 2], [1, 2]), "pool padding 2 must be at most half the pool size 2 (width)")
    accepted_everywhere(pool_callers(2, 1))


def test_pool_stride_left_out_is_the_pool_size():
    assert rules.pool_stride(None, (3, 2)) == (3, 2)
    assert sample("pool", size=2).stages[0].params["stride"] == (2, 2)
    assert trace.trace_pool(X, "max", 2).params["stride"] == (2, 2)
    assert ops.max_pool2d(X, 2).shape == (1, 1, 2, 2)
    assert network({"type": "maxpool", "size": 2}).layers[0].stride == (2, 2)
    with pytest.raises(CnnError, match="stride must be at least 1, got 0"):
        sample("pool", size=2, stride=0)  # 0 is not "left out" in a sample file


def test_pool_mode_is_max_or_avg():
    message = 'must be "max" or "avg", got \'mean\''
    refused_everywhere(
        {"sample": lambda: sample("pool", mode="mean"), "trace": lambda: trace.trace_pool(X, "mean")}, message
    )


def batch_callers(x: np.ndarray, training: bool = True):
    c = x.shape[1]
    item = list(x.shape[1:])
    return {
        "sample": lambda: samples.parse(
            {"title": "t", "op": "batchnorm", "input": x.tolist(), "training": training}, "s.toml"
        ),
        "trace": lambda: trace.trace_batchnorm(x, training=training),
        "ops": lambda: ops.batch_norm(x, np.zeros(c), np.ones(c), training=training),
        "network": lambda: network({"type": "batchnorm"}, shape=item).forward(x, training=training),
    }


def test_batch_statistics_need_two_values_per_channel():
    one = np.ones((1, 2, 1, 1))
    refused_everywhere(
        batch_callers(one), "batch norm in training needs more than 1 value per channel (N·H·W ≥ 2, got 1)"
    )
    accepted_everywhere(batch_callers(one, training=False))
    accepted_everywhere(batch_callers(np.arange(2.0).reshape(2, 1, 1, 1)))
    accepted_everywhere(batch_callers(np.arange(2.0).reshape(1, 1, 1, 2)))


def batchnorm_parameter_callers(key: str, value):
    keywords = {key: value}
    return {
        "sample": lambda: sample("batchnorm", **keywords),
        "trace": lambda: trace.trace_batchnorm(X, **keywords),
        "ops": lambda: ops.batch_norm(X, np.zeros(1), np.ones(1), training=True, **keywords),
        "network": lambda: network({"type": "batchnorm", **keywords}),
    }


@pytest.mark.parametrize("value", [0, -1e-3, float("inf")])
def test_eps_is_positive_and_finite(value):
    callers = batchnorm_parameter_callers("eps", value)
    if value == float("inf"):
        del callers["sample"]  # a file's number is refused as not finite before any rule
    refused_everywhere(callers, "eps must be a small positive number")


def test_eps_may_be_any_positive_number():
    for value in (1e-5, 2.0):
        accepted_everywhere(batchnorm_parameter_callers("eps", value))


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_momentum_is_between_0_and_1(value):
    refused_everywhere(batchnorm_parameter_callers("momentum", value), "momentum must be between 0 and 1")


@pytest.mark.parametrize("value", [0, 1])
def test_momentum_0_and_1_are_accepted_everywhere_as_in_pytorch(value):
    """0 keeps the running statistics, 1 replaces them with the batch's; the network takes both too."""
    accepted_everywhere(batchnorm_parameter_callers("momentum", value))
    mean = np.array([5.0])
    ops.batch_norm(X, mean, np.ones(1), training=True, momentum=value)
    assert mean[0] == (5.0 if value == 0 else X.mean())


def test_eps_and_momentum_must_be_numbers():
    with pytest.raises(CnnError, match="eps must be a number"):
        network({"type": "batchnorm", "eps": "small"})
    with pytest.raises(CnnError, match="momentum must be a number"):
        network({"type": "batchnorm", "momentum": True})


def test_per_channel_vectors_have_one_value_per_channel_or_one_for_all():
    x = np.ones((2, 2, 2, 2))
    refused_everywhere(
        {
            "sample": lambda: samples.parse(
                {"title": "t", "op": "batchnorm", "input": x.tolist(), "gamma": [1, 2, 3]}, "s.toml"
            ),
            "trace": lambda: trace.trace_batchnorm(x, gamma=[1, 2, 3]),
            "ops": lambda: ops.batch_norm(x, np.zeros(2), np.ones(2), weight=np.ones(3)),
        },
        "needs one value per channel (2), got 3",
    )
    assert trace.trace_batchnorm(x, gamma=3).params["gamma"].tolist() == [3, 3]
    kernel = np.ones((2, 1, 2, 2))
    refused_everywhere(
        {
            "sample": lambda: sample("conv", kernel=kernel.tolist(), bias=[1, 2, 3]),
            "trace": lambda: trace.trace_conv(X, kernel, [1, 2, 3]),
            "ops": lambda: ops.conv2d(X, kernel, np.ones(3)),
        },
        "bias needs one value per filter (2), got 3",
    )


def test_running_variance_is_never_negative():
    refused_everywhere(
        {
            "sample": lambda: sample("batchnorm", running_var=-1),
            "trace": lambda: trace.trace_batchnorm(X, running_var=-1),
        },
        "running_var must not be negative",
    )


def test_a_kernel_has_one_slice_per_input_channel():
    x, kernel = np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))
    refused_everywhere(
        {
            "sample": lambda: samples.parse(
                {"title": "t", "op": "conv", "input": x.tolist(), "kernel": kernel.tolist()}, "s.toml"
            ),
            "trace": lambda: trace.trace_conv(x, kernel),
            "ops": lambda: ops.conv2d(x, kernel),
        },
        "kernel has 3 channel(s) but its input has 2",
    )


@pytest.mark.parametrize(
    "size,kernel,stride,padding,dilation", [(5, 3, 1, 0, 1), (7, 3, 2, 1, 2), (8, 2, 3, 0, 1), (6, 4, 1, 2, 1)]
)
def test_output_size_is_pytorchs_formula_everywhere(size, kernel, stride, padding, dilation):
    expected = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    assert output_size(size, kernel, stride, padding, dilation) == expected
    assert window_span(kernel, dilation) == dilation * (kernel - 1) + 1
    x = np.random.default_rng(0).standard_normal((1, 1, size, size))
    weight = np.ones((1, 1, kernel, kernel))
    geometry = (stride, padding, dilation)
    assert ops.conv2d(x, weight, None, *geometry).shape[2:] == (expected, expected)
    assert trace.trace_conv(x, weight, None, *geometry).output.shape[2:] == (expected, expected)
    conv = {"type": "conv", "out_channels": 1, "kernel": kernel, "stride": stride, "padding": padding}
    built = network(conv | {"dilation": dilation, "bias": False}, shape=(1, size, size))
    assert built.layers[0].out_shape == (1, expected, expected)
    assert output_hw((size, size), (kernel,) * 2, (stride,) * 2, (padding,) * 2, (dilation,) * 2) == (expected,) * 2
    # the bridge finds the last cell's step with the same formula
    layer, state = built.layers[0], built.state
    out = ops.conv2d(x, state["conv1.weight"].astype(np.float64), None, *geometry)
    last = conv_cell(layer, x, state, out, 0, 0, expected - 1, expected - 1)
    assert last.sample.trace()[last.step].value == pytest.approx(out[0, 0, -1, -1])
    if 2 * padding <= kernel and dilation == 1:
        pooled = network(
            {"type": "avgpool", "size": kernel, "stride": stride, "padding": padding}, shape=(1, size, size)
        )
        out = ops.avg_pool2d(x, kernel, stride, padding)
        assert pooled.layers[0].out_shape == (1, *out.shape[2:])
        last = pool_cell(pooled.layers[0], x, out, 0, 0, out.shape[2] - 1, out.shape[3] - 1)
        assert last.sample.trace()[last.step].value == pytest.approx(out[0, 0, -1, -1])
