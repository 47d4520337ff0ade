"""Receptive fields: the lecture's network, and a brute-force check (perturb one input pixel,
see which outputs change) on random stacks of convolutions and poolings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ops
from engine.network import load
from engine.receptive import Field, Window, cell_field, fields, layer_window, stage_window
from engine.samples import load as load_sample
from engine.samples import resolve


def test_the_lecture_network_fields():
    network = load(resolve("seed_convnet"))
    found = {layer.name: f for layer, f in zip(network.layers, fields([layer_window(x) for x in network.layers]))}
    assert found["conv1"] == Field((3, 3), (1, 1))
    assert found["bn1"] == Field((3, 3), (1, 1))
    assert [found[name].size for name in ("maxpool1", "conv2", "maxpool2")] == [(4, 4), (8, 8), (10, 10)]
    assert found["maxpool2"].jump == (4, 4)
    assert found["fc1"].whole and found["fc1"].text() == "whole image"
    assert found["conv2"].text() == "8×8 /2"


def test_a_pooled_cell_of_the_pipeline_sees_a_4x4_patch():
    sample = load_sample(resolve("seed_pipeline"))
    windows = [w for s in sample.stages if (w := stage_window(s.op, s.params)) is not None]
    rows, cols = cell_field((1, 1), windows, sample.input.shape[2:])
    assert rows == (1, 2, 3, 4) and cols == (1, 2, 3, 4)
    rows, cols = cell_field((0, 0), windows, sample.input.shape[2:])
    assert rows == (0, 1, 2) and cols == (0, 1, 2)  # the padding ring is not part of the image


def run_stack(x: np.ndarray, stack: list[tuple[str, Window, np.ndarray | None]]) -> np.ndarray:
    for kind, window, weight in stack:
        if kind == "conv":
            x = ops.conv2d(x, weight, None, window.stride, window.padding, window.dilation)
        elif kind == "avg":
            x = ops.avg_pool2d(x, window.kernel, window.stride, window.padding)
        else:
            x = ops.max_pool2d(x, window.kernel, window.stride, window.padding)
    return x


layer_strategy = st.tuples(
    st.sampled_from(["conv", "conv", "avg", "max"]),
    st.integers(1, 3),  # kernel
    st.integers(1, 2),  # stride
    st.integers(0, 1),  # padding
    st.integers(1, 2),  # dilation (conv only)
)


@settings(max_examples=40, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=3), st.integers(0, 2**31 - 1))
def test_brute_force_one_pixel_at_a_time(layers, seed):
    rng = np.random.default_rng(seed)
    size = 9
    stack, windows, h = [], [], size
    max_pools = 0
    for kind, k, s, p, d in layers:
        if kind != "conv":
            d, p = 1, min(p, k // 2)
        window = Window((k, k), (s, s), (p, p), (d, d))
        out = (h + 2 * p - d * (k - 1) - 1) // s + 1
        if d * (k - 1) + 1 > h + 2 * p or out < 1:
            break
        if kind == "max":
            max_pools += 1
        weight = rng.uniform(0.5, 1.5, (1, 1, k, k)) if kind == "conv" else None
        stack.append((kind, window, weight))
        windows.append(window)
        h = out
    if not stack:
        return
    x = rng.uniform(-1, 1, (1, 1, size, size))
    base = run_stack(x, stack)
    changed = np.zeros((size, size) + base.shape[2:], bool)
    for r in range(size):
        for c in range(size):
            bumped = x.copy()
            # Positive weights: a large bump reaches every output that reads the pixel, max pools included.
            bumped[0, 0, r, c] += 1000.0
            changed[r, c] = run_stack(bumped, stack)[0, 0] != base[0, 0]
    for i in range(base.shape[2]):
        for j in range(base.shape[3]):
            rows, cols = cell_field((i, j), windows, (size, size))
            expected = np.zeros((size, size), bool)
            expected[np.ix_(rows, cols)] = True
            assert (changed[:, :, i, j] == expected).all(), (stack, (i, j))


@pytest.mark.parametrize(
    ("windows", "size"),
    [([Window((3, 3), (1, 1), (1, 1))], (3, 3)), ([Window((3, 3), (1, 1), (0, 0), (2, 2))], (5, 5))],
)
def test_nominal_size_includes_dilation(windows, size):
    assert fields(windows)[-1].size == size
