"""Views with one input map and one output map per (image, channel): pooling and ReLU."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from engine.trace import PoolStep
from tui.screens.panel import EditPlace, StagePanel, column, pair_text, written_up_to
from tui.widgets.matrix import MatrixGrid


class MapPanel(StagePanel):
    """The current (image, channel) map of the input beside the same map of the output, filling
    (the output under the input when the two are wider than the screen)."""

    STACKABLE = ".grid-row"

    def compose_grids(self) -> ComposeResult:
        yield column("input", [MatrixGrid(self.map_title(0, 0), indices=True, classes="input")], "inputs")
        yield column("output", [MatrixGrid(self.map_title(0, 0), indices=True, classes="output")], "outputs")

    def map_title(self, n: int, c: int) -> str:
        batch, channels = self.stage.input.shape[:2]
        parts = ([f"image {n}"] if batch > 1 else []) + ([f"channel {c}"] if channels > 1 else [])
        return ", ".join(parts)

    def show_maps(self, **input_roles) -> None:
        n, c, i, j = self.step.out_index
        source = self.query_one("MatrixGrid.input", MatrixGrid)
        source.show(self.stage.input[n, c], **input_roles)
        window = input_roles.get("window") or ((i,), (j,))
        target = self.query_one("MatrixGrid.output", MatrixGrid)
        self.keep_in_view(source, *window, also=(target, (i,), (j,)))
        filled = written_up_to(self.stage.output.shape, self.local_index)
        target.show(self.stage.output[n, c], filled=filled[n, c], current=(i, j))
        title = self.map_title(n, c)
        source.border_title = title
        target.border_title = title

    CHANNEL_WORD = "channel"

    def edit_places(self, first: bool) -> list[EditPlace]:
        n, c = self.step.out_index[:2]
        return self.input_places(first, n, [c])


class PoolPanel(MapPanel):
    """The pooling window on the input, its maximum bracketed (max) or its sum and divisor (avg)."""

    def compose_notes(self) -> ComposeResult:
        p = self.stage.params
        mode = (
            "max pooling: the window's largest value"
            if p["mode"] == "max"
            else "average pooling: the window's sum divided by its size"
        )
        sizes = "   ".join(f"{key} {pair_text(p[key])}" for key in ("size", "stride", "padding"))
        yield Static(f"{mode}   {sizes}", classes="params", markup=False)

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, PoolStep)
        marked = None
        if step.argmax is not None:
            marked = (step.rows[step.argmax[0]], step.cols[step.argmax[1]])
        self.show_maps(
            padding=self.stage.params["padding"],
            pad_value=float("-inf") if step.mode == "max" else 0.0,
            window=(step.rows, step.cols),
            marked=marked,
        )


class ReluPanel(MapPanel):
    """Each element through max(0, x): negative inputs become 0."""

    def compose_notes(self) -> ComposeResult:
        negatives = int((self.stage.input < 0).sum())
        yield Static(
            f"ReLU keeps positive values and writes 0 for negative ones "
            f"({negatives} of {self.stage.input.size} inputs are negative)",
            classes="params",
            markup=False,
        )

    def show(self, local_index: int) -> None:
        super().show(local_index)
        i, j = self.step.out_index[2:]
        self.show_maps(current=(i, j))
