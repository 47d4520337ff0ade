"""Pilot tests of the network view: navigation, the as-printed network, the bridge to the stepper,
batch-norm statistics and live training in a worker thread."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid

import numpy as np
import pytest
from textual.geometry import Region
from textual.widget import Widget

from engine import samples
from engine.network.model import BatchNorm
from engine.numbers import fmt
from tests.tui.conftest import make_app
from tests.tui.test_tmux import ROOT, screen_until, tmux
from tui.app import CnnApp
from tui.screens.network import BridgeScreen, NetworkScreen
from tui.screens.stepper import StepperScreen
from tui.screens.training import TrainingConfig, TrainingScreen, smoothed
from tui.widgets.heatmap import Thumbnails, ZoomMap
from tui.widgets.layer_table import LayerTable
from tui.widgets.matrix import MatrixGrid
from tui.widgets.plot import LinePlot

SIZE = (100, 30)
#: Table rows: the input, then conv1 bn1 relu1 maxpool1 conv2 bn2 relu2 maxpool2 flatten1 fc1 relu3 fc2.
CONV1, BN1, MAXPOOL1, CONV2, BN2, FC2 = 1, 2, 4, 5, 6, 12


def network_app(name: str = "seed_convnet", theme: str = "cnn-dark") -> CnnApp:
    return CnnApp(None, network=samples.resolve(name), theme=theme)


def view(app) -> NetworkScreen:
    assert isinstance(app.screen, NetworkScreen)
    return app.screen


def notifications(app, monkeypatch) -> list[str]:
    """The messages of every notification the app shows from now on (recorded, then shown)."""
    told: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        told.append(str(message))
        return notify(message, *args, **kwargs)

    monkeypatch.setattr(app, "notify", recording)
    return told


def first_line(widget: Widget) -> str:
    """The first line of a widget as drawn on the screen."""
    return widget.render_lines(Region(0, 0, widget.region.width, 1))[0].text.rstrip()


async def until(pilot, condition, seconds: float = 30.0) -> None:
    """Pause until condition() holds; fail after `seconds` (the machine may be loaded)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


async def go_to_layer(pilot, app, row: int) -> None:
    await pilot.press(*["down"] * (row - view(app).layer))
    assert view(app).layer == row


async def test_a_network_sample_opens_the_network_view_with_its_layer_table():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = view(app)
        table = screen.query_one(LayerTable)
        assert table.row_count == 14  # input, 12 layers, total
        names = [table.text(k, "layer") for k in range(table.row_count)]
        assert names[:3] == ["input", "conv1", "bn1"] and names[-1] == "total"
        assert [table.text(CONV2, c) for c in ("output", "params", "mult-adds")] == ["128×16×16", "73.9k", "18.9M"]
        thumbnails = screen.query_one(Thumbnails)
        assert thumbnails.page_labels()[0] == f"0 {screen.class_name(int(screen.labels[0]))}"
        assert screen.acts["conv1"].shape == (8, 64, 32, 32)


async def test_keys_move_over_layers_channels_images_and_pages():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        await pilot.press("down")
        assert screen.layer == CONV1 and screen.query_one(LayerTable).cursor_row == CONV1
        thumbnails = screen.query_one(Thumbnails)
        assert thumbnails.page_labels()[:2] == ["0", "1"]
        await pilot.press("right", "right", "left")
        assert screen.channel == 1
        per_page = thumbnails.per_page
        await pilot.press("pagedown")
        assert screen.channel == 1 + per_page and thumbnails.page[0] == per_page
        await pilot.press("pageup", "right_square_bracket", "right_square_bracket", "left_square_bracket")
        assert screen.channel == 1 and screen.image == 1
        await pilot.press("up")
        assert screen.layer == 0
        await pilot.press("right")  # on the input, ← → pick the image
        assert screen.image == 2
        await pilot.press("up")
        assert screen.layer == 0  # clamped at the input
        await pilot.press("v")
        assert screen.has_class("no-table")


