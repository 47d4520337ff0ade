"""StepperScreen: one sample's trace, stepped from the keyboard.

The screen owns the Trace and the current global step index; it builds one
panel per stage once (in a ContentSwitcher) and on every step tells the
current panel, the stage bar and the status line what to show.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Static

from engine.samples import Sample
from engine.trace import Trace
from tui.screens.batchnorm import BatchNormPanel
from tui.screens.conv import ConvPanel
from tui.screens.dialogs import GoToDialog
from tui.screens.panel import StagePanel
from tui.screens.window import PoolPanel, ReluPanel
from tui.widgets.labels import StageBar, StatusLine

#: The panel class that shows each operation.
PANELS: dict[str, type[StagePanel]] = {
    "conv": ConvPanel,
    "pool": PoolPanel,
    "batchnorm": BatchNormPanel,
    "relu": ReluPanel,
}

#: Autoplay speeds in steps per second, slowest first.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

#: The smallest terminal (width, height) for each cell density above "normal"; a panel
#: uses the largest one allowed whose grids fit without scrolling.
DENSITY_SIZES = {"roomy": (110, 34), "big": (140, 40)}


class StepperScreen(Screen):
    """Step through a sample's trace: one dot product (or pool, or batch-norm element) per key."""

    BINDINGS = [
        Binding("right,space,l", "next", "Next", key_display="→", tooltip="Next step"),
        Binding("left,h", "previous", "Back", key_display="←", tooltip="Previous step"),
        Binding("home", "first", "First", show=False, tooltip="First step"),
        Binding("end", "last", "Last", show=False, tooltip="Last step"),
        Binding("pagedown", "next_row", "Next row", show=False,
                tooltip="First step of the next output row (batch norm: next phase)"),
        Binding("pageup", "previous_row", "Previous row", show=False,
                tooltip="First step of this or the previous output row (batch norm: phase)"),
        Binding("g", "go_to", "Go to", tooltip="Go to step N"),
        Binding("p", "play", "Play", tooltip="Start or pause autoplay"),
        Binding("plus,equals_sign", "faster", "Faster", show=False, key_display="+",
                tooltip="Autoplay faster"),
        Binding("minus", "slower", "Slower", show=False, key_display="-", tooltip="Autoplay slower"),
        Binding("tab", "next_stage", "Stage", tooltip="First step of the next stage"),
        Binding("shift+tab", "previous_stage", "Previous stage", show=False,
                tooltip="First step of this stage, or of the previous one"),
    ]

    # `var`, not `reactive`: a reactive would repaint the whole screen on every step.
    index: var[int] = var(0, init=False)
    """Global index of the step shown: its result is written, later ones are not."""
    playing: var[bool] = var(False, init=False)
    """Autoplay on or off."""
    speed: var[int] = var(2, init=False)
    """Index into SPEEDS."""

    def __init__(self, sample: Sample, trace: Trace, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.sample = sample
        self.trace = trace
        self.stage_number = -1
        self.largest_density = "normal"
        self._timer: Timer | None = None
        self._row_starts: list[int] = []
        for stage, offset in zip(trace.stages, trace.stage_starts):
            key = PANELS[stage.op].row_key
            previous = None
            for local, step in enumerate(stage.steps):
                if (row := key(step)) != previous:
                    self._row_starts.append(offset + local)
                    previous = row

    @property
    def source_name(self) -> str:
        path = self.sample.path
        return Path(path).name if path is not None else "(unsaved)"

    def compose(self) -> ComposeResult:
        yield Static(f"{self.sample.title}  [{self.source_name}]", id="title", markup=False)
        yield StageBar(id="stage-bar")
        with ContentSwitcher(id="panels"):
            for number, stage in enumerate(self.trace.stages):
                yield PANELS[stage.op](stage, id=f"stage-{number}")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / SPEEDS[self.speed], self._tick, pause=True)
        self._fit(self.app.size.width, self.app.size.height)
        self._show()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        allowed = [name for name, (w, h) in DENSITY_SIZES.items() if width >= w and height >= h]
        self.largest_density = allowed[-1] if allowed else "normal"
        self.set_class(bool(allowed), "roomy")
        if self.stage_number >= 0:
            self.panel.fit(self.largest_density)

    # ------------------------------------------------------------ state

    @property
    def stage_index(self) -> int:
        """Number of the stage the current step belongs to."""
        return bisect.bisect_right(self.trace.stage_starts, self.index) - 1

    @property
    def local_index(self) -> int:
        return self.index - self.trace.stage_starts[self.stage_index]

    @property
    def panel(self) -> StagePanel:
        return self.query_one(f"#stage-{self.stage_index}", StagePanel)

    def validate_index(self, index: int) -> int:
        return max(0, min(index, len(self.trace) - 1))

    def watch_index(self) -> None:
        self._show()

    def watch_playing(self, playing: bool) -> None:
        if self._timer is None:
            return
        if playing:
            if self.index == len(self.trace) - 1:
                self.index = 0
            self._timer.resume()
        else:
            self._timer.pause()
        self._show_status()

    def watch_speed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1 / SPEEDS[self.speed], self._tick, pause=not self.playing)
        self._show_status()
        if not self.playing:
            self.notify(f"autoplay speed: {SPEEDS[self.speed]:g} steps/s (p plays)", timeout=2)

    def _tick(self) -> None:
        if self.index >= len(self.trace) - 1:
            self.playing = False
        else:
            self.index += 1

    def _show(self) -> None:
        number = self.stage_index
        if number != self.stage_number:
            self.stage_number = number
            self.query_one(ContentSwitcher).current = f"stage-{number}"
            self.panel.fit(self.largest_density)
            self.query_one(StageBar).show([s.name for s in self.trace.stages], number)
        self.panel.show(self.local_index)
        self._show_status()

    def _show_status(self) -> None:
        stages = self.trace.stages
        stage = stages[self.stage_index]
        step_text = f"step {self.index + 1} of {len(self.trace)}"
        if len(stages) > 1:
            step_text += f" ({stage.name} {self.local_index + 1} of {len(stage)})"
        play = f"▶ {SPEEDS[self.speed]:g} steps/s" if self.playing else ""
        panel = self.panel
        self.query_one(StatusLine).show([
            f"stage {self.stage_index + 1}/{len(stages)} {stage.name}" if len(stages) > 1 else stage.name,
            step_text, panel.position(), panel.size_formula(), play,
        ])

    # ------------------------------------------------------------ actions

    def action_next(self) -> None:
        self.index += 1

    def action_previous(self) -> None:
        self.index -= 1

    def action_first(self) -> None:
        self.index = 0

    def action_last(self) -> None:
        self.index = len(self.trace) - 1

    def action_next_row(self) -> None:
        at = bisect.bisect_right(self._row_starts, self.index)
        self.index = self._row_starts[at] if at < len(self._row_starts) else len(self.trace) - 1

    def action_previous_row(self) -> None:
        at = bisect.bisect_right(self._row_starts, self.index) - 1
        if self._row_starts[at] == self.index and at > 0:
            at -= 1
        self.index = self._row_starts[at]

    def action_next_stage(self) -> None:
        starts = self.trace.stage_starts
        if self.stage_index + 1 < len(starts):
            self.index = starts[self.stage_index + 1]
        else:
            self.app.bell()  # already in the last stage

    def action_previous_stage(self) -> None:
        starts = self.trace.stage_starts
        start = starts[self.stage_index]
        self.index = start if self.index > start else starts[max(self.stage_index - 1, 0)]

    def action_play(self) -> None:
        self.playing = not self.playing

    def action_faster(self) -> None:
        self.speed = min(self.speed + 1, len(SPEEDS) - 1)

    def action_slower(self) -> None:
        self.speed = max(self.speed - 1, 0)

    def action_go_to(self) -> None:
        def go(number: int | None) -> None:
            if number is not None:
                self.index = number - 1

        self.app.push_screen(GoToDialog(len(self.trace), self.index + 1), go)
