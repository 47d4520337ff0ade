"""Files a user names: turning typed text into a path, and writing atomically.

One home for the rules every writer follows (samples, weights, anything else):
- a typed path is checked before use (`user_path`): empty, a folder, a NUL byte,
  `~` with no home, `~nosuchuser` are one-line CnnErrors, never tracebacks;
- `write_atomic` writes a temporary file with a short name in the target's own
  folder, fsyncs it and renames it over the target, so a file is never
  half-written; it writes through a symlink (the link stays a link), keeps an
  existing file's permissions and gives a new one the umask's (0644 under umask
  022), and removes temporary files that a killed save of ours left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from engine.errors import CnnError, quoted

#: Temporary files are `.cnn-tui.<pid>.<random>.tmp`: short (a 255-byte name still has room) and
#: recognisable, so that the next save can remove the ones whose process has died.
TEMP_PATTERN = re.compile(r"^\.cnn-tui\.(\d+)\.[0-9a-f]{8}\.tmp$")


def user_path(text: str | os.PathLike, *, what: str = "file") -> Path:
    """The path a user typed, `~` expanded; a CnnError for text that cannot name a file.

    Refuses empty text, a NUL byte, `~` that cannot be expanded, and names that
    are folders (`.`, `/`, `dir/`, an existing folder).
    """
    text = os.fspath(text)
    stripped = text.strip()
    if not stripped:
        raise CnnError(f"no {what} name given")
    if "\0" in stripped:
        raise CnnError(f"{quoted(stripped)}: a {what} name cannot contain a NUL character")
    try:
        path = Path(stripped).expanduser()
    except RuntimeError:  # `~` with HOME unset, or `~nosuchuser`
        raise CnnError(f"{quoted(stripped)}: cannot find that home folder; give the full path") from None
    if stripped.endswith(("/", os.sep)) or path.name in ("", ".", "..") or path.is_dir():
        raise CnnError(f"{quoted(stripped)} is a folder; give a {what} name inside it")
    return path


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write data to path atomically and return the path written (a symlink's target).

    Raises CnnError (naming the path and the reason) for a folder, a missing or
    unwritable folder, a NUL byte, a full disk: the target is then unchanged.
    """
    path = user_path(path)
    target = Path(os.path.realpath(path))  # write through a symlink, as editors do
    folder = target.parent
    if target.is_dir():
        raise CnnError(f"{path} is a folder; give a file name inside it")
    if not folder.is_dir():
        raise CnnError(f"{path}: no such folder {folder}")
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    except OSError as error:
        raise CnnError(f"{path}: cannot write: {error.strerror or error}") from None
    remove_stale_temporaries(folder)
    temp = folder / f".cnn-tui.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CnnError(f"{path}: cannot write in {folder}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CnnError(f"{path}: cannot write: {error.strerror or error}") from None
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a crash once the folder is synced
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)
    return target


def current_umask() -> int:
    """The process's umask, read without changing it where /proc allows (it is process-wide state)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files of ours in folder whose writing process no longer runs."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = TEMP_PATTERN.match(entry.name)
            if match and not process_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