async def test_enter_enlarges_a_channel_and_arrows_move_the_cell():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        await go_to_layer(pilot, app, CONV2)
        await pilot.press("right", "enter")
        assert screen.mode == "zoom" and screen.cursor == (8, 8)
        await pilot.press("down", "right", "right", "up", "up")
        assert screen.cursor == (7, 10) and screen.query_one(ZoomMap).cursor == (7, 10)
        assert screen.layer == CONV2 and screen.channel == 1
        await pilot.press("pagedown")  # in the enlarged map: the next channel
        assert screen.channel == 2 and screen.mode == "zoom"
        await pilot.press("escape")
        assert screen.mode == "thumbnails"


async def test_b_shows_the_batch_norm_statistics_of_every_channel():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        await pilot.press("b")
        assert screen.mode == "thumbnails"  # not a batch-norm layer: a notification only
        await go_to_layer(pilot, app, BN1)
        await pilot.press("b")
        assert screen.mode == "stats"
        table = screen.query_one("#stats")
        assert table.row_count == 64
        stats = screen.stats()
        x = screen.acts["conv1"].astype(np.float64)
        assert stats[3].batch_mean == pytest.approx(x[:, 3].mean(), rel=1e-6)
        assert stats[3].batch_var == pytest.approx(x[:, 3].var(), rel=1e-5)
        assert stats[3].out_mean == pytest.approx(0, abs=1e-5) and stats[3].out_std == pytest.approx(1, abs=1e-3)
        assert (stats[3].running_mean, stats[3].running_var, stats[3].gamma, stats[3].beta) == (0, 1, 1, 0)
        await pilot.press("down")
        assert screen.mode == "thumbnails"  # leaving the batch-norm layer leaves its table


async def test_the_view_does_not_change_the_running_statistics():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        state = view(app).network.state
        assert np.all(state["bn1.running_mean"] == 0) and np.all(state["bn2.running_var"] == 1)


async def test_the_as_printed_network_opens_with_the_failing_layer_marked_and_explained():
    app = network_app("seed_convnet_as_printed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = view(app)
        assert screen.network is None and screen.error.layer == 9
        table = screen.query_one(LayerTable)
        assert table.failing == 10 and table.cursor_row == 10
        assert table.text(10, "layer") == "✗ fc1" and table.text(9, "output") == "8192"
        assert table.text(11, "output") == "not reached"
        text = str(screen.query_one("#error-text").render())
        assert "two 2x2 poolings leave 128×8×8 = 8192 features, not 32768" in text
        assert "maxpool2   128×8×8" in text
        await pilot.press("s", "r", "enter", "b", "up", "down", "down")
        assert isinstance(app.screen, NetworkScreen) and screen.mode == "error"


@pytest.mark.parametrize(
    "row, cell",
    [
        (CONV1, (2, 5, 0, 0)),  # a corner: the padding is reproduced
        (CONV1, (1, 7, 31, 17)),  # the bottom edge
        (CONV2, (3, 17, 5, 9)),  # 64 input channels
        (MAXPOOL1, (0, 2, 3, 4)),
        (BN1, (2, 5, 31, 0)),  # the whole channel over the batch of 8
        (BN2, (7, 100, 7, 7)),
    ],
)
async def test_the_bridge_opens_the_stepper_on_the_cells_computation(row, cell):
    n, c, i, j = cell
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        await go_to_layer(pilot, app, row)
        screen.image, screen.channel = n, c
        await pilot.press("enter")
        screen.cursor = (i, j)
        expected = float(screen.acts[screen.current.name][n, c, i, j])
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BridgeScreen))
        stepper = app.screen
        step = stepper.trace[stepper.index]
        assert stepper.index == stepper.link.step
        assert stepper.link.batch_value == expected
        assert step.value == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert "float32" in str(stepper.query_one("#bridge-values").render())
        if isinstance(screen.current, BatchNorm):
            assert step.phase == "normalize" and step.out_index == (n, 0, i, j)
        await pilot.press("escape")
        assert app.screen is screen


