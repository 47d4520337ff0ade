"""Pilot tests: every key of the stepping UI and every view, asserting on state."""

from __future__ import annotations

import numpy as np
import pytest
from textual.command import CommandPalette
from textual.geometry import Region

from engine import samples
from engine.errors import CnnError
from engine.numbers import fmt
from tests.tui.conftest import make_app
from tui.app import CnnApp, run
from tui.screens.dialogs import GoToDialog, SamplePicker
from tui.screens.editing import EDIT_BINDINGS, FILE_BINDINGS
from tui.screens.help import HelpScreen
from tui.screens.stepper import SPEEDS, STEP_BINDINGS, StepperScreen
from tui.widgets.labels import ComputationLine, StageBar, StatusLine
from tui.widgets.matrix import MatrixGrid

SIZE = (100, 30)
FEATURE_MAP = [["6", "3", "5"], ["0", "7", "2"], ["6", "3", "4"]]


def stepper(app) -> StepperScreen:
    assert isinstance(app.screen, StepperScreen)
    return app.screen


def grid(app, role: str, number: int = 0) -> MatrixGrid:
    return stepper(app).panel.query(f"MatrixGrid.{role}")[number]


def line(app) -> str:
    return stepper(app).panel.query_one(ComputationLine).text


def status(app) -> str:
    return stepper(app).query_one(StatusLine).text


async def until(pilot, condition, seconds: float = 10.0) -> None:
    """Pause until condition() holds (timers and layouts run late on a loaded machine);
    fail the test when it does not hold within `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition(), (
        f"still not true after {seconds} s: {condition.__code__.co_filename}:{condition.__code__.co_firstlineno}"
    )


async def density_settles(pilot, app, expected: str) -> str:
    """The panel's density once fitting is done."""
    await until(pilot, lambda: stepper(app).panel.density == expected and not stepper(app).panel.fitting)
    return stepper(app).panel.density


def record_notifications(app) -> list[str]:
    """From now on, every message the app notifies (through the public App.notify)."""
    said: list[str] = []
    notify = app.notify

    def recording(message, **options):
        said.append(str(message))
        return notify(message, **options)

    app.notify = recording
    return said


def window(rows, cols) -> set[tuple[int, int]]:
    return {(r, c) for r in rows for c in cols}


async def test_first_step_of_the_lecture_example():
    app = make_app()
    async with app.run_test(size=SIZE):
        assert stepper(app).index == 0
        assert grid(app, "input").window_cells == window(range(3), range(3))
        assert line(app) == "1·1 + 2·0 + 1·1 + 0·0 + 1·1 + 0·0 + 1·1 + 0·0 + 2·1 = 6"
        assert grid(app, "output").rows_text() == [["6", "·", "·"], ["·", "·", "·"], ["·", "·", "·"]]
        assert grid(app, "output").current == (0, 0)
        assert grid(app, "products").rows_text() == [["1", "0", "1"], ["0", "1", "0"], ["1", "0", "2"]]
        assert "step 1 of 9" in status(app)
        assert "output (0, 0)" in status(app)
        assert "⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3" in status(app)


