"""Pilot tests of edit mode: cells, shapes, parameters, presets, undo/redo, files and the unsaved prompt."""

from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest
from textual.widgets import Input, OptionList, Select

from engine import samples
from tests.tui.conftest import make_app
from tests.tui.test_stepper import SIZE, grid, line, record_notifications, stepper, until
from tui.app import CnnApp
from tui.screens.dialogs import ChoiceDialog, SamplePicker, TextDialog, TitleDialog
from tui.screens.params import ParamsDialog
from tui.screens.stepper import StepperScreen
from tui.widgets.entry import CellEntry

#: What each app has notified in a test (recorded through the public App.notify).
SAID: dict[int, list[str]] = {}


@pytest.fixture(autouse=True)
def record_every_notification(monkeypatch):
    notify = CnnApp.notify

    def recording(self, message, **options):
        SAID.setdefault(id(self), []).append(str(message))
        return notify(self, message, **options)

    monkeypatch.setattr(CnnApp, "notify", recording)
    yield
    SAID.clear()


def messages(app) -> list[str]:
    return SAID.get(id(app), [])


def kernel(app) -> list[list[float]]:
    return stepper(app).sample.stages[0].params["weight"][0, 0].tolist()


async def choose(pilot, app, value: str) -> None:
    """Pick the choice `value` in the open ChoiceDialog."""
    dialog = app.screen
    assert isinstance(dialog, ChoiceDialog)
    options = dialog.query_one(OptionList)
    options.highlighted = [v for v, _ in dialog.choices].index(value)
    await pilot.press("enter")
    await pilot.pause()


async def answer(pilot, app, text: str) -> None:
    """Type text into the open TextDialog and press Enter."""
    assert isinstance(app.screen, TextDialog)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def retitle(pilot, app, title: str | None = None) -> None:
    """Answer the title dialog that saving an edited sample opens: a new title, or Enter keeps it."""
    await until(pilot, lambda: isinstance(app.screen, TitleDialog))
    if title is not None:
        app.screen.query_one("#sample-title", Input).value = title
    await pilot.press("enter")
    await pilot.pause()


def app_on_copy(tmp_path, name: str = "seed_conv") -> CnnApp:
    """An app on a copy of a shipped sample (so it can be saved in place)."""
    path = tmp_path / f"{name}.toml"
    shutil.copy(samples.resolve(name), path)
    sample = samples.load(path)
    return CnnApp(sample, sample.trace())


async def test_edit_mode_shows_the_cursor_and_keeps_the_stepping_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        assert stepper(app).editing and grid(app, "input").cursor == (0, 0)
        await pilot.press("right", "down", "down")
        assert grid(app, "input").cursor == (2, 1)
        assert stepper(app).index == 0  # the arrows move the cursor, not the step
        await pilot.press("space", "l")
        assert stepper(app).index == 2  # Space and l still step
        await pilot.press("h")
        assert stepper(app).index == 1
        await pilot.press("tab")
        assert grid(app, "kernel").cursor == (2, 1) and grid(app, "input").cursor is None
        await pilot.press("escape")
        assert not stepper(app).editing and grid(app, "kernel").cursor is None
        await pilot.press("right")
        assert stepper(app).index == 2


async def test_typing_a_number_sets_the_cell_and_recomputes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "right", "right")  # step 5: output (1, 1)
        await pilot.press("e", "3", "enter")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 0] == 3
        assert stepper(app).trace[0].value == 8  # 6 + (3 − 1)·1
        assert stepper(app).index == 4  # the same step: it still exists
        assert grid(app, "input").cursor == (0, 1)  # Enter moves on, like a spreadsheet
        assert stepper(app).history.dirty
        assert (
            stepper(app)
            .query_one("#title")
            .render()
            .plain.startswith("● unsaved edits, title from before them (T edits it) · ")
        )  # seen at 80 columns too
        await pilot.press("-", "1", ".", "5", "enter")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 1] == -1.5


async def test_enter_opens_the_cell_value_and_escape_keeps_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "down", "right", "enter")
        entry = stepper(app).query_one(CellEntry)
        assert entry.display and entry.value == "1"
        await pilot.press("9", "escape")
        await pilot.pause()
        assert not entry.display and stepper(app).sample.input[0, 0, 1, 1] == 1
        assert not stepper(app).history.dirty and stepper(app).editing


async def test_delete_sets_zero():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "delete")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 0] == 0
        assert line(app).endswith("= 5")