async def test_step_on_a_layer_without_a_stepper_only_notifies(monkeypatch):
    app = network_app()
    told = notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_layer(pilot, app, FC2)
        await pilot.press("s")
        assert isinstance(app.screen, NetworkScreen) and told == [
            "fc2 (linear) has no step-by-step view: choose a conv, pooling or batch-norm layer"
        ]
        await pilot.press("enter")
        assert view(app).mode == "thumbnails" and told[-1] == "flat features have no map to enlarge"
        assert "predicts" in str(view(app).query_one("#layer-info").render())


async def test_w_opens_the_lectures_network_from_the_stepper_and_escape_returns():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen))
        await pilot.press("escape")
        assert isinstance(app.screen, StepperScreen)


async def test_opening_a_network_sample_from_the_app_shows_the_network_view():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.open_sample(samples.resolve("seed_convnet_as_printed"))
        await pilot.pause()
        assert view(app).error is not None
        assert app.open_sample(samples.resolve("max_pool"))
        await pilot.pause()
        assert isinstance(app.screen, StepperScreen)


def test_sample_op_names_the_view():
    assert samples.sample_op(samples.resolve("seed_convnet")) == "network"
    assert samples.sample_op(samples.resolve("seed_pipeline")) == "pipeline"


def test_smoothed_is_a_running_mean():
    assert smoothed([1.0, 3.0, 5.0], window=2).tolist() == [1.0, 2.0, 4.0]


SMALL = TrainingConfig(train_size=320, test_size=16, batch_size=16, epochs=5, refresh_every=1)


async def test_training_runs_in_a_worker_pauses_stops_and_keeps_its_steps():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        screen.training_config = SMALL
        before = screen.network.state["conv1.weight"].copy()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        training = app.screen
        await until(pilot, lambda: training.batches_done >= 2)
        assert training.active_bindings["p"].binding.description == "Pause"
        await pilot.press("p")
        assert training.state == "paused"
        assert training.active_bindings["p"].binding.description == "Resume"  # the footer says what p does now
        await until(pilot, lambda: training.held.is_set())  # the worker waits between two steps
        await pilot.pause()  # the messages it posted before are drawn
        held = training.batches_done
        await pilot.pause()
        assert training.batches_done == held and training.held.is_set()
        await pilot.press("p")
        assert training.state == "running"
        assert training.active_bindings["p"].binding.description == "Pause"
        await until(pilot, lambda: training.batches_done > held or training.state == "done")
        await pilot.press("s")
        await until(pilot, lambda: training.worker.is_finished)
        assert training.state in ("stopped", "done")
        assert training.runs[0].losses and len(training.query_one(Thumbnails).page_labels()) > 0
        assert not np.array_equal(screen.network.state["conv1.weight"], before)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen))


async def test_training_to_the_end_and_the_batch_norm_comparison():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        screen.training_config = TrainingConfig(train_size=32, test_size=16, batch_size=16, epochs=1)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        training = app.screen
        await until(pilot, lambda: training.state == "done", 60)
        assert training.batches_done == 2 and len(training.runs[0].epochs) == 1
        await pilot.pause()
        seconds = training.seconds()
        assert seconds > 0 and first_line(training.query_one("#train-left")).strip() == "100% · done"
        await pilot.pause(0.2)
        assert training.seconds() == seconds  # the clock stopped with the run
        await pilot.press("c")
        await until(pilot, lambda: training.state == "done", 60)
        assert [run.label for run in training.runs] == ["with batch norm", "without batch norm"]
        assert all(len(run.losses) == 2 and len(run.epochs) == 1 for run in training.runs)
        without = training.query_one("#loss-1", LinePlot)
        assert without.title == "without batch norm" and without.series[0][1].size == 2


async def test_training_on_a_missing_data_file_says_why_and_keeps_the_view(tmp_path, monkeypatch):
    app = CnnApp(None, network=samples.resolve("seed_convnet"), data=str(tmp_path / "missing.npz"))
    told = notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen))
        training = app.screen
        await until(pilot, lambda: training.state == "stopped")
        assert any("missing.npz" in message for message in told)
        await pilot.pause()
        assert first_line(training.query_one("#train-left")).strip() == "stopped"  # no longer "loading the data…"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen))


