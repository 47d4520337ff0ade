"""The stepper's receptive-field marks: in a pipeline, where the current output cell comes from in
every earlier convolution or pooling stage (engine.receptive computes it; ReceptiveFields draws)."""

from __future__ import annotations

from engine.backward import is_backward
from engine.receptive import Window, cell_field, stage_window
from engine.trace import Trace
from tui.widgets.receptive import ReceptiveFields

#: Below this terminal height only the line is shown, not the grids.
GRID_HEIGHT = 34


def window_stages(trace: Trace) -> list[int]:
    """Numbers of the conv and pool stages (each has an input worth marking)."""
    return [k for k, stage in enumerate(trace.stages) if stage.op in ("conv", "pool")]


def receptive_widget(trace: Trace) -> ReceptiveFields:
    return ReceptiveFields([trace.stages[k].name for k in window_stages(trace)], id="receptive")


class ReceptiveMixin:
    """Fills the stepper's ReceptiveFields on every step."""

    def show_receptive(self) -> None:
        trace: Trace = self.trace  # type: ignore[attr-defined]
        current = self.stage_index  # type: ignore[attr-defined]
        step = trace[self.index]  # type: ignore[attr-defined]
        found = []
        # a forward cell only: a backward step's index is a gradient's element, which has no field
        if len(step.out_index) == 4 and not is_backward(trace.stages[current]):
            n, _, i, j = step.out_index
            windows = {k: stage_window(s.op, s.params) for k, s in enumerate(trace.stages)}
            for position, k in enumerate(window_stages(trace)):
                if k >= current:
                    break
                stack = [w for s, w in windows.items() if k <= s <= current and isinstance(w, Window)]
                values = trace.stages[k].input[n, 0]
                rows, cols = cell_field((i, j), stack, values.shape)
                found.append((position, values, rows, cols))
        grids = self.app.size.height >= GRID_HEIGHT  # type: ignore[attr-defined]
        self.query_one(ReceptiveFields).show(found, grids)  # type: ignore[attr-defined]
