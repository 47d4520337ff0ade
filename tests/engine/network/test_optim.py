"""SGD: step for step as torch.optim.SGD, without allocating per step."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine.network.optim import SGD

SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "weight_decay": 5e-4},
    {"momentum": 0.8, "dampening": 0.3, "weight_decay": 1e-2},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
]


def _run(settings: dict, steps: int = 4, chunk: int = SGD.CHUNK) -> tuple[list[dict], dict, dict]:
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((5, 7)).astype(np.float32), "b": rng.standard_normal(7).astype(np.float32)}
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()} for _ in range(steps)]
    start = {k: v.copy() for k, v in params.items()}
    optimiser = SGD(params, lr=0.05, **settings)
    optimiser.CHUNK = chunk
    for g in grads:
        optimiser.step(g)
    return grads, start, params


@pytest.mark.torch
@pytest.mark.parametrize("chunk", [SGD.CHUNK, 8])
@pytest.mark.parametrize("settings", SETTINGS)
def test_sgd_matches_torch(settings, chunk):
    torch = pytest.importorskip("torch")
    grads, start, params = _run(settings, chunk=chunk)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    optimiser = torch.optim.SGD(list(tensors.values()), lr=0.05, **settings)
    for g in grads:
        for key, tensor in tensors.items():
            tensor.grad = torch.from_numpy(g[key])
        optimiser.step()
    for key, tensor in tensors.items():
        np.testing.assert_allclose(params[key], tensor.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=key)


def test_a_step_allocates_nothing_the_size_of_a_parameter():
    big = {"w": np.zeros((256, 1024), np.float32)}
    grad = {"w": np.ones((256, 1024), np.float32)}
    optimiser = SGD(big, lr=0.01, weight_decay=1e-4)
    optimiser.step(grad)
    tracemalloc.start()
    optimiser.step(grad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < big["w"].nbytes // 4
    np.testing.assert_allclose(big["w"], -0.02, rtol=1e-4)


@pytest.mark.parametrize("settings", SETTINGS)
def test_chunks_give_the_whole_array_update_bit_for_bit(settings):
    """fc1's 2.1 M weights are updated 65,536 at a time: chunks of 8 over 35 and 7 values (a short
    last chunk, a parameter smaller than one) must give exactly what one pass over the whole does."""
    _, _, whole = _run(settings, chunk=10**9)
    _, _, chunked = _run(settings, chunk=8)
    for key in whole:
        np.testing.assert_array_equal(chunked[key], whole[key], err_msg=key)
    assert not np.array_equal(whole["w"], _run(settings, steps=3)[2]["w"])  # the steps do move the weights


def test_a_parameter_that_is_a_view_is_updated_in_place():
    storage = np.zeros((4, 6), np.float32)
    view = storage[:, ::2]  # not contiguous
    SGD({"w": view}, lr=0.5, momentum=0.9).step({"w": np.ones((4, 3), np.float32)})
    np.testing.assert_array_equal(storage[:, ::2], -0.5)
    np.testing.assert_array_equal(storage[:, 1::2], 0)