async def test_help_and_the_palette_list_the_network_views_keys():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        help_screen = app.screen
        assert help_screen.groups[0][0] == "Network view"
        await pilot.press("escape")
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert "Open the stepper on the chosen cell's computation" in commands
        assert any(title.startswith("The lecture's whole network") for title in commands)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_cnn_tui_opens_a_network_sample_in_a_real_terminal_and_steps_into_a_cell(tmp_path):
    server = f"cnn-tui-test-{uuid.uuid4().hex[:8]}"
    tmux(
        server,
        "new-session",
        "-d",
        "-s",
        "a",
        "-x",
        "100",
        "-y",
        "30",
        "-c",
        str(tmp_path),
        f"env PYTHONPATH={ROOT} {sys.executable} -m tui.cli seed_convnet",
    )
    try:
        first = screen_until(server, lambda text: "mult-adds" in text and "18.9M" in text)
        assert "conv2" in first and "2.18M" in first, first
        tmux(server, "send-keys", "-t", "a", "Down", "Enter", "s")
        bridge = screen_until(server, lambda text: "batch path (float32)" in text)
        assert "step by step (float64)" in bridge and "conv1 · image 0 · map 0 · cell (16, 16)" in bridge, bridge
        tmux(server, "send-keys", "-t", "a", "q")
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


async def test_the_table_shows_every_column_on_a_wide_terminal_and_refits_when_resized():
    app = network_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        table = view(app).query_one(LayerTable)
        assert table.text(CONV2, "type") == "conv" and table.text(CONV2, "mult-adds") == "18,874,368"
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: table.text(CONV2, "mult-adds") == "18.9M")


async def test_the_palette_on_the_bridge_offers_the_stepping_keys_and_the_way_back():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "s")
        await until(pilot, lambda: isinstance(app.screen, BridgeScreen))
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert "Back to the network view" in commands and "Next step" in commands


async def test_the_bridge_scrolls_a_big_batch_to_the_cell_it_opens_on():
    """bn1's bridge is 8 grids of 32×32 per side: the cell must be on screen once fitting settles."""
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        await go_to_layer(pilot, app, BN1)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BridgeScreen) and app.screen.stage_number == 0)
        stepper = app.screen
        n, _, i, j = stepper.trace[stepper.index].out_index
        panel = stepper.panel
        area = panel.query_one(".grids")
        cell = panel.query("MatrixGrid.output")[n]

        def shown() -> bool:
            box = cell.cells_region((i,), (j,))
            return box is not None and area.content_region.contains_region(box)

        await until(pilot, shown)
        await pilot.pause(0.5)  # fitting may still change the layout: the cell must stay in view
        assert shown()


# ------------------------------------------------------------ idle is idle, quit exits, no crash


class Activity:
    """Counts the messages every node handles and the refreshes every widget asks for."""

    def __init__(self, monkeypatch) -> None:
        self.counting = False
        self.messages: list[str] = []
        self.refreshes: list[str] = []
        refresh = Widget.refresh

        def counted_refresh(widget, *args, **kwargs):
            if self.counting:
                self.refreshes.append(type(widget).__name__)
            return refresh(widget, *args, **kwargs)

        monkeypatch.setattr(Widget, "refresh", counted_refresh)

    def hook(self, message) -> None:
        if self.counting:
            self.messages.append(type(message).__name__)

    async def over_a_second(self) -> tuple[list[str], list[str]]:
        """What happened in one second left alone (a plain sleep: Pilot's own pauses post messages)."""
        self.messages, self.refreshes, self.counting = [], [], True
        await asyncio.sleep(1.0)
        self.counting = False
        return self.messages, self.refreshes


@pytest.mark.parametrize(
    "name, keys",
    [
        ("seed_convnet_as_printed", []),  # the table's highlight and the layer watcher once chased each other
        ("seed_convnet", []),
        ("seed_convnet", ["down", "enter"]),  # the enlarged map
        ("seed_convnet", ["down", "down", "b"]),  # batch-norm statistics
    ],
)
async def test_the_network_view_left_alone_does_nothing(monkeypatch, name, keys):
    activity = Activity(monkeypatch)
    app = network_app(name)
    async with app.run_test(size=(80, 24), message_hook=activity.hook) as pilot:
        await pilot.press(*keys)
        await pilot.pause(0.3)
        assert await activity.over_a_second() == ([], [])


