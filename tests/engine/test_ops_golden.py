"""The vectorised ops and the teaching trace against committed fixtures made by PyTorch
(make_golden.py): these run everywhere, torch or not. The live comparison is test_ops_torch.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import ops
from engine.trace import trace_batchnorm, trace_conv, trace_pool, trace_relu

GOLDEN = np.load(Path(__file__).parent / "golden" / "ops.npz")


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_golden_conv():
    g = GOLDEN
    args = (g["conv.x"], g["conv.weight"], g["conv.bias"], (2, 1), (1, 2), (1, 2))
    close(ops.conv2d(*args), g["conv.out"])
    close(trace_conv(*args).output, g["conv.out"])


def test_golden_pools():
    x = GOLDEN["conv.x"]
    close(ops.max_pool2d(x, (3, 2), (2, 1), (1, 1)), GOLDEN["maxpool.out"])
    close(trace_pool(x, "max", (3, 2), (2, 1), (1, 1)).output, GOLDEN["maxpool.out"])
    close(ops.avg_pool2d(x, 3, 2, 1), GOLDEN["avgpool.out"])
    close(trace_pool(x, "avg", 3, 2, 1).output, GOLDEN["avgpool.out"])
    close(ops.avg_pool2d(x, 3, 2, 1, count_include_pad=False), GOLDEN["avgpool_nopad.out"])


@pytest.mark.parametrize("training", [False, True])
def test_golden_batchnorm(training):
    g, mode = GOLDEN, "train" if training else "eval"
    mean, var = g["bn.running_mean"].copy(), g["bn.running_var"].copy()
    out = ops.batch_norm(g["conv.x"], mean, var, g["bn.gamma"], g["bn.beta"], training, 0.1, 1e-5)
    close(out, g[f"bn.{mode}.out"])
    stage = trace_batchnorm(
        g["conv.x"], g["bn.gamma"], g["bn.beta"], 1e-5, 0.1, training, g["bn.running_mean"], g["bn.running_var"]
    )
    close(stage.output, g[f"bn.{mode}.out"])
    if training:
        close(mean, g["bn.train.running_mean"])
        close(var, g["bn.train.running_var"])
        close(stage.params["new_running_mean"], g["bn.train.running_mean"])
        close(stage.params["new_running_var"], g["bn.train.running_var"])


def test_golden_relu():
    close(ops.relu(GOLDEN["conv.x"]), GOLDEN["relu.out"])
    close(trace_relu(GOLDEN["conv.x"]).output, GOLDEN["relu.out"])
