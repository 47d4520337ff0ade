"""The batch path against PyTorch's numbers stored in golden/ (no torch needed); make_network_golden.py writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from make_network_golden import cases, checksum
from network_helpers import assert_matches, ours

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("name,network", [(name, network) for name, network, *_ in cases()])
def test_matches_pytorch_golden_record(name, network):
    with np.load(GOLDEN / f"{name}.npz", allow_pickle=False) as archive:
        golden = {key: archive[key] for key in archive.files}
    np.testing.assert_allclose(
        checksum(network.state),
        golden.pop("init_checksum"),
        rtol=1e-6,
        err_msg="the seeded initialiser changed: rerun make_network_golden.py",
    )
    got = ours(network, golden.pop("x"), golden.pop("labels"))
    # make_network_golden keeps only the first rows of large arrays
    got = {
        k: v.reshape(v.shape[0], -1)[: golden[k].shape[0]].reshape(golden[k].shape) if v.shape != golden[k].shape else v
        for k, v in got.items()
    }
    assert_matches(got, golden)
