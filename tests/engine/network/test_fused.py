"""The fused conv → batch norm → ReLU → max-pool block against the layer-by-layer path it replaces.

The layer-by-layer path is checked against PyTorch (test_parity_torch.py,
test_parity_golden.py); here the fused block must give its numbers: logits,
loss, every gradient, running statistics, eval-mode logits and the state after
SGD steps, on random networks with negative γ, conv biases, every stride,
padding and dilation, and ties in the max-pool windows.
"""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET, assert_matches, ours

from engine.errors import CnnError
from engine.network import Network, cross_entropy, load
from engine.network.fused import ConvBlock


def both_paths(shape, layers, x, labels, dtype=np.float64, negate=True, seed=0):
    """ours() on the fused and the layer-by-layer network (same weights, some γ negative), plus eval logits."""
    results = []
    for fuse in (True, False):
        network = Network(shape, layers, seed=seed, dtype=dtype)
        network.fuse = fuse
        rng = np.random.default_rng(seed + 100)
        for layer in network.layers:
            if layer.kind == "batchnorm":
                gamma = network.state[layer.key("weight")]
                gamma[...] = rng.uniform(0.3, 1.5, gamma.shape) * (rng.choice([-1, 1], gamma.shape) if negate else 1)
                network.state[layer.key("bias")][...] = rng.normal(0, 0.5, gamma.shape)
        record = ours(network, x.astype(dtype), labels)
        network.ran = [type(runner) for _, runner, _ in network._run]
        record["eval"] = network.forward(x.astype(dtype), training=False).copy()
        results.append((network, record))
    return results


def assert_same(fused: dict, layered: dict, dtype) -> None:
    if dtype == np.float32:
        assert_matches(fused, layered)
        return
    for key, expected in layered.items():
        scale = max(np.abs(expected).max(), 1e-3)
        np.testing.assert_allclose(fused[key], expected, rtol=0, atol=1e-9 * scale, err_msg=key)


def random_block_spec(rng: np.random.Generator) -> tuple[list[int], list[dict]]:
    """A random network of conv → bn → relu → maxpool blocks, whose pools may or may not tile the conv output."""
    channels, size = int(rng.integers(1, 7)), int(rng.integers(6, 14))
    layers = []
    for _block in range(int(rng.integers(1, 3))):
        conv = {
            "type": "conv",
            "out_channels": int(rng.integers(2, 7)),
            "kernel": [int(rng.integers(1, 4)), int(rng.integers(1, 4))],
            "stride": [int(rng.integers(1, 3)), int(rng.integers(1, 3))],
            "padding": [int(rng.integers(0, 3)), int(rng.integers(0, 2))],
            "dilation": [int(rng.integers(1, 3)), int(rng.integers(1, 3))],
            "bias": bool(rng.integers(0, 2)),
        }
        pool = [int(rng.integers(1, 4)), int(rng.integers(1, 3))]
        layers += [conv, {"type": "batchnorm", "momentum": float(rng.uniform(0.05, 0.5))}, {"type": "relu"}]
        layers.append({"type": "maxpool", "size": pool})
    layers += [{"type": "flatten"}, {"type": "linear", "out_features": int(rng.integers(3, 7))}]
    return [channels, size, size], layers


def build(rng, draw):
    while True:  # a random stack whose maps shrink to nothing is a CnnError: draw again
        shape, layers = draw(rng)
        try:
            return shape, layers, Network(shape, layers)
        except CnnError:
            continue


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_block_networks_fused_match_layer_by_layer(seed, dtype):
    rng = np.random.default_rng(seed)
    shape, layers, network = build(rng, random_block_spec)
    x = rng.standard_normal((3, *shape))
    labels = rng.integers(0, len(network.classes), 3)
    (fused_net, fused), (_, layered) = both_paths(shape, layers, x, labels, dtype, seed=seed)
    assert_same(fused, layered, dtype)
    tiling = [
        layer.out_hw == (pool.out_hw[0] * pool.kernel[0], pool.out_hw[1] * pool.kernel[1])
        for layer, pool in zip(network.layers[0::4], network.layers[3::4])
        if layer.kind == "conv"
    ]
    assert len(fused_net.blocks) == sum(tiling)
    assert fused_net.ran.count(ConvBlock) == sum(tiling)


