"""Caption: under a view's title, the lecture's slide and caption, the step's bookmark and the
sample's description (wrapped; on a short terminal cut to two lines with an ellipsis)."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widget import Widget

#: Terminal heights below this show at most SHORT_LINES lines of the description.
SHORT_HEIGHT = 30
SHORT_LINES = 2
#: Taller terminals show at most this many.
TALL_LINES = 6


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """text wrapped to width; beyond max_lines the last kept line ends with an ellipsis."""
    lines = textwrap.wrap(" ".join(text.split()), max(width, 8))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last if len(last) < width else last[: max(width - 1, 1)].rstrip()) + "…"
    return lines


class Caption(Widget):
    """Slide line (`slide 2 of 10 · caption`), bookmark line and description; empty parts take no room."""

    COMPONENT_CLASSES = {"caption--slide", "caption--bookmark", "caption--description"}
    DEFAULT_CSS = """
    Caption { height: auto; width: 1fr; padding: 0 1; }
    Caption > .caption--slide { text-style: bold; color: $primary; }
    Caption > .caption--bookmark { text-style: bold reverse; color: $warning; }
    Caption > .caption--description { text-style: italic; }
    Caption.-empty { display: none; }
    """

    def __init__(self, description: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.description = " ".join(description.split())
        self.slide = ""
        self.bookmark = ""
        self.hide_description = False
        """Present mode: only the slide and bookmark lines."""
        self.set_class(not self.description, "-empty")

    def show(self, slide: str = "", bookmark: str = "", description: str | None = None) -> None:
        if description is not None:
            self.description = " ".join(description.split())
        if (slide, bookmark) == (self.slide, self.bookmark) and description is None:
            return
        self.slide, self.bookmark = slide, bookmark
        self.set_class(not (slide or bookmark or self.description), "-empty")
        self.refresh(layout=True)

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(text, component class) of every line drawn, at the current width."""
        width = max(self.size.width - 2, 20) if self.size.width else 78
        out = []
        for text, role in ((self.slide, "caption--slide"), (self.bookmark, "caption--bookmark")):
            out += [(line, role) for line in textwrap.wrap(text, width)]  # never cut: it is what to say
        if self.description and not self.hide_description:
            short = self.app.size.height < SHORT_HEIGHT
            for line in wrap(self.description, width, SHORT_LINES if short else TALL_LINES):
                out.append((line, "caption--description"))
        return out

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for number, (line, role) in enumerate(self.lines):
            if number:
                text.append("\n")
            text.append(line, self.get_component_rich_style(role, partial=True))
        return text

    @property
    def text(self) -> str:
        return "\n".join(line for line, _ in self.lines)
