"""Pictures in the terminal: colour images and heat maps drawn with half blocks.

One character cell holds two pixels: `▀` painted with the top pixel as its
foreground and the bottom pixel as its background. Widgets here are drawn with
Textual's line API from precomputed Strips, so 128 thumbnails are one widget
and a key press re-renders a few lines, never re-mounts widgets.

Heat maps use one of two colour scales, both readable on black and on white:
a diverging scale (blue, grey at zero, red) for values of either sign, and a
sequential one (dark violet to yellow, viridis-like) for values ≥ 0 such as
ReLU outputs. The screen picks the scale and its limits; widgets only draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from engine.numbers import fmt

#: Levels of each colour scale (a thumbnail cell picks one of them per pixel).
LEVELS = 48
_ANCHORS = {
    "diverging": ["#2166ac", "#67a9cf", "#c8c8c8", "#ef8a62", "#b2182b"],
    "sequential": ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
}


def _lut(anchors: list[str]) -> np.ndarray:
    points = np.array([[int(a[k : k + 2], 16) for k in (1, 3, 5)] for a in anchors], dtype=np.float64)
    at = np.linspace(0, len(points) - 1, LEVELS)
    low = np.minimum(at.astype(int), len(points) - 2)
    share = (at - low)[:, None]
    return np.rint(points[low] * (1 - share) + points[low + 1] * share).astype(np.uint8)


SCALES = {name: _lut(anchors) for name, anchors in _ANCHORS.items()}


@dataclass(frozen=True)
class Scale:
    """How values map to colours: a named colour scale between low and high."""

    name: str
    low: float
    high: float

    @classmethod
    def for_values(cls, values: np.ndarray) -> Scale:
        """Diverging and symmetric around 0 when values have both signs, else sequential from 0."""
        values = np.asarray(values)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if low < 0:
            bound = max(-low, high, 1e-12)
            return cls("diverging", -bound, bound)
        return cls("sequential", 0.0, max(high, 1e-12))

    def levels(self, values: np.ndarray) -> np.ndarray:
        """values -> int indices into the scale's colours."""
        share = (np.asarray(values, dtype=np.float64) - self.low) / (self.high - self.low)
        return np.clip(np.rint(share * (LEVELS - 1)), 0, LEVELS - 1).astype(np.intp)

    def rgb(self, values: np.ndarray) -> np.ndarray:
        """values (...) -> uint8 colours (..., 3)."""
        return SCALES[self.name][self.levels(values)]


def image_rgb(image: np.ndarray) -> np.ndarray:
    """A normalised input image (C, H, W), pixels as (p − 0.5)/0.25, -> uint8 RGB (H, W, 3).

    One channel is drawn grey; more than three keep the first three.
    """
    pixels = np.clip(np.asarray(image, dtype=np.float64) * 0.25 + 0.5, 0, 1)
    if pixels.shape[0] < 3:
        pixels = np.repeat(pixels[:1], 3, axis=0)
    return np.rint(pixels[:3].transpose(1, 2, 0) * 255).astype(np.uint8)


