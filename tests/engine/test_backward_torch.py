"""The backward pass against PyTorch autograd live, in the same process (needs torch: see the README's
live-parity command). test_backward_trace.py holds it to torch's stored numbers everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from backward_cases import backward_samples, ties_are_safe
from hypothesis import assume, given, settings

from engine import samples
from engine.backward import gradients, updated

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch", reason="live PyTorch parity needs torch: pip install -e '.[torch]'")

from make_backward_golden import torch_reference  # noqa: E402  (imports torch)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)  # atol: sums that are 0 exactly leave ~1e-12 of float dust


@settings(max_examples=80, deadline=None)
@given(backward_samples())
def test_every_gradient_matches_autograd(sample):
    assume(ties_are_safe(sample))
    trace = sample.trace()
    expected, expected_new = torch_reference(sample)
    ours = gradients(trace)
    assert set(ours) == set(expected)
    for name, value in expected.items():
        close(ours[name], value)
    new = updated(trace)
    assert set(new) == set(expected_new)
    for name, value in expected_new.items():
        close(new[name], value)


@pytest.mark.parametrize(
    "name", ["seed_conv_backward", "max_pool_backward", "seed_batchnorm_backward", "seed_block_backward"]
)
def test_shipped_backward_samples_match_autograd(name):
    sample = samples.load(samples.resolve(name))
    expected, expected_new = torch_reference(sample)
    trace = sample.trace()
    for key, value in expected.items():
        close(gradients(trace)[key], value)
    for key, value in expected_new.items():
        close(updated(trace)[key], value)