async def test_bad_text_is_refused_and_the_old_value_stays():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "1", "x", "enter")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 0] == 1
        assert any("'1x' is not a number" in m for m in messages(app))
        assert not stepper(app).history.dirty


async def test_sobel_x_at_stride_two():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "tab", "k")
        await choose(pilot, app, "Sobel x")
        assert kernel(app) == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
        await pilot.press("s", "end")
        await pilot.pause()
        assert grid(app, "output").rows_text() == [["1", "-1"], ["1", "-3"]]
        assert stepper(app).sample.stages[0].params["stride"] == (2, 2)


async def test_a_shrunken_output_keeps_the_nearest_step():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "e", "s")  # output (2, 2) is gone at stride 2
        await pilot.pause()
        assert stepper(app).index == 3 and "output (1, 1)" in stepper(app).panel.position()


async def test_shape_edits_and_the_impossible_one():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "r", "c")
        await pilot.pause()
        assert stepper(app).sample.input.shape == (1, 1, 6, 6)
        await pilot.press("R", "n", "b")
        await pilot.pause()
        assert stepper(app).sample.input.shape == (2, 2, 5, 6)
        assert stepper(app).sample.stages[0].params["weight"].shape == (1, 2, 3, 3)  # the kernel follows
        await pilot.press("N", "B", "C", "tab", "f")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["weight"].shape == (2, 1, 3, 3)
        await pilot.press("F", "r", "r", "r")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["weight"].shape == (1, 1, 5, 3)
        assert any(
            "is larger than the padded input height 5 + 2·0 = 5: ⌊(5 + 2·0 − 1·(6−1) − 1)/1⌋ + 1 = 0" in m
            for m in messages(app)
        )


async def test_parameter_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "a", "d", "x")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert (params["padding"], params["dilation"]) == ((1, 1), (2, 2))
        assert params["bias"].tolist() == [0]
        await pilot.press("S")
        await pilot.pause()
        assert any("stride must be at least 1" in m for m in messages(app))
        await pilot.press("A", "D", "x")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert (params["padding"], params["dilation"], params["bias"]) == ((0, 0), (1, 1), None)


async def test_pool_and_batch_norm_keys():
    app = make_app("max_pool")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "m", "Z")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert params["mode"] == "avg" and params["size"] == (1, 1)
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "m")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["training"] is False


async def test_batch_norm_batch_and_vectors_take_the_cursor():
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        batch = stepper(app).sample.input.shape[0]
        await pilot.press("e", *["tab"] * batch)  # past the batch's images: γ
        await pilot.press("2", "enter")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["gamma"].tolist() == [2]
        await pilot.press("tab", "1", "enter")  # β
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["beta"].tolist() == [1]
        await pilot.press("shift+tab", "shift+tab", "4", "enter")  # the last image of the batch
        await pilot.pause()
        assert stepper(app).sample.input[batch - 1, 0, 0, 0] == 4


async def test_parameter_panel_sets_height_and_width_apart():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        dialog = app.screen
        assert isinstance(dialog, ParamsDialog)
        dialog.query_one("#stride-h", Input).value = "2"
        dialog.query_one("#padding-w", Input).value = "1"
        dialog.query_one("#bias", Input).value = "0.5"
        dialog.query_one("#stride-h", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert (params["stride"], params["padding"], params["bias"].tolist()) == ((2, 1), (0, 1), [0.5])
        assert stepper(app).trace.output.shape == (1, 1, 2, 5)


async def test_parameter_panel_refuses_and_stays_open():
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        dialog = app.screen
        dialog.query_one("#momentum", Input).value = "2"
        dialog.query_one("#eps", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        assert any("momentum must be between 0 and 1, got 2" in m for m in messages(app))
        dialog.query_one("#momentum", Input).value = "0.5"
        dialog.query_one(Select).value = False
        await pilot.press("enter")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert (params["momentum"], params["training"]) == (0.5, False)


async def test_input_preset():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "i")
        await choose(pilot, app, "digit 7")
        assert stepper(app).sample.input.shape == (1, 1, 7, 7)
        assert stepper(app).sample.input[0, 0, 1, 1] == 8


async def test_undo_and_redo():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "5", "enter", "s")
        await pilot.pause()
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["stride"] == (1, 1)
        assert stepper(app).sample.input[0, 0, 0, 0] == 5
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 0] == 1 and not stepper(app).history.dirty
        await pilot.press("ctrl+z")
        assert "nothing to undo" in messages(app)
        await pilot.press("ctrl+y", "ctrl+y")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["stride"] == (2, 2)
        assert stepper(app).sample.input[0, 0, 0, 0] == 5


