"""Hypothesis strategies shared by the engine tests: random valid geometries."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from engine.shapes import output_size


@st.composite
def conv_cases(draw):
    """(x (N,C,H,W), weight (O,C,kh,kw), bias (O,) or None, stride, padding, dilation) that fit."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    assume(output_size(h, kh, stride[0], padding[0], dilation[0]) >= 1)
    assume(output_size(w, kw, stride[1], padding[1], dilation[1]) >= 1)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-3, 4, size=(n, c, h, w)).astype(np.float64)
    weight = rng.normal(size=(o, c, kh, kw))
    bias = rng.normal(size=o) if draw(st.booleans()) else None
    return x, weight, bias, stride, padding, dilation


@st.composite
def pool_cases(draw):
    """(x (N,C,H,W), size, stride, padding) valid for PyTorch pooling (padding ≤ size/2)."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, size[0] // 2)), draw(st.integers(0, size[1] // 2)))
    h, w = draw(st.integers(size[0], 9)), draw(st.integers(size[1], 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(n, c, h, w))
    return x, size, stride, padding


@st.composite
def batchnorm_cases(draw):
    """(x (N,C,H,W), gamma, beta, running_mean, running_var (C,), momentum, eps, training)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    training = draw(st.booleans())
    assume(not training or n * h * w >= 2)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(loc=0.5, scale=1.5, size=(n, c, h, w))
    return (
        x,
        rng.normal(size=c),
        rng.normal(size=c),
        rng.normal(size=c),
        rng.uniform(0.5, 2, size=c),
        draw(st.sampled_from([0.1, 0.01, 0.5])),
        draw(st.sampled_from([1e-5, 1e-3])),
        training,
    )