def resample(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of (H, W, ...) to (height, width, ...)."""
    rows = (np.arange(height) * picture.shape[0] // height).clip(0, picture.shape[0] - 1)
    cols = (np.arange(width) * picture.shape[1] // width).clip(0, picture.shape[1] - 1)
    return picture[rows][:, cols]


@lru_cache(maxsize=65536)
def _pair_style(top: tuple[int, int, int], bottom: tuple[int, int, int] | None) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=None if bottom is None else Color.from_rgb(*bottom))


def half_block_lines(rgb: np.ndarray) -> list[list[Segment]]:
    """uint8 (H, W, 3) -> ceil(H/2) lines of W cells, two pixels per cell."""
    h, w = rgb.shape[:2]
    lines = []
    for top in range(0, h, 2):
        upper = rgb[top].tolist()
        lower = rgb[top + 1].tolist() if top + 1 < h else [None] * w
        lines.append(
            [Segment("▀", _pair_style(tuple(a), None if b is None else tuple(b))) for a, b in zip(upper, lower)]
        )
    return lines


def scale_text(scale: Scale, width: int = 24) -> Text:
    """The colour scale as one line: low ███…███ high (and 0 in the middle of a diverging scale)."""
    text = Text(no_wrap=True)
    text.append(f"{fmt(scale.low)} ")
    colours = SCALES[scale.name][np.linspace(0, LEVELS - 1, width).round().astype(int)]
    for r, g, b in colours.tolist():
        text.append("█", Style(color=Color.from_rgb(r, g, b)))
    text.append(f" {fmt(scale.high)}")
    if scale.name == "diverging":
        text.append("  (grey = 0)")
    return text


@dataclass
class Tile:
    """One thumbnail: a uint8 picture (h, w, 3) and its label."""

    rgb: np.ndarray
    label: str


class Thumbnails(Widget, can_focus=False):
    """A page of thumbnails (colour images or heat maps) with one selected; pages follow the selection.

    The screen hands over full-size pictures; the widget resamples them to the
    thumbnail size it is told and lays out as many as fit, a page at a time.
    """

    COMPONENT_CLASSES = {"thumbnails--selected", "thumbnails--label", "thumbnails--header"}

    DEFAULT_CSS = """
    Thumbnails { height: 1fr; width: 1fr; }
    Thumbnails > .thumbnails--selected { text-style: bold reverse; color: $warning; }
    Thumbnails > .thumbnails--label { text-style: dim; }
    Thumbnails > .thumbnails--header { text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._tiles: list[Tile] = []
        self._selected = 0
        self._side = 16
        self._what = "channel"
        self._strips: list[Strip] | None = None
        self._pictures: dict[int, list[list[Segment]]] = {}
        """Half-block lines of each tile drawn so far (moving the selection reuses them)."""

    def show(self, tiles: list[Tile], selected: int, *, side: int = 16, what: str = "channel") -> None:
        """Draw tiles as side×side-pixel thumbnails (side/2 lines high), tiles[selected] marked."""
        self._tiles, self._selected, self._side, self._what = tiles, selected, max(4, side), what
        self._strips = None
        self._pictures = {}
        self.refresh()

    def select(self, selected: int) -> None:
        """Move the selection (a cheap redraw: the pictures are kept)."""
        if selected != self._selected:
            self._selected = selected
            self._strips = None
            self.refresh()

    @property
    def per_page(self) -> int:
        columns, rows = self._grid()
        return max(1, columns * rows)

    @property
    def page(self) -> tuple[int, int]:
        """First and one-past-last tile index on the page shown."""
        per_page = self.per_page
        first = (self._selected // per_page) * per_page
        return first, min(first + per_page, len(self._tiles))

    def _grid(self) -> tuple[int, int]:
        width, height = self.size
        tile_w, tile_h = self._side + 1, (self._side + 1) // 2 + 1
        return max(1, width // tile_w), max(1, (height - 1) // tile_h)

    def notify_style_update(self) -> None:
        self._strips = None
        super().notify_style_update()

    def on_resize(self) -> None:
        self._strips = None

    def _build(self) -> list[Strip]:
        width = self.size.width
        base = self.rich_style
        selected_style = base + self.get_component_rich_style("thumbnails--selected", partial=True)
        label_style = base + self.get_component_rich_style("thumbnails--label", partial=True)
        header_style = base + self.get_component_rich_style("thumbnails--header", partial=True)
        first, last = self.page
        total = len(self._tiles)
        pages = -(-total // self.per_page) if total else 0
        header = f"{self._what}s {first}–{last - 1} of {total}" if total else f"no {self._what}s"
        if pages > 1:
            header += f"   page {first // self.per_page + 1}/{pages}"
        strips = [Strip([Segment(header[:width], header_style)]).extend_cell_length(width, base)]
        columns = self._grid()[0]
        side = self._side
        for row_start in range(first, last, columns):
            row = self._tiles[row_start : min(row_start + columns, last)]
            pictures = [self._picture(row_start + k) for k in range(len(row))]
            for k in range((side + 1) // 2):
                segments: list[Segment] = []
                for picture in pictures:
                    segments += picture[k]
                    segments.append(Segment(" ", base))
                strips.append(Strip(segments).extend_cell_length(width, base).crop(0, width))
            segments = []
            for offset, tile in enumerate(row):
                chosen = row_start + offset == self._selected
                label = (f"▶{tile.label}" if chosen else tile.label)[:side].ljust(side)
                segments += [Segment(label, selected_style if chosen else label_style), Segment(" ", base)]
            strips.append(Strip(segments).extend_cell_length(width, base).crop(0, width))
        return strips

    def _picture(self, index: int) -> list[list[Segment]]:
        if index not in self._pictures:
            side = self._side
            self._pictures[index] = half_block_lines(resample(self._tiles[index].rgb, side, side))
        return self._pictures[index]

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            self._strips = self._build()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    # for tests
    def page_labels(self) -> list[str]:
        first, last = self.page
        return [tile.label for tile in self._tiles[first:last]]


class ZoomMap(Widget, can_focus=False):
    """One feature map enlarged, with a cursor on one cell.

    Each value is two columns wide and one line high when that fits, otherwise
    one column and half a line (half blocks). The cursor cell is drawn as `◆◆`
    (or a contrasting pixel in half blocks) so it shows without colour too.
    """

    DEFAULT_CSS = """
    ZoomMap { width: auto; height: auto; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rgb = np.zeros((1, 1, 3), np.uint8)
        self._cursor = (0, 0)
        self._big = True
        self._strips: list[Strip] | None = None

    def show(self, rgb: np.ndarray, cursor: tuple[int, int], *, big: bool) -> None:
        resized = rgb.shape != self._rgb.shape or big != self._big
        self._rgb, self._cursor, self._big = rgb, cursor, big
        self._strips = None
        self.refresh(layout=resized)

    @property
    def cursor(self) -> tuple[int, int]:
        return self._cursor

    def get_content_width(self, container, viewport) -> int:
        return self._rgb.shape[1] * (2 if self._big else 1)

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._rgb.shape[0] if self._big else (self._rgb.shape[0] + 1) // 2

    def _build(self) -> list[Strip]:
        rgb = self._rgb
        ci, cj = self._cursor
        if self._big:
            strips = []
            for i, row in enumerate(rgb.tolist()):
                segments = []
                for j, colour in enumerate(row):
                    style = _pair_style(tuple(colour), tuple(colour))
                    if (i, j) == (ci, cj):
                        light = sum(colour) > 384
                        marker = (0, 0, 0) if light else (255, 255, 255)
                        segments.append(Segment("◆◆", _pair_style(marker, tuple(colour)) + Style(bold=True)))
                    else:
                        segments.append(Segment("  ", style))
                strips.append(Strip(segments))
            return strips
        marked = rgb.copy()
        light = int(marked[ci, cj].astype(int).sum()) > 384
        marked[ci, cj] = (0, 0, 0) if light else (255, 255, 255)
        return [Strip(line) for line in half_block_lines(marked)]

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            self._strips = self._build()
        return self._strips[y] if y < len(self._strips) else Strip.blank(self.size.width)
