"""Arrays reused from step to step, so that a training step's hot loop allocates nothing."""

from __future__ import annotations

import numpy as np


class Workspace:
    """Named arrays reused from call to call; a name gets a new array only when its shape or dtype changes."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, fill: float | None = None) -> np.ndarray:
        """The array for name, uninitialised; with fill, filled with it when (re)allocated only
        (a padded border of zeros)."""
        array = self.arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self.arrays[name] = np.empty(shape, dtype)
            if fill is not None:
                array.fill(fill)
        return array

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays.values())
