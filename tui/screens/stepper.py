"""StepperScreen: one sample's trace, stepped from the keyboard.

The screen owns the Trace and the current global step index; it builds one
panel per stage once (in a ContentSwitcher) and on every step tells the
current panel, the stage bar and the status line what to show.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Static

from engine.backward import is_backward
from engine.edits import History
from engine.samples import Sample
from engine.trace import BatchNormStep, Step, Trace
from tui.screens.backward import BACKWARD_PANELS, stage_label
from tui.screens.batchnorm import BatchNormPanel
from tui.screens.conv import ConvPanel
from tui.screens.dialogs import GoToDialog
from tui.screens.editing import EDIT_BINDINGS, FILE_BINDINGS, EditingMixin
from tui.screens.lecture import bookmark_for, caption_for, status_for
from tui.screens.panel import StagePanel
from tui.screens.present import PRESENT_BINDINGS, PresentMixin
from tui.screens.receptive import ReceptiveMixin, receptive_widget
from tui.screens.window import PoolPanel, ReluPanel
from tui.widgets.caption import Caption
from tui.widgets.entry import CellEntry
from tui.widgets.labels import StageBar, StatusLine
from tui.widgets.present import BigResult

#: The panel class that shows each operation.
PANELS: dict[str, type[StagePanel]] = {
    "conv": ConvPanel,
    "pool": PoolPanel,
    "batchnorm": BatchNormPanel,
    "relu": ReluPanel,
    **BACKWARD_PANELS,
}

#: Autoplay speeds in steps per second, slowest first.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

#: The footer is never cut mid-word: under FOOTER_ROOMY columns it is compact, and under
#: FOOTER_WIDE (in edit mode: FOOTER_ROOMY) it also leaves these keys out (help and the command
#: palette list every key); in edit mode also e and p (Esc leaves edit mode).
FOOTER_ROOMY = 120
FOOTER_WIDE = 100
NARROW_FOOTER = {"go_to", "toggle_theme", "open", "parameters"}
NARROW_EDIT_FOOTER = NARROW_FOOTER | {"toggle_edit", "play"}

#: The smallest terminal (width, height) for each cell density above "normal"; a panel
#: uses the largest one allowed whose grids fit without scrolling.
DENSITY_SIZES = {"roomy": (110, 34), "big": (140, 40)}


def row_starts(trace: Trace) -> list[int]:
    """Global indices of the first step of each PageUp/PageDown unit (an output row, a phase)."""
    starts = []
    for stage, offset in zip(trace.stages, trace.stage_starts):
        key = PANELS[stage.op].row_key
        previous = None
        for local, step in enumerate(stage.steps):
            if (row := key(step)) != previous:
                starts.append(offset + local)
                previous = row
    return starts


def nearest_step(trace: Trace, stage_number: int, local_index: int, step: Step) -> int:
    """After an edit: the global index of the step writing the same output element in the same stage
    (and batch-norm phase); where that element is gone, the one nearest to it; else the same local index."""
    stage_number = min(stage_number, len(trace.stages) - 1)
    stage, start = trace.stages[stage_number], trace.stage_starts[stage_number]
    phase = step.phase if isinstance(step, BatchNormStep) else None
    wanted = [tuple(step.out_index)]
    if len(step.out_index) == 4:
        wanted.append(tuple(min(v, size - 1) for v, size in zip(step.out_index, stage.output.shape)))
    for out_index in wanted:
        for local, candidate in enumerate(stage.steps):
            if (
                tuple(candidate.out_index) == out_index
                and (candidate.phase if isinstance(candidate, BatchNormStep) else None) == phase
            ):
                return start + local
    return start + min(local_index, len(stage) - 1)


#: The stepping keys. In edit mode the arrows and Tab move the cell cursor instead: their
#: actions here are disabled then, so the key falls through to EDIT_BINDINGS.
STEP_BINDINGS = [
    Binding("right", "next", "Next", key_display="→", tooltip="Next step"),
    Binding("space,l", "next_step", "Next", show=False, tooltip="Next step (in edit mode too)"),
    Binding("left", "previous", "Back", key_display="←", tooltip="Previous step"),
    Binding("h", "previous_step", "Back", show=False, tooltip="Previous step (in edit mode too)"),
    Binding("home", "first", "First", show=False, tooltip="First step"),
    Binding("end", "last", "Last", show=False, tooltip="Last step"),
    Binding(
        "pagedown",
        "next_row",
        "Next row",
        show=False,
        tooltip="First step of the next output row (batch norm: next phase)",
    ),
    Binding(
        "pageup",
        "previous_row",
        "Previous row",
        show=False,
        tooltip="First step of this or the previous output row (batch norm: phase)",
    ),
    Binding("g", "go_to", "Go to", tooltip="Go to step N"),
    Binding("p", "play", "Play", tooltip="Start or pause autoplay"),
    Binding("plus,equals_sign", "faster", "Faster", show=False, key_display="+", tooltip="Autoplay faster"),
    Binding("minus", "slower", "Slower", show=False, key_display="-", tooltip="Autoplay slower"),
    Binding("tab", "next_stage", "Stage", tooltip="First step of the next stage"),
    Binding(
        "shift+tab",
        "previous_stage",
        "Previous stage",
        show=False,
        tooltip="First step of this stage, or of the previous one",
    ),
]


# inherit_bindings=False: Screen's own Tab/Shift+Tab (focus) would put Tab first in the footer.
class StepperScreen(EditingMixin, PresentMixin, ReceptiveMixin, Screen, inherit_bindings=False):
    """Step through a sample's trace: one dot product (or pool, or batch-norm element) per key;
    in edit mode (e), change its numbers, shapes and parameters and see the trace follow."""

    # The footer lists keys in this order: stepping arrows, then edit mode's keys (in edit mode:
    # Esc, Tab, Enter, k first), then the rest.
    BINDINGS = STEP_BINDINGS[:4] + EDIT_BINDINGS + STEP_BINDINGS[4:] + FILE_BINDINGS + PRESENT_BINDINGS
    AUTO_FOCUS = ""  # the cell entry is the only focusable widget; it takes focus only while typing
    NARROW_HIDDEN: frozenset[str] = frozenset()
    """Actions a subclass also leaves out of a narrow footer (see FOOTER_WIDE)."""

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
        self.history = History.start(sample)
        """Every state of the sample since it was opened, for undo/redo; `dirty` = unsaved edits."""
        self.path: Path | None = sample.path
        """Where ctrl+s saves (None: not saved yet)."""
        self.saved_title = sample.title
        """The title the sample was opened or last saved with (stale once the sample is edited)."""
        self.stage_number = -1
        self.largest_density = "normal"
        self._timer: Timer | None = None
        self._row_starts = row_starts(trace)
        self.rebuilding = False
        """True while apply_sample replaces the panels: nothing draws them then."""

    @property
    def source_name(self) -> str:
        return Path(self.path).name if self.path is not None else "(unsaved)"

    def title_text(self) -> str:
        # The unsaved mark comes first: a long title is cut at the right edge of an 80-column terminal.
        mark = "● unsaved edits · " if self.history.dirty else ""
        if self.title_is_stale():
            mark = "● unsaved edits, title from before them (T edits it) · "
        return mark + f"{self.sample.title}  [{self.source_name}]"

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), id="title", markup=False)
        yield Caption(self.sample.description, id="caption")
        yield StageBar(id="stage-bar")
        with ContentSwitcher(id="panels"):
            for number, stage in enumerate(self.trace.stages):
                yield PANELS[stage.op](stage, id=f"stage-{number}")
        yield receptive_widget(self.trace)  # tui.screens.receptive
        yield BigResult(id="big-result")  # present mode (tui.screens.present)
        yield Static("", id="edit-line", classes="edit-only", markup=False)
        yield CellEntry(id="cell-entry", compact=True, placeholder="a number: 2, -0.5, 1e-3 or 3/4")
        yield StatusLine(id="status")
        yield Footer(compact=self.app.size.width < FOOTER_ROOMY)

    def show_title(self) -> None:
        self.query_one("#title", Static).update(self.title_text())

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's, with the keys the footer has no room for at 80 columns marked not shown."""
        bindings = super().active_bindings
        # Edit mode's keys are longer: its footer leaves keys out up to FOOTER_ROOMY columns.
        if self.app.size.width >= (FOOTER_ROOMY if self.editing else FOOTER_WIDE):
            return bindings
        hidden = (NARROW_EDIT_FOOTER if self.editing else NARROW_FOOTER) | self.NARROW_HIDDEN
        return {
            key: active._replace(binding=replace(active.binding, show=False))
            if active.binding.action in hidden
            else active
            for key, active in bindings.items()
        }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "present":
            return not self.editing  # f adds a filter in edit mode
        if action == "next_stage" and len(self.trace.stages) == 1:
            return False  # nothing to go to: Tab leaves the footer to keys that do something
        editing = self.edit_check(action)
        return True if editing is None else editing

    async def apply_sample(self, sample: Sample, trace: Trace) -> None:
        """Show an edited sample: new panels, the same step where it still exists (else the nearest)."""
        index = nearest_step(trace, self.stage_index, self.local_index, self.trace[self.index])
        self.sample, self.trace = sample, trace
        self._row_starts = row_starts(trace)
        stage_number = bisect.bisect_right(trace.stage_starts, index) - 1
        panels = [PANELS[stage.op](stage, id=f"stage-{number}") for number, stage in enumerate(trace.stages)]
        for number, panel in enumerate(panels):
            panel.display = number == stage_number
        switcher = self.query_one(ContentSwitcher)
        # While the panels are replaced, an autoplay tick or a resize must not draw a panel that is
        # gone or not yet composed: they wait for the rebuild, which draws once at the end.
        self.rebuilding = True
        try:
            await switcher.remove_children()
            await switcher.mount_all(panels)
        finally:
            self.rebuilding = False
        switcher.current = f"stage-{stage_number}"
        self.stage_number = -1
        self.set_reactive(StepperScreen.index, index)
        self._show()
        self.show_title()

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / SPEEDS[self.speed], self._tick, pause=True)
        self._fit(self.app.size.width, self.app.size.height)
        self._show()
        if self.presenting:
            self.apply_present()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)
        self.query_one(Footer).compact = event.size.width < FOOTER_ROOMY
        self.refresh_bindings()  # the footer's room changed

    def _fit(self, width: int, height: int) -> None:
        allowed = [name for name, (w, h) in DENSITY_SIZES.items() if width >= w and height >= h or self.presenting]
        self.largest_density = allowed[-1] if allowed else "normal"
        self.set_class(bool(allowed), "roomy")
        if self.stage_number >= 0 and not self.rebuilding:
            self.panel.fit(self.largest_density)
            self.show_present()
            self.show_receptive()
            self._show_status()  # the general formula comes and goes with the width

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
        if self.rebuilding:
            return  # the panels are being replaced; the next tick steps on
        if self.index < len(self.trace) - 1:
            self.index += 1
        self.stop_at_boundary()

    def stop_at_boundary(self) -> None:
        """Autoplay never runs silently past the end of a stage or the last step: it stops and says so."""
        if self.index == len(self.trace) - 1:
            self.playing = False
            self.notify("autoplay stopped at the last step (p plays again from the start)", timeout=4)
        elif self.index + 1 in self.trace.stage_starts:
            self.playing = False
            name = self.trace.stages[self.stage_index].name
            self.notify(f"autoplay paused at the end of stage {name} (p goes on)", timeout=4)

    def _show(self) -> None:
        if self.rebuilding:
            return  # apply_sample draws once the new panels are mounted
        number = self.stage_index
        if number != self.stage_number:
            self.stage_number = number
            self.query_one(ContentSwitcher).current = f"stage-{number}"
            self.panel.fit(self.largest_density)
            stages = self.trace.stages
            backward_from = next((k for k, s in enumerate(stages) if is_backward(s)), len(stages))
            self.query_one(StageBar).show([stage_label(s) for s in stages], number, backward_from)
        self.panel.show(self.local_index)
        self.show_caption()
        self.show_receptive()
        self.show_present()
        self._show_status()
        if self.editing:
            self.show_cursor()

    def _show_status(self) -> None:
        if self.rebuilding:
            return
        stages = self.trace.stages
        stage = stages[self.stage_index]
        step_text = f"step {self.index + 1} of {len(self.trace)}"
        if len(stages) > 1:
            step_text += f" ({stage_label(stage)} {self.local_index + 1} of {len(stage)})"
        play = f"▶ {SPEEDS[self.speed]:g} steps/s" if self.playing else ""
        self.query_one(StatusLine).show(
            [
                status_for(self),
                f"stage {self.stage_index + 1}/{len(stages)} {stage_label(stage)}" if len(stages) > 1 else stage.name,
                step_text,
                self.position_text(),
                self.size_formula_text(),
                play,
            ]
        )

    def position_text(self) -> str:
        """Where the current step writes, for the status line."""
        return self.panel.position()

    def size_formula_text(self) -> str:
        """The output-size formula(s) of the current stage, for the status line ('' when none)."""
        return self.panel.size_formula()

    def show_caption(self) -> None:
        """Lecture mode: the slide's caption and this step's bookmark under the title (tui.screens.lecture)."""
        self.query_one(Caption).show(caption_for(self), bookmark_for(self, self.index + 1))

    # ------------------------------------------------------------ actions

    def action_next(self) -> None:
        self.index += 1

    def action_previous(self) -> None:
        self.index -= 1

    action_next_step = action_next
    action_previous_step = action_previous

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
