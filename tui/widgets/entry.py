"""CellEntry: the one-line input where a cell's new value is typed in edit mode."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class CellEntry(Input):
    """Typed text for the cell under the edit cursor; Enter posts Submitted, Escape posts Cancelled.

    The entry only reports text: the screen parses it (engine.edits) and refuses what is not a number.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Keep the cell's old value")]

    @dataclass
    class Cancelled(Message):
        """Typing was abandoned; the cell keeps its value."""

        entry: CellEntry

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
