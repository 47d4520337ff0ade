"""Nothing lost: a crash writes the unsaved sample to a recovery file, and the next start offers it back.

A bug we have not found yet must not cost a lecturer their edits. When an
exception reaches Textual unhandled, `Recovery._handle_exception` first writes
the sample of every stepper with unsaved edits to a recovery file and only then
lets Textual exit with its traceback; `run()` then says where the edits are.

Where: beside the sample's file (`NAME.recovered.toml` next to `NAME.toml`), or
in the current folder for a shipped sample and for one never saved
(`./NAME.recovered.toml`, `./sample.recovered.toml`). The file is an ordinary
sample file (`cnn-tui PATH` opens it too) whose first line is a comment naming
what it recovers.

The next start on that sample finds the file and asks: restore (the edits come
back as unsaved edits on top of the saved sample, so undo and ctrl+s work as
before the crash), discard (the file is removed), or later (Esc: the file stays).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from textual.app import App

from engine import samples
from engine.errors import CnnError
from engine.files import write_atomic
from tui.screens.dialogs import ChoiceDialog
from tui.screens.stepper import StepperScreen

#: How a recovery file's name ends.
SUFFIX = ".recovered.toml"


def recovery_path(path: Path | None) -> Path:
    """Where the unsaved edits of the sample at path (None: never saved) are rescued."""
    if path is None:
        return Path.cwd() / f"sample{SUFFIX}"
    path = Path(path)
    folder = Path.cwd() if samples.is_shipped(path) else path.parent
    return folder / f"{path.stem.removesuffix('.recovered')}{SUFFIX}"


def rescue(screens: list[object]) -> list[Path]:
    """Write the sample of every stepper among screens that has unsaved edits; the paths written.

    Runs while the app is failing, so it never raises: a sample that cannot be written is skipped."""
    written: list[Path] = []
    for screen in screens:
        if not isinstance(screen, StepperScreen) or not screen.history.dirty:
            continue
        target = recovery_path(screen.path)
        if target in written:  # two never-saved samples (two bridges): number the second
            target = target.with_name(f"{target.name.removesuffix(SUFFIX)}-{len(written) + 1}{SUFFIX}")
        origin = str(screen.path) if screen.path is not None else "a sample never saved"
        header = f"# cnn-tui recovered the unsaved edits of {origin} after a crash, {time.strftime('%Y-%m-%d %H:%M')}\n"
        try:
            written.append(write_atomic(target, (header + samples.dumps(screen.sample)).encode("utf-8")))
        except Exception:  # noqa: BLE001 - the app is already failing; keep what can be kept
            continue
    return written


def rescued_message(paths: list[Path]) -> str:
    """The line printed after the traceback: where the edits are and how to get them back."""
    where = ", ".join(str(path) for path in paths)
    return f"cnn-tui stopped on an unexpected error; your unsaved edits are in {where} (the next start offers them)"


class Recovery(App):
    """Mixed into CnnApp: rescue unsaved edits on a crash; offer a recovery file at start."""

    rescued: list[Path] = []
    """Recovery files written by the crash that ended this app (printed by run())."""

    def _handle_exception(self, error: Exception) -> None:
        if not self.rescued:  # the first exception; Textual exits after it
            self.rescued = rescue(list(self.screen_stack))
        super()._handle_exception(error)

    def report_rescued(self) -> None:
        """After the app has exited: say on stderr where a crash put the unsaved edits."""
        if self.rescued:
            print(rescued_message(self.rescued), file=sys.stderr)

    def on_mount(self) -> None:
        # Runs after CnnApp.on_mount (Textual calls every class's handler), so the stepper is there.
        stepper = next((s for s in self.screen_stack if isinstance(s, StepperScreen)), None)
        if stepper is not None:
            offer(self, stepper)


def offer(app: App, stepper: StepperScreen) -> None:
    """If a recovery file of the stepper's sample exists, ask: restore, discard or later."""
    found = recovery_path(stepper.path)
    if not found.is_file():
        return

    async def answer(choice: str | None) -> None:
        if choice == "discard":
            found.unlink(missing_ok=True)
            app.notify(f"recovery file {found} discarded", timeout=4)
        elif choice == "restore":
            await restore(app, stepper, found)

    app.push_screen(
        ChoiceDialog(
            f"{found.name} holds unsaved edits of this sample, rescued after a crash:",
            [
                ("restore", "Restore them (as unsaved edits; ctrl+z goes back to the saved sample)"),
                ("discard", "Discard them (the recovery file is removed)"),
                ("later", "Later: keep the file and open the saved sample (Esc)"),
            ],
        ),
        answer,
    )


async def restore(app: App, stepper: StepperScreen, found: Path) -> None:
    """Put the recovered sample on the stepper as an unsaved edit and remove the recovery file."""
    try:
        sample = samples.load(found)
        trace = sample.trace()
    except CnnError as error:
        app.notify(str(error), title="Cannot restore the recovery file", severity="error", timeout=10)
        return
    sample.path = stepper.path
    stepper.history.push(sample)
    await stepper.apply_sample(sample, trace)
    found.unlink(missing_ok=True)
    app.notify(f"restored the unsaved edits from {found.name} (not saved yet)", timeout=4)