async def test_the_training_screen_paused_or_finished_does_nothing(monkeypatch):
    activity = Activity(monkeypatch)
    app = network_app()
    async with app.run_test(size=(80, 24), message_hook=activity.hook) as pilot:
        view(app).training_config = SMALL
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.batches_done >= 2)
        training = app.screen
        await pilot.press("p")
        await until(pilot, lambda: training.held.is_set())
        await pilot.pause(0.3)  # what the worker posted before it held is drawn
        assert await activity.over_a_second() == ([], [])
        await pilot.press("p", "s")
        await until(pilot, lambda: training.state == "stopped" and training.control.ended.is_set())
        await pilot.pause(0.3)
        assert await activity.over_a_second() == ([], [])
        training.config = TrainingConfig(train_size=32, test_size=16, batch_size=16, epochs=1)
        await pilot.press("r")
        await until(pilot, lambda: training.state == "done", 60)
        await pilot.pause(0.3)
        assert await activity.over_a_second() == ([], [])


async def test_paused_training_stands_still_its_clock_and_estimate_too():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        view(app).training_config = SMALL
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.batches_done >= 2)
        training = app.screen
        await pilot.press("p")
        await until(pilot, lambda: training.held.is_set())
        await pilot.pause()
        progress = training.query_one("#train-left")
        seconds, shown = training.seconds(), first_line(progress)
        await pilot.pause(1.2)
        assert training.seconds() == seconds and first_line(progress) == shown
        assert "paused" in shown and "left" not in shown
        assert "━" in first_line(training.query_one("#train-bar"))  # the bar is drawn, a line high
        await pilot.press("p")
        await until(pilot, lambda: training.seconds() > seconds)


@pytest.mark.parametrize("state", ["paused", "running"])
async def test_quitting_stops_the_training_worker_within_a_second(state):
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        view(app).training_config = TrainingConfig(train_size=4000, test_size=16, batch_size=16, epochs=5)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.batches_done >= 1)
        training = app.screen
        if state == "paused":
            await pilot.press("p")
            await until(pilot, lambda: training.held.is_set())
        await pilot.press("q")
    assert training.control.ended.wait(1.0), "the worker thread still runs after the app quit"


async def test_training_again_replaces_the_plots():
    """r after a finished run once mounted new plots before the old ones were gone (DuplicateIds)."""
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        view(app).training_config = TrainingConfig(train_size=32, test_size=16, batch_size=16, epochs=1)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.state == "done", 60)
        training = app.screen
        await pilot.press("r", "r")  # the second r while the first run starts: refused, not a crash
        await until(pilot, lambda: training.state == "done", 60)
        assert len(training.query(LinePlot)) == 2 and training.runs[0].losses == training.runs[0].losses[:2]
        await pilot.press("s", "c", "r")
        await until(pilot, lambda: training.state == "done", 60)
        assert [plot.id for plot in training.query(LinePlot)] == ["loss-0", "accuracy-0", "loss-1", "accuracy-1"]


async def test_a_run_stopped_and_started_again_keeps_only_the_new_runs_steps():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        view(app).training_config = TrainingConfig(train_size=4000, test_size=16, batch_size=16, epochs=1)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TrainingScreen) and app.screen.batches_done >= 2)
        training = app.screen
        first = training.control
        await pilot.press("s", "r")
        await until(pilot, lambda: training.batches_done >= 1)
        assert first.ended.is_set() and training.control is not first  # the old thread returned first
        await pilot.press("s")
        await until(pilot, lambda: training.control.ended.is_set())
        assert training.batches_done == len(training.runs[0].losses)


async def test_the_as_printed_view_ignores_keys_that_need_a_layers_maps():
    """l, PageUp, [ ] once asked for the activations of a layer that was never built (IndexError)."""
    app = network_app("seed_convnet_as_printed")
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        await pilot.press("l", "right", "pageup", "pagedown", "left", "right_square_bracket", "z", "v", "v")
        assert screen.mode == "error" and screen.layer == 10 and (screen.image, screen.channel) == (0, 0)
        await pilot.press("up", "l", "pagedown")
        assert screen.layer == 9 and screen.mode == "error"