async def test_save_and_load_round_trip(tmp_path):
    app = app_on_copy(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "tab", "k")
        await choose(pilot, app, "Sobel y")
        await pilot.press("s", "ctrl+s")
        await retitle(pilot, app, "Sobel y at stride 2")
        assert not stepper(app).history.dirty
        edited = stepper(app).sample
    loaded = samples.load(tmp_path / "seed_conv.toml")
    assert loaded.title == "Sobel y at stride 2"
    assert np.array_equal(loaded.stages[0].params["weight"], edited.stages[0].params["weight"])
    assert loaded.stages[0].params["stride"] == (2, 2)
    assert np.array_equal(loaded.trace().output, edited.trace().output)


async def test_a_shipped_sample_is_saved_under_a_new_path(tmp_path):
    shipped = samples.resolve("seed_conv")
    before = shipped.read_text()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "7", "enter", "ctrl+s")
        await retitle(pilot, app)  # Enter keeps the title
        assert isinstance(app.screen, TextDialog)  # asks for a new path
        await answer(pilot, app, str(tmp_path / "mine"))
        assert stepper(app).path == tmp_path / "mine.toml"
        assert not stepper(app).history.dirty and "mine.toml" in stepper(app).title_text()
        await pilot.press("8", "enter", "ctrl+s")  # now saves in place: no path asked, only the title
        await retitle(pilot, app)
        assert not isinstance(app.screen, TextDialog) and not stepper(app).history.dirty
    assert shipped.read_text() == before
    assert samples.load(tmp_path / "mine.toml").input[0, 0, 0, :2].tolist() == [7, 8]


async def test_save_as(tmp_path):
    app = app_on_copy(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("W")  # no edits: no title question
        await answer(pilot, app, str(tmp_path / "copy.toml"))
        assert stepper(app).path == tmp_path / "copy.toml"
    assert samples.dumps(samples.load(tmp_path / "copy.toml")) == samples.dumps(
        samples.load(tmp_path / "seed_conv.toml")
    )


async def test_save_as_after_edits_saves_the_edited_sample_with_its_new_title(tmp_path):
    app = app_on_copy(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "s", "escape")
        assert "title from before them (T edits it)" in stepper(app).title_text()
        await pilot.press("W")
        await retitle(pilot, app, "The lecture's 5x5 image under its 3x3 kernel, stride 2")
        await answer(pilot, app, str(tmp_path / "copy.toml"))
        expected = samples.dumps(stepper(app).sample)
        assert "title from before" not in stepper(app).title_text() and not stepper(app).history.dirty
    saved = samples.load(tmp_path / "copy.toml")
    assert samples.dumps(saved) == expected and saved.stages[0].params["stride"] == (2, 2)
    assert saved.title.endswith("stride 2")


async def test_t_edits_the_title_and_description_as_an_undoable_edit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("T")
        assert isinstance(app.screen, TitleDialog)
        assert app.screen.query_one("#sample-title", Input).region.height == 3  # not the title line's style
        app.screen.query_one("#sample-description", Input).value = "My own words."
        await retitle(pilot, app, "My 5x5 example")
        assert (stepper(app).sample.title, stepper(app).sample.description) == ("My 5x5 example", "My own words.")
        assert stepper(app).title_text() == "● unsaved edits · My 5x5 example  [seed_conv.toml]"
        await pilot.press("T")
        await retitle(pilot, app, "  ")
        assert stepper(app).sample.title == "My 5x5 example"  # refused: a title cannot be empty
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert stepper(app).sample.title.startswith("The lecture's 5x5 image")


async def test_escape_in_the_title_question_cancels_the_save(tmp_path):
    app = app_on_copy(tmp_path)
    before = (tmp_path / "seed_conv.toml").read_text()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "s", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, TitleDialog))
        await pilot.press("escape")
        await pilot.pause()
        assert stepper(app).history.dirty
    assert (tmp_path / "seed_conv.toml").read_text() == before


async def test_quit_with_unsaved_edits_asks_first(tmp_path):
    app = app_on_copy(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "4", "enter", "escape", "q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await choose(pilot, app, "cancel")
        assert isinstance(app.screen, type(stepper(app))) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await choose(pilot, app, "save")
        await retitle(pilot, app)
        await until(pilot, lambda: not app.is_running)
        assert not app.is_running
    assert samples.load(tmp_path / "seed_conv.toml").input[0, 0, 0, 0] == 4


async def test_quit_and_discard():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "4", "enter", "escape", "q")
        await pilot.pause()
        await choose(pilot, app, "discard")
        await until(pilot, lambda: not app.is_running)
        assert not app.is_running


