"""The text widgets around the grids: stage bar, computation line, status line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static


class StageBar(Widget):
    """The pipeline as `conv → batchnorm → relu → pool`, the current stage reversed; backward stages
    (named `dNAME`, `sgd NAME`) follow in the other direction: `pool ← dlogits ← dpool.input`.
    When the bar is wider than the widget, stages before the current one give way to `…`."""

    COMPONENT_CLASSES = {"stage-bar--current"}
    DEFAULT_CSS = """
    StageBar { height: 1; width: 1fr; }
    StageBar > .stage-bar--current { text-style: bold reverse; color: $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names: tuple[str, ...] = ()
        self.current = 0
        self.backward_from = 1 << 30
        """Index of the first backward stage (drawn after a left arrow)."""

    def show(self, names: Sequence[str], current: int, backward_from: int | None = None) -> None:
        self.names, self.current = tuple(names), current
        self.backward_from = len(self.names) if backward_from is None else backward_from
        self.refresh()

    def render(self) -> Text:
        current_style = self.get_component_rich_style("stage-bar--current", partial=True)
        parts = []
        for number, name in enumerate(self.names):
            separator = " ← " if number >= self.backward_from else " → " if number else ""
            parts.append((separator, f" {number + 1} {name} "))
        first = 0
        width = self.size.width or 10_000
        while first < self.current and 2 + sum(len(a) + len(b) for a, b in parts[first:]) > width:
            first += 1
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if first:
            text.append("… ")
        for number, (separator, label) in enumerate(parts[first:], first):
            text.append(separator if number > first else separator.replace(" → ", ""))
            text.append(label, current_style if number == self.current else "")
        if self.size.width and text.cell_len > self.size.width:
            text.truncate(self.size.width, overflow="ellipsis")
        return text


class Line(Static):
    """A Static that only asks for a new layout when its wrapped height changes (stepping stays cheap)."""

    def show_content(self, content) -> None:
        self.update(content, layout=False)
        width = self.content_region.width
        if width <= 0:
            self.refresh(layout=True)
            return
        needed = self.get_content_height(self.content_region.size, self.app.size, width)
        if needed != self.content_region.height:
            self.refresh(layout=True)


class ComputationLine(Line):
    """The step's arithmetic, `1·1 + 2·0 + … = 6`, with the result in bold; wraps when long."""

    DEFAULT_CSS = """
    ComputationLine { width: 1fr; height: auto; padding: 0 1; text-style: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.text = ""

    def show(self, line: str) -> None:
        """line is a Step's text; each result (after the last ` = ` of a part) is bold."""
        if line == self.text:
            return
        self.text = line
        content = Text()
        # Engine lines separate their parts with three spaces; notes in parentheses stay plain.
        for number, part in enumerate(line.split("   ")):
            if number:
                content.append("   ")
            head, sep, tail = part.rpartition(" = ")
            if not sep or part.startswith("("):
                content.append(part)
            else:
                content.append(head + sep)
                content.append(tail, "bold")
        self.show_content(content)


class StatusLine(Line):
    """Stage, step k of N, output position, output-size formula, autoplay: joined with ` · `."""

    DEFAULT_CSS = """
    StatusLine { width: 1fr; height: auto; padding: 0 1; background: $panel; color: $foreground; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.parts: tuple[str, ...] = ()

    def show(self, parts: Sequence[str]) -> None:
        parts = tuple(p for p in parts if p)
        if parts != self.parts:
            self.parts = parts
            self.show_content(" · ".join(parts))

    @property
    def text(self) -> str:
        return " · ".join(self.parts)
