"""MatrixGrid: one matrix drawn as one Rich Text, with the teaching highlights.

The grid only draws what it is given: values, the padding around them, and
which cells play which role (the kernel window, the current output cell, the
cells not computed yet, the maximum, the elements summed so far). Screens
decide the roles from the trace; the grid never computes.

Every role is visible without colour: the window and the current cell are
reversed and bold, padding and pending cells are dim, the maximum is bracketed
`[7]`, counted cells are underlined. Colours come from component classes, so
both themes restyle them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.renderables.digits import DIGITS
from textual.renderables.digits import DIGITS3X3_BOLD as DIGITS3X3
from textual.widget import Widget

from engine.numbers import fmt

Cell = tuple[int, int]

PENDING = "·"

#: Cell sizes, smallest first: one space between numbers (narrow terminals); one line a row;
#: wide cells with a blank line between rows; numbers three lines high (Textual's Digits font).
DENSITIES = ("compact", "normal", "roomy", "big")
#: (left, right) blank columns around each number, per density.
MARGINS = {"compact": (1, 0), "normal": (1, 1), "roomy": (2, 2), "big": (2, 2)}


def big_number(text: str) -> tuple[str, str, str]:
    """text in the 3x3 Digits font as three lines of equal width.

    The decimal point sits on the bottom line; other characters the font lacks (·, e, ∞) on the middle one.
    """
    rows: tuple[list[str], list[str], list[str]] = ([], [], [])
    for character in text:
        if character == ".":
            lines: tuple[str, ...] = (" ", " ", "•")
        elif character in DIGITS:
            at = DIGITS.index(character) * 3
            lines = tuple(DIGITS3X3[at + k].ljust(3) for k in range(3))
        else:
            lines = (" ", character, " ")
        for row, piece in zip(rows, lines):
            row.append(piece)
    return "".join(rows[0]), "".join(rows[1]), "".join(rows[2])


def marked_cell(body: str, width: int, margins: tuple[int, int]) -> str:
    """A marked (maximum) cell of a one-line density: `[7]` right next to the number, or `▸7`
    where there is no right margin; as wide as any other cell (margins + width)."""
    left, right = margins
    if right:
        return f"{'[' + body + ']':>{left + width + 1}}" + " " * (right - 1)
    return f"{'▸' + body:>{left + width}}"


def big_width(text: str) -> int:
    return len(big_number(text)[0])


class MatrixGrid(Widget):
    """A 2-D matrix (H, W) with optional padding rings, drawn with right-aligned columns."""

    COMPONENT_CLASSES = {
        "matrix-grid--window",
        "matrix-grid--padding",
        "matrix-grid--pending",
        "matrix-grid--current",
        "matrix-grid--marked",
        "matrix-grid--counted",
        "matrix-grid--index",
        "matrix-grid--cursor",
    }

    DEFAULT_CSS = """
    MatrixGrid {
        width: auto;
        height: auto;
        padding: 0 0;
        border: round $foreground 60%;
        border-title-color: $foreground;
        border-title-style: bold;
    }
    MatrixGrid > .matrix-grid--window { text-style: bold reverse; color: $warning; }
    MatrixGrid > .matrix-grid--padding { text-style: dim italic; }
    MatrixGrid > .matrix-grid--pending { text-style: dim; }
    MatrixGrid > .matrix-grid--current { text-style: bold reverse; color: $success; }
    MatrixGrid > .matrix-grid--marked { text-style: bold underline; }
    MatrixGrid > .matrix-grid--counted { text-style: bold underline; color: $accent; }
    MatrixGrid > .matrix-grid--index { text-style: dim italic; color: $primary; }
    MatrixGrid > .matrix-grid--cursor { text-style: bold reverse underline; color: $accent; }
    MatrixGrid.editable { border: round $accent; }
    """

    def __init__(
        self,
        title: str = "",
        *,
        indices: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """indices: number the rows and columns (drawn in the roomy and big densities only)."""
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = title
        self.indices = indices
        self._values = np.zeros((0, 0))
        self._texts: list[list[str]] = []
        self._width = 1
        self._big_width = 3
        self._padding: Cell = (0, 0)
        self._pad_text = "0"
        self._window: tuple[frozenset[int], frozenset[int]] | None = None
        self._filled: np.ndarray | None = None
        self._current: Cell | None = None
        self._marked: Cell | None = None
        self._counted: np.ndarray | None = None
        self._density = "normal"
        self._cursor: Cell | None = None

    # ------------------------------------------------------------ input

    def show(
        self,
        values: np.ndarray,
        *,
        padding: Cell = (0, 0),
        pad_value: float = 0.0,
        window: tuple[Iterable[int], Iterable[int]] | None = None,
        filled: np.ndarray | None = None,
        current: Cell | None = None,
        marked: Cell | None = None,
        counted: np.ndarray | None = None,
    ) -> None:
        """Draw values (H, W).

        padding: rings of pad_value drawn around the matrix (rows, cols).
        window: (rows, cols) of the kernel window in unpadded coordinates.
        filled: bool (H, W), False cells print as `·` (not computed yet); None = all.
        current: the cell being written; marked: the cell bracketed (the maximum).
        counted: bool (H, W), cells already summed (batch-norm statistics).
        """
        values = np.asarray(values, dtype=np.float64)
        pad_text = fmt(pad_value)
        size_changed = (
            values.shape != self._values.shape or tuple(padding) != self._padding or pad_text != self._pad_text
        )
        if size_changed or not np.array_equal(values, self._values):
            self._values = values.copy()
            self._texts = [[fmt(v) for v in row] for row in values]
            shown = [t for row in self._texts for t in row] + ([pad_text] if padding != (0, 0) else [])
            widths = (max(map(len, shown), default=1), max(map(big_width, shown), default=3))
            size_changed = size_changed or widths != (self._width, self._big_width)
            self._width, self._big_width = widths
            values_changed = True
        else:
            values_changed = False
        roles = (
            (int(padding[0]), int(padding[1])),
            None if window is None else (frozenset(window[0]), frozenset(window[1])),
            None if filled is None else np.array(filled, dtype=bool),
            current,
            marked,
            None if counted is None else np.array(counted, dtype=bool),
        )
        rows = None if values_changed or size_changed else self._changed_rows(roles)
        if rows is not None and not rows:
            return
        self._padding, self._window, self._filled, self._current, self._marked, self._counted = roles
        self._pad_text = pad_text
        if rows is None:
            self.refresh(layout=size_changed)
        else:
            # Only the lines of the rows whose marks moved are repainted: cheap on a big grid.
            self.refresh(*self._row_regions(rows))

    def _changed_rows(self, roles: tuple) -> set[int] | None:
        """Matrix rows (unpadded) whose drawing differs under the new roles; None: redraw all."""
        padding, window, filled, current, marked, counted = roles
        if padding != self._padding:
            return None
        rows: set[int] = set()
        if window != self._window:
            for old_or_new in (self._window, window):
                rows |= set(old_or_new[0]) if old_or_new else set()
        for old_cell, new_cell in ((self._current, current), (self._marked, marked)):
            if old_cell != new_cell:
                rows |= {cell[0] for cell in (old_cell, new_cell) if cell is not None}
        for old_mask, new_mask in ((self._filled, filled), (self._counted, counted)):
            if old_mask is None and new_mask is None:
                continue
            if old_mask is None or new_mask is None or old_mask.shape != new_mask.shape:
                return None
            rows |= set(np.flatnonzero((old_mask != new_mask).any(axis=1)).tolist())
        return rows

    def _row_regions(self, rows: Iterable[int]) -> list[Region]:
        """Content regions of these matrix rows, with the spacer lines on either side."""
        shown_rows = self._shown_shape()[0]
        width = self.get_content_width(None, None)
        gap = self._line_step - self._row_lines
        regions = []
        for row in rows:
            k = row + self._padding[0]
            if 0 <= k < shown_rows:
                top = self._header_lines + k * self._line_step - (gap if k else 0)
                bottom = self._header_lines + k * self._line_step + self._row_lines + (gap if k < shown_rows - 1 else 0)
                regions.append(Region(0, top, width, bottom - top))
        return regions

    @property
    def shape(self) -> Cell:
        """(rows, cols) of the matrix shown, padding not counted."""
        return self._values.shape if self._values.ndim == 2 else (0, 0)

    @property
    def cursor(self) -> Cell | None:
        """The edit cursor's cell (unpadded), drawn reversed and underlined; None: no cursor."""
        return self._cursor

    @cursor.setter
    def cursor(self, cell: Cell | None) -> None:
        if cell != self._cursor:
            rows = {c[0] for c in (self._cursor, cell) if c is not None}
            self._cursor = cell
            self.refresh(*self._row_regions(rows))

    @property
    def density(self) -> str:
        """How large cells are drawn: one of DENSITIES."""
        return self._density

    @density.setter
    def density(self, value: str) -> None:
        if value not in DENSITIES:
            raise ValueError(f"density must be one of {DENSITIES}, got {value!r}")
        if value != self._density:
            self._density = value
            self.refresh(layout=True)

    # ------------------------------------------------------------ what is shown (for tests)

    @property
    def window_cells(self) -> set[Cell]:
        """The window's cells inside the matrix, (row, col)."""
        if self._window is None:
            return set()
        h, w = self._values.shape
        return {(r, c) for r in self._window[0] for c in self._window[1] if 0 <= r < h and 0 <= c < w}

    @property
    def counted_cells(self) -> set[Cell]:
        """The cells drawn as counted (underlined: summed so far, a routed window), (row, col)."""
        if self._counted is None:
            return set()
        return {(int(r), int(c)) for r, c in zip(*np.nonzero(self._counted))}

    @property
    def current(self) -> Cell | None:
        return self._current

    @property
    def marked(self) -> Cell | None:
        return self._marked

    def cell_text(self, row: int, col: int) -> str:
        """What the cell shows: its number, or `·` when not computed yet."""
        if self._filled is not None and not self._filled[row, col]:
            return PENDING
        return self._texts[row][col]

    def rows_text(self) -> list[list[str]]:
        h, w = self._values.shape
        return [[self.cell_text(r, c) for c in range(w)] for r in range(h)]

    # ------------------------------------------------------------ drawing

    @property
    def _margins(self) -> tuple[int, int]:
        return MARGINS[self._density]

    @property
    def _cell_width(self) -> int:
        return self._number_width + sum(self._margins)

    @property
    def _number_width(self) -> int:
        if self._density != "big":
            return self._width
        return self._big_width

    @property
    def _line_step(self) -> int:
        """Lines from one matrix row to the next."""
        return {"compact": 1, "normal": 1, "roomy": 2, "big": 4}[self._density]

    @property
    def _row_lines(self) -> int:
        return 3 if self._density == "big" else 1

    def _shown_shape(self) -> Cell:
        h, w = self._values.shape if self._values.ndim == 2 else (0, 0)
        return h + 2 * self._padding[0], w + 2 * self._padding[1]

    @property
    def _label_width(self) -> int:
        """Columns of the row numbers at the left (0 when not numbered)."""
        if not self.indices or self._density not in ("roomy", "big"):
            return 0
        return len(str(max(self._values.shape, default=1) - 1)) + 1

    @property
    def _header_lines(self) -> int:
        """The column numbers and a blank line above the matrix, when numbered."""
        return 2 if self._label_width else 0

    def get_content_width(self, container, viewport) -> int:
        return self._label_width + self._shown_shape()[1] * self._cell_width

    def get_content_height(self, container, viewport, width: int) -> int:
        rows = self._shown_shape()[0]
        return max(1, self._header_lines + (rows - 1) * self._line_step + self._row_lines)

    def cells_region(self, rows: tuple[int, ...], cols: tuple[int, ...]) -> Region | None:
        """Screen region covering these cells (unpadded coordinates), or None before layout."""
        if not rows or not cols or not self.content_region.size:
            return None
        top, left = min(rows) + self._padding[0], min(cols) + self._padding[1]
        bottom, right = max(rows) + self._padding[0], max(cols) + self._padding[1]
        origin = self.content_region.offset + (self._label_width, self._header_lines)
        return Region(
            origin.x + left * self._cell_width,
            origin.y + top * self._line_step,
            (right - left + 1) * self._cell_width,
            (bottom - top) * self._line_step + self._row_lines,
        )

    def render(self) -> Text:
        h, w = self._values.shape if self._values.ndim == 2 else (0, 0)
        ph, pw = self._padding
        role_styles = {
            role: self.get_component_rich_style(f"matrix-grid--{role}", partial=True)
            for role in ("window", "padding", "pending", "current", "marked", "counted", "index", "cursor")
        }
        combined: dict[tuple[str, ...], Style] = {}

        def style_of(roles: tuple[str, ...]) -> Style:
            if roles not in combined:
                combined[roles] = Style.combine(role_styles[role] for role in roles) if roles else Style.null()
            return combined[roles]

        window_rows, window_cols = self._window or (frozenset(), frozenset())
        big = self._density == "big"
        left_margin, right_margin = (" " * m for m in self._margins)
        inner = left_margin[:-1]
        number_width = self._number_width
        blank_cell = " " * self._cell_width
        if big:
            marked_edges = [(inner + "┌", "┐" + inner), (inner + "│", "│" + inner), (inner + "└", "┘" + inner)]
        else:
            marked_edges = []  # drawn tight around the number (below), so `[0]` never reads `[     0]`
        label_width = self._label_width
        index_style = role_styles["index"]

        def label(number: int | None) -> tuple[str, Style]:
            """A row number (None: blank) and the rule that sets the numbers apart from the data."""
            return (f"{'' if number is None else number:>{label_width - 1}}│", index_style)

        lines: list[list[tuple[str, Style]]] = []
        if label_width:
            # Column numbers above a rule, row numbers left of one: indices, never read as data.
            align = "^" if big else ">"  # over the middle of a large digit, else over the last one
            lines.append(
                [(" " * label_width, index_style)]
                + [
                    (f"{left_margin}{c if 0 <= c < w else '':{align}{number_width}}{right_margin}", index_style)
                    for c in range(-pw, w + pw)
                ]
            )
            lines.append(
                [(" " * (label_width - 1) + "┌", index_style), ("─" * (self._cell_width * (w + 2 * pw)), index_style)]
            )
        for r in range(-ph, h + ph):
            if r > -ph:
                # Spacer lines between rows keep the window one solid block.
                for _ in range(self._line_step - self._row_lines):
                    lines.append(
                        ([label(None)] if label_width else [])
                        + [
                            (
                                blank_cell,
                                style_of(
                                    ("window",)
                                    if r in window_rows and r - 1 in window_rows and c in window_cols
                                    else ()
                                ),
                            )
                            for c in range(-pw, w + pw)
                        ]
                    )
            row_lines: list[list[tuple[str, Style]]] = [
                [label(r if 0 <= r < h and k == self._row_lines // 2 else None)] if label_width else []
                for k in range(self._row_lines)
            ]
            for c in range(-pw, w + pw):
                roles: tuple[str, ...] = ()
                if not (0 <= r < h and 0 <= c < w):
                    body, roles = self._pad_text, ("padding",)
                elif self._filled is not None and not self._filled[r, c]:
                    body, roles = PENDING, ("pending",)
                else:
                    body = self._texts[r][c]
                    if self._counted is not None and self._counted[r, c]:
                        roles = ("counted",)
                if r in window_rows and c in window_cols:
                    roles += ("window",)
                if (r, c) == self._current:
                    roles += ("current",)
                if (r, c) == self._cursor:
                    roles += ("cursor",)
                edges = [(left_margin, right_margin)] * self._row_lines
                if (r, c) == self._marked:
                    roles += ("marked",)
                    edges = marked_edges
                cell_style = style_of(roles)
                if edges is marked_edges and not big:
                    row_lines[0].append((marked_cell(body, number_width, self._margins), cell_style))
                    continue
                for k, (line, (left, right)) in enumerate(zip(big_number(body) if big else (body,), edges)):
                    row_lines[k].append((f"{left}{line:>{number_width}}{right}", cell_style))
            lines.extend(row_lines)
        text = Text(no_wrap=True, overflow="ignore", end="")
        for number, line in enumerate(lines):
            if number:
                text.append("\n")
            # One span per run of equally styled cells: far fewer spans to draw on a big grid.
            run, run_style = "", None
            for piece, style in line:
                if style == run_style:
                    run += piece
                else:
                    if run:
                        text.append(run, run_style)
                    run, run_style = piece, style
            if run:
                text.append(run, run_style)
        return text
