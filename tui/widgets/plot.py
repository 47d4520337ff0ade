"""LinePlot: curves drawn with braille dots (2×4 dots a character), for live training metrics.

No plotting dependency: a braille character U+2800 + bits addresses 2 columns ×
4 rows of dots, so a 40×8 widget is an 80×32-dot canvas. Each series has its
own colour (component classes, so both themes restyle them) and its own mark
in the legend; where curves cross, the later series draws the cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.widget import Widget

from engine.numbers import fmt

#: Bit of each dot in a braille cell, indexed [row 0..3][column 0..1].
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
#: Legend marks of the series, so they differ without colour too.
MARKS = ("━", "┅", "╌")


def braille_canvas(
    series: Sequence[np.ndarray], width: int, height: int, low: float, high: float, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise series onto width×height cells: (braille bits (H, W) int, owner series (H, W) int, -1 empty).

    Point k of a series sits at x = k·(2·width − 1)/(length − 1); consecutive points are joined.
    """
    bits = np.zeros((height, width), dtype=np.int64)
    owner = np.full((height, width), -1)
    dots_w, dots_h = 2 * width, 4 * height
    span = (high - low) or 1.0
    for number, values in enumerate(series):
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            continue
        xs = np.arange(values.size) * (dots_w - 1) / max(length - 1, 1)
        ys = (dots_h - 1) - np.clip((values - low) / span, 0, 1) * (dots_h - 1)
        # Resample to one y per dot column, joining neighbours with vertical runs.
        columns = np.arange(int(np.floor(xs[-1])) + 1)
        curve = np.interp(columns, xs, ys) if values.size > 1 else np.full(1, ys[0])
        previous = None
        for x, y in zip(columns, np.rint(curve).astype(int)):
            top, bottom = (y, y) if previous is None else (min(previous, y), max(previous, y))
            for dot_y in range(top, bottom + 1):
                row, col = dot_y // 4, x // 2
                bits[row, col] |= _DOTS[dot_y % 4][x % 2]
                owner[row, col] = number
            previous = y
    return bits, owner


class LinePlot(Widget, can_focus=False):
    """One or more series over steps, with the y range at the left and a legend above."""

    COMPONENT_CLASSES = {"line-plot--series-0", "line-plot--series-1", "line-plot--series-2", "line-plot--axis"}

    DEFAULT_CSS = """
    LinePlot { height: 1fr; width: 1fr; min-height: 5; }
    LinePlot > .line-plot--series-0 { color: $primary; text-style: bold; }
    LinePlot > .line-plot--series-1 { color: $accent; }
    LinePlot > .line-plot--series-2 { color: $success; }
    LinePlot > .line-plot--axis { text-style: dim; }
    """

    def __init__(
        self,
        title: str = "",
        *,
        low: float | None = None,
        high: float | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """low/high fix the y range (e.g. 0 to 1 for accuracy); otherwise it follows the data."""
        super().__init__(id=id, classes=classes)
        self.title = title
        self.fixed = (low, high)
        self.series: list[tuple[str, np.ndarray]] = []
        self.length = 0

    def show(self, series: Sequence[tuple[str, Sequence[float]]], length: int | None = None) -> None:
        """series: (label, values) pairs; length: the x range in points (default: the longest series)."""
        self.series = [(label, np.asarray(values, dtype=np.float64)) for label, values in series]
        self.length = max([length or 0] + [v.size for _, v in self.series])
        self.refresh()

    def y_range(self) -> tuple[float, float]:
        values = [v for _, v in self.series if v.size]
        low, high = self.fixed
        if low is None:
            low = min((float(v.min()) for v in values), default=0.0)
        if high is None:
            high = max((float(v.max()) for v in values), default=1.0)
        return (low, high) if high > low else (low, low + 1.0)

    def render(self) -> Text:
        width, height = self.size
        low, high = self.y_range()
        labels = (fmt(float(f"{high:.3g}")), fmt(float(f"{low:.3g}")))
        margin = max(map(len, labels)) + 1
        plot_w, plot_h = max(1, width - margin - 1), max(1, height - 2)
        styles = [self.get_component_rich_style(f"line-plot--series-{k}", partial=True) for k in range(3)]
        axis = self.get_component_rich_style("line-plot--axis", partial=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        text.append(self.title + "  ", style="bold")
        for number, (label, values) in enumerate(self.series):
            last = f" {fmt(float(values[-1]))}" if values.size else ""
            text.append(f"{MARKS[number % 3]} {label}{last}  ", styles[number % 3])
        bits, owner = braille_canvas([v for _, v in self.series], plot_w, plot_h, low, high, self.length)
        for row in range(plot_h):
            text.append("\n")
            label = labels[0] if row == 0 else labels[1] if row == plot_h - 1 else ""
            text.append(f"{label:>{margin - 1}} ┤" if label else " " * (margin - 1) + " │", axis)
            # One span per run of cells drawn by the same series: a few spans a row, not one a cell.
            cells = "".join(chr(0x2800 + bit) for bit in bits[row].tolist())
            owners = owner[row].tolist()
            start = 0
            for col in range(1, plot_w + 1):
                if col == plot_w or owners[col] != owners[start]:
                    who = owners[start]
                    text.append(cells[start:col], styles[who % 3] if who >= 0 else axis)
                    start = col
        text.append("\n" + " " * margin + "└" + "─" * plot_w, axis)
        return text