@pytest.mark.parametrize("key", ["right", "space", "l"])
async def test_next_keys(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        assert stepper(app).index == 1
        assert grid(app, "input").window_cells == window(range(3), range(1, 4))
        assert line(app).endswith("= 3")
        assert grid(app, "output").rows_text()[0] == ["6", "3", "·"]


@pytest.mark.parametrize("key", ["left", "h"])
async def test_previous_keys_and_the_start_is_a_wall(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", key)
        assert stepper(app).index == 1
        await pilot.press(key, key)
        assert stepper(app).index == 0


async def test_nine_steps_finish_the_feature_map_and_the_end_is_a_wall():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(9):
            await pilot.press("right")
        assert stepper(app).index == 8
        assert grid(app, "output").rows_text() == FEATURE_MAP
        assert grid(app, "input").window_cells == window(range(2, 5), range(2, 5))
        assert "step 9 of 9" in status(app)


async def test_home_and_end():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        assert stepper(app).index == 8
        assert grid(app, "output").rows_text() == FEATURE_MAP
        await pilot.press("home")
        assert stepper(app).index == 0


async def test_page_down_and_up_move_by_output_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("pagedown")
        assert stepper(app).index == 3
        assert "output (1, 0)" in status(app)
        await pilot.press("pagedown", "pagedown")
        assert stepper(app).index == 8
        await pilot.press("pageup")
        assert stepper(app).index == 6
        await pilot.press("right", "pageup")
        assert stepper(app).index == 6
        await pilot.press("pageup", "pageup", "pageup")
        assert stepper(app).index == 0


async def test_page_down_moves_by_phase_in_batch_norm():
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        phases = []
        for _ in range(4):
            await pilot.press("pagedown")
            step = stepper(app).trace[stepper(app).index]
            phases.append((stepper(app).index, step.phase))
        assert phases == [(8, "var"), (16, "normalize"), (24, "running"), (25, "running")]
        await pilot.press("pageup")
        assert stepper(app).index == 24


async def test_go_to_step():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, GoToDialog)
        await pilot.press("7", "enter")
        assert stepper(app).index == 6
        assert "output (2, 0)" in status(app)


async def test_go_to_refuses_a_step_that_does_not_exist_and_escape_cancels():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        said = record_notifications(app)
        await pilot.press("9", "9", "enter")
        assert isinstance(app.screen, GoToDialog)
        await pilot.press("backspace", "backspace", "enter")  # nothing typed
        assert isinstance(app.screen, GoToDialog)
        assert said == ["99 is not a step number: give 1 to 9", "type a step number from 1 to 9 (Esc cancels)"]
        await pilot.press("escape")
        assert stepper(app).index == 0


async def test_play_pause_and_speed():
    app = make_app("edge_laplacian")
    async with app.run_test(size=SIZE) as pilot:
        screen = stepper(app)
        speed = screen.speed
        await pilot.press("plus", "plus")
        assert screen.speed == speed + 2
        await pilot.press("minus")
        assert screen.speed == speed + 1
        for _ in range(len(SPEEDS)):
            await pilot.press("minus")
        assert screen.speed == 0
        await pilot.press("plus", "plus", "plus")
        await pilot.press("p")
        assert screen.playing
        assert f"▶ {SPEEDS[3]:g} steps/s" in status(app)
        await until(pilot, lambda: screen.index >= 2)
        await pilot.press("p")
        assert not screen.playing
        reached = screen.index
        assert reached >= 2
        await pilot.pause(2 / SPEEDS[3])  # not synchronisation: two tick periods in which nothing may step
        assert screen.index == reached


async def test_autoplay_stops_at_the_last_step():
    app = make_app("max_pool")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(SPEEDS)):
            await pilot.press("plus")
        await pilot.press("p")
        await until(pilot, lambda: not stepper(app).playing)
        assert stepper(app).index == 3
        assert not stepper(app).playing


async def test_tab_enters_the_next_stage_and_stepping_crosses_stages():
    app = make_app("seed_pipeline")
    async with app.run_test(size=SIZE) as pilot:
        screen = stepper(app)
        starts = screen.trace.stage_starts
        bar = screen.query_one(StageBar)
        assert bar.names == ("conv", "batchnorm", "relu", "pool") and bar.current == 0
        await pilot.press("tab")
        assert screen.index == starts[1]
        assert bar.current == 1
        assert "stage 2/4 batchnorm" in status(app)
        await pilot.press("left")
        assert screen.index == starts[1] - 1 and bar.current == 0
        await pilot.press("right")
        assert bar.current == 1
        await pilot.press("tab", "tab", "tab")
        assert screen.index == starts[3]
        assert screen.panel.stage.op == "pool"
        await pilot.press("right", "right", "shift+tab")
        assert screen.index == starts[3]
        await pilot.press("shift+tab")
        assert screen.index == starts[2]
        assert screen.panel.stage.op == "relu"


