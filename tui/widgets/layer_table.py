"""LayerTable: the network's layers, one row each: name, type, output shape, parameters, multiply-adds.

Row 0 is the input. When a layer cannot be built (a shape error), the rows
before it are filled, the failing row is marked ✗ and the rows after it say
"not reached". The table only draws the SummaryRows it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import DataTable

from engine.network.model import SummaryRow


def dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def count(number: int, compact: bool) -> str:
    """1792 -> '1,792' (or '1.8k' when compact); 0 -> '–'."""
    if number == 0:
        return "–"
    if not compact or number < 1000:
        return f"{number:,}"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= limit:
            return f"{number / limit:.3g}{suffix}"
    return str(number)


class LayerTable(DataTable, can_focus=False):
    """The layer table; the cursor row is the layer the pictures show.

    The screen moves the cursor; a click on a row posts Picked. (Listening to
    RowHighlighted instead would hear the screen's own moves back, late: two
    quick moves then chase each other for ever.)
    """

    @dataclass
    class Picked(Message):
        """A row was clicked."""

        row: int

    DEFAULT_CSS = """
    LayerTable { width: auto; height: 1fr; }
    LayerTable > .datatable--cursor { text-style: bold reverse; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self.failing: int | None = None
        """Row of the layer that cannot be built, if any."""

    def show(
        self,
        input_shape: tuple[int, ...],
        rows: list[SummaryRow],
        *,
        compact: bool,
        failing: int | None = None,
        later: list[tuple[str, str]] | None = None,
        fields: list[str] | None = None,
    ) -> None:
        """Fill the table. With failing (the 0-based index of the layer that cannot be built), rows
        holds the layers before it and later the (name, type) of it and every layer after it.
        fields: each layer's receptive field on the input ('8×8 /2'), a column when not compact."""
        cursor = self.cursor_row
        self.clear(columns=True)
        columns = (
            ([] if compact else ["#"]) + ["layer"] + ([] if compact else ["type"]) + ["output", "params", "mult-adds"]
        )
        if fields is not None and not compact:
            columns.append("receptive /jump")
        for column in columns:
            self.add_column(column, key=column)
        right = {"#", "params", "mult-adds"}

        def row_cells(
            number: int | None,
            name: str,
            kind: str,
            shape: str,
            params: str,
            macs: str,
            style: str = "",
            field: str = "",
        ) -> list[Text]:
            values = {
                "#": "" if number is None else str(number),
                "layer": name,
                "type": kind,
                "output": shape,
                "params": params,
                "mult-adds": macs,
                "receptive /jump": field,
            }
            return [Text(values[c], style=style, justify="right" if c in right else "left") for c in columns]

        self.add_row(*row_cells(0, "input", "", dims(input_shape), "", ""), key="input")
        for number, row in enumerate(rows, 1):
            self.add_row(
                *row_cells(
                    number,
                    row.name,
                    row.kind,
                    dims(row.output_shape),
                    count(row.parameters, compact),
                    count(row.macs, compact),
                    field=fields[number - 1] if fields is not None else "",
                ),
                key=row.name,
            )
        self.failing = None
        if failing is not None and later is not None:
            self.failing = failing + 1
            for index, (name, kind) in enumerate(later, failing):
                if index == failing:
                    cells = row_cells(index + 1, f"✗ {name}", kind, "✗ no fit", "", "", "bold reverse")
                else:
                    cells = row_cells(index + 1, name, kind, "not reached", "", "", "dim")
                self.add_row(*cells, key=f"spec-{index}")
        else:
            total_params = sum(r.parameters for r in rows)
            total_macs = sum(r.macs for r in rows)
            self.add_row(
                *row_cells(None, "total", "", "", count(total_params, compact), count(total_macs, compact), "bold"),
                key="total",
            )
        if cursor and cursor < self.row_count:
            self.move_cursor(row=cursor)
        elif self.failing is not None:
            self.move_cursor(row=self.failing)

    def text(self, row: int, column: str) -> str:
        """What a cell shows, by row number and column name ('layer', 'output', 'params', ...)."""
        return str(self.get_row_at(row)[self.get_column_index(column)])

    def on_click(self, event: events.Click) -> None:
        # This runs before DataTable's own handler moves the cursor: read the row from the click.
        row = event.style.meta.get("row")
        if isinstance(row, int) and row >= 0:
            self.post_message(self.Picked(row))
