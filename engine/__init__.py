"""cnn-tui's engine: pure NumPy, never imports textual or rich.

The one vectorised implementation is engine.network.layers (the batch path
the network trains with); engine.ops is its NCHW face with
torch.nn.functional's signatures (conv2d, max_pool2d, ... below). The
step-by-step teaching path is engine.trace, the rules every parameter obeys
engine.rules, the sample format engine.samples and the whole network
engine.network.
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
