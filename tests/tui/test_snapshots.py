"""Snapshot tests (pytest-textual-snapshot): the 5x5 example at its first, a middle and its last
step, the pooling view and the batch-norm view, each in the dark and the light theme.

Regenerate after an intended change with `pytest tests/tui --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import make_app

THEMES = ["cnn-dark", "cnn-light"]
SIZE = (100, 30)


@pytest.mark.parametrize("theme", THEMES)
def test_conv_first_step(snap_compare, theme):
    assert snap_compare(make_app(None, theme), terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_conv_middle_step(snap_compare, theme):
    assert snap_compare(make_app(None, theme), press=["right"] * 4, terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_conv_last_step(snap_compare, theme):
    assert snap_compare(make_app(None, theme), press=["end"], terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_max_pool_view(snap_compare, theme):
    assert snap_compare(make_app("max_pool", theme), press=["right"], terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_batch_norm_view(snap_compare, theme):
    # Step 19 of 26: the normalise phase, the output batch half filled.
    assert snap_compare(
        make_app("seed_batchnorm", theme), press=["pagedown", "pagedown", "right", "right"], terminal_size=SIZE
    )
