"""Pilot tests of every backward view, the stage bar's backward stages, and the 5x5 backward in tmux."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.tui.conftest import make_app
from tests.tui.test_stepper import grid, line, status, stepper
from tests.tui.test_tmux import screen_until, tmux
from tui.screens.backward import (
    BatchNormGradPanel,
    InputGradPanel,
    LossPanel,
    PoolGradPanel,
    ReluGradPanel,
    SgdPanel,
    SumPanel,
    WeightGradPanel,
)
from tui.widgets.labels import StageBar

ROOT = Path(__file__).resolve().parents[2]
DW = [["8", "9", "7"], ["5", "8", "7"], ["8", "8", "5"]]
DX = [["1", "1", "2", "1", "1"], ["1", "2", "3", "2", "1"], ["2", "3", "5", "3", "2"]]


async def test_conv_weight_gradient_view():
    app = make_app("seed_conv_backward")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab")
        assert isinstance(stepper(app).panel, WeightGradPanel)
        bar = stepper(app).query_one(StageBar)
        assert bar.names == ("conv", "dconv.weight", "dconv.bias", "dinput")
        assert bar.backward_from == 1 and bar.current == 1
        assert " ←  2 dconv.weight " in bar.render().plain
        assert line(app) == "dw = 1·1 + 2·1 + 1·1 + 0·1 + 1·1 + 0·1 + 1·1 + 0·1 + 2·1 = 8"
        # dW[0, 0] reads the top-left 3x3 block: tap (0, 0) at every output position.
        assert grid(app, "input").window_cells == {(r, c) for r in range(3) for c in range(3)}
        assert grid(app, "output").rows_text()[0] == ["8", "·", "·"]
        await pilot.press("right")
        assert grid(app, "input").window_cells == {(r, c) for r in range(3) for c in range(1, 4)}
        assert grid(app, "output").current == (0, 1)
        for _ in range(7):
            await pilot.press("right")
        assert grid(app, "output").rows_text() == DW
        assert "stage 2/4 dconv.weight" in status(app) and "element [0, 0, 2, 2]" in status(app)
        await pilot.press("right")
        assert isinstance(stepper(app).panel, SumPanel)
        assert line(app) == "dbias = Σ dY = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 = 9"
        assert grid(app, "output").rows_text() == [["9"]]


async def test_conv_input_gradient_view():
    app = make_app("seed_conv_backward")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", "tab")
        assert isinstance(stepper(app).panel, InputGradPanel)
        assert grid(app, "kernel").rows_text() == [["1", "0", "1"], ["0", "1", "0"], ["1", "0", "1"]]
        padded = grid(app, "upstream")
        assert padded.rows_text()[2] == ["0", "0", "1", "1", "1", "0", "0"]
        assert padded.window_cells == {(r, c) for r in range(3) for c in range(3)}
        assert grid(app, "output").current == (0, 0)
        for _ in range(12):
            await pilot.press("right")
        assert padded.window_cells == {(r, c) for r in range(2, 5) for c in range(2, 5)}
        assert line(app).endswith("= 5")
        await pilot.press("end")
        assert grid(app, "output").rows_text()[:3] == DX


async def test_max_pool_routing_view():
    app = make_app("max_pool_backward")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab")
        assert isinstance(stepper(app).panel, PoolGradPanel)
        source = grid(app, "input")
        # The four maxima 6, 5, 3, 7 receive gradient.
        assert source.counted_cells == {(1, 1), (1, 2), (2, 0), (3, 2)}
        for _ in range(5):
            await pilot.press("right")
        assert source.current == (1, 1)
        assert grid(app, "upstream").counted_cells == {(0, 0)}
        assert line(app).startswith("dx = dY[0, 0] = 1")
        await pilot.press("right")
        assert grid(app, "upstream").counted_cells == {(0, 1)}
        await pilot.press("right")
        assert grid(app, "upstream").counted_cells == set()
        assert line(app).startswith("dx = 0")
        await pilot.press("end")
        assert grid(app, "output").rows_text() == [
            ["0", "0", "0", "0"],
            ["0", "1", "2", "0"],
            ["3", "0", "0", "0"],
            ["0", "0", "4", "0"],
        ]


async def test_batch_norm_gradient_views():
    app = make_app("seed_batchnorm_backward")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab")
        assert isinstance(stepper(app).panel, SumPanel)
        assert line(app).startswith("dγ = Σ dy·x̂ = ")
        assert len(stepper(app).panel.query("MatrixGrid.x-hat")) == 2
        await pilot.press("tab")
        assert line(app) == "dβ = Σ dy = 1 + (-1) + 0.5 + 2 + 0 + 1 + (-2) + 0.5 = 2"
        await pilot.press("tab", "right")
        panel = stepper(app).panel
        assert isinstance(panel, BatchNormGradPanel)
        terms = str(panel.query_one(".terms").content)
        assert "dy = -1" in terms and "mean(dy) = 0.25" in terms and "x̂·mean(dy·x̂)" in terms
        assert line(app).endswith("= -1.633")
        assert grid(app, "output").rows_text()[0] == ["0.8165", "-1.633"]


async def test_block_loss_relu_and_sgd_views():
    app = make_app("seed_block_backward")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(4):
            await pilot.press("tab")
        assert isinstance(stepper(app).panel, LossPanel)
        assert line(app).startswith("dlogit = (softmax ")
        await pilot.press("tab", "tab")
        assert isinstance(stepper(app).panel, ReluGradPanel)
        assert "stage 7/17 drelu.input" in status(app)
        for _ in range(7):
            await pilot.press("tab")
        assert isinstance(stepper(app).panel, SgdPanel)
        bar = stepper(app).query_one(StageBar)
        plain = bar.render().plain
        assert "14 sgd conv.weight" in plain and plain.startswith("…")
        assert line(app).startswith("g + wd·w = ")
        old = grid(app, "old").cell_text(0, 0)
        assert old == "1" and grid(app, "output").current == (0, 0)
        assert "old value w, filter 0 channel 0" in str(stepper(app).panel.query(".column-title")[0].content)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_every_backward_stage_shows_its_step(size):
    """At both sizes every backward stage shows the current step's line, the status and the current cell."""
    app = make_app("seed_block_backward")
    async with app.run_test(size=size) as pilot:
        screen = stepper(app)
        for start in screen.trace.stage_starts[4:]:
            screen.index = start
            await pilot.pause()
            assert line(app) == screen.trace[start].text
            assert screen.trace[start].text.rsplit(" = ", 1)[-1].split()[0] in line(app)
            assert status(app).startswith(f"stage {screen.stage_index + 1}/17")
            assert grid(app, "output").current is not None


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_stepping_the_5x5_backward_in_tmux_shows_dw(tmp_path):
    server = f"cnn-tui-backward-{uuid.uuid4().hex[:8]}"
    command = f"env PYTHONPATH={ROOT} {sys.executable} -m tui.cli seed_conv_backward"

    tmux(server, "new-session", "-d", "-s", "a", "-x", "80", "-y", "24", "-c", str(tmp_path), command)
    try:
        assert "step 1 of 44" in screen_until(server, lambda text: "step 1 of 44" in text)
        tmux(server, "send-keys", "-t", "a", "Tab")
        for _ in range(8):
            tmux(server, "send-keys", "-t", "a", "Right")
        final = screen_until(server, lambda text: "step 18 of 44" in text and "│ 8  8  5 │" in text)
        for row in ("│ 8  9  7 │", "│ 5  8  7 │", "│ 8  8  5 │"):
            assert row in final, final
        assert "dconv.weight" in final
        tmux(server, "send-keys", "-t", "a", "q")
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


