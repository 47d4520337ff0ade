"""The teaching path: its steps assemble exactly the vectorised output, and explain it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import batchnorm_cases, conv_cases, pool_cases

from engine import ops
from engine.errors import CnnError
from engine.trace import ConvStep, trace_batchnorm, trace_conv, trace_pool, trace_relu, trace_stages

IMAGE = np.array([[1, 2, 1, 0, 0], [0, 1, 0, 2, 1], [1, 0, 2, 1, 0], [0, 1, 0, 1, 0], [1, 2, 1, 0, 0]], dtype=float)[
    None, None
]
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)[None, None]
FEATURE_MAP = [[6, 3, 5], [0, 7, 2], [6, 3, 4]]


def assembled(stage) -> np.ndarray:
    """Write every step's value at its out_index: what the steps alone say the output is."""
    out = np.full(stage.output.shape, np.nan)
    for step in stage.steps:
        if getattr(step, "phase", "normalize") == "normalize":
            out[step.out_index] = step.value
    return out


def test_lecture_example_nine_dot_products():
    stage = trace_conv(IMAGE, KERNEL)
    assert len(stage) == 9
    assert stage.output[0, 0].tolist() == FEATURE_MAP
    first = stage.steps[0]
    assert first.text == "1·1 + 2·0 + 1·1 + 0·0 + 1·1 + 0·0 + 1·1 + 0·0 + 2·1 = 6"
    assert first.window[:3] == [(0, 0), (0, 1), (0, 2)]
    assert stage.steps[4].out_index == (0, 0, 1, 1) and stage.steps[4].value == 7
    assert stage.formulas == ("⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3",) * 2


def test_stride_two_and_padding_one():
    assert trace_conv(IMAGE, KERNEL, stride=2).output[0, 0].tolist() == [[6, 5], [6, 4]]
    padded = trace_conv(IMAGE, KERNEL, padding=1)
    assert padded.output.shape == (1, 1, 5, 5)
    corner: ConvStep = padded.steps[0]
    assert corner.rows == (-1, 0, 1) and corner.cols == (-1, 0, 1)
    assert corner.values[0, 0].tolist() == [0, 0, 0]  # the padding ring reads as zeros
    assert corner.value == 1 + 0 + 0 + 1  # image[0,0]·1 + image[0,1]·0 ... only in-image taps count


def test_bias_is_in_the_line():
    stage = trace_conv(IMAGE, KERNEL, bias=np.array([-1.5]))
    assert stage.steps[0].text.endswith("+ bias (-1.5) = 4.5")
    assert stage.steps[0].value == 4.5


def test_lecture_batchnorm_numbers():
    x = np.array([2.5, -1.5, 1.5, -0.5, 1.5, -0.5, 0.5, 0.5]).reshape(2, 1, 2, 2)
    stage = trace_batchnorm(x, eps=1e-12)
    mean_end = [s for s in stage.steps if s.phase == "mean"][-1]
    var_end = [s for s in stage.steps if s.phase == "var"][-1]
    assert mean_end.mean == 0.5 and "μ = 4/8 = 0.5" in mean_end.text
    assert var_end.var == 1.5 and "σ² = 12/8 = 1.5" in var_end.text
    np.testing.assert_allclose(stage.output, (x - 0.5) / np.sqrt(1.5), rtol=1e-10)
    assert abs(stage.output.mean()) < 1e-12 and abs(stage.output.std() - 1) < 1e-9
    phases = [s.phase for s in stage.steps]
    assert phases == ["mean"] * 8 + ["var"] * 8 + ["normalize"] * 8 + ["running"] * 2
    np.testing.assert_allclose(stage.params["new_running_var"], [0.9 + 0.1 * 12 / 7])


def test_eval_mode_uses_running_statistics_only():
    x = np.arange(8.0).reshape(2, 1, 2, 2)
    stage = trace_batchnorm(x, training=False, running_mean=[2.0], running_var=[4.0], eps=0.0001)
    assert {s.phase for s in stage.steps} == {"normalize"}
    np.testing.assert_allclose(stage.output, (x - 2) / np.sqrt(4.0001))