def narrow_block_spec(rng: np.random.Generator) -> tuple[list[int], list[dict]]:
    """Blocks whose im2col matrix has fewer columns than the conv has output channels (C·kh·kw < O):
    the fused block centres the im2col columns instead of z, as for the lecture's conv1 (27 < 64)."""
    first = channels = int(rng.integers(1, 3))
    size = int(rng.integers(6, 12))
    layers = []
    for _block in range(int(rng.integers(1, 3))):
        kernel = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
        out = channels * kernel[0] * kernel[1] + int(rng.integers(1, 4))
        layers += [
            {
                "type": "conv",
                "out_channels": out,
                "kernel": kernel,
                "padding": [int(rng.integers(0, 2)), int(rng.integers(0, 2))],
                "dilation": [1, int(rng.integers(1, 3))],
                "bias": bool(rng.integers(0, 2)),
            },
            {"type": "batchnorm", "momentum": float(rng.uniform(0.05, 0.5))},
            {"type": "relu"},
            {"type": "maxpool", "size": [int(rng.integers(1, 3)), int(rng.integers(1, 3))]},
        ]
        channels = out
    layers += [{"type": "flatten"}, {"type": "linear", "out_features": int(rng.integers(3, 7))}]
    return [first, size, size], layers


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_narrow_blocks_that_centre_the_im2col_columns_match_layer_by_layer(seed, dtype):
    rng = np.random.default_rng(1000 + seed)
    shape, layers, network = build(rng, narrow_block_spec)
    for block in network.blocks:
        assert block.conv.in_shape[0] * block.conv.kernel[0] * block.conv.kernel[1] < block.conv.out_channels
    x = rng.standard_normal((3, *shape))
    x[0, :, :2] = 0.25  # equal inputs: tied windows
    labels = rng.integers(0, len(network.classes), 3)
    (fused_net, fused), (_, layered) = both_paths(shape, layers, x, labels, dtype, seed=seed)
    assert_same(fused, layered, dtype)
    assert fused_net.ran.count(ConvBlock) == len(fused_net.blocks)


def test_the_lecture_network_runs_two_fused_blocks_with_the_same_numbers():
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((4, 3, 32, 32)), rng.integers(0, 10, 4)
    shape = load("seed_convnet").input_shape
    spec = load("seed_convnet").spec
    (fused_net, fused), (_, layered) = both_paths(shape, spec, x, labels, np.float32)
    assert [block.conv.name for block in fused_net.blocks] == ["conv1", "conv2"]
    assert fused_net.ran.count(ConvBlock) == 2
    assert_same(fused, layered, np.float32)


def test_ties_in_every_pool_window_go_to_the_first_tap_as_layer_by_layer():
    """Constant inputs make whole windows of equal conv outputs, for γ of both signs."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 8, 8))
    x[0] = 0.5  # a constant image: every window ties
    x[1, :, :4] = -1.0  # constant rows: ties inside and across windows
    x[2, :, ::2] = x[2, :, 1::2]  # equal neighbours along x
    labels = rng.integers(0, 5, 4)
    (fused_net, fused), (_, layered) = both_paths([3, 8, 8], SMALL_CONVNET, x, labels)
    assert len(fused_net.blocks) == 2
    assert_same(fused, layered, np.float64)


@pytest.mark.parametrize(
    "conv, pool",
    [
        ({}, {"size": 2, "stride": 1}),  # overlapping windows
        ({}, {"size": 3, "padding": 1}),  # padded windows
        ({"kernel": 2}, {"size": 2}),  # 7×7 maps: the last row and column are left out by the pool
        ({"stride": 2, "padding": 0}, {"size": 3}),  # 3×3 maps and 3x3 windows tile: fused
        ({"dilation": 2, "padding": 2}, {"size": [2, 1]}),  # tile: fused
    ],
)
def test_blocks_whose_pool_does_not_tile_run_layer_by_layer(conv, pool):
    layers = [
        {"type": "conv", "out_channels": 3, "kernel": 3, "padding": 1} | conv,
        {"type": "batchnorm"},
        {"type": "relu"},
        {"type": "maxpool"} | pool,
        {"type": "flatten"},
        {"type": "linear", "out_features": 4},
    ]
    network = Network([2, 8, 8], layers)
    c, p = network.layers[0], network.layers[3]
    tiles = (
        p.stride == p.kernel
        and p.padding == (0, 0)
        and c.out_hw == (p.out_hw[0] * p.kernel[0], p.out_hw[1] * p.kernel[1])
    )
    assert len(network.blocks) == tiles
    rng = np.random.default_rng(2)
    x, labels = rng.standard_normal((3, 2, 8, 8)), rng.integers(0, 4, 3)
    (_, fused), (_, layered) = both_paths([2, 8, 8], layers, x, labels)
    assert_same(fused, layered, np.float64)


@pytest.mark.parametrize(
    "layers",
    [
        [{"type": "conv", "out_channels": 3, "kernel": 3}, {"type": "relu"}, {"type": "maxpool", "size": 2}],
        [{"type": "conv", "out_channels": 3, "kernel": 3}, {"type": "batchnorm"}, {"type": "maxpool", "size": 2}],
        [{"type": "conv", "out_channels": 3, "kernel": 3}, {"type": "batchnorm"}, {"type": "relu"}],
        [
            {"type": "conv", "out_channels": 3, "kernel": 3},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "avgpool", "size": 2},
        ],
    ],
)
def test_other_layer_sequences_are_not_fused(layers):
    network = Network([1, 8, 8], [*layers, {"type": "flatten"}, {"type": "linear", "out_features": 2}])
    assert network.blocks == []


def test_a_zero_gamma_in_training_runs_that_block_layer_by_layer():
    """With γ = 0 the tied windows' gradients depend on which tap wins: the block hands back to the layers."""
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((3, 3, 8, 8)), rng.integers(0, 5, 3)
    records = []
    for fuse in (True, False):
        network = Network([3, 8, 8], SMALL_CONVNET, dtype=np.float64)
        network.fuse = fuse
        network.state["bn1.weight"][1] = 0
        records.append(ours(network, x, labels, steps=1))
        if fuse:
            assert [type(runner).__name__ for _, runner, _ in network._run][:4] == [
                "Conv",
                "BatchNorm",
                "MaxPool",
                "ReLU",
            ]
            assert isinstance(network._run[4][1], ConvBlock)
    assert_same(*records, np.float64)


