"""Editing on the stepper: the cell cursor, shape and parameter keys, presets, undo/redo, files.

`e` turns edit mode on: the arrows move a cell cursor over the grids of the current
view that show a sample matrix (the input, each kernel channel of the filter in use,
the bias, the batch-norm vectors), Tab moves it to the next such grid, and typing a
number sets the cell. Every edit goes through engine.edits, which returns a new
validated Sample or refuses with a one-line reason (shown as a notification; nothing
changes). The screen keeps a History of samples for undo/redo and re-traces after
each edit, staying on the same step where it still exists.

EditingMixin is mixed into StepperScreen. What it needs from that screen is written
down in EditingHost (and a test holds the mixin to it). The mixin only maps keys to
calls: the arithmetic of every edit is in engine.edits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from textual.binding import Binding
from textual.widgets import Input, Static

from engine import edits, samples
from engine.edits import History
from engine.errors import CnnError
from engine.files import user_path
from engine.numbers import fmt
from engine.samples import Sample, Stage
from engine.trace import BatchNormStep, Trace
from tui.screens.dialogs import ChoiceDialog, TextDialog, TitleDialog
from tui.screens.panel import EditPlace, StagePanel
from tui.screens.params import ParamsDialog
from tui.widgets.entry import CellEntry

#: Keys of edit mode. Where a key also steps (the arrows, Tab), the stepping action is disabled
#: in edit mode (STEP_ACTIONS_TAKEN), so the key reaches these bindings.
EDIT_BINDINGS = [
    Binding("escape", "leave_edit", "Done", tooltip="(edit) Leave edit mode"),
    Binding("up", "cursor(-1, 0)", "Up", show=False, key_display="↑", tooltip="(edit) Cell cursor up"),
    Binding("down", "cursor(1, 0)", "Down", show=False, key_display="↓", tooltip="(edit) Cell cursor down"),
    Binding("left", "cursor(0, -1)", "Left", show=False, key_display="←", tooltip="(edit) Cell cursor left"),
    Binding("right", "cursor(0, 1)", "Right", show=False, key_display="→", tooltip="(edit) Cell cursor right"),
    Binding("tab", "next_place", "Matrix", tooltip="(edit) Cursor to the next editable matrix"),
    Binding(
        "shift+tab",
        "previous_place",
        "Previous matrix",
        show=False,
        tooltip="(edit) Cursor to the previous editable matrix",
    ),
    Binding(
        "right_square_bracket",
        "other_map(1)",
        "Next map",
        show=False,
        key_display="]",
        tooltip="(edit) Show the next filter (cursor on a kernel), image or channel: the same output "
        "position in the next map",
    ),
    Binding(
        "left_square_bracket",
        "other_map(-1)",
        "Previous map",
        show=False,
        key_display="[",
        tooltip="(edit) Show the previous filter, image or channel",
    ),
    Binding(
        "enter",
        "type_value",
        "Type",
        key_display="⏎",
        tooltip="(edit) Type the cell's value (or just type a digit, - or .); Enter sets it and moves on, "
        "Esc keeps the old value",
    ),
    Binding("delete,backspace", "zero_cell", "Zero", show=False, tooltip="(edit) Set the cell to 0"),
    Binding("r", "resize('rows', 1)", "Row+", show=False, tooltip="(edit) Add a row to the matrix under the cursor"),
    Binding("R", "resize('rows', -1)", "Row-", show=False, tooltip="(edit) Remove its last row"),
    Binding("c", "resize('cols', 1)", "Col+", show=False, tooltip="(edit) Add a column to the matrix under the cursor"),
    Binding("C", "resize('cols', -1)", "Col-", show=False, tooltip="(edit) Remove its last column"),
    Binding(
        "n",
        "resize('channels', 1)",
        "Channel+",
        show=False,
        tooltip="(edit) Add an input channel (the kernels and batch-norm vectors follow)",
    ),
    Binding("N", "resize('channels', -1)", "Channel-", show=False, tooltip="(edit) Remove the last input channel"),
    Binding("f", "resize('filters', 1)", "Filter+", show=False, tooltip="(edit) Add a filter to the kernel"),
    Binding("F", "resize('filters', -1)", "Filter-", show=False, tooltip="(edit) Remove the kernel's last filter"),
    Binding("b", "resize('batch', 1)", "Image+", show=False, tooltip="(edit) Add an image to the batch"),
    Binding("B", "resize('batch', -1)", "Image-", show=False, tooltip="(edit) Remove the batch's last image"),
    Binding("s", "step_param('stride', 1)", "Stride+", show=False, tooltip="(edit) Stride + 1 (height and width)"),
    Binding("S", "step_param('stride', -1)", "Stride-", show=False, tooltip="(edit) Stride − 1"),
    Binding("a", "step_param('padding', 1)", "Pad+", show=False, tooltip="(edit) Padding + 1 (height and width)"),
    Binding("A", "step_param('padding', -1)", "Pad-", show=False, tooltip="(edit) Padding − 1"),
    Binding("d", "step_param('dilation', 1)", "Dilation+", show=False, tooltip="(edit) Dilation + 1 (conv)"),
    Binding("D", "step_param('dilation', -1)", "Dilation-", show=False, tooltip="(edit) Dilation − 1 (conv)"),
    Binding("z", "step_param('size', 1)", "Pool size+", show=False, tooltip="(edit) Pool size + 1 (pool)"),
    Binding("Z", "step_param('size', -1)", "Pool size-", show=False, tooltip="(edit) Pool size − 1 (pool)"),
    Binding("m", "toggle_mode", "Mode", show=False, tooltip="(edit) Pool: max ↔ average; batch norm: training ↔ eval"),
    Binding("v", "nudge('eps', 10)", "ε×10", show=False, tooltip="(edit) Batch norm: ε × 10"),
    Binding("V", "nudge('eps', 0.1)", "ε÷10", show=False, tooltip="(edit) Batch norm: ε ÷ 10"),
    Binding("u", "nudge('momentum', 0.1)", "Momentum+", show=False, tooltip="(edit) Batch norm: momentum + 0.1"),
    Binding("U", "nudge('momentum', -0.1)", "Momentum-", show=False, tooltip="(edit) Batch norm: momentum − 0.1"),
    Binding("x", "toggle_bias", "Bias", show=False, tooltip="(edit) Conv bias on (0 per filter) / off"),
    Binding(
        "k",
        "kernel_preset",
        "Kernel preset",
        tooltip="(edit) Kernel preset (Sobel, blur, …) into the kernel slice under the cursor",
    ),
    Binding(
        "i",
        "input_preset",
        "Input preset",
        show=False,
        tooltip="(edit) Input preset (lecture image, zeros, random, digit 7, square)",
    ),
    Binding(
        "ctrl+o",
        "load_matrix",
        "Load matrix",
        show=False,
        tooltip="(edit) Load a .csv/.txt/.npy matrix file into the input or kernel under the cursor",
    ),
    Binding(
        "e",
        "toggle_edit",
        "Edit",
        tooltip="Edit mode on/off: a cell cursor over the input, kernel, bias and batch-norm values",
    ),
]

#: Parameters, history and files: in edit mode and out of it.
FILE_BINDINGS = [
    Binding(
        "E",
        "parameters",
        "Params",
        tooltip="Parameter panel of this stage (stride, padding, dilation "
        "per axis, bias, pool mode/size, γ, β, ε, momentum, training/eval)",
    ),
    Binding("ctrl+z", "undo", "Undo", show=False, tooltip="Undo the last edit"),
    Binding("ctrl+y", "redo", "Redo", show=False, tooltip="Redo the edit undone"),
    Binding(
        "ctrl+s", "save", "Save", show=False, tooltip="Save to the open file (a shipped sample asks for a new path)"
    ),
    Binding("W", "save_as", "Save as", show=False, tooltip="Save as a new file (w opens the network view)"),
    Binding("T", "edit_title", "Title", show=False, tooltip="Edit the sample's title and description"),
]

#: Actions that only work (and only show in the footer) in edit mode.
EDIT_ACTIONS = {b.action.partition("(")[0] for b in EDIT_BINDINGS} - {"toggle_edit"}
#: Stepping actions whose keys move the cell cursor in edit mode (Space, h, l still step).
STEP_ACTIONS_TAKEN = {"next", "previous", "next_stage", "previous_stage"}
#: Keys that start typing a value in edit mode.
TYPING_STARTS = set("0123456789-.")


@runtime_checkable
class EditingHost(Protocol):
    """The screen EditingMixin is mixed into: a textual Screen with these members besides."""

    sample: Sample
    """The sample as edited so far (replaced, never mutated, by every edit)."""
    trace: Trace
    """The sample's trace."""
    history: History
    """Every state of the sample, for undo/redo; `dirty` = unsaved edits."""
    path: Path | None
    """Where ctrl+s saves (None: never saved)."""
    saved_title: str
    """The title the sample was opened or last saved with."""
    index: int
    """Global index of the step shown (setting it steps)."""
    largest_density: str
    """The largest cell density the terminal allows."""
    rebuilding: bool
    """True while apply_sample replaces the panels (their grids may be gone or not yet there)."""

    @property
    def panel(self) -> StagePanel:
        """The current stage's panel."""
        ...

    @property
    def stage_index(self) -> int:
        """Number of the current stage."""
        ...

    async def apply_sample(self, sample: Sample, trace: Trace) -> None:
        """Show an edited sample (new panels, the same step where it still exists)."""
        ...

    def show_title(self) -> None:
        """Redraw the title line (unsaved mark, title, file)."""
        ...


