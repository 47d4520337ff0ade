"""The one error type for mistakes a user can make (bad file, key, value or parameter)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnnError(ValueError):
    """A user's mistake, carrying a one-line message that names what and where.

    The CLI prints the message and exits 2; the TUI shows it as a notification
    and keeps its previous state. Never raised for a bug in cnn-tui itself.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def quoted(text: object, limit: int = 40) -> str:
    """text in double quotes for an error message, cut to about limit characters with an ellipsis
    (a 100 MB token must not become a 100 MB "one-line" error)."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return '"' + text.replace('"', '\\"') + '"'


def shown(value: object, limit: int = 40) -> str:
    """repr(value) for an error message, cut to about limit characters with an ellipsis."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the nearest valid choice, or ''."""
    choices = list(choices)
    word = str(word)[:100]  # difflib on a 100 MB token would take for ever
    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not near:  # "convolution" for "conv", "max" for "maxpool"
        near = [c for c in choices if word.lower().startswith(c) or c.startswith(word.lower())][:1]
    return f' (did you mean "{near[0]}"?)' if near and word else ""
