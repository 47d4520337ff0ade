"""Present mode (f): the computation fills the room.

The footer, the description and the parameter notes hide; the grids may take the big density
whatever the terminal's size (the panel's fit still falls back to what fits); the current
step's result is drawn in large digits above its computation line, which wraps and is never
cut. The mode belongs to the app (`app.presenting`), so it stays on from slide to slide.
"""

from __future__ import annotations

from textual.binding import Binding

from tui.widgets.caption import Caption
from tui.widgets.present import BigResult

PRESENT_BINDINGS = [
    Binding(
        "f",
        "present",
        "Present",
        tooltip="Present mode on / off: big result and computation, no footer (outside edit mode)",
    )
]


class PresentMixin:
    """The stepper's side of present mode."""

    @property
    def presenting(self) -> bool:
        return bool(getattr(self.app, "presenting", False))  # type: ignore[attr-defined]

    def action_present(self) -> None:
        self.app.presenting = not self.presenting  # type: ignore[attr-defined]
        self.apply_present()

    def apply_present(self) -> None:
        """Show or hide what present mode changes, and fit the grids again."""
        on = self.presenting
        self.set_class(on, "present")  # type: ignore[attr-defined]
        caption = self.query_one(Caption)  # type: ignore[attr-defined]
        caption.hide_description = on
        caption.refresh(layout=True)
        size = self.app.size  # type: ignore[attr-defined]
        self._fit(size.width, size.height)  # type: ignore[attr-defined]
        self.show_present()

    def show_present(self) -> None:
        """The large result: in present mode, and on a terminal roomy enough for big grids."""
        big = self.presenting or self.largest_density == "big"  # type: ignore[attr-defined]
        result = self.query_one(BigResult)  # type: ignore[attr-defined]
        result.display = big
        if big:
            result.show(self.trace[self.index].value)  # type: ignore[attr-defined]
