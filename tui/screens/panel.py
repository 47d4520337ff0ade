"""StagePanel: what every per-operation view has in common.

A panel is built once per stage of the open trace, with the stage's grids
mounted in compose. Stepping calls `show(local_index)`, which only hands new
arrays and roles to the existing widgets: no widget is created or removed
while stepping. The panel reads the StageTrace (it is part of the screen);
its widgets only draw.

To add a view for a new operation: subclass StagePanel, implement
compose_grids / compose_notes / show / position, and register it in PANELS
(tui/screens/stepper.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Label

from engine.shapes import GENERAL_FORMULA, GENERAL_POOL_FORMULA
from engine.trace import StageTrace, Step
from tui.widgets.labels import ComputationLine
from tui.widgets.matrix import DENSITIES, MatrixGrid

#: A stage with more input and output elements than this is drawn at most at "normal" density:
#: its grids cannot fit larger cells, and laying out each try takes a visible while (bn1's bridge
#: is 8 images of 32×32 per side).
LARGE_STAGE_CELLS = 4000


@dataclass(frozen=True)
class EditPlace:
    """A grid the edit cursor can visit, and which slice of which sample matrix it shows.

    target: an engine.edits target ("input", "conv.kernel", "bn.gamma", ...); prefix: the leading
    index of the 2-D slice shown ((n, c) of the input, (o, c) of a kernel); vector: the grid
    shows a 1-D target as one row, so a cell (0, col) is index (col,).
    """

    grid: MatrixGrid
    target: str
    prefix: tuple[int, ...]
    label: str
    vector: bool = False

    def index(self, cell: tuple[int, int]) -> tuple[int, ...]:
        """The target's index of a cell of the grid."""
        return (cell[1],) if self.vector else (*self.prefix, *cell)


def written_up_to(shape: tuple[int, ...], flat_index: int) -> np.ndarray:
    """bool array of shape: True for the elements written by steps 0..flat_index (row-major order)."""
    return np.arange(int(np.prod(shape))).reshape(shape) <= flat_index