async def test_quit_without_edits_does_not_ask():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
        assert not app.is_running


async def test_opening_another_sample_with_unsaved_edits_asks_first():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "4", "enter", "escape", "o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await choose(pilot, app, "discard")
        assert isinstance(app.screen, SamplePicker)


async def test_load_a_matrix_file_into_the_input_and_the_kernel(tmp_path):
    (tmp_path / "image.csv").write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n")
    np.save(tmp_path / "kernel.npy", np.array([[0.0, 1.0], [1.0, 0.0]]))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "ctrl+o")
        await answer(pilot, app, str(tmp_path / "image.csv"))
        assert stepper(app).sample.input[0, 0].tolist()[3] == [13, 14, 15, 16]
        await pilot.press("tab", "ctrl+o")
        await answer(pilot, app, str(tmp_path / "kernel.npy"))
        assert kernel(app) == [[0, 1], [1, 0]]
        assert stepper(app).trace.output.shape == (1, 1, 3, 3)
        await pilot.press("ctrl+o")
        await answer(pilot, app, str(tmp_path / "missing.csv"))
        assert kernel(app) == [[0, 1], [1, 0]]
        assert any("missing.csv" in m for m in messages(app))


async def test_typing_the_same_value_is_no_edit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "1", "enter", "E")
        await pilot.pause()
        await pilot.press("enter")  # the parameter panel, nothing changed
        await pilot.pause()
        assert not stepper(app).history.dirty and len(stepper(app).history.samples) == 1


async def test_command_palette_runs_an_edit_action_in_edit_mode():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        palette = app.screen
        await pilot.press(*"Stride + 1")
        await until(pilot, lambda: palette.query_one("CommandList").option_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: stepper(app).sample.stages[0].params["stride"] == (2, 2))
        assert stepper(app).editing and stepper(app).sample.stages[0].params["stride"] == (2, 2)


async def test_brackets_show_the_next_filter_and_image_for_editing():
    app = make_app("seed_pipeline")  # conv with 2 filters on a batch of 2 images
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e", "tab", "right", "]")
        assert stepper(app).panel.step.out_index == (0, 1, 0, 0)  # filter 1, same position
        assert stepper(app).places()[stepper(app).place_number].prefix == (1, 0)
        await pilot.press("5", "enter")
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["weight"][1, 0, 0, 1] == 5
        assert stepper(app).panel.step.out_index[:2] == (0, 1)  # still on filter 1
        await pilot.press("shift+tab", "]")
        assert stepper(app).panel.step.out_index[:2] == (1, 1)  # the next image
        await pilot.press("[")
        assert stepper(app).panel.step.out_index[:2] == (0, 1)


async def test_epsilon_and_momentum_keys():
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        eps = stepper(app).sample.stages[0].params["eps"]
        await pilot.press("e", "v", "u")
        await pilot.pause()
        params = stepper(app).sample.stages[0].params
        assert params["eps"] == eps * 10 and params["momentum"] == 0.2
        await pilot.press(*["u"] * 9)
        await pilot.pause()
        assert stepper(app).sample.stages[0].params["momentum"] == 1.0
        assert any("momentum must be between 0 and 1" in m for m in messages(app))


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
async def test_nan_and_infinity_are_refused(text):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "enter", *text, "enter")
        await pilot.pause()
        assert stepper(app).sample.input[0, 0, 0, 0] == 1
        assert any("use a finite number" in m for m in messages(app))


async def test_random_input_preset_is_seeded_and_differs_each_time():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "i")
        await choose(pilot, app, "random integers")
        first = stepper(app).sample.input.copy()
        await pilot.press("i")
        await choose(pilot, app, "random integers")
        second = stepper(app).sample.input.copy()
    assert first.shape == second.shape == (1, 1, 5, 5) and not np.array_equal(first, second)
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.press("e", "i")
        await choose(pilot, again, "random integers")
        assert np.array_equal(stepper(again).sample.input, first)


@pytest.mark.parametrize(
    ("name", "keys", "channel"),
    [
        ("seed_batchnorm", ["e", "left_square_bracket"], 0),  # one channel: [ stays on it
        ("batchnorm_channels", ["e", "right_square_bracket"], 1),
        ("seed_pipeline", ["tab", "e", "right_square_bracket"], 1),
    ],
)
async def test_brackets_on_a_batch_norm_view_show_the_other_channel(name, keys, channel):
    app = make_app(name)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        step = stepper(app).panel.step
        assert step.channel == channel and step.phase == "mean" and step.out_index[2:] == (0, 0)


