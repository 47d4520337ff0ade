"""The layout test: at every size and in both themes, the answer and the place it belongs are on screen.

For every shipped stepper sample and every stage (its first step and one a few steps on),
at 80x24, 120x36 and 200x60, in cnn-dark and cnn-light, the rendered screen shows:
- the step's `= value` (the computation line, whole or condensed, ends on screen);
- the status line unbroken: every part of it (` · ` between parts) whole on one screen line: a
  status line too long for one row breaks between its parts, never inside one;
- every grid whole, or inside a container that shows a scroll bar.
The same for the network view (layer table and thumbnails, the enlarged map) and the bridge.
One app per sample and theme: the sizes are resizes of it, the stages key presses.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widget import Widget

from engine import samples
from tests.tui.conftest import make_app
from tui.app import CnnApp
from tui.screens.stepper import StepperScreen
from tui.widgets.heatmap import Thumbnails, ZoomMap
from tui.widgets.labels import ComputationLine, StatusLine
from tui.widgets.matrix import MatrixGrid

SIZES = [(80, 24), (120, 36), (200, 60)]
THEMES = ["cnn-dark", "cnn-light"]
STEPPER_SAMPLES = [entry.name for entry in samples.shipped() if entry.op != "network"]


def screen_lines(app) -> list[str]:
    """The screen as the terminal shows it, one string per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


def visible_fraction(app, widget: Widget) -> tuple[int, int, int, int]:
    """(visible width, visible height, full width, full height) of widget on the screen."""
    geometry = app.screen._compositor.find_widget(widget)
    visible = geometry.region.intersection(geometry.clip)
    return visible.width, visible.height, geometry.region.width, geometry.region.height


def scrolls(widget: Widget) -> bool:
    """Whether an ancestor of widget shows a scroll bar (so a cut grid says there is more)."""
    return any(
        getattr(node, "show_horizontal_scrollbar", False) or getattr(node, "show_vertical_scrollbar", False)
        for node in widget.ancestors_with_self
        if isinstance(node, Widget)
    )


def problems(app) -> list[str]:
    """What is wrong with the screen in front (empty: nothing)."""
    found = []
    lines = screen_lines(app)
    text = "\n".join(lines)
    screen = app.screen
    for grid in [*screen.query(MatrixGrid), *screen.query(ZoomMap)]:
        if not grid.display:
            continue
        try:
            seen_w, seen_h, full_w, full_h = visible_fraction(app, grid)
        except Exception:  # noqa: BLE001 - not laid out: not shown
            continue
        if (seen_w, seen_h) != (full_w, full_h) and seen_w * seen_h and not scrolls(grid):
            found.append(f"{grid!r} shows {seen_w}x{seen_h} of {full_w}x{full_h} with no scroll bar")
    if isinstance(screen, StepperScreen):
        line = screen.panel.query_one(ComputationLine).text
        result = line.split("   ")[0].rpartition(" = ")[2]
        if result and f"= {result}" not in text:
            found.append(f"the step's `= {result}` is not on screen")
        status = screen.query_one(StatusLine)
        if not all(any(part in row for row in lines) for part in status.shown):
            found.append(f"the status line {status.text!r} is broken or cut")
    for thumbnails in screen.query(Thumbnails):
        if thumbnails.display:
            seen_w, seen_h, full_w, full_h = visible_fraction(app, thumbnails)
            if seen_w < full_w and not scrolls(thumbnails):
                found.append(f"thumbnails cut at {seen_w} of {full_w} columns")
    return found


async def check_sizes(pilot, what: str) -> list[str]:
    found = []
    for size in SIZES:
        await pilot.resize_terminal(*size)
        await pilot.pause()
        found += [f"{what} at {size[0]}x{size[1]}: {problem}" for problem in problems(pilot.app)]
    return found


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", STEPPER_SAMPLES)
async def test_every_stage_of_every_sample_fits_at_every_size(name, theme):
    app = make_app(name, theme)
    found = []
    async with app.run_test(size=SIZES[0]) as pilot:
        stepper = app.screen
        for stage in range(len(stepper.trace.stages)):
            found += await check_sizes(pilot, f"{name} stage {stage + 1}, first step")
            await pilot.press("right", "right", "right")
            found += await check_sizes(pilot, f"{name} stage {stage + 1}, step 4")
            await pilot.press("tab")
    assert not found, "\n".join(found)


NETWORK_VIEWS = {
    "thumbnails": ("down",),
    "enlarged map": ("down", "enter"),
    "bridge": ("down", "s"),
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("view", list(NETWORK_VIEWS))
async def test_the_network_view_enlarged_map_and_bridge_fit_at_every_size(view, theme):
    keys = NETWORK_VIEWS[view]
    app = CnnApp(None, network=samples.resolve("seed_convnet"), theme=theme)
    async with app.run_test(size=SIZES[0]) as pilot:
        await pilot.press(*keys)
        found = await check_sizes(pilot, view)
    assert not found, "\n".join(found)