def test_pool_steps_mark_the_maximum_and_the_divisor():
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 7, 4]], dtype=float)[None, None]
    max_stage = trace_pool(x, "max", 2)
    assert max_stage.output[0, 0].tolist() == [[6, 5], [3, 7]]
    assert max_stage.steps[0].argmax == (1, 1) and max_stage.steps[0].text == "max(1, 3, 4, 6) = 6"
    avg_stage = trace_pool(x, "avg", 2)
    assert avg_stage.steps[0].text == "(1 + 3 + 4 + 6)/4 = 3.5" and avg_stage.steps[0].divisor == 4


def test_relu_steps():
    stage = trace_relu(np.array([[-2.0, 1.5]])[None, None])
    assert [s.text for s in stage.steps] == ["max(0, -2) = 0", "max(0, 1.5) = 1.5"]


def test_pipeline_feeds_each_stage_the_previous_output():
    trace = trace_stages(
        IMAGE,
        [
            ("conv", "conv", {"kernel": KERNEL, "padding": 1}),
            ("relu", "relu", {}),
            ("pool", "pool", {"mode": "max", "size": 2}),
        ],
    )
    assert trace.stage_starts == (0, 25, 50)
    assert len(trace) == 25 + 25 + 4
    np.testing.assert_array_equal(trace.stages[1].input, trace.stages[0].output)
    assert trace[25].stage == 1 and trace[-1].stage == 2
    expected = ops.max_pool2d(ops.relu(ops.conv2d(IMAGE, KERNEL, padding=1)), 2)
    np.testing.assert_array_equal(trace.output, expected)


def test_too_many_steps_is_refused_with_the_limit():
    with pytest.raises(CnnError, match="limited to 50,000"):
        trace_relu(np.zeros((1, 1, 256, 256)))


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv_steps_assemble_the_vectorised_output(case):
    x, weight, bias, stride, padding, dilation = case
    stage = trace_conv(x, weight, bias, stride, padding, dilation)
    expected = ops.conv2d(x, weight, bias, stride, padding, dilation)
    np.testing.assert_allclose(assembled(stage), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(assembled(stage), stage.output)
    for step in stage.steps[:5]:  # a step's products really are its window times its kernel
        np.testing.assert_array_equal(step.products, step.values * step.kernel)


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_pool_steps_assemble_the_vectorised_output(case):
    x, size, stride, padding = case
    np.testing.assert_array_equal(
        assembled(trace_pool(x, "max", size, stride, padding)), ops.max_pool2d(x, size, stride, padding)
    )
    np.testing.assert_allclose(
        assembled(trace_pool(x, "avg", size, stride, padding)),
        ops.avg_pool2d(x, size, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


@settings(max_examples=60, deadline=None)
@given(batchnorm_cases())
def test_batchnorm_steps_assemble_the_vectorised_output(case):
    x, gamma, beta, mean, var, momentum, eps, training = case
    stage = trace_batchnorm(x, gamma, beta, eps, momentum, training, mean, var)
    running_mean, running_var = mean.copy(), var.copy()
    expected = ops.batch_norm(x, running_mean, running_var, gamma, beta, training, momentum, eps)
    np.testing.assert_allclose(assembled(stage), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(stage.params["new_running_mean"], running_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stage.params["new_running_var"], running_var, rtol=1e-12, atol=1e-12)


def test_steps_are_immutable():
    step = trace_conv(IMAGE, KERNEL).steps[0]
    with pytest.raises(ValueError):
        step.values[0, 0, 0] = 99
    with pytest.raises(AttributeError):
        step.value = 1  # type: ignore[misc]


def test_conv_step_text_formats_each_number_like_term():
    """Numbers are formatted once per trace and reused: the lines are what term() gives, -0 included."""
    from engine.numbers import fmt, term

    x = np.array([[[[0.0, -0.0, 1.5], [-2.25, 1 / 3, 0.0], [7.0, -0.0, 1.5]]]])
    kernel = np.array([[[[-0.0, 1.0], [1 / 3, -2.0]]]])
    stage = trace_conv(x, kernel, [0.5], padding=1)
    for step in stage.steps:
        terms = " + ".join(f"{term(v)}·{term(k)}" for v, k in zip(step.values.flat, step.kernel.flat))
        assert step.text == f"{terms} + bias {term(0.5)} = {fmt(step.value)}"
