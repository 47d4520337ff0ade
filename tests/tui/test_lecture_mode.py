"""Lecture mode: slides with > and <, captions, bookmarks, each slide keeping its step, the
unsaved-edits prompt, notes in the help; the description under every view's title; and the
installed `cnn-tui lecture` in tmux, read slide by slide."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from engine import lecture
from tests.tui.test_stepper import record_notifications, until
from tui.app import CnnApp
from tui.screens.dialogs import ChoiceDialog
from tui.screens.help import HelpScreen
from tui.screens.lecture import SlideShow
from tui.screens.network import NetworkScreen
from tui.screens.stepper import SPEEDS, StepperScreen
from tui.widgets.caption import Caption
from tui.widgets.labels import StatusLine

ROOT = Path(__file__).resolve().parents[2]


def lecture_app(start: int = 0) -> CnnApp:
    return CnnApp(None, slides=SlideShow(lecture.load(lecture.resolve(None)), start))


def caption(app: CnnApp) -> str:
    return app.screen.query_one(Caption).text


async def test_slides_in_order_with_captions_and_status():
    app = lecture_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        slides = app.slides.lecture.slides
        assert isinstance(app.screen, StepperScreen)
        assert caption(app).startswith("slide 1 of 10 · Batch norm")
        assert app.screen.query_one(StatusLine).text.startswith("slide 1 of 10 · ")
        for number in range(2, 11):
            await pilot.press("greater_than_sign")
            await pilot.pause()
            assert app.slides.current == number - 1
            expected = NetworkScreen if slides[number - 1].op == "network" else StepperScreen
            assert isinstance(app.screen, expected)
            assert " ".join(caption(app).split()).startswith(
                f"slide {number} of 10 · {slides[number - 1].caption}"[:60]
            )
        await pilot.press("greater_than_sign")  # past the last slide: stays, says so
        await pilot.pause()
        assert app.slides.current == 9
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert app.slides.current == 8 and isinstance(app.screen, NetworkScreen)


async def test_a_slide_keeps_its_step_and_shows_bookmarks():
    app = lecture_app(1)  # the 5x5 convolution
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "★ step 1: start in the top-left corner" in caption(app)
        await pilot.press("right", "right")
        assert app.screen.index == 2 and "★" not in caption(app)
        await pilot.press("right")
        assert "★ step 4: the next row" in caption(app)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.slides.current == 2 and app.screen.index == 0
        await pilot.press("right")
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert app.slides.current == 1 and app.screen.index == 3  # where it was left
        assert "★ step 4" in caption(app)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.screen.index == 1


async def test_network_slide_keeps_its_layer():
    app = lecture_app(8)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.screen.layer == 2
        await pilot.press("less_than_sign")
        await pilot.pause()
        await pilot.press("greater_than_sign")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, NetworkScreen) and app.screen.layer == 2


async def test_unsaved_edits_ask_before_the_next_slide():
    app = lecture_app(1)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("e", "5", "enter", "escape")
        assert app.screen.history.dirty
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")  # cancel: stay, edits kept
        await pilot.pause()
        assert app.slides.current == 1 and app.screen.history.dirty
        await pilot.press("greater_than_sign")
        await pilot.pause()
        app.screen.dismiss("discard")
        await pilot.pause()
        assert app.slides.current == 2 and not app.screen.history.dirty


async def test_help_shows_the_slide_notes():
    app = lecture_app(0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        notes = str(app.screen.query_one("#notes").content)
        assert "mean 0.5, variance 1.5" in " ".join(notes.split())


async def test_slide_keys_do_nothing_outside_a_lecture(app_for):
    app = app_for("seed_conv")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("greater_than_sign")
        assert isinstance(app.screen, StepperScreen) and app.slides is None
        assert "slide" not in app.screen.query_one(StatusLine).text


async def test_every_view_shows_the_description(app_for):
    app = app_for("seed_conv")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "Chapter 2's worked example" in caption(app)
        app.action_network()
        await pilot.pause()
        assert isinstance(app.screen, NetworkScreen)
        assert "fc1 corrected" in caption(app)


async def test_the_description_is_cut_with_an_ellipsis_on_a_short_terminal(app_for):
    app = app_for("seed_batchnorm")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = caption(app).splitlines()
        assert len(lines) == 2 and lines[-1].endswith("…")
    async with app_for("seed_batchnorm").run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert not caption(pilot.app).endswith("…")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_installed_cnn_tui_lecture_in_tmux_reads_every_caption():
    program = shutil.which("cnn-tui")
    if program is None:
        pytest.skip("cnn-tui is not installed (pip install -e .)")
    server = f"cnn-tui-lecture-{uuid.uuid4().hex[:8]}"
    slides = lecture.load(lecture.resolve(None)).slides

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", server, *args], check=True, capture_output=True, text=True).stdout

    def screen_until(wanted: str, seconds: float = 30.0) -> str:
        deadline = time.monotonic() + seconds
        text = ""
        while time.monotonic() < deadline:
            text = " ".join(tmux("capture-pane", "-p", "-t", "a").split())
            if wanted in text:
                return text
            time.sleep(0.1)
        return text

    # The installed entry point, on this source tree's code.
    # The shell outlives the program, so that a crash leaves its traceback on the screen to read.
    command = f"env PYTHONPATH={ROOT} {program} lecture; echo exited-$?; sleep 60"
    tmux("new-session", "-d", "-s", "a", "-x", "100", "-y", "30", "-c", str(ROOT), command)
    try:
        for slide in slides:
            if slide.number > 1:
                tmux("send-keys", "-t", "a", ">")
            wanted = f"slide {slide.number} of {len(slides)} · {slide.caption}"
            # The caption wraps at the terminal's width; read it with the line breaks joined.
            text = screen_until(wanted)
            assert wanted in text, text
        tmux("send-keys", "-t", "a", "q")
        assert "exited-0" in screen_until("exited-"), "cnn-tui lecture did not quit cleanly"
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


# ---------------------------------------------------------------- present mode


def visible(app: CnnApp, widget) -> bool:
    """The widget is displayed and lies inside the screen."""
    region = widget.region
    return widget.display and region.height > 0 and app.screen.region.contains_region(region)


@pytest.mark.parametrize("size", [(80, 24), (200, 60), (250, 70)])
async def test_present_mode_shows_the_result_large_and_hides_the_footer(app_for, size):
    from textual.widgets import Footer

    from tui.widgets.labels import ComputationLine
    from tui.widgets.present import BigResult

    app = app_for("rgb_conv")
    async with app.run_test(size=size) as pilot:
        await pilot.press("right", "right")
        footer = app.screen.query_one(Footer)
        assert footer.display
        await pilot.press("f")
        await pilot.pause()
        assert app.presenting and app.screen.has_class("present")
        assert app.screen.styles.display == "block" and not footer.region.height
        big = app.screen.query_one(BigResult)
        step = app.screen.trace[2]
        assert visible(app, big) and big.text.startswith("= ")
        line = app.screen.panel.query_one(ComputationLine)
        assert visible(app, line) and line.text == step.text  # the full line, wrapped
        assert visible(app, app.screen.query_one(StatusLine))
        await pilot.press("right")
        assert big.value == app.screen.trace[3].value
        await pilot.press("f")
        await pilot.pause()
        assert not app.presenting and footer.region.height == 1


async def test_present_mode_follows_a_resize_and_a_slide():
    app = lecture_app(1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        density = app.screen.panel.density
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.pause()
        assert app.screen.largest_density == "big"
        assert app.screen.panel.density == "big" != density
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.screen.has_class("present")  # the next slide opens in present mode too


async def test_f_adds_a_filter_in_edit_mode(app_for):
    app = app_for("seed_conv")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("e", "f")
        assert not app.presenting and app.screen.sample.stages[0].params["weight"].shape[0] == 2


async def test_autoplay_stops_at_each_stage_end_and_at_the_last_step(app_for):
    """The real autoplay timer, at its fastest: it stops on a stage's last step, says so, goes on
    into the next stage with p, and stops at the last step."""
    app = app_for("seed_pipeline")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        said = record_notifications(app)
        starts = screen.trace.stage_starts
        screen.speed = len(SPEEDS) - 1
        screen.index = starts[1] - 3
        await pilot.press("p")
        await until(pilot, lambda: not screen.playing)
        assert screen.index == starts[1] - 1
        assert "end of stage conv" in said[-1]
        await pilot.press("p")
        await until(pilot, lambda: screen.index >= starts[1])
        assert screen.index < starts[2]  # resumed into the next stage, not past it
        await pilot.press("p")
        await until(pilot, lambda: not screen.playing)
        screen.index = len(screen.trace) - 3
        await pilot.press("p")
        await until(pilot, lambda: not screen.playing)
        assert screen.index == len(screen.trace) - 1
        assert "last step" in said[-1]


@pytest.mark.parametrize(
    ("name", "general", "filled"),
    [
        ("seed_conv", "H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1", "⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3"),
        ("max_pool", "H_out = ⌊(H + 2p − k)/s⌋ + 1", "⌊(4 + 2·0 − 2)/2⌋ + 1 = 2"),
    ],
)
async def test_the_general_formula_beside_the_filled_in_one(app_for, name, general, filled):
    app = app_for(name)
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        text = app.screen.query_one(StatusLine).text
        assert f"{general}: {filled}" in text
        assert "d·" not in text.split(general)[1] or name == "seed_conv"


async def test_P_saves_an_svg_screenshot_and_names_it(app_for, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_for("seed_conv")
    async with app.run_test(size=(80, 24)) as pilot:
        said = record_notifications(app)
        await pilot.press("P")
        await pilot.pause()
        saved = list(tmp_path.glob("cnn-tui-seed_conv-*.svg"))
        assert len(saved) == 1
        assert saved[0].read_text(encoding="utf-8").lstrip().startswith("<svg")
        assert str(saved[0]) in said[-1]


# ---------------------------------------------------------------- receptive fields in the network view


def network_app() -> CnnApp:
    from engine import samples

    return CnnApp(None, network=samples.resolve("seed_convnet"))


async def test_the_layer_table_has_a_receptive_field_column():
    from tui.widgets.layer_table import LayerTable

    app = network_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(LayerTable)
        by_layer = {table.text(row, "layer"): table.text(row, "receptive /jump") for row in range(1, 13)}
        assert by_layer["conv1"] == "3×3 /1" and by_layer["maxpool1"] == "4×4 /2"
        assert by_layer["conv2"] == "8×8 /2" and by_layer["maxpool2"] == "10×10 /4"
        assert by_layer["fc1"] == "whole image"


async def test_the_enlarged_map_draws_the_cells_receptive_field_on_the_input():
    from tui.widgets.heatmap import ZoomMap

    app = network_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", "down", "down", "enter")  # maxpool1, enlarged
        await pilot.pause()
        screen = app.screen
        screen.cursor = (5, 6)
        screen._show()
        await pilot.pause()
        info = str(screen.query_one("#zoom-info").content)
        assert "receptive field on the input: rows 9–12, cols 11–14 (4×4" in info
        picture = screen.query_one("#receptive-input", ZoomMap)
        assert picture.display
        drawn = picture._rgb.astype(int)
        from tui.widgets.heatmap import image_rgb

        original = image_rgb(screen.x[screen.image]).astype(int)
        assert (drawn[9:13, 11:15] == original[9:13, 11:15]).all()  # inside: as it is
        assert (drawn[0:9] == original[0:9] // 4).all()  # outside: dimmed


# ---------------------------------------------------------------- receptive fields in the stepper


async def test_a_pooled_cell_marks_its_4x4_patch_on_the_input(app_for):
    from tui.widgets.matrix import MatrixGrid
    from tui.widgets.receptive import ReceptiveFields

    app = app_for("seed_pipeline")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        marks = screen.query_one(ReceptiveFields)
        assert not marks.display or marks.has_class("-empty")  # the first stage: nothing earlier
        screen.index = screen.trace.stage_starts[3] + 4  # pool, output (1, 1) of image 0
        await pilot.pause()
        assert screen.trace[screen.index].out_index == (0, 0, 1, 1)
        assert marks.text == "receptive field: conv input rows 1–4, cols 1–4 (4×4)"
        grid = marks.query(MatrixGrid).first()
        assert grid.display and grid.window_cells == {(r, c) for r in range(1, 5) for c in range(1, 5)}
        start, stop = screen.trace.stage_starts[1], screen.trace.stage_starts[2]
        screen.index = next(k for k in range(start, stop) if screen.trace[k].out_index == (0, 0, 2, 2))
        await pilot.pause()
        assert marks.text == "receptive field: conv input rows 1–3, cols 1–3 (3×3)"  # batch norm: one conv window


async def test_fc2_shows_labelled_softmax_bars():
    from tui.widgets.scores import ClassScores

    app = network_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.layer = len(screen.layers)  # fc2
        await pilot.pause()
        scores = screen.query_one(ClassScores)
        assert screen.query_one("#picture-area").current == "scores" and scores.display
        assert abs(float(scores.probabilities.sum()) - 1) < 1e-9
        assert scores.names == tuple(screen.network.classes)
        lines = scores.text.splitlines()
        assert len(lines) == 10 and lines[0].startswith("h-stripes")
        assert sum("◀ predicted" in line for line in lines) == 1
        assert sum("✓ label" in line for line in lines) == 1
        await pilot.press("right")  # the next image
        assert screen.image == 1 and "image 1" in str(screen.query_one("#picture-title").content)
        await pilot.press("up")  # fc2 → relu3: thumbnails again
        await pilot.pause()
        assert screen.query_one("#picture-area").current == "thumbnails"