async def test_an_enlarged_map_closed_before_it_is_drawn_does_not_crash():
    """Enter queues a scroll to the cell after the next refresh; the screen may be gone by then.
    (A guard: the random walk's NoMatches in `keep` was not reproduced deterministically.)"""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, NetworkScreen))
        screen = view(app)
        screen.action_down()
        screen.action_zoom()
        app.pop_screen()
        await pilot.pause(0.2)
        assert isinstance(app.screen, StepperScreen) and screen.mode == "zoom"


async def test_a_click_on_a_row_picks_that_layer_and_the_total_row_picks_the_last():
    app = network_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = view(app)
        table = screen.query_one(LayerTable)
        await pilot.click(LayerTable, offset=(2, 1 + CONV2))  # the header, then one line a row
        assert screen.layer == CONV2 and table.cursor_row == CONV2
        await pilot.click(LayerTable, offset=(2, 1 + FC2 + 1))  # the total row
        assert screen.layer == FC2 and table.cursor_row == FC2


async def test_the_total_row_is_not_numbered_like_a_layer():
    app = network_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        table = view(app).query_one(LayerTable)
        assert [table.text(row, "#") for row in (CONV1, FC2)] == ["1", "12"]
        assert table.text(FC2 + 1, "layer") == "total" and table.text(FC2 + 1, "#") == ""


@pytest.mark.parametrize("row", [0, CONV1, CONV2])
async def test_the_enlarged_maps_neighbourhood_is_whole_at_80x24(row):
    app = network_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = view(app)
        await go_to_layer(pilot, app, row) if row else None
        await pilot.press("enter")
        await pilot.pause(0.2)
        grid = screen.query_one("#neighbourhood", MatrixGrid)
        side = screen.query_one("#zoom-side")
        assert side.content_region.contains_region(grid.region), (grid.region, side.content_region)
        i, j = screen.cursor
        assert grid.current is not None and grid.cell_text(*grid.current) == fmt(
            screen.maps[0, 0, i, j] if row else screen.maps[0].mean(axis=0)[i, j]
        )


async def test_the_scale_line_ends_in_an_ellipsis_when_cut():
    app = network_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = view(app)
        for row in (0, CONV1):
            await go_to_layer(pilot, app, row) if row else await pilot.pause()
            line = first_line(screen.query_one("#scale"))
            assert line.endswith("…"), line


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
@pytest.mark.parametrize("pause", [True, False])
def test_quitting_a_training_run_really_ends_the_process(pause, tmp_path):
    server = f"cnn-tui-test-{uuid.uuid4().hex[:8]}"
    command = f"env PYTHONPATH={ROOT} {sys.executable} -m tui.cli seed_convnet; echo exited-$?; sleep 30"
    tmux(server, "new-session", "-d", "-s", "a", "-x", "80", "-y", "24", "-c", str(tmp_path), command)
    try:
        screen_until(server, lambda text: "mult-adds" in text)
        tmux(server, "send-keys", "-t", "a", "r")
        text = screen_until(server, lambda text: "running · loss: epoch 1 batch" in text, 60)
        assert "running" in text, text
        if pause:
            tmux(server, "send-keys", "-t", "a", "p")
            text = screen_until(server, lambda text: "paused ·" in text)
            assert "paused ·" in text, text
        tmux(server, "send-keys", "-t", "a", "q")
        text = screen_until(server, lambda text: "exited-" in text, 3)
        assert "exited-0" in text, text
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


@pytest.mark.parametrize("keys", ["w o end enter", "w o up up enter", "w o down enter"])
async def test_opening_a_sample_from_the_network_view_over_a_stepper_never_crashes(keys):
    """`w` (the network over the stepper), `o`, a sample, pressed as fast as a user can (the monkey's
    replay): switching screens from inside the picker's dismissal crashed with NoMatches."""
    from tui import monkey

    for sample in ("seed_conv", "relu"):
        walk = await monkey.walk(sample, replay=monkey.parse_events(keys))
        assert walk.error is None, walk.report()