def pair_text(pair: tuple[int, int]) -> str:
    """(2, 2) -> '2', (1, 2) -> '1×2': a parameter given for height and width."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def column(title: str, grids: Iterable[Widget], classes: str = "") -> Vertical:
    """A titled column of grids."""
    return Vertical(Label(title, classes="column-title"), *grids, classes=f"grid-column {classes}".strip())


#: The terminal width from which the status line shows the general output-size formula too.
GENERAL_WIDTH = 120


class StagePanel(Vertical):
    """One stage's view: a scrolling area of grids above the explaining lines."""

    DEFAULT_CSS = """
    StagePanel { height: 1fr; width: 1fr; }
    StagePanel > .grids { height: 1fr; width: 1fr; overflow: auto auto; }
    StagePanel .grid-row { width: auto; height: auto; }
    StagePanel .grid-column { width: auto; height: auto; margin: 0 2 0 0; }
    StagePanel .column-title { text-style: bold; }
    StagePanel .stacked { layout: vertical; }
    """

    STACKABLE = ""
    """Selector of the rows of grids that are stacked (one under the other) when they are wider
    than the grid area, instead of running off its right edge ('' = never)."""

    CHANNEL_WORD = "map"
    """What the status line calls the output's second axis: a filter's map, or a channel."""

    def __init__(self, stage: StageTrace, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = stage
        self.local_index = 0
        self.density = "normal"
        """The cell density the grids are drawn at."""
        self.fitting = False
        """True from fit() until its density is settled and the grids are arranged and scrolled."""
        self._fit_generation = 0
        self._fitted_for: tuple | None = None
        self._in_view: tuple | None = None
        """The cells last kept in view: scrolled to again once a fit has changed the layout."""

    def compose(self) -> ComposeResult:
        with ScrollableContainer(classes="grids", can_focus=False):
            with Horizontal(classes="grid-row"):
                yield from self.compose_grids()
            yield from self.compose_below_grids()
        yield from self.compose_notes()
        yield ComputationLine(classes="computation")

    def compose_grids(self) -> ComposeResult:
        yield from ()

    def compose_below_grids(self) -> ComposeResult:
        """Explanations that may scroll away with the grids on a small terminal."""
        yield from ()

    def compose_notes(self) -> ComposeResult:
        """Lines always in view, above the computation line."""
        yield from ()

    @property
    def step(self) -> Step:
        return self.stage.steps[self.local_index]

    def show(self, local_index: int) -> None:
        """Show the stage after its step local_index."""
        self.local_index = local_index
        self.query_one(ComputationLine).show(self.step.text)

    def edit_places(self, first: bool) -> list[EditPlace]:
        """The grids of this view that show a sample matrix, in Tab order. first: the stage reads
        the sample's input (later stages read an earlier stage's output, which is not editable)."""
        return []

    def input_places(self, first: bool, n: int, channel_of: Iterable[int]) -> list[EditPlace]:
        """The input grids (showing channels channel_of of image n), when the input is the sample's."""
        if not first:
            return []
        batch, channels = self.stage.input.shape[:2]
        places = []
        for grid, c in zip(self.query("MatrixGrid.input").results(MatrixGrid), channel_of):
            words = ([f"image {n}"] if batch > 1 else []) + ([f"channel {c}"] if channels > 1 else [])
            label = "input" + (f" ({', '.join(words)})" if words else "")
            places.append(EditPlace(grid, "input", (n, c), label))
        return places

    def position(self) -> str:
        """Where the current step writes, for the status line."""
        n, c, i, j = self.step.out_index
        batch, channels = self.stage.output.shape[:2]
        where = f"output ({i}, {j})"
        if channels > 1:
            where += f" of {self.CHANNEL_WORD} {c}"
        if batch > 1:
            where += f", image {n}"
        return where

    def size_formula(self) -> str:
        """The output-size formula(s) with the numbers filled in; '' when the op keeps the size.
        From GENERAL_WIDTH columns the general form stands beside it (narrower, the status line
        would break inside the formula)."""
        formulas = self.stage.formulas
        if not formulas:
            return ""
        general = ""
        if self.app.size.width >= GENERAL_WIDTH:
            general = (GENERAL_POOL_FORMULA if self.stage.op == "pool" else GENERAL_FORMULA) + ": "
        if formulas[0] == formulas[1]:
            return f"size {general}{formulas[0]}"
        return f"{general}height {formulas[0]}  width {formulas[1]}"

    @staticmethod
    def row_key(step: Step) -> Hashable:
        """Steps with the same key form one PageUp/PageDown unit: an output row."""
        return step.out_index[:3]

    def fit(self, largest: str, force: bool = False) -> None:
        """Draw the grids at the largest density up to `largest` that fits without scrolling.

        "compact" is only kept when it removes horizontal scrolling: it cannot help with height,
        and when the grids are too wide even so, normal cells read better. Each try is judged
        after the layout has caught up with it; a newer fit() abandons an older one.
        """
        fitted_for = (largest, self.app.size)
        if fitted_for == self._fitted_for and not force:
            return  # the same terminal again (Resize events repeat): keep the density found
        self._fitted_for = fitted_for
        self._fit_generation += 1
        self.fitting = True
        if self.stage.input.size + self.stage.output.size > LARGE_STAGE_CELLS:
            largest = min(largest, "normal", key=DENSITIES.index)  # big cells could never fit: skip the tries
        self._try_density(DENSITIES[: DENSITIES.index(largest) + 1][::-1], self._fit_generation)

    def _set_density(self, density: str) -> None:
        self.density = density
        for grid in self.query(MatrixGrid):
            grid.density = density

    def _try_density(self, candidates: tuple[str, ...], generation: int) -> None:
        self._set_density(candidates[0])
        if len(candidates) > 1 or candidates[0] == "compact":
            self.call_after_refresh(self._check_fit, candidates, generation, 20)
        else:
            self._fitted()

    def _laid_out(self) -> bool:
        """True once every grid has its size for the current density."""
        return all(grid.size.width == grid.get_content_width(Size(0, 0), Size(0, 0)) for grid in self.query(MatrixGrid))

    def _check_fit(self, candidates: tuple[str, ...], generation: int, retries: int) -> None:
        if generation != self._fit_generation or not self.is_attached:
            return  # a newer fit took over, or an edit replaced this panel
        if not self._laid_out() and retries:
            self.call_after_refresh(self._check_fit, candidates, generation, retries - 1)
            return
        area = self.query_one(".grids", ScrollableContainer)
        if candidates[0] == "compact":
            if area.max_scroll_x > 0:
                self._set_density("normal")
        elif area.max_scroll_x > 0 or (area.max_scroll_y > 0 and candidates[1] != "compact"):
            self._try_density(candidates[1:], generation)
            return
        self._fitted()

    def _fitted(self) -> None:
        """The density is settled: stack rows that are too wide, then scroll to the cells in view
        again (they moved with the layout). After a refresh, so that the sizes are the new ones."""
        self.call_after_refresh(self._arrange)

    def _arrange(self) -> None:
        if not self.is_attached:
            return
        restacked = False
        if self.STACKABLE:
            area = self.query_one(".grids", ScrollableContainer)
            room = area.scrollable_content_region.width
            for row in self.query(self.STACKABLE):
                needed = sum(
                    child.outer_size.width + child.styles.margin.width for child in row.children if child.display
                )
                restacked |= row.has_class("stacked") != (needed > room)
                row.set_class(needed > room, "stacked")
        # a row that was (un)stacked moves the grids: scroll once the layout has caught up with it
        if restacked:
            self.call_after_refresh(self._scroll_and_settle)
        else:
            self._scroll_and_settle()

    def _scroll_and_settle(self) -> None:
        if not self.is_attached:
            return
        if self._in_view is not None:
            self.keep_in_view(*self._in_view)
        self.call_after_refresh(self._settled)

    def _settled(self) -> None:
        self.fitting = False

    def keep_in_view(
        self,
        grid: MatrixGrid,
        rows: tuple[int, ...],
        cols: tuple[int, ...],
        also: tuple[MatrixGrid, tuple[int, ...], tuple[int, ...]] | None = None,
    ) -> None:
        """Scroll the grid area (after the next layout) so that these cells of grid are visible,
        and the cells `also` names too (another grid's current cell) where both fit."""
        self._in_view = (grid, rows, cols, also)

        def scroll() -> None:
            if not self.is_attached:
                return  # an edit replaced this panel before the layout caught up
            area = self.query_one(".grids", ScrollableContainer)
            box = grid.cells_region(rows, cols)
            if box is None:
                return
            other = also[0].cells_region(*also[1:]) if also is not None else None
            if other is not None:
                both = box.union(other)
                if both.width <= area.scrollable_content_region.width and both.height <= area.size.height:
                    box = both
            origin = area.content_region.offset - area.scroll_offset
            area.scroll_to_region(box.translate(-origin), animate=False, immediate=True)

        self.call_after_refresh(scroll)
