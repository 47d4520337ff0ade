"""The text widgets around the grids: stage bar, computation line, status line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from engine.shapes import GENERAL_FORMULA, GENERAL_POOL_FORMULA


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


#: Engine lines separate their parts (a channel's subtotal, a note, the total) with three spaces.
PART_GAP = "   "


def _items(head: str) -> tuple[list[str], str]:
    """The terms of a sum (` + `) or the values of a list (`, `), and the separator used."""
    for separator in (" + ", ", "):
        if separator in head:
            return head.split(separator), separator
    return [head], ""


def elide(part: str, keep: int) -> str:
    """`a + b + c + d + e = v` with at most keep leading terms and the last: `a + … + e = v`."""
    head, sep, result = part.rpartition(" = ")
    if not sep:
        head, result = part, ""
    items, separator = _items(head)
    if len(items) <= keep + 1:
        return part
    shown = separator.join([*items[:keep], "…", items[-1]])
    return f"{shown}{sep}{result}"


def condensed_forms(text: str) -> list[str]:
    """text, then ever shorter forms that all keep the final `= result`: first the middle parts'
    terms elided, then those parts cut to their subtotals (`ch 0 = 6`), then only the last part
    with fewer and fewer of its terms, and at last `… = result`."""
    parts = text.split(PART_GAP)
    forms = [text]
    *middle, last = parts
    if middle:
        forms.append(PART_GAP.join([*(elide(p, 2) for p in middle), last]))
        short = [f"{p.partition(':')[0]} = {p.rpartition(' = ')[2]}" if ":" in p and " = " in p else p for p in middle]
        forms.append(PART_GAP.join([*short, last]))
        forms.append(PART_GAP.join(["…", last]) if len(middle) > 0 else last)
    head = forms[-1].split(PART_GAP)[:-1]
    for keep in (8, 4, 2, 1):
        forms.append(PART_GAP.join([*head, elide(last, keep)]))
    result = last.rpartition(" = ")[2]
    forms.append(f"… = {result}" if " = " in last else last)
    return forms


class ComputationLine(Line):
    """The step's arithmetic, `1·1 + 2·0 + … = 6`, with the result in bold; wraps when long.

    A line longer than MAX_LINES rows is shown condensed (see condensed_forms): the `= result`
    is never cut. `text` is always the step's whole line; `shown` what is on screen.
    """

    DEFAULT_CSS = """
    ComputationLine { width: 1fr; height: auto; padding: 0 1; text-style: none; }
    """

    MAX_LINES = 3
    """Rows the line may take before it is condensed (2 on a terminal under 30 rows)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.text = ""
        self.shown = ""
        self._shown_for: tuple[str, int] = ("", 0)

    def show(self, line: str) -> None:
        """line is a Step's text; each result (after the last ` = ` of a part) is bold."""
        if line == self.text and self._shown_for == (line, self.content_region.width):
            return
        self.text = line
        self._draw()

    def on_resize(self) -> None:
        # After the layout pass that resized us: a new layout asked for during it would be lost.
        self.call_after_refresh(self._redraw_for_width)

    def _redraw_for_width(self) -> None:
        if self._shown_for != (self.text, self.content_region.width):
            self._draw()

    def _fits(self, candidate: str, width: int) -> bool:
        rows = self.MAX_LINES if self.app.size.height >= 30 else self.MAX_LINES - 1
        return len(Text(candidate).wrap(self.app.console, width)) <= rows

    def _draw(self) -> None:
        width = self.content_region.width
        self._shown_for = (self.text, width)
        # Before the first layout: the terminal's width less the padding, a close first guess.
        forms = condensed_forms(self.text)
        shown = next((form for form in forms if self._fits(form, width or self.app.size.width - 2)), forms[-1])
        self.shown = shown
        content = Text()
        result_style = ""
        # where wrapping would leave `=` at a row's end and its result on the next, break before `=`
        rows = [row.plain.rstrip() for row in Text(shown).wrap(self.app.console, width or self.app.size.width - 2)]
        split_result = any(row.endswith(" =") or row == "=" for row in rows[:-1])
        parts = shown.split(PART_GAP)
        for number, part in enumerate(parts):
            if number:
                # The gap goes with the result before it: a run that starts with spaces loses them
                # in some renderers of exported screenshots (`= 3(6 of 8)`).
                content.append(PART_GAP, result_style)
            head, sep, tail = part.rpartition(" = ")
            if not sep or part.startswith("("):
                content.append(part)
                result_style = ""
            else:
                content.append(head + ("\n= " if split_result and number == len(parts) - 1 else sep))
                content.append(tail, "bold")
                result_style = "bold"
        self.show_content(content)