async def test_theme_toggle():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "cnn-dark"
        await pilot.press("t")
        assert app.theme == "cnn-light"
        await pilot.press("t")
        assert app.theme == "cnn-dark"


async def test_help_screen_lists_every_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {(b.key, b.action) for _, group in app.screen.groups for b in group}
        every = STEP_BINDINGS + EDIT_BINDINGS + FILE_BINDINGS + CnnApp.BINDINGS
        assert {(b.key, b.action) for b in every} <= listed
        assert {key for key, action in listed if action == "quit"} == {"q", "ctrl+q"}
        await pilot.press("escape")
        assert isinstance(app.screen, StepperScreen)


@pytest.mark.parametrize(
    ("name", "keys", "size"),
    [
        ("seed_conv", [], (80, 24)),
        ("seed_conv", ["e"], (80, 24)),
        ("rgb_conv", ["e"], (80, 24)),
        ("max_pool", [], (100, 30)),
        ("seed_pipeline", ["e"], (110, 30)),
        ("seed_conv", [], (120, 36)),
    ],
)
async def test_the_footer_is_never_cut(name, keys, size):
    app = make_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.press(*keys)
        await until(pilot, lambda: footer_is_whole(stepper(app)))


def footer_is_whole(screen, *also: str) -> bool:
    """Every key of the footer is drawn whole, left of the palette's key; Help and Quit among them."""
    from textual.widgets._footer import FooterKey

    footer = screen.query_one("Footer")
    keys = list(footer.query(FooterKey))
    palette = [key for key in keys if key.description == "palette"]  # docked at the right edge
    right = palette[0].region.x if palette else footer.region.right
    shown = [key for key in keys if key not in palette]
    described = {f"{key.key_display} {key.description}" for key in shown}
    whole = all(key.region.width and key.region.right <= right for key in shown)
    return bool(shown) and whole and {"? Help", "q Quit", *also} <= described


async def test_a_pooling_view_has_no_kernel_preset_key():
    app = make_app("max_pool")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("e")
        shown = {active.binding.action for active in stepper(app).active_bindings.values() if active.binding.show}
        assert "kernel_preset" not in shown and "toggle_mode" not in shown and "leave_edit" in shown
        await pilot.press("k")
        assert isinstance(app.screen, StepperScreen)


async def test_quit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_command_palette_runs_the_same_actions():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Last step")
        palette = app.screen
        await until(pilot, lambda: palette.query_one("CommandList").option_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, StepperScreen) and stepper(app).index == 8)
        assert stepper(app).index == 8


async def test_picker_opens_a_shipped_sample():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        picker = app.screen
        assert isinstance(picker, SamplePicker)
        position = [path.stem for path, _ in picker.entries].index("max_pool")
        picker.query_one("OptionList").highlighted = position
        await pilot.press("enter")
        await pilot.pause()
        assert stepper(app).panel.stage.op == "pool"
        assert stepper(app).sample.path.name == "max_pool.toml"


