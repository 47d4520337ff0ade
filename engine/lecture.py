"""The lecture file: samples in the lecture's order, each a slide with a caption, notes and bookmarks.

    title = "Convolutional networks, step by step"
    description = "…"                    # optional

    [[slide]]
    sample = "seed_conv"                 # a shipped name, or a path relative to the lecture file
    caption = "One dot product per key"  # one line, shown under the title
    notes = "…"                          # optional: for the lecturer (help/notes overlay)
    [slide.bookmarks]                    # optional: step number -> short caption
    1 = "the kernel starts in the top-left corner"

`load` validates the whole lecture, every slide's sample included, so a bad
lecture is one CnnError line that names the slide. See samples/README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine import samples
from engine.errors import CnnError, quoted, suggest

LECTURE_KEYS = ("title", "description", "slide")
SLIDE_KEYS = ("sample", "caption", "notes", "bookmarks")
#: A caption is one line on the screen; longer text belongs in the notes.
MAX_CAPTION = 200
DEFAULT_LECTURE = "lecture"


@dataclass(frozen=True)
class Slide:
    """One slide: a sample file with what the lecturer says about it."""

    number: int
    """1-based position in the lecture."""
    path: Path
    """The sample file."""
    caption: str
    notes: str = ""
    bookmarks: dict[int, str] = field(default_factory=dict)
    """1-based step number -> short caption shown when that step is reached (stepper slides)."""
    op: str = ""
    """The sample's op: 'conv', …, 'pipeline' or 'network' (which view the slide opens)."""
    title: str = ""
    """The sample's title."""


@dataclass(frozen=True)
class Lecture:
    title: str
    slides: tuple[Slide, ...]
    description: str = ""
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.slides)


def _text(table: dict, key: str, where: str, *, required: bool = False, one_line: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise CnnError(f"{where}: {key!r} must be a string, got {quoted(repr(value))}")
    value = value.strip()
    if required and not value:
        raise CnnError(f"{where}: missing {key!r} (a non-empty string)")
    if one_line and ("\n" in value or len(value) > MAX_CAPTION):
        raise CnnError(
            f"{where}: {key!r} must be one line of at most {MAX_CAPTION} characters, got {quoted(value)}; "
            "put longer text in 'notes'"
        )
    return value


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise CnnError(
                f"{where}: unknown key {quoted(key)}{suggest(key, allowed)}; valid keys: {', '.join(allowed)}"
            )


def _sample_path(name: str, folder: Path | None, where: str) -> Path:
    """A path relative to the lecture's folder, else a shipped sample's name."""
    if folder is not None:
        candidate = folder / name
        if candidate.is_file():
            return candidate
        if not candidate.suffix and candidate.with_suffix(".toml").is_file():
            return candidate.with_suffix(".toml")
    try:
        return samples.resolve(name)
    except CnnError as error:
        raise CnnError(f"{where}: sample {quoted(name)}: {error}") from None


def _steps(path: Path, op: str, where: str) -> int:
    """Load the slide's sample as its view would (CnnError naming the slide); the number of steps
    of a stepper sample, 0 for a network."""
    try:
        if op == "network":
            from engine.network import load as load_network
            from engine.network.model import LayerError

            try:
                load_network(path)
            except LayerError:
                pass  # the network view opens with the failing layer marked: a lecture may show that
            return 0
        return len(samples.load(path).trace())
    except CnnError as error:
        raise CnnError(f"{where}: {error}") from None


def _bookmarks(value: object, steps: int, op: str, where: str) -> dict[int, str]:
    if not isinstance(value, dict):
        raise CnnError(f'{where}.bookmarks must be a table of step number = caption, e.g. [slide.bookmarks] 1 = "…"')
    if value and op == "network":
        raise CnnError(f"{where}.bookmarks: the network view has no steps; bookmarks need a stepper sample")
    marks = {}
    for key, text in value.items():
        try:
            number = int(key)
        except ValueError:
            raise CnnError(f"{where}.bookmarks: {quoted(key)} is not a step number (1 to {steps})") from None
        if not 1 <= number <= steps:
            raise CnnError(f"{where}.bookmarks: step {number} does not exist; the sample has steps 1 to {steps}")
        marks[number] = _text({"caption": text}, "caption", f"{where}.bookmarks.{number}", one_line=True)
    return dict(sorted(marks.items()))


def parse(data: dict, where: str, folder: Path | None = None) -> Lecture:
    """Validate a lecture table (as read from TOML); folder is where relative sample paths start."""
    _check_keys(data, LECTURE_KEYS, where)
    title = _text(data, "title", where, required=True, one_line=True)
    description = _text(data, "description", where)
    tables = data.get("slide")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise CnnError(f"{where}: a lecture needs at least one [[slide]] table with a sample and a caption")
    slides = []
    for number, table in enumerate(tables, 1):
        name = table.get("sample")
        at = f"{where}: slide {number}" + (f" ({name})" if isinstance(name, str) and name else "")
        _check_keys(table, SLIDE_KEYS, at)
        if not isinstance(name, str) or not name.strip():
            raise CnnError(f"{at}: missing 'sample' (a shipped sample's name or a .toml path beside the lecture)")
        path = _sample_path(name.strip(), folder, at)
        op = samples.sample_op(path)
        steps = _steps(path, op, at)
        slides.append(
            Slide(
                number=number,
                path=path,
                caption=_text(table, "caption", at, required=True, one_line=True),
                notes=_text(table, "notes", at),
                bookmarks=_bookmarks(table.get("bookmarks", {}), steps, op, at),
                op=op,
                title=str(samples._peek(path).get("title", path.stem)),
            )
        )
    return Lecture(title, tuple(slides), description)


def resolve(name_or_path: str | os.PathLike | None) -> Path:
    """A lecture file: a path, or the name of a shipped lecture; None is the shipped lecture."""
    if name_or_path is None:
        return samples.shipped_dir() / f"{DEFAULT_LECTURE}.toml"
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = samples.shipped_dir() / f"{path.name.removesuffix('.toml')}.toml"
    if len(path.parts) == 1 and candidate.is_file():
        return candidate
    if path.is_dir():
        raise CnnError(f"{path} is a folder; give a lecture file (.toml)")
    raise CnnError(f"{quoted(name_or_path)}: no such lecture file (the shipped one is {DEFAULT_LECTURE!r})")


def load(path: str | os.PathLike) -> Lecture:
    """Read and validate a lecture file and every slide's sample."""
    path = Path(path)
    lecture = parse(samples.read_toml(path), str(path), path.parent)
    return Lecture(lecture.title, lecture.slides, lecture.description, path)


def is_lecture(path: str | os.PathLike) -> bool:
    """True when a TOML file is a lecture (has [[slide]] tables) rather than a sample."""
    return "slide" in samples._peek(Path(path))