class EditingMixin:
    """Edit mode for an EditingHost (StepperScreen; see the module docstring)."""

    editing: bool = False
    typing: bool = False
    place_number = 0
    cell = (0, 0)
    random_presets = 0

    # ------------------------------------------------------------ mode and cursor

    def edit_check(self, action: str) -> bool | None:
        """check_action's answer for editing actions; None: not an editing action."""
        if self.typing:
            return False  # while typing, keys belong to the entry
        if action == "kernel_preset" and self.kernel_target() is None:
            return False  # no conv stage (a pooling sample): k has nothing to fill
        if action in EDIT_ACTIONS:
            return self.editing
        if action in STEP_ACTIONS_TAKEN and self.editing:
            return False
        return None

    def action_toggle_edit(self) -> None:
        self.set_editing(not self.editing)

    def action_leave_edit(self) -> None:
        self.set_editing(False)

    async def run_edit_action(self, action: str) -> None:
        """Run an edit action from the command palette, turning edit mode on first if needed."""
        if not self.editing and action not in ("toggle_edit", "leave_edit"):
            self.set_editing(True)
        await self.run_action(action)

    def set_editing(self, on: bool) -> None:
        self.editing = on
        self.set_class(on, "editing")
        self.refresh_bindings()
        self.panel.fit(self.largest_density, force=True)  # the edit-only grids change the room needed
        self.show_cursor()

    def places(self) -> list[EditPlace]:
        if self.rebuilding:  # a key pressed while an edit replaces the panels: nothing to point at yet
            return []
        return self.panel.edit_places(self.stage_index == 0)

    def place(self) -> EditPlace | None:
        places = self.places()
        if not places:
            return None
        self.place_number = min(self.place_number, len(places) - 1)
        rows, cols = places[self.place_number].grid.shape
        self.cell = (min(self.cell[0], rows - 1), min(self.cell[1], cols - 1))
        return places[self.place_number]

    def show_cursor(self) -> None:
        """Draw the cursor on its grid (none outside edit mode) and describe it on the edit line."""
        place = self.place() if self.editing else None
        for grid in self.panel.query("MatrixGrid"):
            grid.cursor = self.cell if place is not None and grid is place.grid else None
        line = self.query_one("#edit-line", Static)
        if not self.editing:
            return
        if place is None:
            line.update(
                "EDIT  nothing to edit in this view (its input is the previous stage's output): E parameters · Esc done"
            )
            return
        value = edits.get_matrix(self.sample, place.target)[place.index(self.cell)]
        line.update(
            f"EDIT  {place.label}, cell ({self.cell[0]}, {self.cell[1]}) = {fmt(value)}   "
            "number+⏎ sets · Del 0 · Tab next matrix · Esc done · ? keys"
        )
        self.panel.keep_in_view(place.grid, (self.cell[0],), (self.cell[1],))

    def action_cursor(self, rows: int, cols: int) -> None:
        place = self.place()
        if place is None:
            return
        height, width = place.grid.shape
        self.cell = (max(0, min(self.cell[0] + rows, height - 1)), max(0, min(self.cell[1] + cols, width - 1)))
        self.show_cursor()

    def action_next_place(self) -> None:
        self._move_place(1)

    def action_previous_place(self) -> None:
        self._move_place(-1)

    def _move_place(self, delta: int) -> None:
        places = self.places()
        if places:
            self.place_number = (self.place_number + delta) % len(places)
            self.show_cursor()

    def action_other_map(self, delta: int) -> None:
        """Step to the same output position in the next/previous filter's map (cursor on a kernel),
        or image (conv input), or (image, channel) map (pooling, ReLU), or channel (batch norm)."""
        stage = self.trace.stages[self.stage_index]
        step = self.panel.step
        place = self.place()
        batch, maps = stage.output.shape[:2]
        if isinstance(step, BatchNormStep):
            wanted: tuple[int, ...] = ((step.channel + delta) % maps,)

            def key(candidate) -> tuple:
                return (candidate.channel,) if candidate.phase == step.phase else ()
        else:
            n, c = step.out_index[:2]
            if stage.op == "conv" and place is not None and place.target.endswith(".kernel"):
                wanted = (n, (c + delta) % maps)
            elif stage.op == "conv":
                wanted = ((n + delta) % batch, c)
            else:
                wanted = divmod((n * maps + c + delta) % (batch * maps), maps)

            def key(candidate) -> tuple:
                return tuple(candidate.out_index[:2])

        at = [k for k, candidate in enumerate(stage.steps) if key(candidate) == tuple(wanted)]
        if not at:
            self.app.bell()
            return
        # The same element of the other map (batch norm: the same element of the other channel).
        same = [k for k in at if tuple(stage.steps[k].out_index[2:]) == tuple(step.out_index[2:])]
        self.index = self.trace.stage_starts[self.stage_index] + (same or at)[0]

    # ------------------------------------------------------------ typing a value

    def on_key(self, event) -> None:
        if self.editing and event.character in TYPING_STARTS and not self.typing:
            event.stop()
            event.prevent_default()
            self.open_entry(event.character)

    def action_type_value(self) -> None:
        place = self.place()
        if place is not None:
            self.open_entry(fmt(edits.get_matrix(self.sample, place.target)[place.index(self.cell)]), select=True)

    def open_entry(self, text: str, select: bool = False) -> None:
        """Show the entry with text; select: all of it (typing replaces the old value), else the cursor after it."""
        if self.place() is None:
            return
        entry = self.query_one(CellEntry)
        entry.select_on_focus = select
        entry.value = text
        self.typing = True
        entry.display = True
        entry.focus()
        entry.cursor_position = len(text)
        self.refresh_bindings()

    def close_entry(self) -> None:
        entry = self.query_one(CellEntry)
        if self.typing:
            self.typing = False
            entry.display = False
            self.set_focus(None)
            self.refresh_bindings()

    # Handlers by name, not @on: Textual collects @on handlers only from DOMNode classes, not mixins.
    def on_cell_entry_cancelled(self) -> None:
        self.close_entry()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if isinstance(event.input, CellEntry):
            self.close_entry()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, CellEntry):
            return
        self.close_entry()
        place = self.place()
        if place is None:
            return
        cell = self.cell
        if await self.edit(lambda s: edits.set_cell(s, place.target, place.index(cell), event.value)):
            # Like a spreadsheet: Enter moves on, so a whole kernel is typed in one go.
            rows, cols = place.grid.shape
            if cell[1] + 1 < cols:
                self.cell = (cell[0], cell[1] + 1)
            elif cell[0] + 1 < rows:
                self.cell = (cell[0] + 1, 0)
            self.show_cursor()

    async def action_zero_cell(self) -> None:
        place = self.place()
        if place is not None:
            await self.edit(lambda s: edits.set_cell(s, place.target, place.index(self.cell), "0"))

    # ------------------------------------------------------------ applying edits

    async def edit(self, change: Callable[[Sample], Sample], done: str | Callable[[Sample], str] = "") -> bool:
        """Apply change to the sample; a CnnError is shown and changes nothing. done: what to
        notify afterwards (or a function of the new sample that says it)."""
        try:
            sample = change(self.sample)
            trace = sample.trace()
        except CnnError as error:
            self.notify(str(error), title="Edit refused", severity="error", timeout=8)
            return False
        if samples.dumps(sample) == samples.dumps(self.sample):
            return True  # nothing changed (the same value typed again): no undo step, not dirty
        self.history.push(sample)
        await self.apply_sample(sample, trace)
        if callable(done):
            done = done(sample)
        if done:
            self.notify(done, timeout=3)
        return True

    async def action_undo(self) -> None:
        await self._travel(self.history.undo(), "nothing to undo")

    async def action_redo(self) -> None:
        await self._travel(self.history.redo(), "nothing to redo")

    async def _travel(self, sample: Sample | None, nothing: str) -> None:
        if sample is None:
            self.notify(nothing, timeout=2)
            return
        await self.apply_sample(sample, sample.trace())

    # ------------------------------------------------------------ shapes and parameters

    def kernel_target(self) -> str | None:
        """The kernel under the cursor, else the current stage's, else the first conv stage's."""
        place = self.place() if self.editing else None
        if place is not None and place.target.endswith(".kernel"):
            return place.target
        stages = self.sample.stages
        current = stages[self.stage_index] if self.stage_index < len(stages) else None  # None: a backward stage
        if current is not None and current.op == "conv":
            return f"{current.name}.kernel"
        conv = next((s for s in stages if s.op == "conv"), None)
        return None if conv is None else f"{conv.name}.kernel"

    async def action_resize(self, axis: str, delta: int) -> None:
        if axis == "filters":
            target = self.kernel_target()
            if target is None:
                self.notify("filters: this sample has no conv stage", severity="error")
                return
        elif axis in ("channels", "batch"):
            target = "input"
        else:
            place = self.place()
            target = "input" if place is None else place.target
        verb = "added" if delta > 0 else "removed"
        await self.edit(lambda s: edits.resize(s, target, axis, delta), f"{target}: {axis} {verb}")

    def stage_in_view(self) -> Stage | None:
        """The sample's stage in view; None, with a notice, on a backward stage (its parameters are the
        forward stage's: go back to it to change them)."""
        if self.stage_index < len(self.sample.stages):
            return self.sample.stages[self.stage_index]
        self.notify("a backward stage has no parameters of its own: change them on its forward stage", timeout=4)
        return None

    async def action_step_param(self, key: str, delta: int) -> None:
        if (stage := self.stage_in_view()) is None:
            return
        name = stage.name
        await self.edit(lambda s: edits.step_param(s, name, key, delta), lambda s: edits.describe(s, name, key))

    async def action_nudge(self, key: str, amount: float) -> None:
        """Batch norm's ε times amount, or its momentum plus amount."""
        if (stage := self.stage_in_view()) is None:
            return
        name = stage.name
        await self.edit(lambda s: edits.nudge(s, name, key, amount), lambda s: edits.describe(s, name, key))

    async def action_toggle_mode(self) -> None:
        if (stage := self.stage_in_view()) is None:
            return
        key = "training" if stage.op == "batchnorm" else "mode"
        await self.edit(lambda s: edits.toggle_mode(s, stage.name), lambda s: edits.describe(s, stage.name, key))

    async def action_toggle_bias(self) -> None:
        target = self.kernel_target()
        if target is None:
            self.notify("bias: this sample has no conv stage", severity="error")
            return
        name = target.partition(".")[0]
        await self.edit(lambda s: edits.toggle_bias(s, name), lambda s: edits.describe(s, name, "bias"))

    def action_parameters(self) -> None:
        if (stage := self.stage_in_view()) is None:
            return
        if stage.op == "relu":
            self.notify("ReLU has no parameters", timeout=3)
            return

        async def chosen(sample: Sample | None) -> None:
            if sample is not None:
                await self.edit(lambda _: sample, f"{stage.name}: parameters applied")

        self.app.push_screen(ParamsDialog(self.sample, stage.name), chosen)

    # ------------------------------------------------------------ presets and matrix files

    def slice_at(self, target: str) -> tuple[int, int]:
        """(filter, channel) or (image, channel) of target under the cursor, else the one shown."""
        place = self.place() if self.editing else None
        if place is not None and place.target == target:
            return place.prefix[0], place.prefix[1]
        if target == "input":
            return int(self.panel.step.out_index[0]) if len(self.panel.step.out_index) == 4 else 0, 0
        return 0, 0

    def action_kernel_preset(self) -> None:
        target = self.kernel_target()
        if target is None:
            self.notify("kernel presets: this sample has no conv stage", severity="error")
            return
        at = self.slice_at(target)

        async def chosen(preset: str | None) -> None:
            if preset is not None:
                await self.edit(
                    lambda s: edits.apply_kernel_preset(s, target.partition(".")[0], preset, at),
                    f"{target} filter {at[0]}, channel {at[1]}: {preset}",
                )

        self.app.push_screen(
            ChoiceDialog(
                f"Kernel preset for {target} (filter {at[0]}, channel {at[1]}):",
                [(name, name) for name in edits.KERNEL_PRESETS],
            ),
            chosen,
        )

    def action_input_preset(self) -> None:
        at = self.slice_at("input")

        async def chosen(preset: str | None) -> None:
            if preset is not None:
                seed = self.random_presets
                if preset == "random integers":
                    self.random_presets += 1
                await self.edit(
                    lambda s: edits.apply_input_preset(s, preset, at, seed=seed),
                    f"input image {at[0]}, channel {at[1]}: {preset}",
                )

        self.app.push_screen(
            ChoiceDialog(
                f"Input preset for image {at[0]}, channel {at[1]}:", [(name, name) for name in edits.INPUT_PRESETS]
            ),
            chosen,
        )

    def action_load_matrix(self) -> None:
        place = self.place() if self.editing else None
        target = place.target if place is not None and place.target.endswith(".kernel") else "input"
        at = self.slice_at(target)

        async def chosen(path: str | None) -> None:
            if path is not None:
                try:
                    file = user_path(path, what="matrix file")
                except CnnError as error:
                    self.notify(str(error), title="Not loaded", severity="error", timeout=10)
                    return
                await self.edit(lambda s: edits.load_matrix(s, target, file, at), f"{target}: loaded {file.name}")

        self.app.push_screen(TextDialog(f"Load a .csv, .txt or .npy matrix into {target} {list(at)}"), chosen)

    # ------------------------------------------------------------ saving

    def action_save(self) -> None:
        self.save()

    def action_save_as(self) -> None:
        self.save(as_new=True)

    def title_is_stale(self) -> bool:
        """The sample was edited but its title is still the one it was opened or last saved with."""
        return self.history.dirty and self.sample.title == self.saved_title

    def action_edit_title(self) -> None:
        async def chosen(text: tuple[str, str] | None) -> None:
            if text is not None:
                await self.edit(lambda s: edits.set_text(s, *text), "title and description set")

        self.app.push_screen(TitleDialog(self.sample.title, self.sample.description), chosen)

    def save(self, after: Callable[[], object] | None = None, as_new: bool = False) -> None:
        """Save to the open file; a shipped or never-saved sample asks for a new path first.
        An edited sample whose title was not changed offers the title for editing first."""
        if not self.title_is_stale():
            self._save_to_file(after, as_new)
            return

        async def chosen(text: tuple[str, str] | None) -> None:
            if text is not None and await self.edit(lambda s: edits.set_text(s, *text)):
                self._save_to_file(after, as_new)

        prompt = "The title is from before your edits: say what the sample shows now, then it is saved"
        self.app.push_screen(TitleDialog(self.sample.title, self.sample.description, prompt), chosen)

    def _save_to_file(self, after: Callable[[], object] | None, as_new: bool) -> None:
        if as_new:
            self.save_as(after)
        elif self.path is None or samples.is_shipped(self.path):
            self.save_as(after, "a shipped sample is never overwritten: ")
        else:
            self.write(self.path, after)

    def save_as(self, after: Callable[[], object] | None = None, why: str = "") -> None:
        stem = Path(self.path).stem if self.path is not None else "sample"
        suggestion = str(
            Path.cwd()
            / (f"{stem}_edited.toml" if self.path is None or samples.is_shipped(self.path) else Path(self.path).name)
        )

        def chosen(text: str | None) -> None:
            if text is not None:
                try:
                    path = user_path(text, what="sample file")
                except CnnError as error:
                    self.notify(str(error), title="Not saved", severity="error", timeout=10)
                    return
                self.write(path if path.suffix else path.with_suffix(".toml"), after)

        self.app.push_screen(TextDialog(f"{why}save as (a .toml path)".capitalize(), suggestion), chosen)

    def write(self, path: Path, after: Callable[[], object] | None = None) -> None:
        try:
            saved = samples.save(self.sample, path)
        except CnnError as error:
            self.notify(str(error), title="Not saved", severity="error", timeout=10)
            return
        self.path = saved
        self.saved_title = self.sample.title
        self.history.mark_saved()
        self.show_title()
        self.notify(f"saved {saved}", timeout=3)
        if after is not None:
            after()