@pytest.mark.parametrize(
    "text, message",
    [
        ('op = "network"\ntitle = "net"\n', "network"),
        ("title = [unclosed", "not valid TOML"),
    ],
)
async def test_picker_shows_a_bad_sample_as_a_notification_and_keeps_the_view(tmp_path, monkeypatch, text, message):
    (tmp_path / "broken.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = record_notifications(app)
        before = stepper(app)
        await pilot.press("right", "o")
        picker = app.screen
        position = [path.name for path, _ in picker.entries].index("broken.toml")
        picker.query_one("OptionList").highlighted = position
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is before and before.index == 1
        assert len(notes) == 1 and message in notes[0] and "\n" not in notes[0]


async def test_pool_view_marks_the_maximum():
    app = make_app("max_pool")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        step = stepper(app).trace[1]
        source = grid(app, "input")
        assert source.window_cells == window(step.rows, step.cols)
        assert source.marked == (step.rows[step.argmax[0]], step.cols[step.argmax[1]])
        assert line(app).startswith("max(") and line(app).endswith(f"= {grid(app, 'output').cell_text(0, 1)}")


async def test_average_pool_line():
    app = make_app("avg_pool")
    async with app.run_test(size=SIZE):
        assert line(app).startswith("(") and "/4 = " in line(app)
        assert grid(app, "input").marked is None


async def test_batch_norm_view_counts_then_normalises_then_reports_mean_and_std():
    app = make_app("seed_batchnorm")
    async with app.run_test(size=SIZE) as pilot:
        panel = stepper(app).panel
        await pilot.press("right", "right")
        first, second = grid(app, "input", 0), grid(app, "input", 1)
        assert first.counted_cells == {(0, 0), (0, 1), (1, 0)} and second.counted_cells == set()
        assert first.current == (1, 0)
        assert line(app) == "Σx = 1 + 1.5 = 2.5   (3 of 8)"
        assert all(c == "·" for row in grid(app, "output").rows_text() for c in row)
        await pilot.press("pagedown", "pagedown")
        assert grid(app, "output").rows_text()[0] == ["1.633", "·"]
        assert "(x − μ)/√(σ² + ε)·γ + β" in panel.query_one(".formula").content
        await pilot.press("end")
        result = panel.query_one(".result").content
        assert "mean = 0" in result and "standard deviation = 1" in result
        assert "Training mode" in panel.query_one(".mode").content
        assert "Eval mode" in panel.query_one(".mode").content


async def test_relu_view():
    app = make_app("relu")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        trace = stepper(app).trace
        assert line(app) == trace[len(trace) - 1].text
        assert line(app).startswith("max(0, ")
        expected = [[c for c in row] for row in grid(app, "output").rows_text()]
        assert "·" not in np.array(expected)


async def test_several_channels_and_filters():
    app = make_app("rgb_conv")
    async with app.run_test(size=SIZE):
        inputs = stepper(app).panel.query("MatrixGrid.input")
        assert len(inputs) == 3
        assert all(g.window_cells == window(range(3), range(3)) for g in inputs)
        assert "bias 1" in line(app)


def test_run_with_a_bad_sample_raises_the_one_line_error():
    with pytest.raises(CnnError, match="no such file"):
        run("no_such_sample_anywhere")


@pytest.mark.parametrize(
    "name, size, density",
    [
        (None, (200, 60), "big"),
        (None, (100, 30), "normal"),
        ("edge_laplacian", (80, 24), "compact"),
        ("seed_pipeline", (80, 24), "compact"),
        ("max_pool", (80, 24), "normal"),
    ],
)
async def test_grids_use_the_room_there_is(name, size, density):
    app = make_app(name)
    async with app.run_test(size=size) as pilot:
        assert await density_settles(pilot, app, density) == density
        panel = stepper(app).panel
        assert all(g.density == density for g in panel.query(MatrixGrid))
        header = grid(app, "input").render().plain.splitlines()[0].split()
        width = stepper(app).trace.stages[0].input.shape[-1]
        numbered = header == [str(c) for c in range(width)]
        assert numbered == (density in ("roomy", "big"))


async def test_resizing_refits_the_grids():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.resize_terminal(200, 60)
        assert await density_settles(pilot, app, "big") == "big"
        await pilot.resize_terminal(80, 24)
        assert await density_settles(pilot, app, "normal") == "normal"


@pytest.mark.parametrize("name", [s.name for s in samples.shipped() if s.op != "network"])
async def test_every_shipped_sample_steps_to_its_end(name):
    app = make_app(name)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("pagedown", "right", "end")
        screen = stepper(app)
        assert screen.index == len(screen.trace) - 1
        assert line(app) == screen.trace[len(screen.trace) - 1].text
        outputs = screen.panel.query("MatrixGrid.output")
        assert all("·" not in sum(g.rows_text(), []) for g in outputs)


EVAL_AND_PADDED = {
    "bn_eval.toml": 'title = "eval"\nop = "batchnorm"\ninput = [[1, 2], [3, 4]]\ntraining = false\n'
    "running_mean = 2\nrunning_var = 4\n",
    "pool_padded.toml": 'title = "padded"\nop = "pool"\nmode = "max"\nsize = 2\nstride = 2\npadding = 1\n'
    "input = [[1, -2, 3], [4, 5, -6], [7, 8, 9]]\n",
    "conv_dilated.toml": 'title = "dilated"\nop = "conv"\ninput = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], '
    "[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [1, 2, 3, 4, 5]]\n"
    "kernel = [[1, 0], [0, -1]]\ndilation = 2\nstride = [1, 2]\nbias = 0.5\n",
}


@pytest.mark.parametrize("file", sorted(EVAL_AND_PADDED))
async def test_eval_mode_padding_and_dilation(tmp_path, file):
    path = tmp_path / file
    path.write_text(EVAL_AND_PADDED[file])
    sample = samples.load(path)
    app = CnnApp(sample, sample.trace())
    async with app.run_test(size=SIZE) as pilot:
        screen = stepper(app)
        step = screen.trace[0]
        if file == "bn_eval.toml":
            assert step.phase == "normalize" and step.mean == 2
            assert "Eval mode (this view)" in screen.panel.query_one(".mode").content
        elif file == "pool_padded.toml":
            source = grid(app, "input")
            assert source.window_cells == {(0, 0)} and source.marked == (0, 0)
            assert "-∞" in line(app)
        else:
            assert grid(app, "input").window_cells == window((0, 2), (0, 2))
            assert "height ⌊" in status(app) and "bias 0.5" in line(app)
        await pilot.press("end")
        assert screen.index == len(screen.trace) - 1


def test_a_multi_channel_convolution_line_has_one_subtotal_per_channel():
    sample = samples.load(samples.resolve("rgb_conv"))
    step = sample.trace()[0]
    parts = step.text.split("   ")
    assert [part.partition(":")[0] for part in parts[:-1]] == ["ch 0", "ch 1", "ch 2"]
    subtotals = [float(np.sum(step.values[c] * step.kernel[c])) for c in range(3)]
    assert [float(part.rpartition(" = ")[2]) for part in parts[:-1]] == subtotals
    assert parts[-1] == "Σ = 0 + (-4) + 0 + bias 1 = -3" and step.value == -3


def test_condensed_forms_always_end_with_the_result():
    from tui.widgets.labels import condensed_forms

    text = "   ".join(f"ch {c}: " + " + ".join(["1·2"] * 9) + " = 18" for c in range(64))
    text += "   Σ = " + " + ".join(["18"] * 64) + " + bias 1 = 1153"
    forms = condensed_forms(text)
    assert all(form.endswith("= 1153") for form in forms)
    assert [len(form) for form in forms] == sorted((len(form) for form in forms), reverse=True)
    assert forms[1].startswith("ch 0: 1·2 + 1·2 + … + 1·2 = 18   ch 1:")
    assert forms[2].startswith("ch 0 = 18   ch 1 = 18")
    assert forms[-2] == "…   Σ = 18 + … + bias 1 = 1153" and forms[-1] == "… = 1153"


def screen_rows(widget) -> list[str]:
    """The non-blank text rows of widget as drawn (borders and rules left out)."""
    strips = widget.render_lines(Region(0, 0, *widget.region.size))
    return [text for strip in strips if (text := strip.text.strip()) and set(text) != {"─"}]


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_a_long_sum_shows_its_result_at_every_size(size):
    app = make_app("rgb_conv")  # 27 products
    async with app.run_test(size=size) as pilot:
        computation = stepper(app).panel.query_one(ComputationLine)
        rows_allowed = 3 if size[1] >= 30 else 2

        def whole() -> bool:
            rows = screen_rows(computation)
            return rows[-1].endswith("= -3") and len(rows) <= rows_allowed

        await until(pilot, whole)
        assert "Σ = 0 + (-4) + 0 + bias 1 = -3" in computation.shown


@pytest.mark.parametrize(
    ("row", "cell", "formula"), [(1, (0, 3, 17, 17), "(32 + 2·1"), (5, (2, 17, 5, 9), "(16 + 2·1")]
)
async def test_the_bridge_shows_the_sum_and_names_the_networks_cell_at_80x24(row, cell, formula):
    """conv1 (27 products) and conv2 (576): the `= value` on screen, the status line names the cell."""
    from tests.tui.test_network import go_to_layer, network_app, view
    from tui.screens.bridge import BridgeScreen

    n, c, i, j = cell
    app = network_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: view(app).is_attached)
        await go_to_layer(pilot, app, row)
        view(app).image, view(app).channel = n, c
        await pilot.press("enter")
        view(app).cursor = (i, j)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BridgeScreen) and app.screen.stage_number == 0)
        bridge = app.screen
        computation = bridge.panel.query_one(ComputationLine)
        value = fmt(bridge.trace[bridge.index].value)
        await until(pilot, lambda: screen_rows(computation)[-1].endswith(f"= {value}"))
        assert len(screen_rows(computation)) <= 2
        name = bridge.sample.stages[0].name
        assert f"{name} output ({i}, {j}) of map {c}, image {n}" in status(app)
        assert f"{name} size ⌊{formula}" in status(app) and "output (0, 0)" not in status(app)
        assert f"cell ({i}, {j})" in str(bridge.query_one("#title").render())
        await until(pilot, lambda: footer_is_whole(bridge, "esc Network"))


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_notifications_never_cover_the_computation_or_the_status_line(size):
    from textual.widgets._toast import Toast

    app = make_app()
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.press("e", "s", "S", "S")  # stride 2, then 1, then a refusal (a long error)
        await until(pilot, lambda: len(app.screen.query(Toast)) >= 2)
        await pilot.pause()
        computation = stepper(app).panel.query_one(ComputationLine).region
        status_line = stepper(app).query_one(StatusLine).region
        for toast in app.screen.query(Toast):
            assert not toast.region.overlaps(computation) and not toast.region.overlaps(status_line)


