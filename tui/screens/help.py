"""The help screen: every key of the stepper and the app, and what each view shows."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

VIEWS = """\
Convolution: the input (each channel) with the kernel window reversed, padding dim, the kernel, \
the element-wise products and the feature map filling cell by cell (· = not computed yet); \
the dot-product line below, bias included.
Pooling: the window on the input, its maximum in [brackets] (max) or sum/divisor (average).
Batch norm: one channel of the whole mini-batch; elements summed so far are underlined, the \
current one reversed; μ, σ², then y = (x − μ)/√(σ² + ε)·γ + β fills the output batch; its mean \
and standard deviation at the end. Training and eval mode are explained below the grids.
ReLU: max(0, x) element by element.
Pipelines: the stage bar shows where you are; stepping past a stage's last step enters the next.
Edit mode (e): a cell cursor (reversed and underlined) on the input, the kernel, the bias and the \
batch-norm batch and vectors; the EDIT line names the cell and its value. Type a number and Enter; \
every edit re-traces at once and can be undone (ctrl+z); a refused edit says why and changes nothing.
Network view (w, or a network sample): the layer table, the batch's images in colour and every \
channel as a heat-map thumbnail; s opens the stepper on the chosen cell; r trains live.
Lecture (cnn-tui lecture): > and < change slides, each keeping its step; the caption and the step's \
bookmark are under the title, the slide's notes at the top of this help. f: present mode (big \
result, no footer). P saves an SVG screenshot in the current folder."""


def keys_table(groups: list[tuple[str, list[Binding]]], key_display) -> Table:
    """One row per binding: keys, what it does."""
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, bindings in groups:
        table.add_row(Text(title, style="bold underline"), "")
        for binding in bindings:
            keys = " ".join(key_display(key) for key in binding.key.split(","))
            table.add_row(keys, binding.tooltip or binding.description)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys and views; Escape, q or ? closes."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, groups: list[tuple[str, list[Binding]]], notes: str = "") -> None:
        super().__init__()
        self.groups = groups
        self.notes = notes
        """Lecture mode: the slide's caption and the lecturer's notes, shown first."""

    def compose(self) -> ComposeResult:
        def display(key: str) -> str:
            return self.app.get_key_display(Binding(key, ""))

        with VerticalScroll(classes="dialog help"):
            if self.notes:
                yield Static(Text("Notes for this slide", style="bold underline"))
                yield Static(self.notes + "\n", markup=False, id="notes")
            yield Static(Text("cnn-tui keys  (Esc closes; ctrl+p: the same actions by name)", style="bold"))
            yield Static(keys_table(self.groups, display))
            yield Static(Text("\nViews", style="bold underline"))
            yield Static(VIEWS, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
