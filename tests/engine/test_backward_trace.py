"""The backward pass on the teaching path: the lecture's numbers by hand, PyTorch's stored numbers
(golden/backward.npz, made by make_backward_golden.py), the batch path's backward on the same numbers,
the sample keys and their refusals, and `cnn-tui trace`'s gradients."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from backward_cases import backward_samples, batch_reference, ties_are_safe
from hypothesis import assume, given, settings

from engine import samples
from engine.backward import InputGradStep, PoolGradStep, WeightGradStep, forward_output, gradients, updated
from engine.errors import CnnError

GOLDEN = np.load(Path(__file__).parent / "golden" / "backward.npz")
CASES = sorted({key.split("|")[0] for key in GOLDEN.files})


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)  # atol: sums that are 0 exactly leave ~1e-12 of float dust


def test_lecture_example_by_hand():
    """The 5x5 image, the 3x3 kernel, stride 1, bias 0, the loss the sum of the 3x3 feature map (dY all ones).

    dW[a, b] is the sum of the 3x3 input block under tap (a, b):
      dW[0, 0] = 1+2+1 + 0+1+0 + 1+0+2 = 8,  dW[0, 1] = 2+1+0 + 1+0+2 + 0+2+1 = 9,  dW[0, 2] = 7,
      dW[1, 0] = 5, dW[1, 1] = 8, dW[1, 2] = 7, dW[2, 0] = 8, dW[2, 1] = 8, dW[2, 2] = 5.
    dbias = the sum of the nine ones of dY = 9.
    dX[h, w] = the sum of the kernel entries K[h − i, w − j] over the windows (i, j) covering (h, w); the rows
    of K that reach row h are {0}, {0,1}, {0,1,2}, {1,2}, {2}, so with K's column sums [1, 1, 1] (rows 0+1 or
    1+2), [1, 0, 1] (row 0 or 2) and [2, 1, 2] (all rows): row 0 = [1, 1, 2, 1, 1], row 1 = [1, 2, 3, 2, 1],
    row 2 = [2, 3, 5, 3, 2], row 3 = row 1, row 4 = row 0.
    """
    trace = samples.load(samples.resolve("seed_conv_backward")).trace()
    grads = gradients(trace)
    assert grads["conv.weight"][0, 0].tolist() == [[8, 9, 7], [5, 8, 7], [8, 8, 5]]
    assert grads["conv.bias"].tolist() == [9]
    assert grads["input"][0, 0].tolist() == [
        [1, 1, 2, 1, 1],
        [1, 2, 3, 2, 1],
        [2, 3, 5, 3, 2],
        [1, 2, 3, 2, 1],
        [1, 1, 2, 1, 1],
    ]
    names = [stage.name for stage in trace.stages]
    assert names == ["conv", "conv.weight", "conv.bias", "input"]
    first_dw = trace.stages[1].steps[0]
    assert isinstance(first_dw, WeightGradStep)
    assert first_dw.rows == (0, 1, 2) and first_dw.cols == (0, 1, 2)
    assert first_dw.text == "dw = 1·1 + 2·1 + 1·1 + 0·1 + 1·1 + 0·1 + 1·1 + 0·1 + 2·1 = 8"
    centre = trace.stages[3].steps[12]  # dX[2, 2]: the whole flipped kernel over ones
    assert isinstance(centre, InputGradStep)
    assert centre.out_index == (0, 0, 2, 2) and centre.value == 5
    assert centre.kernel[0].tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    # The padded dY is the 3x3 ones in a ring of 2 zeros: the corner window sees one 1.
    assert trace.stages[3].params["padded_upstream"][0, 0].sum() == 9
    assert trace.stages[3].steps[0].values[0].tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_max_pool_routes_to_the_maximum():
    trace = samples.load(samples.resolve("max_pool_backward")).trace()
    dx = gradients(trace)["input"][0, 0]
    # The maxima 6, 5, 3, 7 of the four windows receive dY 1, 2, 3, 4; every other cell 0.
    assert dx.tolist() == [[0, 0, 0, 0], [0, 1, 2, 0], [3, 0, 0, 0], [0, 0, 4, 0]]
    step = trace.stages[1].steps[5]
    assert isinstance(step, PoolGradStep)
    assert step.routed == ((0, 0),) and step.text.startswith("dx = dY[0, 0] = 1")


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_pytorch_golden(case):
    sample = samples.parse(tomllib.loads(str(GOLDEN[f"{case}|toml"])), case)
    trace = sample.trace()
    grads, new = gradients(trace), updated(trace)
    stored = {key.split("|")[2]: GOLDEN[key] for key in GOLDEN.files if key.startswith(f"{case}|grad|")}
    assert set(grads) == set(stored)
    for name, value in stored.items():
        close(grads[name], value)
    stored_new = {key.split("|")[2]: GOLDEN[key] for key in GOLDEN.files if key.startswith(f"{case}|updated|")}
    assert set(new) == set(stored_new)
    for name, value in stored_new.items():
        close(new[name], value)


@pytest.mark.parametrize("case", CASES)
def test_batch_path_agrees_on_the_golden_cases(case):
    sample = samples.parse(tomllib.loads(str(GOLDEN[f"{case}|toml"])), case)
    trace = sample.trace()
    grads, new = batch_reference(sample)
    for name, value in gradients(trace).items():
        close(value, grads[name])
    for name, value in updated(trace).items():
        close(value, new[name])


@settings(max_examples=60, deadline=None)
@given(backward_samples())
def test_batch_path_agrees(sample):
    assume(ties_are_safe(sample))
    trace = sample.trace()
    assert samples.work(sample)[0] == sum(len(stage.steps) for stage in trace.stages)  # the limit counts them all
    grads, new = batch_reference(sample)
    ours = gradients(trace)
    assert set(ours) == set(grads)
    for name, value in ours.items():
        close(value, grads[name])
    for name, value in updated(trace).items():
        close(value, new[name])
    # Every step's value, written at its out_index, gives the stage's gradient.
    for stage in trace.stages[len(sample.stages) :]:
        rebuilt = np.zeros_like(stage.output)
        for step in stage.steps:
            rebuilt[step.out_index] = step.value
        close(rebuilt, stage.output)


def test_backward_samples_round_trip(tmp_path):
    for name in ("seed_conv_backward", "max_pool_backward", "seed_batchnorm_backward", "seed_block_backward"):
        sample = samples.load(samples.resolve(name))
        saved = samples.save(sample, tmp_path / f"{name}.toml")
        again = samples.load(saved)
        assert again.backward is not None
        for key, value in gradients(sample.trace()).items():
            close(gradients(again.trace())[key], value)
        close(forward_output(again.trace()), forward_output(sample.trace()))


def test_single_batchnorm_momentum_stays_the_batch_norms():
    sample = samples.load(samples.resolve("seed_batchnorm_backward"))
    assert sample.stages[0].params["momentum"] == 0.1
    assert sample.backward.lr is None and sample.backward.momentum == 0


BASE = {"title": "t", "op": "conv", "input": [[1, 2, 0], [0, 1, 2], [2, 1, 0]], "kernel": [[1, 0], [0, 1]]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"grad_output": [[1, 1], [1, 1]]}, "grad_output needs backward = true"),
        ({"backward": "yes"}, 'backward must be true or false, got "yes"'),
        ({"backward": True, "grad_output": [[1, 1, 1], [1, 1, 1]]}, "must have the last stage's output shape"),
        ({"backward": True, "grad_output": [[1, 1], [1, 1]], "loss": "cross_entropy", "labels": [0]}, "not both"),
        ({"backward": True, "loss": "mse"}, 'loss must be "cross_entropy", got "mse"'),
        ({"backward": True, "loss": "cross_entropy"}, "needs labels"),
        ({"backward": True, "loss": "cross_entropy", "labels": [4]}, "4 is not a class index 0..3"),
        ({"backward": True, "loss": "cross_entropy", "labels": [0, 1]}, "one class index per image (1), got 2"),
        ({"backward": True, "loss": "cross_entropy", "labels": [True]}, "must be a list of class indices"),
        ({"backward": True, "labels": [0]}, 'labels needs loss = "cross_entropy"'),
        ({"backward": True, "lr": 0}, "lr must be a positive learning rate"),
        ({"backward": True, "momentum": 0.9}, "momentum needs lr"),
        ({"backward": True, "lr": 0.1, "momentum": 1}, "momentum must be in [0, 1)"),
        ({"backward": True, "lr": 0.1, "weight_decay": -1}, "weight_decay must be 0 or more"),
    ],
)
def test_bad_backward_keys(extra, message):
    with pytest.raises(CnnError) as error:
        samples.parse(BASE | extra, "bad.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("bad.toml")
    assert "\n" not in str(error.value)


def test_lr_without_parameters_is_refused():
    data = {"title": "t", "op": ["relu", "pool"], "input": [[1, -2], [0, 3]], "backward": True, "lr": 0.1}
    with pytest.raises(CnnError, match="lr has nothing to update"):
        samples.parse(data, "bad.toml")


def test_trace_json_has_gradients_and_updated(capsys):
    from tui.cli import main

    assert main(["trace", "seed_block_backward", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    trace = samples.load(samples.resolve("seed_block_backward")).trace()
    assert set(data["gradients"]) == set(gradients(trace))
    assert {"conv.weight", "conv.bias", "batchnorm.weight", "batchnorm.bias", "input"} <= set(data["gradients"])
    close(np.array(data["updated"]["conv.weight"]), updated(trace)["conv.weight"])
    close(np.array(data["output"]), forward_output(trace))
    assert [s["op"] for s in data["stages"]][4:6] == ["cross_entropy", "pool_dinput"]
    assert main(["trace", "seed_conv", "--format", "json"]) == 0
    assert "gradients" not in json.loads(capsys.readouterr().out)


def test_trace_text_prints_backward_steps(capsys):
    from tui.cli import main

    assert main(["trace", "seed_conv_backward"]) == 0
    out = capsys.readouterr().out
    assert "conv.weight gradient" in out
    assert "dbias = Σ dY = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 = 9" in out
    assert main(["trace", "seed_block_backward", "--format", "markdown"]) == 0
    assert "conv.weight updated by SGD" in capsys.readouterr().out


def test_edits_keep_the_backward_pass():
    from engine import edits

    sample = samples.load(samples.resolve("seed_conv_backward"))
    edited = edits.set_cell(sample, "input", (0, 0, 0, 0), "3")  # 1 -> 3 under tap (0, 0) only
    assert gradients(edited.trace())["conv.weight"][0, 0, 0, 0] == 10
    pooled = samples.load(samples.resolve("max_pool_backward"))
    grown = edits.resize(pooled, "input", "rows", 2)  # the output grows: grad_output no longer fits
    with pytest.raises(CnnError, match="grad_output has shape"):
        grown.trace()


def test_the_step_limit_counts_the_backward_stages_too(tmp_path):
    """A ReLU over 8 maps of 64×64: 32,768 forward steps fit the 50,000 of a trace, but not with
    the backward's 32,768 more; without backward = true the same sample loads."""
    rng = np.random.default_rng(0)
    text = f'title = "big"\nop = "relu"\ninput = {rng.integers(-2, 3, (8, 64, 64)).tolist()}\n'
    forward_only = tmp_path / "forward.toml"
    forward_only.write_text(text)
    assert samples.work(samples.load(forward_only))[0] == 32_768
    both = tmp_path / "both.toml"
    both.write_text("backward = true\n" + text)
    with pytest.raises(CnnError, match="would take 65,536 steps; the step-by-step view is limited to 50,000"):
        samples.load(both)
