"""The cnn-tui application: themes, app-wide keys, the command palette, opening samples.

`run(sample)` is what `cnn-tui [SAMPLE]` calls. The app shows one StepperScreen
per open sample; opening another sample replaces it, or, when the sample is bad,
leaves it alone and says why in a notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from engine import samples
from engine.errors import CnnError
from engine.files import write_atomic
from engine.trace import Trace
from tui.recovery import Recovery
from tui.screens.dialogs import ChoiceDialog, SamplePicker
from tui.screens.editing import EDIT_BINDINGS, FILE_BINDINGS
from tui.screens.help import HelpScreen
from tui.screens.lecture import SLIDE_BINDINGS, LectureActions, SlideShow, notes_for
from tui.screens.network import NetworkScreen, open_network
from tui.screens.stepper import STEP_BINDINGS, StepperScreen
from tui.screens.training import TrainingScreen

#: Projector-friendly themes: pure black/white backgrounds, saturated highlights.
THEMES = (
    Theme(
        name="cnn-dark",
        dark=True,
        background="#000000",
        foreground="#ffffff",
        surface="#0a0a0a",
        panel="#262626",
        primary="#5ec8ff",
        secondary="#ffffff",
        accent="#ff7cf5",
        warning="#ffd400",
        success="#3dff7a",
        error="#ff5c5c",
    ),
    Theme(
        name="cnn-light",
        dark=False,
        background="#ffffff",
        foreground="#000000",
        surface="#ffffff",
        panel="#dcdcdc",
        primary="#0036b3",
        secondary="#000000",
        accent="#9c0091",
        warning="#a84b00",
        success="#006b1f",
        error="#c00000",
    ),
)
DARK, LIGHT = (theme.name for theme in THEMES)


# Recovery (tui/recovery.py): a crash rescues unsaved edits; the next start offers them back.
class CnnApp(Recovery, LectureActions, App[int]):
    """Step through how convolutional networks compute."""

    CSS_PATH = "app.tcss"
    TITLE = "cnn-tui"

    BINDINGS = [
        Binding("o", "open", "Open", tooltip="Open another sample (shipped or in this folder)"),
        Binding("t", "toggle_theme", "Theme", tooltip="Switch between the dark and the light theme"),
        # Not in the footer (the stepper's footer stays as it was); in the help and the palette.
        Binding(
            "w",
            "network",
            "Network",
            show=False,
            tooltip="The lecture's whole network (seed_convnet): layers, feature maps, training",
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Keys and views"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks first when there are unsaved edits)"),
        # Textual's own quit key, listed so that help shows it (it runs the same action_quit).
        Binding("ctrl+q", "quit", "Quit", show=False, tooltip="Quit, as q"),
        Binding(
            "P",
            "save_screenshot",
            "Screenshot",
            show=False,
            tooltip="Save an SVG screenshot of the screen in the current folder (named in a notification)",
        ),
        *SLIDE_BINDINGS,  # lecture mode only (tui.screens.lecture)
    ]

    def __init__(
        self,
        sample: samples.Sample | None,
        trace: Trace | None = None,
        *,
        theme: str = DARK,
        network: Path | None = None,
        data: str = "synthetic",
        slides: SlideShow | None = None,
    ) -> None:
        """Open on sample's trace, or on the network view of the network sample file `network`
        (which trains on `data`: "synthetic", a CIFAR-10 binary folder or file, or an .npz)."""
        super().__init__()
        for custom in THEMES:
            self.register_theme(custom)
        self.theme = theme
        self._first = (sample, trace)
        self._first_network = network
        self.training_data = data
        self.slides = slides
        """The open lecture (None: a single sample)."""

    def on_mount(self) -> None:
        if self.slides is not None:
            if not self.show_slide(self.slides.current):
                self.exit(2)
        elif self._first_network is not None:
            self.push_screen(open_network(self._first_network, self.training_data))
        else:
            self.push_screen(StepperScreen(*self._first))

    # ------------------------------------------------------------ samples

    def open_sample(self, path: Path) -> bool:
        """Load, trace and show path; on a user's mistake notify and keep the current view."""
        try:
            view = self.view_for(path)
        except CnnError as error:
            self.notify(str(error), title="Cannot open this sample", severity="error", timeout=10)
            return False
        if isinstance(self.screen, (StepperScreen, NetworkScreen)):
            self.switch_screen(view)
        else:
            self.push_screen(view)
        return True

    def view_for(self, path: Path) -> Screen:
        """The view of a sample file (network view or stepper); CnnError for a bad sample."""
        if samples.sample_op(path) == "network":
            return open_network(path, self.training_data)
        sample = samples.load(path)
        return StepperScreen(sample, sample.trace())

    def action_open(self) -> None:
        if isinstance(self.screen, (SamplePicker, ChoiceDialog)):
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                # once the picker is gone: switching screens from inside its dismissal crashed
                # when the view under it was the network view (it was replaced mid-update)
                self.call_later(self.open_sample, path)

        self.unless_unsaved(lambda: self.push_screen(SamplePicker(), chosen), "opening another sample")

    async def action_quit(self) -> None:
        if not isinstance(self.screen, ChoiceDialog):
            self.unless_unsaved(self.exit, "quitting")

    def unless_unsaved(self, then: Callable[[], object], doing: str) -> None:
        """Run then(), but first, when the open sample has unsaved edits, ask: save, discard or cancel."""
        stepper = next((s for s in reversed(self.screen_stack) if isinstance(s, StepperScreen)), None)
        if stepper is None or not stepper.history.dirty:
            then()
            return

        def answer(choice: str | None) -> None:
            if choice == "save":
                stepper.save(after=then)
            elif choice == "discard":
                then()

        self.push_screen(
            ChoiceDialog(
                f"The sample has unsaved edits. Before {doing}:",
                [
                    ("save", "Save them (a shipped sample asks for a new path)"),
                    ("discard", "Discard them"),
                    ("cancel", "Cancel: keep editing (Esc)"),
                ],
            ),
            answer,
        )

    def action_network(self) -> None:
        """Open the lecture's network; from a stepper it comes on top, so Escape returns."""
        if isinstance(self.screen, NetworkScreen):
            return
        try:
            self.push_screen(open_network(samples.resolve("seed_convnet"), self.training_data))
        except CnnError as error:
            self.notify(str(error), title="Cannot open the network", severity="error", timeout=10)

    def action_save_screenshot(self) -> None:
        """Textual's own SVG screenshot of the screen, written atomically to the current folder."""
        stem = Path(getattr(self.screen, "path", None) or "cnn-tui").stem
        name = f"cnn-tui-{stem}-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            written = write_atomic(Path.cwd() / name, self.export_screenshot().encode("utf-8"))
        except CnnError as error:
            self.notify(str(error), title="Cannot save the screenshot", severity="error", timeout=10)
            return
        self.notify(str(written), title="Screenshot saved", timeout=6)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            views = {NetworkScreen: "Network view", TrainingScreen: "Training"}
            kind = type(self.screen)
            if kind in views:
                groups = [(views[kind], kind.BINDINGS), ("App", self.BINDINGS)]
                self.push_screen(HelpScreen(groups, notes=notes_for(self.screen)))
                return
            editing = sorted(EDIT_BINDINGS, key=lambda b: b.action != "toggle_edit")
            self.push_screen(
                HelpScreen(
                    [
                        ("Stepping", STEP_BINDINGS),
                        ("Editing (e)", editing),
                        ("Files, undo", FILE_BINDINGS),
                        ("App", self.BINDINGS),
                    ],
                    notes=notes_for(self.screen),
                )
            )

    # ------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, then every key binding of the app and the stepper by name."""
        yield from super().get_system_commands(screen)
        bindings = list(self.BINDINGS)
        views = (StepperScreen, NetworkScreen, TrainingScreen)
        if isinstance(screen, views):
            # The view's own keys, a subclass's (the bridge's Escape) first.
            bindings = [
                binding
                for cls in type(screen).__mro__
                if isinstance(cls, type) and issubclass(cls, views)
                for binding in cls.__dict__.get("BINDINGS", [])
            ] + bindings
        for binding in bindings:
            if binding.action == "quit":
                continue  # Textual already offers Quit
            keys = ", ".join(self.get_key_display(Binding(key, "")) for key in binding.key.split(","))
            run = partial(self.run_action, binding.action, screen)
            if binding in EDIT_BINDINGS and isinstance(screen, StepperScreen):
                run = partial(screen.run_edit_action, binding.action)  # turns edit mode on first
            yield SystemCommand(binding.tooltip or binding.description, f"key: {keys}", run)


def run(sample: str | None, data: str = "synthetic") -> int:
    """Open SAMPLE (a shipped name or a path; None = the lecture's 5x5 example). CnnError propagates.

    data: what the network view trains on."""
    path = samples.resolve(sample)
    if samples.sample_op(path) == "network":
        from engine.network import load
        from engine.network.model import LayerError

        try:
            load(path)  # a mistake other than a layer that does not fit ends here, with one line
        except LayerError:
            pass  # the view opens with the failing layer marked
        app = CnnApp(None, network=path, data=data)
    else:
        loaded = samples.load(path)
        app = CnnApp(loaded, loaded.trace())
    app.run()
    app.report_rescued()
    return app.return_code or 0
