"""Write the golden files that hold the batch path to PyTorch where torch is not installed.

    python tests/engine/network/make_network_golden.py      (needs torch==2.13.0)

Each file holds the input batch, the labels and torch's record (see
network_helpers.torch_reference) for a network initialised by our seeded
initialiser, plus that initial state's checksum so a changed initialiser is
caught rather than blamed on the layers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[2])]

from network_helpers import SMALL_CONVNET, lecture_convnet, torch_reference  # noqa: E402

from engine.network import Network, load  # noqa: E402
from engine.network.bench import torch_module  # noqa: E402

#: Golden arrays larger than this are cut to their first rows to keep the files small.
KEEP = 4096


def cases():
    """(name, our network, a function that builds the torch module to compare with, rng for the batch,
    batch size). Building the torch module is deferred so that the golden tests run without torch."""
    small = Network([3, 8, 8], SMALL_CONVNET, seed=3)
    yield "small_convnet", small, lambda: torch_module(small), np.random.default_rng(11), 4
    lecture = load(HERE.parents[2] / "samples" / "seed_convnet.toml", seed=0)
    yield "lecture_convnet", lecture, lecture_convnet, np.random.default_rng(12), 2


def checksum(state: dict[str, np.ndarray]) -> np.ndarray:
    return np.array([np.abs(state[k]).astype(np.float64).sum() for k in sorted(state)])


def main() -> None:
    (HERE / "golden").mkdir(exist_ok=True)
    for name, network, torch_model, rng, batch in cases():
        x = rng.standard_normal((batch, *network.input_shape)).astype(np.float32)
        labels = rng.integers(0, len(network.classes), batch)
        record = torch_reference(torch_model(), network.state_dict(), x, labels)
        record = {
            k: (v if v.size <= KEEP else v.reshape(v.shape[0], -1)[: max(1, KEEP // v[0].size)])
            for k, v in record.items()
        }
        np.savez_compressed(
            HERE / "golden" / f"{name}.npz", x=x, labels=labels, init_checksum=checksum(network.state), **record
        )
        print(name, sum(v.nbytes for v in record.values()), "bytes")


if __name__ == "__main__":
    main()
