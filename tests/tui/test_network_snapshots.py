"""Snapshot tests of the network view: the layer table with the batch's images, a page of conv1's
heat-map thumbnails, and the as-printed network's marked layer, in both themes.

The network's weights come from a seeded init and the batch from the seeded synthetic set, so
the pictures are deterministic. Regenerate after an intended change with
`pytest tests/tui/test_network_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

import pytest

from tests.tui.test_network import network_app

THEMES = ["cnn-dark", "cnn-light"]
SIZE = (100, 30)


@pytest.mark.parametrize("theme", THEMES)
def test_layer_table_and_input_images(snap_compare, theme):
    assert snap_compare(network_app("seed_convnet", theme), terminal_size=SIZE)


@pytest.mark.parametrize("theme", THEMES)
def test_conv1_thumbnail_page(snap_compare, theme):
    assert snap_compare(network_app("seed_convnet", theme), press=["down", "right", "right"], terminal_size=SIZE)


def test_as_printed_network(snap_compare):
    assert snap_compare(network_app("seed_convnet_as_printed"), terminal_size=SIZE)
