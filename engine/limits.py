"""Every hard limit of cnn-tui, in one place, and the checks that apply them.

Limits are checked before anything is allocated or computed, from the shapes a
file declares, so a hostile or careless input ends in one CnnError naming the
limit rather than in gigabytes of memory or minutes of work. README.md
("Limits") and docs/NETWORK.md ("Limits") list them with what happens past them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import CnnError

# ---------------------------------------------------------------- the teaching path (step-by-step samples)

#: Largest side of any matrix a sample may hold (input, kernel, batch item). The stepper draws a whole
#: map on every step: measured, a 100x100 map costs about 100 ms more per step and a 200x200 one 450 ms.
MAX_SIDE = 64
#: Most items in a batch and channels in an input or kernel.
MAX_DEPTH = 64
#: Most steps one trace may have, all stages together; beyond that stepping is useless.
MAX_STEPS = 50_000
#: Most products (a convolution tap or a pooling tap is one) in one trace, all stages together: the
#: teaching path writes every product into a line, so this bounds its time and the size of `trace`'s output.
#: Measured in CPU time at the limit: a cell edit re-traces and redraws in about 0.47 s, a step in 40 ms.
MAX_PRODUCTS = 100_000
#: Largest stride, padding, dilation, kernel or pool size written as a whole number (networks too).
MAX_WHOLE = 1_000_000
#: Largest magnitude of a number in a sample: larger values overflow float64 within a few stages.
MAX_MAGNITUDE = 1e100
#: Largest matrix file (.csv, .txt, .npy) a sample may name.
MAX_MATRIX_FILE_BYTES = 64 * 2**20

# ---------------------------------------------------------------- the batch path (network samples)

#: Largest height or width of a network's input and of any feature map.
MAX_NETWORK_SIDE = 1024
#: Most channels of a network's input or of a conv layer's output.
MAX_CHANNELS = 4096
#: Most outputs of a linear layer (and most classes).
MAX_FEATURES = 65_536
#: Most layers in a network sample.
MAX_LAYERS = 256
#: Most learnable parameters in a network (float32: 4 bytes each).
MAX_PARAMETERS = 50_000_000
#: Most memory one image may need on a training step (activations, their gradients, im2col columns),
#: estimated from the shapes before anything is allocated.
MAX_BYTES_PER_IMAGE = 256 * 2**20
#: Most memory one training step may need (bytes per image × batch size); a larger batch is refused.
MAX_STEP_BYTES = 2 * 2**30
#: Largest learning rate, weight decay accepted by `train`.
MAX_LEARNING_RATE = 1e3

# ---------------------------------------------------------------- data and weight files

#: Largest data or weights file, and largest total of the arrays an .npz declares (uncompressed).
MAX_DATA_BYTES = 2 * 2**30


def check_steps(count: int, what: str) -> None:
    """Refuse a trace that would be too long to step through."""
    if count > MAX_STEPS:
        raise CnnError(
            f"{what} would take {count:,} steps; the step-by-step view is limited to "
            f"{MAX_STEPS:,} (use a smaller input, or the network path for whole batches)"
        )


def check_products(count: int, what: str) -> None:
    """Refuse a trace whose steps would show more than MAX_PRODUCTS products in all."""
    if count > MAX_PRODUCTS:
        raise CnnError(
            f"{what} would show {count:,} products; the step-by-step view is limited to "
            f"{MAX_PRODUCTS:,} in all stages together (use a smaller input, kernel or fewer channels)"
        )


def check_range(value: int, limit: int, what: str) -> None:
    """Refuse a whole number above limit, naming what it is."""
    if value > limit:
        raise CnnError(f"{what} {value:,} is over the limit of {limit:,}")


def regular_file(path: str | os.PathLike, what: str, limit: int = MAX_DATA_BYTES) -> Path:
    """path if it is a regular file of at most limit bytes; CnnError otherwise.

    A FIFO, a device or a folder would block or fail mid-read, so they are refused
    before they are opened.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CnnError(f"{path}: no such {what}") from None
    except OSError as error:
        raise CnnError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CnnError(f"{path} is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise CnnError(f"{path} is not a regular file (a pipe or device?); give a {what}")
    if info.st_size > limit:
        raise CnnError(
            f"{path}: {info.st_size / 2**20:,.0f} MiB is over the limit of {limit / 2**20:,.0f} MiB for a {what}"
        )
    return path
