"""Idle is idle: every screen, left alone for a second, does nothing.

Each test brings a screen up with keys, lets it settle, clears the notifications
(their time-outs are the consequence of a key), then counts for one second what
Textual does: timer ticks, widget refreshes and messages dispatched. Without a
key, a resize, autoplay or training, all three must be zero. The one allowance is
the blinking text cursor of a focused Input (Textual's own, two ticks a second, and
the screen updates that paint it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from engine import samples
from tests.tui.conftest import make_app
from tui.app import CnnApp
from tui.screens import network as network_screen
from tui.screens.training import TrainingConfig, TrainingScreen

SIZE = (100, 30)
TINY = TrainingConfig(train_size=64, test_size=16, batch_size=16, epochs=1, refresh_every=1)


@dataclass
class Activity:
    """What happened while `recording`: one string per timer tick, refresh and message."""

    recording: bool = False
    ticks: list[str] = field(default_factory=list)
    refreshes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def message(self, message) -> None:
        if self.recording:
            self.messages.append(type(message).__name__)

    def summary(self) -> str:
        return f"timer ticks {self.ticks[:8]}, refreshes {self.refreshes[:8]}, messages {self.messages[:8]}"


def blinking_cursor(timer: Timer) -> bool:
    return getattr(timer._callback, "__name__", "") == "_toggle_cursor"


@pytest.fixture
def activity(monkeypatch) -> Activity:
    seen = Activity()
    tick, refresh = Timer._tick, Widget.refresh

    async def counted_tick(self, *, next_timer: float, count: int) -> None:
        if seen.recording and not blinking_cursor(self):
            seen.ticks.append(f"{self.name} {getattr(self._callback, '__qualname__', '')}")
        await tick(self, next_timer=next_timer, count=count)

    def counted_refresh(self, *args, **kwargs):
        if seen.recording and not (isinstance(self, Input) and self.has_focus):
            seen.refreshes.append(type(self).__name__)
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(Timer, "_tick", counted_tick)
    monkeypatch.setattr(Widget, "refresh", counted_refresh)
    return seen


async def settle(pilot) -> None:
    """Let everything a key started finish: pending messages, paints, then drop the notifications."""
    for _ in range(3):
        await pilot.pause(0.2)
    pilot.app.clear_notifications()
    await pilot.pause(0.2)


async def assert_idle(pilot, seen: Activity) -> None:
    await settle(pilot)
    seen.recording = True
    await asyncio.sleep(1.0)  # not pilot.pause: its waiting posts a callback to every widget
    seen.recording = False
    focused = pilot.app.focused
    if isinstance(focused, Input) and focused.cursor_blink:  # the allowance: a text field's cursor blinks
        seen.ticks = [tick for tick in seen.ticks if not tick.startswith("screen_update")]
        seen.messages = [name for name in seen.messages if name != "Update"]
    assert not seen.ticks and not seen.refreshes and not seen.messages, (
        f"{type(pilot.app.screen).__name__}: {seen.summary()}"
    )


STEPPER_VIEWS = {
    "conv": ("seed_conv", ()),
    "conv, a few steps": ("seed_conv", ("right", "right", "right")),
    "pool": ("max_pool", ("right",)),
    "batch norm": ("seed_batchnorm", ("right",)),
    "relu": ("relu", ("right",)),
    "pipeline, last stage": ("seed_pipeline", ("tab", "tab", "tab", "right")),
    "edit mode": ("seed_conv", ("e", "down", "right")),
    "edit mode, batch norm": ("seed_batchnorm", ("e", "tab")),
    "after an edit": ("seed_conv", ("e", "s", "escape")),
    "autoplay paused": ("seed_conv", ("p", "p")),
    "autoplay ran to the end": ("seed_conv", ("end", "left", "p", "+", "+", "+", "+")),
    "parameter panel": ("seed_conv", ("E",)),
    "help": ("seed_conv", ("question_mark",)),
    "sample picker": ("seed_conv", ("o",)),
    "go to step": ("seed_conv", ("g",)),
    "save as": ("seed_conv", ("e", "s", "W")),
}


@pytest.mark.parametrize("view", list(STEPPER_VIEWS))
async def test_a_stepper_view_left_alone_does_nothing(view, activity):
    name, keys = STEPPER_VIEWS[view]
    app = make_app(name)
    async with app.run_test(size=SIZE, message_hook=activity.message) as pilot:
        await pilot.press(*keys)
        await pilot.pause(1.0)  # autoplay (if any) has reached the last step
        await assert_idle(pilot, activity)


NETWORK_VIEWS = {
    "layer table and input": ("seed_convnet", ()),
    "thumbnails": ("seed_convnet", ("down",)),
    "enlarged map": ("seed_convnet", ("down", "enter", "right")),
    "batch-norm statistics": ("seed_convnet", ("down", "down", "b")),
    "bridge": ("seed_convnet", ("down", "s")),
    "help": ("seed_convnet", ("question_mark",)),
    "as printed": ("seed_convnet_as_printed", ()),
}


@pytest.mark.parametrize("view", list(NETWORK_VIEWS))
async def test_a_network_view_left_alone_does_nothing(view, activity):
    name, keys = NETWORK_VIEWS[view]
    app = CnnApp(None, network=samples.resolve(name))
    async with app.run_test(size=SIZE, message_hook=activity.message) as pilot:
        await pilot.press(*keys)
        await assert_idle(pilot, activity)


async def wait_for_state(pilot, screen: TrainingScreen, states: tuple[str, ...]) -> None:
    for _ in range(600):
        if screen.state in states:
            return
        await pilot.pause(0.05)
    raise AssertionError(f"training never reached {states}: {screen.state}")


@pytest.mark.parametrize("ending", ["finished", "stopped", "paused"])
async def test_the_training_screen_left_alone_does_nothing(ending, activity, monkeypatch):
    monkeypatch.setattr(network_screen, "TrainingConfig", lambda: TINY)
    app = CnnApp(None, network=samples.resolve("seed_convnet"))
    async with app.run_test(size=SIZE, message_hook=activity.message) as pilot:
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        if ending == "finished":
            await wait_for_state(pilot, screen, ("done",))
        elif ending == "stopped":
            await pilot.press("s")
            await wait_for_state(pilot, screen, ("stopped", "done"))
        else:
            await pilot.press("p")
            await wait_for_state(pilot, screen, ("paused", "done"))
        await assert_idle(pilot, activity)
