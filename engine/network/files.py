"""Reading and writing .npz files safely: never unpickled, written atomically."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from engine.errors import CnnError
from engine.files import write_atomic


def read_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every array in an .npz, read with allow_pickle=False; what names the file's role in errors."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise CnnError(f"{path}: no such {what}") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise CnnError(f"{path}: not a readable .npz {what} ({error})") from None


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write arrays as .npz atomically (engine.files.write_atomic); returns the path written."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())
