"""Shared helpers for the batch-path tests: small network specs and numerical gradients."""

from __future__ import annotations

import numpy as np

#: The lecture's structure with few channels: small enough for float64 gradient checks and golden files.
SMALL_CONVNET = [
    {"type": "conv", "name": "conv1", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "batchnorm", "name": "bn1"},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "conv", "name": "conv2", "out_channels": 6, "kernel": 3, "padding": 1},
    {"type": "batchnorm", "name": "bn2"},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "flatten"},
    {"type": "linear", "name": "fc1", "out_features": 12},
    {"type": "relu"},
    {"type": "linear", "name": "fc2", "out_features": 5},
]


def numerical_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of array (changed in place)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for index in range(flat.size):
        saved = flat[index]
        flat[index] = saved + eps
        up = f()
        flat[index] = saved - eps
        down = f()
        flat[index] = saved
        gflat[index] = (up - down) / (2 * eps)
    return grad


def lecture_convnet():
    """The lecture's PyTorch listing with its defects fixed: () added, fc1 = Linear(128·8·8, 256)."""
    import torch.nn as nn
    import torch.nn.functional as functional

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, padding=1)
            self.bn1 = nn.BatchNorm2d(64)
            self.conv2 = nn.Conv2d(64, 128, kernel_size=3, padding=1)
            self.bn2 = nn.BatchNorm2d(128)
            self.fc1 = nn.Linear(128 * 8 * 8, 256)
            self.fc2 = nn.Linear(256, 10)

        def forward(self, x):
            x = functional.max_pool2d(functional.relu(self.bn1(self.conv1(x))), 2, 2)
            x = functional.max_pool2d(functional.relu(self.bn2(self.conv2(x))), 2, 2)
            x = x.view(x.size(0), -1)
            return self.fc2(functional.relu(self.fc1(x)))

    return ConvNet()


def torch_reference(
    model,
    state: dict,
    x: np.ndarray,
    labels: np.ndarray,
    steps: int = 2,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
) -> dict[str, np.ndarray]:
    """What PyTorch computes from state on (x, labels): first step's logits, loss and gradients,
    then the parameters and running statistics after `steps` SGD steps."""
    import torch
    import torch.nn.functional as functional

    torch.manual_seed(0)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=False)
    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)
    result: dict[str, np.ndarray] = {}
    for step in range(steps):
        optimiser.zero_grad()
        logits = model(tx)
        loss = functional.cross_entropy(logits, tlabels)
        loss.backward()
        if step == 0:
            result["logits"] = logits.detach().numpy().copy()
            result["loss"] = np.array(loss.item())
            for name, parameter in model.named_parameters():
                result[f"grad.{name}"] = parameter.grad.numpy().copy()
        optimiser.step()
    for name, value in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            result[f"after.{name}"] = value.numpy().copy()
    return result


def ours(
    network,
    x: np.ndarray,
    labels: np.ndarray,
    steps: int = 2,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
) -> dict[str, np.ndarray]:
    """The same record as torch_reference, computed by the batch path (changes the network)."""
    from engine.network import cross_entropy
    from engine.network.optim import SGD

    optimiser = SGD(network.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    result: dict[str, np.ndarray] = {}
    for step in range(steps):
        logits = network.forward(x)
        loss, dlogits = cross_entropy(logits, labels)
        network.backward(dlogits)
        if step == 0:
            result["logits"], result["loss"] = logits.copy(), np.array(loss)
            result.update({f"grad.{k}": v.copy() for k, v in network.grads.items()})
        optimiser.step(network.grads)
    result.update({f"after.{k}": v.copy() for k, v in network.state.items()})
    return result


def assert_matches(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], keys=None) -> None:
    """float32 tolerance relative to each array's scale.

    Batch norm makes the loss (nearly) blind to what comes right before it: a
    convolution bias there has a true gradient of 0, and a 1x1 convolution of
    one channel has one near 0. Both sides then give float32 noise, so
    gradients are compared against at least 1% of the network's largest one,
    and a bias against its layer's weight gradient.
    """
    largest = max((np.abs(v).max() for k, v in expected.items() if k.startswith("grad.")), default=0.0)
    for key in keys or expected:
        reference = np.asarray(expected[key], dtype=np.float64)
        scale = max(np.abs(reference).max(), 1e-3)
        if key.startswith("grad."):
            scale = max(scale, 0.01 * largest)
            if key.endswith(".bias") and f"{key[:-4]}weight" in expected:
                scale = max(scale, np.abs(expected[f"{key[:-4]}weight"]).max())
        np.testing.assert_allclose(got[key], reference, rtol=0, atol=2e-4 * scale, err_msg=key)
