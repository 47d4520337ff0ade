"""The vectorised ops and the teaching trace against PyTorch live, in the same process (needs torch:
see the README's live-parity command). test_ops_golden.py holds them to torch's stored numbers everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import batchnorm_cases, conv_cases, pool_cases

from engine import ops
from engine.trace import trace_batchnorm, trace_conv, trace_pool

pytestmark = pytest.mark.torch


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


torch = pytest.importorskip("torch", reason="live PyTorch parity needs torch: pip install -e '.[torch]'")
F = torch.nn.functional


def tensor(a):
    return None if a is None else torch.tensor(a)


@settings(max_examples=50, deadline=None)
@given(conv_cases())
def test_conv_matches_torch(case):
    x, weight, bias, stride, padding, dilation = case
    expected = F.conv2d(tensor(x), tensor(weight), tensor(bias), stride, padding, dilation).numpy()
    close(ops.conv2d(x, weight, bias, stride, padding, dilation), expected)
    close(trace_conv(x, weight, bias, stride, padding, dilation).output, expected)


@settings(max_examples=50, deadline=None)
@given(pool_cases())
def test_pools_match_torch(case):
    x, size, stride, padding = case
    expected_max = F.max_pool2d(tensor(x), size, stride, padding).numpy()
    expected_avg = F.avg_pool2d(tensor(x), size, stride, padding).numpy()
    close(ops.max_pool2d(x, size, stride, padding), expected_max)
    close(trace_pool(x, "max", size, stride, padding).output, expected_max)
    close(ops.avg_pool2d(x, size, stride, padding), expected_avg)
    close(trace_pool(x, "avg", size, stride, padding).output, expected_avg)
    close(
        ops.avg_pool2d(x, size, stride, padding, count_include_pad=False),
        F.avg_pool2d(tensor(x), size, stride, padding, count_include_pad=False).numpy(),
    )


@settings(max_examples=50, deadline=None)
@given(batchnorm_cases())
def test_batchnorm_matches_torch(case):
    x, gamma, beta, mean, var, momentum, eps, training = case
    t_mean, t_var = tensor(mean.copy()), tensor(var.copy())
    expected = F.batch_norm(tensor(x), t_mean, t_var, tensor(gamma), tensor(beta), training, momentum, eps)
    stage = trace_batchnorm(x, gamma, beta, eps, momentum, training, mean, var)
    np.testing.assert_allclose(stage.output, expected.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(stage.params["new_running_mean"], t_mean.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stage.params["new_running_var"], t_var.numpy(), rtol=1e-12, atol=1e-12)
    n_mean, n_var = mean.copy(), var.copy()
    np.testing.assert_allclose(
        ops.batch_norm(x, n_mean, n_var, gamma, beta, training, momentum, eps), expected.numpy(), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_allclose(n_var, t_var.numpy(), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 16, 16)).astype(np.float32)
    weight = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    out = ops.conv2d(x, weight, padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out, F.conv2d(torch.tensor(x), torch.tensor(weight), padding=1).numpy(), rtol=1e-4, atol=1e-5
    )
