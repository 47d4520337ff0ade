"""cnn-tui's engine: pure NumPy, never imports textual or rich.

The vectorised operations (the batch truth) live in engine.ops, the
step-by-step teaching path in engine.trace, the sample format in
engine.samples and the whole-network batch path in engine.network.
"""

from __future__ import annotations

from engine.errors import CnnError
from engine.ops import avg_pool2d, batch_norm, conv2d, max_pool2d, relu
from engine.shapes import output_size, output_size_formula

__all__ = [
    "CnnError",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "max_pool2d",
    "relu",
    "output_size",
    "output_size_formula",
]
