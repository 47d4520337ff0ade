"""ClassScores: the network's last layer as one labelled bar per class (softmax probabilities)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.widget import Widget

from engine.numbers import fmt

#: Eighths of a block, so a bar's length reads finer than one cell.
EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of width cells filled to fraction (0..1), in eighths of a cell."""
    eighths = int(round(max(0.0, min(fraction, 1.0)) * width * 8))
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width, "░")  # the track shows where 1 is


class ClassScores(Widget):
    """For one image: each class's name, its bar and probability; the prediction is bold and marked
    ◀, the true label ✓ (visible without colour)."""

    COMPONENT_CLASSES = {"class-scores--predicted", "class-scores--bar"}
    DEFAULT_CSS = """
    ClassScores { height: 1fr; width: 1fr; padding: 1 1; }
    ClassScores > .class-scores--predicted { text-style: bold; color: $warning; }
    ClassScores > .class-scores--bar { color: $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names: tuple[str, ...] = ()
        self.probabilities = np.zeros(0)
        self.label = -1
        self.heading = ""

    def show(self, names: Sequence[str], probabilities: np.ndarray, label: int, heading: str = "") -> None:
        """names[k] and probabilities[k] per class; label: the image's true class (-1: unknown)."""
        self.names, self.probabilities, self.label, self.heading = tuple(names), probabilities, label, heading
        self.refresh()

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities)) if self.probabilities.size else -1

    def lines(self, width: int) -> list[tuple[str, str, str, str]]:
        """(name, bar, probability, marks) per class for a widget width cells wide."""
        name_width = max((len(n) for n in self.names), default=0)
        bar_width = max(width - name_width - 22, 4)  # room for the probability and the marks
        out = []
        for k, (name, p) in enumerate(zip(self.names, self.probabilities)):
            marks = ("◀ predicted" if k == self.predicted else "") + (" ✓ label" if k == self.label else "")
            out.append((name.ljust(name_width), bar(float(p), bar_width), fmt(float(p)).rjust(6), marks))
        return out

    def render(self) -> Text:
        predicted_style = self.get_component_rich_style("class-scores--predicted", partial=True)
        bar_style = self.get_component_rich_style("class-scores--bar", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.heading:
            text.append(self.heading + "\n\n", "bold")
        for k, (name, drawn, probability, marks) in enumerate(self.lines(self.size.width - 2)):
            style = predicted_style if k == self.predicted else ""
            text.append(f"{name} ", style)
            text.append(drawn, bar_style)
            text.append(f" {probability} {marks}".rstrip() + "\n", style)
        return text

    @property
    def text(self) -> str:
        return "\n".join(" ".join(part for part in line if part).rstrip() for line in self.lines(60))
