"""Small modal dialogs: go to step N, the sample picker, a choice, a line of text (a path), a title."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from engine.samples import shipped, shipped_dir


class GoToDialog(ModalScreen[int | None]):
    """Ask for a step number 1..N; Enter goes there, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, steps: int, current: int) -> None:
        super().__init__()
        self.steps = steps
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Go to step (1 to {self.steps}), Enter to go, Esc to cancel:")
            yield Input(placeholder=f"now at step {self.current}", type="integer", id="step-number")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            number = int(text)
        except ValueError:
            number = 0
        if not text:
            self.app.notify(f"type a step number from 1 to {self.steps} (Esc cancels)", severity="warning")
            return
        if not 1 <= number <= self.steps:
            self.app.notify(f"{text} is not a step number: give 1 to {self.steps}", severity="error")
            return
        self.dismiss(number)

    def action_cancel(self) -> None:
        self.dismiss(None)


def sample_files(folder: Path) -> list[tuple[Path, str]]:
    """The shipped samples, then the .toml files of folder: (path, label)."""
    entries = [(shipped_dir() / f"{name}.toml", f"{name}  —  {title}") for name, title, _ in shipped()]
    here = shipped_dir().resolve()
    if folder.resolve() != here:
        entries += [(path, f"./{path.name}") for path in sorted(folder.glob("*.toml"))]
    return entries


class SamplePicker(ModalScreen[Path | None]):
    """Pick a sample: the shipped ones and the .toml files in the current folder."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self.entries = sample_files(Path.cwd() if folder is None else folder)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label("Open a sample (Enter opens, Esc cancels):")
            yield OptionList(*(Option(label, id=str(index)) for index, (_, label) in enumerate(self.entries)))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def pick(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.entries[int(event.option.id or 0)][0])

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one of a few named choices (presets, save or discard); Enter picks, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, choices: list[tuple[str, str]]) -> None:
        """choices: (value returned, label shown)."""
        super().__init__()
        self.prompt = prompt
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(self.prompt)
            yield OptionList(*(Option(label, id=value) for value, label in self.choices))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def pick(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[str | None]):
    """Ask for one line of text (a file path); Enter returns it, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, value: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.prompt} (Enter accepts, Esc cancels):")
            yield Input(value=self.value, id="text")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TitleDialog(ModalScreen[tuple[str, str] | None]):
    """Edit a sample's title and description; Enter accepts both, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, description: str, prompt: str = "Title and description of the sample") -> None:
        super().__init__()
        self.sample_title = title
        self.description = description
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.prompt} (Enter accepts, Esc cancels):")
            yield Label("Title (one line):")
            yield Input(value=self.sample_title, id="sample-title")
            yield Label("Description:")
            yield Input(value=" ".join(self.description.split()), id="sample-description")

    def on_mount(self) -> None:
        self.query_one("#sample-title", Input).focus()

    @on(Input.Submitted)
    def submit(self) -> None:
        self.dismiss((self.query_one("#sample-title", Input).value, self.query_one("#sample-description", Input).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
