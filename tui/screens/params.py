"""The parameter panel: one stage's parameters as validated inputs (height and width apart).

Enter applies every changed field through engine.edits.set_param; a refused value
(the engine's one-line reason) is shown as a notification and the panel stays open
with what was typed, so it can be corrected. Escape closes without changing anything.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from engine import edits
from engine.errors import CnnError
from engine.numbers import fmt
from engine.samples import Sample

#: Parameters given for height and width, per op.
PAIRS = {"conv": ("stride", "padding", "dilation"), "pool": ("size", "stride", "padding")}
#: Parameters given per channel (comma-separated), per op.
VECTORS = {"conv": ("bias",), "batchnorm": ("gamma", "beta")}
#: Single numbers, per op.
NUMBERS = {"batchnorm": ("eps", "momentum")}
#: Two-way switches: key -> (the choices as (label, value)), per op.
CHOICES = {
    "pool": {"mode": (("max", "max"), ("avg", "avg"))},
    "batchnorm": {"training": (("training", True), ("eval", False))},
}
LABELS = {"gamma": "γ", "beta": "β", "eps": "ε", "training": "mode", "bias": "bias (empty: off)"}


def parse_int(text: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise CnnError(f"{where}: {text.strip()!r} is not a whole number") from None


def parse_vector(text: str, where: str) -> list[float] | None:
    """'1, 0.5' -> [1.0, 0.5]; an empty text is None (bias off)."""
    if not text.strip():
        return None
    return [edits.parse_number(part, where) for part in text.split(",")]


class ParamsDialog(ModalScreen[Sample | None]):
    """Edit one stage's parameters; returns the new Sample, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, sample: Sample, stage_name: str) -> None:
        super().__init__()
        self.sample = sample
        self.stage = next(s for s in sample.stages if s.name == stage_name)

    def compose(self) -> ComposeResult:
        op, p = self.stage.op, self.stage.params
        with Vertical(classes="dialog params"):
            what = self.stage.name if self.stage.name == op else f"{self.stage.name} ({op})"
            yield Label(f"Parameters of {what}:  Enter applies · Esc cancels · Tab next field", classes="param-title")
            for key in PAIRS.get(op, ()):
                with Horizontal(classes="param-row"):
                    yield Label(f"{key} (h, w)", classes="param-label")
                    for axis, value in zip(("h", "w"), p[key]):
                        yield Input(str(value), type="integer", id=f"{key}-{axis}", classes="pair", compact=True)
            for key in VECTORS.get(op, ()):
                values = p.get(key)
                text = "" if values is None else ", ".join(fmt(v) for v in values)
                with Horizontal(classes="param-row"):
                    yield Label(LABELS.get(key, key), classes="param-label")
                    yield Input(text, id=key, placeholder="e.g. 0.5, or one per filter: 1, 0.5", compact=True)
            for key in NUMBERS.get(op, ()):
                with Horizontal(classes="param-row"):
                    yield Label(LABELS.get(key, key), classes="param-label")
                    yield Input(repr(float(p[key])), id=key, compact=True)
            for key, options in CHOICES.get(op, {}).items():
                with Horizontal(classes="param-row"):
                    yield Label(LABELS.get(key, key), classes="param-label")
                    yield Select(options, value=p[key], allow_blank=False, id=key, compact=True)

    def on_mount(self) -> None:
        self.query(Input).first().focus() if self.query(Input) else self.query_one(Select).focus()

    def changes(self) -> list[tuple[str, object]]:
        """(key, value) for every field, parsed; CnnError on text that is not a value."""
        op, where = self.stage.op, self.stage.name
        found: list[tuple[str, object]] = []
        for key in PAIRS.get(op, ()):
            found.append(
                (
                    key,
                    [
                        parse_int(self.query_one(f"#{key}-{axis}", Input).value, f"{where}.{key} ({axis})")
                        for axis in ("h", "w")
                    ],
                )
            )
        for key in VECTORS.get(op, ()):
            found.append((key, parse_vector(self.query_one(f"#{key}", Input).value, f"{where}.{key}")))
        for key in NUMBERS.get(op, ()):
            found.append((key, edits.parse_number(self.query_one(f"#{key}", Input).value, f"{where}.{key}")))
        for key in CHOICES.get(op, {}):
            found.append((key, self.query_one(f"#{key}", Select).value))
        return found

    @on(Input.Submitted)
    def apply(self) -> None:
        try:
            sample = edits.set_params(self.sample, self.stage.name, dict(self.changes()))
        except CnnError as error:
            self.app.notify(str(error), title="Parameter refused", severity="error", timeout=10)
            return
        self.dismiss(sample)

    def action_cancel(self) -> None:
        self.dismiss(None)
