"""MatrixGrid on its own: what it draws for each role and density."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from tui.widgets.matrix import PENDING, MatrixGrid, big_number

VALUES = np.array([[1.0, -2.0, 3.5], [4.0, 5.0, 6.0]])


class GridApp(App):
    def compose(self) -> ComposeResult:
        yield MatrixGrid("m", indices=True)


def test_big_number_puts_the_decimal_point_on_the_baseline():
    top, middle, bottom = big_number("2.5")
    assert len(top) == len(middle) == len(bottom) == 7
    assert bottom[3] == "•" and top[3] == middle[3] == " "
    assert big_number("·")[1] == "·"


async def test_roles_and_pending_cells():
    app = GridApp()
    async with app.run_test(size=(60, 20)) as pilot:
        grid = app.query_one(MatrixGrid)
        filled = np.array([[True, True, False], [False, False, False]])
        grid.show(VALUES, padding=(1, 1), window=((-1, 0), (0, 1)), filled=filled, current=(0, 1))
        await pilot.pause()
        assert grid.rows_text() == [["1", "-2", PENDING], [PENDING] * 3]
        assert grid.window_cells == {(0, 0), (0, 1)}
        lines = grid.render().plain.splitlines()
        assert len(lines) == 4 and lines[0].split() == ["0"] * 5  # the padding ring
        assert grid.size.width == 5 * (3 + 2)


@pytest.mark.parametrize(
    "density, marked_text",
    [
        ("compact", "▸3.5"),
        ("normal", "[3.5]"),
        ("roomy", " [3.5] "),
    ],
)
async def test_the_maximum_is_marked_without_colour(density, marked_text):
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(MatrixGrid)
        grid.density = density
        grid.show(VALUES, marked=(0, 2))
        await pilot.pause()
        assert marked_text in grid.render().plain


async def test_big_density_draws_three_lines_a_row_and_numbers_rows_and_columns():
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(MatrixGrid)
        grid.density = "big"
        grid.show(VALUES, marked=(1, 1))
        await pilot.pause()
        lines = grid.render().plain.splitlines()
        # column numbers, a rule, 3 lines for row 0, a spacer, 3 lines for row 1
        assert len(lines) == 2 + 3 + 1 + 3 == grid.size.height
        assert lines[0].split() == ["0", "1", "2"]
        assert lines[3].lstrip().startswith("0│") and lines[7].lstrip().startswith("1│")
        assert "┌" in lines[6] and "┘" in lines[8]
        region = grid.cells_region((1,), (1,))
        assert region is not None and region.height == 3


async def test_indices_are_set_apart_from_the_data_by_rules():
    """Row and column numbers sit outside a rule: `0 1 2` is never read as the matrix's first row."""
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(MatrixGrid)
        grid.density = "roomy"
        grid.show(VALUES)
        await pilot.pause()
        lines = grid.render().plain.splitlines()
        assert lines[0].split() == ["0", "1", "2"] and lines[0].startswith("  ")
        assert lines[1].startswith(" ┌─") and set(lines[1][2:]) == {"─"}
        assert lines[2].startswith("0│") and lines[4].startswith("1│") and lines[3].startswith(" │")
        assert grid.rows_text() == [["1", "-2", "3.5"], ["4", "5", "6"]]


@pytest.mark.parametrize(
    ("density", "marked_text"), [("compact", "    ▸0"), ("normal", "    [0]"), ("roomy", "     [0] ")]
)
async def test_the_maximum_marker_sits_next_to_its_value_in_an_all_zero_window(density, marked_text):
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(MatrixGrid)
        grid.density = density
        grid.show(np.array([[0.0, -1.25], [0.0, 0.0]]), marked=(0, 0))  # cells are 5 wide (-1.25)
        await pilot.pause()
        first = grid.render().plain.splitlines()[2 if density == "roomy" else 0]
        assert first.startswith(("0│" if density == "roomy" else "") + marked_text)
