"""Edits: each returns a new validated sample, refuses the impossible, and can be undone."""

from __future__ import annotations

import numpy as np
import pytest

from engine import edits, samples
from engine.errors import CnnError


@pytest.fixture
def lecture() -> samples.Sample:
    return samples.load(samples.resolve("seed_conv"))


def test_set_cell_recomputes_and_leaves_the_original(lecture):
    edited = edits.set_cell(lecture, "input", (0, 0, 0, 0), "3")
    assert edited.trace()[0].value == 8
    assert lecture.input[0, 0, 0, 0] == 1
    assert edits.set_cell(lecture, "conv.kernel", (0, 0, 1, 1), "-1/2").stages[0].params["weight"][0, 0, 1, 1] == -0.5


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "-inf", "", "1/0"])
def test_set_cell_refuses_non_numbers(lecture, text):
    with pytest.raises(CnnError):
        edits.set_cell(lecture, "input", (0, 0, 0, 0), text)


def test_sobel_at_stride_two(lecture):
    edited = edits.set_param(edits.apply_kernel_preset(lecture, "conv", "Sobel x"), "conv", "stride", 2)
    # windows at (0,0), (0,2), (2,0), (2,2) of the lecture image under Sobel x
    assert edited.trace().output[0, 0].tolist() == [[1, -1], [1, -3]]


def test_input_channel_grows_the_kernel_channels_too(lecture):
    edited = edits.resize(lecture, "input", "channels", 1)
    assert edited.input.shape == (1, 2, 5, 5)
    assert edited.stages[0].params["weight"].shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(edited.trace().output, lecture.trace().output)  # new channel is zeros


def test_filters_and_bias_follow(lecture):
    with_bias = edits.set_param(lecture, "conv", "bias", 1)
    grown = edits.resize(with_bias, "conv.kernel", "filters", 1)
    assert grown.stages[0].params["bias"].tolist() == [1, 0]
    assert grown.trace().output.shape == (1, 2, 3, 3)
    assert edits.set_param(with_bias, "conv", "bias", None).stages[0].params["bias"] is None


def test_batchnorm_vectors_follow_the_channels():
    pipeline = samples.load(samples.resolve("seed_pipeline"))
    grown = edits.resize(pipeline, "conv.kernel", "filters", 1)
    params = grown.stages[1].params
    assert params["gamma"].tolist() == [1, 1, 1] and params["running_var"].tolist() == [1, 1, 1]
    assert grown.trace().output.shape == (2, 3, 3, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda s: edits.resize(s, "conv.kernel", "rows", 3),
            "kernel height 6 (dilated span 6) is larger than the padded input height 5",
        ),
        (
            lambda s: edits.resize(s, "input", "cols", -3),
            "kernel width 3 (dilated span 3) is larger than the padded input width 2",
        ),
        (lambda s: edits.resize(s, "conv.kernel", "rows", -3), "cannot remove the last row"),
        (lambda s: edits.resize(s, "conv.kernel", "batch", 1), "cannot change batch here"),
        (lambda s: edits.resize(s, "input", "rows", 300), "at most 64 rows"),
        (lambda s: edits.set_param(s, "conv", "stride", 0), "stride must be at least 1, got 0"),
        (lambda s: edits.set_param(s, "conv", "padding", -1), "padding must be at least 0"),
        (lambda s: edits.set_param(s, "conv", "dilation", 3), "dilated span 7"),
        (lambda s: edits.set_param(s, "cnv", "stride", 2), "no stage 'cnv' (did you mean \"conv\"?)"),
        (lambda s: edits.apply_kernel_preset(s, "conv", "sobel"), "unknown kernel preset"),
    ],
)
def test_impossible_edits_are_refused_with_the_reason(lecture, call, message):
    with pytest.raises(CnnError, match=None) as error:
        call(lecture)
    assert message in str(error.value)


def test_pool_and_batchnorm_parameters():
    pool = samples.load(samples.resolve("max_pool"))
    assert edits.set_param(pool, "pool", "mode", "avg").trace().output[0, 0].tolist() == [[3.5, 2], [1.5, 3.5]]
    with pytest.raises(CnnError, match='mode must be "max" or "avg"'):
        edits.set_param(pool, "pool", "mode", "min")
    bn = samples.load(samples.resolve("seed_batchnorm"))
    evaluated = edits.set_param(bn, "batchnorm", "training", False)
    assert {s.phase for s in evaluated.trace()} == {"normalize"}
    with pytest.raises(CnnError, match="eps must be a small positive number"):
        edits.set_param(bn, "batchnorm", "eps", -1.0)
    with pytest.raises(CnnError, match="cannot be negative"):
        edits.set_cell(bn, "batchnorm.running_var", (0,), "-1")


def test_input_presets_and_matrix_files(lecture, tmp_path):
    assert edits.apply_input_preset(lecture, "digit 7").input.shape == (1, 1, 7, 7)
    random_a = edits.apply_input_preset(lecture, "random integers", seed=3)
    random_b = edits.apply_input_preset(lecture, "random integers", seed=3)
    np.testing.assert_array_equal(random_a.input, random_b.input)
    assert edits.apply_input_preset(lecture, "zeros").trace().output.sum() == 0
    (tmp_path / "k.csv").write_text("0,1,0\n1,-4,1\n0,1,0\n")
    loaded = edits.load_matrix(lecture, "conv.kernel", tmp_path / "k.csv")
    assert loaded.stages[0].params["weight"][0, 0].tolist() == edits.KERNEL_PRESETS["Laplacian"]
    with pytest.raises(CnnError, match="not found"):
        edits.load_matrix(lecture, "input", tmp_path / "missing.npy")