def test_a_batch_of_one_with_one_value_per_channel_still_refuses_training():
    layers = [
        {"type": "conv", "out_channels": 2, "kernel": 2},
        {"type": "batchnorm"},
        {"type": "relu"},
        {"type": "maxpool", "size": 1},
        {"type": "flatten"},
        {"type": "linear", "out_features": 2},
    ]
    network = Network([1, 2, 2], layers)
    assert len(network.blocks) == 1
    with pytest.raises(CnnError, match="more than 1 value per channel"):
        network.forward(np.ones((1, 1, 2, 2), np.float32))


def test_the_workspace_follows_the_batch_size_and_activations_use_the_layers():
    network = Network([3, 8, 8], SMALL_CONVNET)
    reference = Network([3, 8, 8], SMALL_CONVNET)
    reference.fuse = False
    rng = np.random.default_rng(4)
    for batch in (5, 2, 7):
        x = rng.standard_normal((batch, 3, 8, 8)).astype(np.float32)
        labels = rng.integers(0, 5, batch)
        for net in (network, reference):
            loss, dlogits = cross_entropy(net.forward(x), labels)
            net.backward(dlogits)
        for key, grad in reference.grads.items():
            np.testing.assert_allclose(network.grads[key], grad, atol=2e-5, err_msg=key)
        evaluated = network.forward(x[:1], training=False)
        np.testing.assert_allclose(evaluated, reference.forward(x[:1], training=False), atol=2e-5)
    logits, seen = network.forward(x, training=False, activations=True)
    assert "bn1" in seen and "relu1" in seen  # every layer's output: the block ran layer by layer


@pytest.mark.parametrize("out_channels", [4, 32])  # 27 im2col columns: z centred (4), columns centred (32)
def test_conv_outputs_far_from_zero_mean_lose_no_float32_digits(out_channels):
    """Inputs on a large offset through positive weights give conv outputs with |mean| ≈ 100·std:
    Σz² − M·μ² or k·z − k·μ in float32 would cancel away the digits the centred layer-by-layer
    path keeps."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3, 8, 8)) * 0.1 + 10.0
    labels = rng.integers(0, 5, 6)
    records = []
    layers = [dict(SMALL_CONVNET[0], out_channels=out_channels), *SMALL_CONVNET[1:]]
    for fuse in (True, False):
        network = Network([3, 8, 8], layers)
        network.fuse = fuse
        network.state["conv1.weight"][...] = np.abs(network.state["conv1.weight"])
        records.append(ours(network, x.astype(np.float32), labels))
    assert_same(*records, np.float32)


def test_an_eval_forward_keeps_no_workspace_and_leaves_the_training_one_alone():
    """train() evaluates on batches of 256 after steps of 32: the fused blocks must not keep eval-sized arrays."""
    network = Network([3, 8, 8], SMALL_CONVNET)
    rng = np.random.default_rng(6)
    network.forward(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    kept = [dict(block.workspace.arrays) for block in network.blocks]
    network.forward(rng.standard_normal((64, 3, 8, 8)).astype(np.float32), training=False)
    for block, arrays in zip(network.blocks, kept):
        assert block.workspace.arrays.keys() == arrays.keys()
        assert all(block.workspace.arrays[name] is array for name, array in arrays.items())
