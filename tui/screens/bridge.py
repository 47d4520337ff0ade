"""BridgeScreen: the stepper on one cell of the network, opened at the step that computes it.

The network view's `s` builds an engine.network.bridge.Bridge (a small sample whose trace
computes exactly that cell in float64) and opens it here. The title names the cell; the status
line names the same cell in the network's own coordinates and gives the layer's real output-size
formula (the sample itself is only the cell's window, cropped from the layer's input).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from engine.network.bridge import Bridge
from tui.screens.stepper import StepperScreen


class BridgeScreen(StepperScreen):
    """The stepper on one cell of the network, opened at the step that computes it."""

    BINDINGS = [Binding("escape", "back", "Network", tooltip="Back to the network view")]
    # Room for Esc in an 80-column footer: one stage (no Tab), and its sample is the network's.
    NARROW_HIDDEN = frozenset({"next_stage", "parameters"})

    DEFAULT_CSS = """
    BridgeScreen #bridge-values { height: auto; padding: 0 1; text-style: bold; }
    """

    def __init__(self, link: Bridge) -> None:
        trace = link.sample.trace()
        super().__init__(link.sample, trace)
        self.link = link
        self.stepped_value = float(trace[link.step].value)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "title":
                yield Static(self.comparison(), id="bridge-values", markup=False)

    def comparison(self) -> str:
        batch, stepped = self.link.batch_value, self.stepped_value
        text = (
            f"batch path (float32) {batch:.8g}   step by step (float64) {stepped:.12g}   "
            f"difference {abs(batch - stepped):.1e}: float32 rounding"
        )
        return text + (f"\nnote: {self.link.note}" if self.link.note else "")

    @property
    def layer_name(self) -> str:
        return self.sample.stages[0].name

    def position_text(self) -> str:
        """The network's own cell: `conv1 output (17, 17) of map 3, image 0` (a conv or pool step
        elsewhere in the cropped window says so; batch norm steps are the layer's own elements)."""
        if self.link.cell is None or self.trace.stages[self.trace[self.index].stage].op != self.sample.stages[0].op:
            return super().position_text()  # a gradient's element, or a stage that is not the cell's
        n, c, i, j = self.link.cell
        op = self.sample.stages[0].op
        if op == "batchnorm":
            where = self.panel.position().partition(", ")[2]
            return f"{self.layer_name} channel {c}" + (f", {where}" if where else "")
        if self.index != self.link.step:
            return f"{self.panel.position()} of the window cropped around {self.layer_name} ({i}, {j})"
        word = "map" if op == "conv" else "channel"
        return f"{self.layer_name} output ({i}, {j}) of {word} {c}, image {n}"

    def size_formula_text(self) -> str:
        formulas = self.link.formulas
        if not formulas:
            return super().size_formula_text()
        if formulas[0] == formulas[1]:
            return f"{self.layer_name} size {formulas[0]}"
        return f"{self.layer_name} height {formulas[0]}  width {formulas[1]}"

    def on_mount(self) -> None:
        self.index = self.link.step  # runs before StepperScreen.on_mount, which then draws it

    def action_back(self) -> None:
        self.dismiss()