async def test_network_view_opens_a_conv_weights_gradient():
    """d on conv2 (filter 5) steps dW[5, 0] after one training batch; every tap equals the batch path's
    float32 dW of the whole network's backward (cross-entropy on the view's batch and labels)."""
    from engine import samples
    from engine.backward import gradients
    from engine.network.loss import cross_entropy
    from tui.app import CnnApp
    from tui.screens.network import BridgeScreen, NetworkScreen

    app = CnnApp(None, network=samples.resolve("seed_convnet"), theme="cnn-dark")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        await pilot.press("d")  # on the input: only a notification
        assert app.screen is screen
        await pilot.press(*["down"] * 5)
        assert screen.current.name == "conv2"
        screen.channel = 5
        await pilot.press("d")
        for _ in range(600):
            if isinstance(app.screen, BridgeScreen):
                break
            await pilot.pause(0.05)
        bridge = app.screen
        assert isinstance(bridge, BridgeScreen)
        assert [stage.op for stage in bridge.trace.stages] == ["conv", "conv_dweight"]
        step = bridge.trace[bridge.index]
        assert bridge.stage_number == 1 and step.out_index == (0, 0, 0, 0)
        assert "float32" in str(bridge.query_one("#bridge-values").render())
        # The whole network's backward, float32, on the same batch.
        network = screen.network
        kept = {key: value.copy() for key, value in network.state.items()}
        _, dlogits = cross_entropy(network.forward(screen.x, training=True), screen.labels)
        expected = network.backward(dlogits)["conv2.weight"][5, 0]
        network.state.update(kept)
        np.testing.assert_allclose(gradients(bridge.trace)["conv2.weight"][0, 0], expected, rtol=1e-4, atol=1e-7)
        assert bridge.link.batch_value == pytest.approx(float(expected[0, 0]), rel=1e-6)
        await pilot.press("escape")
        assert app.screen is screen
