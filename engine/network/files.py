"""Reading and writing .npz files safely: never unpickled, checked before reading, written atomically."""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

from engine.errors import CnnError, quoted
from engine.files import user_path, write_atomic
from engine.limits import MAX_DATA_BYTES, regular_file
from engine.samples import is_shipped


def read_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every array in an .npz, read with allow_pickle=False; what names the file's role in errors.

    Before anything is decompressed: the path must be a regular file (a FIFO would block for ever),
    the arrays' uncompressed sizes must add up to at most MAX_DATA_BYTES (a zip bomb is refused), and
    every array's header must declare a shape its stored bytes hold, in real numbers (not complex,
    not objects). An archive with no arrays is refused too.
    """
    path = regular_file(path, what)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if not members:
                raise CnnError(f"{path}: the {what} holds no arrays")
            total = sum(info.file_size for info in members)
            if total > MAX_DATA_BYTES:
                raise CnnError(
                    f"{path}: the {what}'s arrays take {total / 2**20:,.0f} MiB uncompressed, over the limit of "
                    f"{MAX_DATA_BYTES / 2**20:,.0f} MiB"
                )
            return {info.filename.removesuffix(".npy"): _read_member(archive, info, path, what) for info in members}
    except CnnError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
        raise CnnError(f"{path}: not a readable .npz {what} ({str(error).splitlines()[0][:80]})") from None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, what: str) -> np.ndarray:
    """One .npy inside the archive, its header checked against its stored size before the data is read."""
    name = quoted(info.filename)
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        header = stream.tell()
        if dtype.hasobject or dtype.kind not in "biuf":
            raise CnnError(f"{path}: not a readable .npz {what}: array {name} holds {dtype} values, not real numbers")
        needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if header + needed > info.file_size:
            raise CnnError(
                f"{path}: not a readable .npz {what}: array {name} declares shape {list(shape)} "
                f"but holds only {info.file_size - header:,} bytes (truncated?)"
            )
    with archive.open(info) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def check_weights_target(path: str | os.PathLike) -> Path:
    """The path weights may be written to, checked before any work is done; CnnError otherwise.

    It must be an .npz file name (not a folder) in an existing folder we may write in, and never a
    shipped sample (whose folder the weights writer refuses exactly as the sample writer does).
    """
    path = user_path(path, what="weights file")
    if path.suffix.lower() != ".npz":
        raise CnnError(f"{path}: weights are saved as .npz; give a name ending in .npz")
    if is_shipped(path):
        raise CnnError(f"{path}: this is the shipped samples' folder, never written to; save the weights elsewhere")
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise CnnError(f"{path}: no such folder {folder}")
    probe = folder / f".cnn-tui.{os.getpid()}.{secrets.token_hex(4)}.tmp"  # engine.files' temporary pattern
    try:  # permissions alone do not tell (root, read-only mounts, /proc): try
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as error:
        raise CnnError(f"{path}: cannot write in {folder}: {error.strerror or error}") from None
    return path


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write arrays as .npz atomically (engine.files.write_atomic); returns the path written."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())
