"""ReceptiveFields: in a pipeline, the current output cell's receptive field on the input of every
earlier convolution or pooling stage, each a grid with the field marked as a window."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.widgets.matrix import MatrixGrid


class ReceptiveFields(Vertical):
    """One line naming each field, and (when there is room) one grid per earlier stage."""

    DEFAULT_CSS = """
    ReceptiveFields { height: auto; width: 1fr; padding: 0 1; }
    ReceptiveFields > Horizontal { height: auto; width: 1fr; overflow-x: auto; }
    ReceptiveFields MatrixGrid { margin: 0 2 0 0; }
    ReceptiveFields > Static { text-style: bold; }
    ReceptiveFields.-empty { display: none; }
    ReceptiveFields.-text-only > Horizontal { display: none; }
    """

    def __init__(self, stages: Sequence[str], *, id: str | None = None) -> None:
        """stages: the names of the stages whose input may be shown (conv and pool stages)."""
        super().__init__(id=id)
        self.stage_names = tuple(stages)
        self.add_class("-empty")

    def compose(self) -> ComposeResult:
        yield Static("", markup=False)
        with Horizontal():
            for name in self.stage_names:
                yield MatrixGrid(f"{name} input", classes="receptive")

    def show(self, fields: Sequence[tuple[int, np.ndarray, tuple[int, ...], tuple[int, ...]]], grids: bool) -> None:
        """fields: (position in stage_names, that stage's input (H, W), rows, cols) per earlier stage;
        grids: draw the grids too (else only the line)."""
        self.set_class(not fields, "-empty")
        self.set_class(not grids, "-text-only")
        if not fields:
            return
        parts = [
            f"{self.stage_names[k]} input rows {rows[0]}–{rows[-1]}, cols {cols[0]}–{cols[-1]} "
            f"({len(rows)}×{len(cols)})"
            for k, _, rows, cols in fields
        ]
        self.query_one(Static).update("receptive field: " + " · ".join(parts))
        shown = {k for k, *_ in fields}
        all_grids = list(self.query(MatrixGrid).results(MatrixGrid))
        for k, grid in enumerate(all_grids):
            grid.display = k in shown
        if grids:
            for k, values, rows, cols in fields:
                all_grids[k].show(values, window=(rows, cols))

    @property
    def text(self) -> str:
        return "" if self.has_class("-empty") else str(self.query_one(Static).content)
