"""Reading and writing .npz files safely: never unpickled, written atomically."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from engine.errors import CnnError


def read_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every array in an .npz, read with allow_pickle=False; what names the file's role in errors."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise CnnError(f"{path}: no such {what}") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise CnnError(f"{path}: not a readable .npz {what} ({error})") from None


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as .npz atomically: a temp file in the same folder, then os.replace."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise CnnError(f"{path}: folder {folder} does not exist")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