class StatusLine(Line):
    """Stage, step k of N, output position, output-size formula, autoplay: joined with ` · `.

    Where one row is too narrow, the line first drops what it can spare (the general form of the
    size formula; a part's closing parenthesis, e.g. `(pool 4 of 4)`; the `stage k/n` part, which
    the stage bar shows), and only
    then breaks between parts, never inside one (a formula's `= 5` stays with its formula).
    """

    DEFAULT_CSS = """
    StatusLine { width: 1fr; height: auto; padding: 0 1; background: $panel; color: $foreground; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.parts: tuple[str, ...] = ()
        self.shown: tuple[str, ...] = ()
        """The parts as drawn: shortened to fit one row where they can be."""
        self._shown_for: tuple[tuple[str, ...], int] = ((), 0)

    def show(self, parts: Sequence[str]) -> None:
        parts = tuple(p for p in parts if p)
        if (parts, self.content_region.width) != self._shown_for:
            self.parts = parts
            self._draw()

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw_for_width)

    def _redraw_for_width(self) -> None:
        if self._shown_for != (self.parts, self.content_region.width):
            self._draw()

    def _draw(self) -> None:
        width = self.content_region.width
        self._shown_for = (self.parts, width)
        # Before the first layout: the terminal's width less the padding, a close first guess.
        width = width or self.app.size.width - 2
        self.shown = fitted(self.parts, " · ", width)
        self.show_content(packed(self.shown, " · ", width))

    @property
    def text(self) -> str:
        """Every part, as given (`shown` holds what fits on screen)."""
        return " · ".join(self.parts)


def without_aside(part: str) -> str:
    """part without a closing aside in parentheses: 'step 4 of 20 (pool 4 of 4)' -> 'step 4 of 20'
    (a position such as 'output (1, 1)' stays whole)."""
    if not part.endswith(")"):
        return part
    depth = 0
    for index in range(len(part) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(part[index], 0)
        if depth == 0:
            aside = part[index:]
            # words in parentheses are an aside; numbers, `(1, 1)`, are the position itself
            spare = index > 0 and part[index - 1] == " " and any(c.isalpha() for c in aside)
            return part[:index].rstrip() if spare else part
    return part


def fitted(parts: Sequence[str], separator: str, width: int) -> tuple[str, ...]:
    """parts shortened, one step at a time, until they fit one row of width (if they can)."""
    steps = (
        lambda ps: tuple(p.replace(GENERAL_FORMULA + ": ", "").replace(GENERAL_POOL_FORMULA + ": ", "") for p in ps),
        lambda ps: tuple(without_aside(p) for p in ps),
        lambda ps: tuple(p for p in ps if not p.startswith("stage ")) or ps,
    )
    parts = tuple(parts)
    for shorten in steps:
        if len(separator.join(parts)) <= width:
            break
        parts = shorten(parts)
    return parts


def packed(parts: Sequence[str], separator: str, width: int) -> str:
    """parts joined by separator, broken into rows of at most width between parts (a part
    longer than a row gets a row of its own, which then wraps)."""
    if width <= 0:
        return separator.join(parts)
    rows: list[str] = []
    for part in parts:
        if rows and len(rows[-1]) + len(separator) + len(part) <= width:
            rows[-1] += separator + part
        else:
            rows.append(part)
    return "\n".join(rows)