def on_screen(app, grid: MatrixGrid, cell: tuple[int, int]) -> bool:
    """The cell of grid is inside the visible part of the grid area."""
    area = stepper(app).panel.query_one(".grids")
    box = grid.cells_region((cell[0],), (cell[1],))
    return box is not None and area.content_region.contains_region(box)


async def test_the_pipelines_relu_output_stays_on_screen_at_80x24():
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", *["right"] * 8)
        area = stepper(app).panel.query_one(".grids")
        i, j = stepper(app).panel.step.out_index[2:]
        await until(pilot, lambda: on_screen(app, grid(app, "output"), (i, j)) and area.max_scroll_x == 0)
        assert on_screen(app, grid(app, "input"), (i, j))


async def test_the_pipelines_batch_norm_images_are_never_cut_at_80x24():
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "pagedown", "pagedown", *["right"] * 38)  # normalising image 1
        step = stepper(app).panel.step
        assert step.phase == "normalize" and step.out_index[0] == 1
        area = stepper(app).panel.query_one(".grids")
        cell = step.out_index[2:]
        await until(pilot, lambda: area.max_scroll_x == 0 and on_screen(app, grid(app, "output", 1), cell))


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_a_batch_norm_line_keeps_its_spacing_and_says_normalize_like_its_status(size):
    app = make_app("seed_batchnorm")
    async with app.run_test(size=size) as pilot:
        await pilot.press(*["right"] * 5)
        computation = stepper(app).panel.query_one(ComputationLine)
        await until(pilot, lambda: "= 3   (6 of 8)" in " ".join(screen_rows(computation)))
        # In an exported screenshot no run starts with the gap (renderers drop leading spaces).
        assert ">&#160;&#160;&#160;(6&#160;of&#160;8)" not in app.export_screenshot()
        await pilot.press("pagedown", "pagedown")
        assert stepper(app).panel.step.phase == "normalize" and ", normalize," in status(app)
        assert stepper(app).panel.query_one(".formula").render().plain.startswith("normalize phase:")


