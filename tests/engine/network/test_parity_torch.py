"""The batch path against PyTorch 2.13 in the same process: forward, loss, every gradient, SGD steps, running stats."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET, assert_matches, lecture_convnet, ours, torch_reference

from engine.errors import CnnError
from engine.network import Network, load
from engine.network.bench import torch_module

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch", reason="live PyTorch parity needs torch: pip install -e '.[torch]'")


def test_lecture_network_matches_pytorch_forward_gradients_and_two_sgd_steps():
    network = load("seed_convnet", seed=5)
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((3, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 3)
    expected = torch_reference(lecture_convnet(), network.state_dict(), x, labels)
    assert_matches(ours(network, x, labels), expected)


def random_spec(rng: np.random.Generator) -> tuple[list[int], list[dict]]:
    """A random small ConvNet: conv blocks with random kernels, strides, padding, dilation, pools and BN."""
    layers, size, channels = [], int(rng.integers(7, 12)), int(rng.integers(1, 4))
    for _block in range(int(rng.integers(1, 3))):
        kernel = int(rng.integers(1, 4))
        layers.append(
            {
                "type": "conv",
                "out_channels": int(rng.integers(2, 6)),
                "kernel": kernel,
                "stride": int(rng.integers(1, 3)),
                "padding": int(rng.integers(0, 2)),
                "dilation": int(rng.integers(1, 3)),
                "bias": bool(rng.integers(0, 2)),
            }
        )
        if rng.random() < 0.7:
            layers.append({"type": "batchnorm", "momentum": float(rng.uniform(0.05, 0.5))})
        layers.append({"type": "relu"})
        if rng.random() < 0.7:
            size_ = int(rng.integers(2, 4))
            layers.append(
                {
                    "type": str(rng.choice(["maxpool", "avgpool"])),
                    "size": size_,
                    "stride": int(rng.integers(1, size_ + 1)),
                    "padding": int(rng.integers(0, size_ // 2 + 1)),
                }
            )
    layers += [{"type": "flatten"}, {"type": "linear", "out_features": int(rng.integers(3, 9))}]
    if rng.random() < 0.5:
        layers += [{"type": "batchnorm"}, {"type": "relu"}, {"type": "linear", "out_features": 4}]
    return [channels, size, size], layers


@pytest.mark.parametrize("seed", range(30))
def test_random_small_networks_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    while True:  # a random stack whose maps shrink to nothing is a CnnError: draw again
        shape, layers = random_spec(rng)
        try:
            network = Network(shape, layers, seed=seed)
            break
        except CnnError:
            continue
    x = rng.standard_normal((4, *shape)).astype(np.float32)
    labels = rng.integers(0, len(network.classes), 4)
    expected = torch_reference(torch_module(network), network.state_dict(), x, labels)
    assert_matches(ours(network, x, labels), expected)


def test_eval_mode_uses_running_statistics_like_pytorch():
    network = Network([3, 8, 8], SMALL_CONVNET, seed=2)
    rng = np.random.default_rng(1)
    for _ in range(3):
        network.forward(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    model = torch_module(network).eval()
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(network.forward(x, training=False), expected, atol=1e-5)


def test_state_dict_round_trips_with_pytorch_in_both_directions():
    network = load("seed_convnet", seed=1)
    model = lecture_convnet()
    # torch -> ours: torch's own state_dict, num_batches_tracked and all
    network.load_state_dict(model.state_dict())
    torch_state = model.state_dict()
    assert set(network.state_dict()) == {k for k in torch_state if not k.endswith("num_batches_tracked")}
    for key, value in network.state_dict().items():
        np.testing.assert_array_equal(value, torch_state[key].numpy())
    # ours -> torch
    other = load("seed_convnet", seed=2)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in other.state_dict().items()}, strict=False
    )
    assert unexpected == [] and all(k.endswith("num_batches_tracked") for k in missing)
    for key, value in model.state_dict().items():
        if key in other.state:
            np.testing.assert_array_equal(value.numpy(), other.state[key])


def test_initialisation_has_pytorch_default_bounds():
    network = load("seed_convnet", seed=4)
    for key, fan_in in (("conv1.weight", 27), ("conv2.bias", 576), ("fc1.weight", 8192), ("fc2.bias", 256)):
        values = network.state[key]
        bound = 1 / np.sqrt(fan_in)
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert network.state["bn1.weight"].tolist() == [1.0] * 64 and not network.state["bn2.running_mean"].any()


def test_bench_times_pytorch_beside_ours(tmp_path):
    from engine.network.bench import run_bench

    result = run_bench(Network([3, 8, 8], SMALL_CONVNET, seed=0), batch_size=4, repeats=1)
    assert result.torch_forward_seconds > 0 and result.forward_ratio > 0 and result.step_ratio > 0
    # the layer-by-layer path took turns with PyTorch in a rotation of its own, with its own PyTorch times
    assert result.layer_torch_forward_seconds > 0 and result.layer_torch_step_seconds > 0
    assert result.layer_forward_ratio == result.layer_forward_seconds / result.layer_torch_forward_seconds