async def test_batch_norm_mode_key_in_the_pipeline_redraws_the_vectors():
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "e", "m")
        await pilot.pause()
        assert stepper(app).sample.stages[1].params["training"] is False
        assert stepper(app).panel.query_one("MatrixGrid.gamma").rows_text() == [["1", "1"]]
        await pilot.press("m")
        await pilot.pause()
        assert stepper(app).sample.stages[1].params["training"] is True


async def test_stepping_while_the_panels_are_rebuilt_waits_for_the_rebuild():
    """An autoplay tick (index += 1) that lands while an edit replaces the panels draws nothing."""
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "e")
        screen = stepper(app)
        sample = screen.sample
        toggled = samples.load(samples.resolve("seed_pipeline"))
        toggled.stages[1].params["training"] = False
        rebuild = asyncio.ensure_future(screen.apply_sample(toggled, toggled.trace()))
        ticks = 0
        while not rebuild.done():
            screen.index += 1  # what the autoplay timer does on every tick
            ticks += 1
            await asyncio.sleep(0)
        await rebuild
        assert ticks > 1 and screen.sample is toggled and sample is not toggled
        await pilot.press("right")
        assert stepper(app).panel.step.out_index is not None


async def test_autoplay_during_mode_edits_never_crashes():
    """The sequence from issue 15 (crashed 5 times in 6 before the rebuild guard)."""
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "p", *["plus"] * 5, "e", *["m"] * 4)
        await pilot.pause()
        await pilot.press("p")
        assert not stepper(app).playing and stepper(app).editing


BAD_PATHS = [".", "/", "..", "~nosuchuser/x.toml", "~nosuchuser", "a\0b.toml", "   "]


@pytest.mark.parametrize("text", BAD_PATHS + ["{tmp}/no/such/folder/x.toml", "{tmp}"])
async def test_save_as_never_crashes_on_a_bad_path(tmp_path, text):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        said = record_notifications(app)
        await pilot.press("e", "7", "enter", "escape", "W")
        await retitle(pilot, app)
        assert isinstance(app.screen, TextDialog)
        app.screen.query_one(Input).value = text.format(tmp=tmp_path)
        await pilot.press("enter")
        await pilot.pause()
        if text.strip():
            assert isinstance(app.screen, StepperScreen) and len(said) == 1
        else:
            assert isinstance(app.screen, TextDialog)  # blank: the dialog waits for a name
            await pilot.press("escape")
        assert stepper(app).history.dirty and stepper(app).sample.input[0, 0, 0, 0] == 7 and app.is_running


@pytest.mark.parametrize("text", BAD_PATHS + ["{tmp}/missing.csv", "{tmp}", "{tmp}/matrix.toml"])
async def test_load_matrix_never_crashes_on_a_bad_path(tmp_path, text):
    (tmp_path / "matrix.toml").write_text("title = 'not a matrix'\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        said = record_notifications(app)
        await pilot.press("e", "ctrl+o")
        assert isinstance(app.screen, TextDialog)
        app.screen.query_one(Input).value = text.format(tmp=tmp_path)
        await pilot.press("enter")
        await pilot.pause()
        if not text.strip():
            await pilot.press("escape")
        else:
            assert len(said) == 1
        assert isinstance(app.screen, StepperScreen) and not stepper(app).history.dirty and app.is_running


def test_the_editing_mixin_uses_only_its_host_contract():
    """Every `self.` member EditingMixin uses is its own, EditingHost's or a textual Screen's."""
    import ast
    import inspect

    from textual.screen import Screen

    from tui.screens import editing

    tree = ast.parse(inspect.getsource(editing.EditingMixin))
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
    }
    host = set(editing.EditingHost.__annotations__) | {
        name for name in vars(editing.EditingHost) if not name.startswith("_")
    }
    allowed = set(dir(editing.EditingMixin)) | host | set(dir(Screen))
    assert used - allowed == set()
    assert used & host - set(dir(editing.EditingMixin)), "the contract is what the mixin really uses"
    sample = samples.load(samples.resolve(None))
    screen = StepperScreen(sample, sample.trace())  # StepperScreen keeps the contract
    assert {name for name in host if name not in vars(screen) and not hasattr(StepperScreen, name)} == set()