async def test_bn1s_bridge_at_200x60_is_drawn_at_normal_density_straight_away():
    """8 images of 32×32 per side cannot fit larger cells: trying them left the grid area empty for seconds."""
    from tests.tui.test_network import go_to_layer, network_app, view
    from tui.screens.bridge import BridgeScreen

    app = network_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: view(app).is_attached)
        await go_to_layer(pilot, app, 2)  # bn1
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BridgeScreen) and app.screen.stage_number == 0)
        panel = app.screen.panel
        # never a larger density (trying those left the grid area empty); on a quick machine the
        # fit may already have gone on from normal to compact by now
        assert panel.density in ("normal", "compact")
        await until(pilot, lambda: not panel.fitting)
        assert panel.density in ("normal", "compact")
        n, _, i, j = app.screen.trace[app.screen.index].out_index
        assert on_screen(app, panel.query("MatrixGrid.output")[n], (i, j))


def test_packed_breaks_between_parts_only():
    from tui.widgets.labels import packed

    parts = ["stage 1/4 conv", "step 1 of 760 (conv 1 of 72)", "output (0, 0) of map 0", "size ⌊(6 + 2·0)/1⌋ + 1 = 5"]
    assert packed(parts, " · ", 200) == " · ".join(parts)
    assert packed(parts, " · ", 70).split("\n") == [
        "stage 1/4 conv · step 1 of 760 (conv 1 of 72) · output (0, 0) of map 0",
        "size ⌊(6 + 2·0)/1⌋ + 1 = 5",
    ]