def test_edited_sample_round_trips_through_save(lecture, tmp_path):
    edited = edits.set_param(edits.resize(lecture, "input", "batch", 1), "conv", "padding", [1, 0])
    again = samples.load(samples.save(edited, tmp_path / "edited.toml"))
    np.testing.assert_array_equal(again.input, edited.input)
    assert again.stages[0].params["padding"] == (1, 0)
    np.testing.assert_array_equal(again.trace().output, edited.trace().output)


def test_history_undo_redo_and_dirty(lecture):
    history = edits.History.start(lecture)
    assert not history.dirty and history.undo() is None
    one = history.push(edits.set_cell(lecture, "input", (0, 0, 0, 0), "5"))
    two = history.push(edits.set_cell(one, "input", (0, 0, 0, 1), "5"))
    assert history.dirty
    assert history.undo() is one and history.undo() is lecture and not history.dirty
    assert history.redo() is one and history.redo() is two and history.redo() is None
    history.mark_saved()
    history.undo()
    history.push(edits.set_cell(one, "input", (0, 0, 1, 1), "9"))  # drops the saved state's branch
    assert history.dirty
    history.undo()
    assert history.dirty  # `one` was never saved


def test_set_params_validates_the_changes_together():
    # Kernel 3x3 on the 5x5 image: padding 1 with dilation 3 fits (span 7 ≤ 7), either alone does not.
    lecture = samples.load(samples.resolve("seed_conv"))
    with pytest.raises(CnnError, match="dilated span 7"):
        edits.set_param(lecture, "conv", "dilation", 3)
    edited = edits.set_params(lecture, "conv", {"padding": 1, "dilation": 3, "stride": [1, 2]})
    params = edited.stages[0].params
    assert (params["padding"], params["dilation"], params["stride"]) == ((1, 1), (3, 3), (1, 2))
    assert edited.trace().output.shape == (1, 1, 1, 1)
    assert lecture.stages[0].params["dilation"] == (1, 1)  # the original is untouched


def test_step_param_moves_height_and_width_and_names_what_is_valid(lecture):
    wider = edits.step_param(lecture, "conv", "padding", 1)
    assert wider.stages[0].params["padding"] == (1, 1) and lecture.stages[0].params["padding"] == (0, 0)
    assert edits.describe(edits.step_param(lecture, "conv", "stride", 1), "conv", "stride") == "conv: stride 2"
    with pytest.raises(CnnError, match="conv.stride must be at least 1"):
        edits.step_param(lecture, "conv", "stride", -1)
    with pytest.raises(CnnError, match=r"has no size \(valid here: stride, padding, dilation\)"):
        edits.step_param(lecture, "conv", "size", 1)


def test_nudge_multiplies_eps_and_adds_to_momentum():
    bn = samples.load(samples.resolve("seed_batchnorm"))
    eps = bn.stages[0].params["eps"]
    assert edits.nudge(bn, "batchnorm", "eps", 10).stages[0].params["eps"] == eps * 10
    moved = edits.nudge(edits.nudge(bn, "batchnorm", "momentum", 0.1), "batchnorm", "momentum", 0.1)
    assert moved.stages[0].params["momentum"] == 0.3  # rounded: not 0.30000000000000004
    with pytest.raises(CnnError, match="momentum must be between 0 and 1"):
        edits.nudge(bn, "batchnorm", "momentum", -0.2)
    with pytest.raises(CnnError, match="not batch norm"):
        edits.nudge(samples.load(samples.resolve("seed_conv")), "conv", "eps", 10)


def test_toggles_of_mode_and_bias(lecture):
    pool = samples.load(samples.resolve("max_pool"))
    name = pool.stages[0].name
    assert edits.toggle_mode(pool, name).stages[0].params["mode"] == "avg"
    assert edits.toggle_mode(edits.toggle_mode(pool, name), name).stages[0].params["mode"] == "max"
    bn = samples.load(samples.resolve("seed_batchnorm"))
    evaluated = edits.toggle_mode(bn, "batchnorm")
    assert evaluated.stages[0].params["training"] is False
    assert edits.describe(evaluated, "batchnorm", "training") == "batchnorm: eval"
    with pytest.raises(CnnError, match="has no mode"):
        edits.toggle_mode(lecture, "conv")
    biased = edits.toggle_bias(lecture, "conv")
    assert biased.stages[0].params["bias"].tolist() == [0.0]
    assert edits.toggle_bias(biased, "conv").stages[0].params.get("bias") is None


def test_set_text_changes_title_and_description_and_refuses_an_empty_title(lecture):
    renamed = edits.set_text(lecture, "  Stride 2\n on the  5x5 ", " why \n")
    assert (renamed.title, renamed.description) == ("Stride 2 on the 5x5", "why")
    assert lecture.title != renamed.title
    with pytest.raises(CnnError, match="needs a title"):
        edits.set_text(lecture, " \n ", "")
    with pytest.raises(CnnError, match="at most 200"):
        edits.set_text(lecture, "x" * 201, "")
