"""One word for one thing, with the older words still understood."""

from __future__ import annotations

import copy

import numpy as np

from engine import samples
from engine.samples import Stage
from engine.trace import trace_stages


def test_a_convolutions_matrix_is_its_kernel_and_weight_still_reads_it():
    sample = samples.load(samples.resolve("seed_conv"))
    params = sample.stages[0].params
    assert "kernel" in dict(params) and "weight" not in dict(params)  # the TOML key, the trace's key
    assert sample.trace().stages[0].params["kernel"] is not None
    assert params["weight"] is params["kernel"] and "weight" in params and params.get("weight") is params["kernel"]
    params["weight"] = params["kernel"] * 2  # the older name writes the kernel
    assert np.array_equal(params["kernel"], sample.stages[0].params["weight"])
    older = Stage("conv", "conv", {"weight": np.ones((1, 1, 2, 2)), "bias": None})
    assert list(dict(older.params)) == ["kernel", "bias"]
    assert copy.deepcopy(older).params["weight"].shape == (1, 1, 2, 2)
    traced = trace_stages(np.ones((1, 1, 3, 3)), [("conv", "c", {"weight": np.ones((1, 1, 2, 2))})])
    assert traced.output.tolist() == [[[[4, 4], [4, 4]]]]


def test_a_layer_names_its_op_and_its_kernel_size_and_the_older_names_still_read():
    from engine.network import load

    network = load("seed_convnet")
    conv, pool = network.layers[0], network.layers[3]
    assert (conv.op, pool.op) == ("conv", "maxpool") and conv.kind == "conv"
    assert conv.kernel_size == (3, 3) and pool.kernel_size == (2, 2) and conv.kernel == (3, 3)
    row = network.summary()[0]
    assert row.op == "conv" and row.kind == "conv"
    assert [row.op for row in network.summary()] == [layer.op for layer in network.layers]