async def test_the_status_line_never_leaves_a_result_alone_at_80_columns():
    app = make_app("seed_pipeline")
    async with app.run_test(size=(80, 24)) as pilot:
        status_line = stepper(app).query_one(StatusLine)
        formula = stepper(app).panel.size_formula()
        await until(pilot, lambda: any(row.endswith(formula) for row in screen_rows(status_line)))
        assert not any(row.startswith("=") for row in screen_rows(status_line))


def test_a_status_line_too_long_for_its_row_drops_what_it_can_spare_first():
    from engine.shapes import GENERAL_FORMULA
    from tui.widgets.labels import fitted, without_aside

    assert without_aside("step 4 of 20 (pool 4 of 4)") == "step 4 of 20"
    assert without_aside("element 1 of 8 (image 0, (0, 0))") == "element 1 of 8"
    assert without_aside("output (1, 1)") == "output (1, 1)"  # a position, not an aside
    parts = ["stage 1/2 pool", "step 4 of 20 (pool 4 of 4)", f"size {GENERAL_FORMULA}: ⌊(4 + 2·0 − 2)/2⌋ + 1 = 2"]
    assert fitted(parts, " · ", 200) == tuple(parts)
    filled = "size ⌊(4 + 2·0 − 2)/2⌋ + 1 = 2"
    assert fitted(parts, " · ", 80) == ("stage 1/2 pool", "step 4 of 20 (pool 4 of 4)", filled)
    assert fitted(parts, " · ", 65) == ("stage 1/2 pool", "step 4 of 20", filled)
    assert fitted(parts, " · ", 50) == ("step 4 of 20", filled)
    assert fitted(parts, " · ", 20) == ("step 4 of 20", filled)  # the rest breaks between the parts
