"""BigResult: present mode's result, `= 6` in the 3x3 Digits font, above the computation line."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.numbers import fmt
from tui.widgets.matrix import big_number


class BigResult(Widget):
    """The current step's result in large digits (present mode only; hidden otherwise)."""

    DEFAULT_CSS = """
    BigResult { height: auto; width: 1fr; padding: 0 2; text-style: bold; color: $primary; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.value: float | None = None
        self.label = ""

    def show(self, value: float, label: str = "") -> None:
        if (value, label) != (self.value, self.label):
            self.value, self.label = value, label
            self.refresh(layout=True)

    @property
    def text(self) -> str:
        """'= 6': what the large digits say."""
        return "" if self.value is None else f"= {fmt(self.value)}"

    def render(self) -> Text:
        if self.value is None:
            return Text("")
        lines = big_number(fmt(self.value))
        width = len(lines[0])
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        if width + 4 > max(self.size.width - 4, 1):
            out.append(f"{self.label}= {fmt(self.value)}")  # too wide for large digits: plain, never cut
            return out
        prefix = ("", self.label + "= ", "")
        for number, line in enumerate(lines):
            if number:
                out.append("\n")
            out.append(prefix[number].rjust(len(self.label) + 2) + line)
        return out
