"""Printable walk-throughs of a sample or a whole lecture, as Markdown or a standalone HTML page.

A handout is first a list of blocks (heading, paragraph, table, computation lines), built
from the same records every view reads (Sample, Trace, the network's summary), then written
out by `markdown()` or `html()`. Plain text only: no rich, no textual.
"""

from __future__ import annotations

import html as html_escape
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import lecture as lectures
from engine import samples
from engine.errors import CnnError
from engine.lecture import Lecture
from engine.numbers import fmt
from engine.receptive import fields, layer_window
from engine.shapes import GENERAL_FORMULA, GENERAL_POOL_FORMULA

#: Steps of a trace written in full; a longer trace keeps its first, middle and last steps.
STEP_LIMIT = 60
#: How many steps each of the first, middle and last windows keeps.
STEP_WINDOW = 15
FORMATS = (".md", ".html")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    caption: str
    rows: tuple[tuple[str, ...], ...]
    header: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lines:
    """Computation lines, printed as they are (monospace)."""

    lines: tuple[str, ...]


Block = Heading | Paragraph | Table | Lines


def matrix_tables(array: np.ndarray, caption: str) -> list[Table]:
    """One table per (item, channel) of an (N, C, H, W), (C, H, W) or (H, W) array."""
    array = np.asarray(array, dtype=np.float64)
    while array.ndim < 4:
        array = array[None]
    out = []
    n_items, channels = array.shape[:2]
    for n in range(n_items):
        for c in range(channels):
            where = []
            if n_items > 1:
                where.append(f"image {n + 1}")
            if channels > 1:
                where.append(f"channel {c + 1}")
            label = caption + (f" ({', '.join(where)})" if where else "")
            rows = tuple(tuple(fmt(v) for v in row) for row in array[n, c])
            out.append(Table(f"{label}, {array.shape[2]}×{array.shape[3]}", rows))
    return out


def pick_steps(count: int, limit: int = STEP_LIMIT, window: int = STEP_WINDOW) -> list[int | tuple[int, int]]:
    """Step indices to write: all of them, or the first, a middle window and the last ones, with
    (start, stop) ranges standing for the steps left out."""
    if count <= limit:
        return list(range(count))
    middle = count // 2 - window // 2
    picked: list[int | tuple[int, int]] = list(range(window))
    picked.append((window, middle))
    picked += list(range(middle, middle + window))
    picked.append((middle + window, count - window))
    picked += list(range(count - window, count))
    return picked


def _parameters(stage: samples.Stage) -> list[tuple[str, str]]:
    params = stage.params
    if stage.op == "conv":
        bias = params["bias"]
        return [
            ("kernel", "×".join(str(d) for d in params["weight"].shape) + " (filters, channels, kh, kw)"),
            ("bias", "none" if bias is None else ", ".join(fmt(b) for b in bias)),
            ("stride", "×".join(map(str, params["stride"]))),
            ("padding", "×".join(map(str, params["padding"]))),
            ("dilation", "×".join(map(str, params["dilation"]))),
        ]
    if stage.op == "pool":
        return [
            ("mode", params["mode"]),
            ("size", "×".join(map(str, params["size"]))),
            ("stride", "×".join(map(str, params["stride"]))),
            ("padding", "×".join(map(str, params["padding"]))),
        ]
    if stage.op == "batchnorm":
        return [
            ("γ", ", ".join(fmt(v) for v in params["gamma"])),
            ("β", ", ".join(fmt(v) for v in params["beta"])),
            ("ε", fmt(params["eps"])),
            ("momentum", fmt(params["momentum"])),
            ("mode", "training (batch statistics)" if params["training"] else "eval (running statistics)"),
            ("running mean", ", ".join(fmt(v) for v in params["running_mean"])),
            ("running variance", ", ".join(fmt(v) for v in params["running_var"])),
        ]
    return [("parameters", "none: max(0, x) element by element")]


def sample_blocks(sample: samples.Sample, level: int = 2) -> list[Block]:
    """Title, description, input, every stage's parameters, formula, steps and output."""
    trace = sample.trace()
    blocks: list[Block] = [Heading(level, sample.title)]
    if sample.description:
        blocks.append(Paragraph(sample.description))
    blocks.append(Heading(level + 1, "Input"))
    blocks += matrix_tables(sample.input, "input")
    for stage, traced, start in zip(sample.stages, trace.stages, trace.stage_starts):
        name = f"Stage {stage.name}" if sample.is_pipeline else stage.name.capitalize()
        blocks.append(Heading(level + 1, f"{name}: {stage.op}"))
        blocks.append(Table("parameters", tuple(_parameters(stage)), ("parameter", "value")))
        if stage.op == "conv":
            blocks += matrix_tables(stage.params["weight"], "kernel")
        if traced.formulas:
            general = GENERAL_POOL_FORMULA if stage.op == "pool" else GENERAL_FORMULA
            filled = [f"{label} = {formula}" for label, formula in zip(("H_out", "W_out"), traced.formulas)]
            blocks.append(Paragraph("Output size: " + general))
            blocks.append(Lines(tuple(filled)))
        lines = []
        for item in pick_steps(len(traced.steps)):
            if isinstance(item, tuple):
                lines.append(f"… steps {start + item[0] + 1} to {start + item[1]} left out ({item[1] - item[0]}) …")
            else:
                lines.append(f"step {start + item + 1}: {traced.steps[item].text}")
        blocks.append(Paragraph(f"{len(traced.steps)} steps, one output element each:"))
        blocks.append(Lines(tuple(lines)))
        blocks += matrix_tables(traced.output, f"{stage.name} output")
    return blocks


def network_blocks(path: Path, level: int = 2) -> list[Block]:
    """A network sample: its layers with output shape, parameters and receptive field; or its error."""
    from engine.network import load
    from engine.network.model import LayerError

    data = samples._peek(path)
    blocks: list[Block] = [Heading(level, str(data.get("title", path.stem)))]
    if description := str(data.get("description", "")).strip():
        blocks.append(Paragraph(" ".join(description.split())))
    try:
        network = load(path)
    except LayerError as error:
        blocks.append(Paragraph(f"This network cannot be built: {error}"))
        return blocks
    shape = "×".join(map(str, network.input_shape))
    rows = [("input", "", shape, "", "")]
    for row, field in zip(network.summary(), fields([layer_window(layer) for layer in network.layers])):
        rows.append((row.name, row.kind, "×".join(map(str, row.output_shape)), f"{row.parameters:,}", field.text()))
    header = ("layer", "type", "output", "parameters", "receptive field (size /jump)")
    blocks.append(Table("layers", tuple(rows), header))
    return blocks


def file_blocks(path: Path, level: int = 2) -> list[Block]:
    if samples.sample_op(path) == "network":
        return network_blocks(path, level)
    return sample_blocks(samples.load(path), level)


def lecture_blocks(lecture: Lecture) -> list[Block]:
    """One section per slide: its caption, notes and bookmarks, then its sample."""
    blocks: list[Block] = [Heading(1, lecture.title)]
    if lecture.description:
        blocks.append(Paragraph(lecture.description))
    for slide in lecture.slides:
        blocks.append(Heading(2, f"Slide {slide.number} of {len(lecture)}: {slide.caption}"))
        if slide.notes:
            blocks.append(Paragraph(" ".join(slide.notes.split())))
        if slide.bookmarks:
            marks = tuple((str(step), text) for step, text in slide.bookmarks.items())
            blocks.append(Table("bookmarks", marks, ("step", "what to say")))
        blocks += file_blocks(slide.path, 3)
    return blocks


def build(name_or_path: str) -> list[Block]:
    """The blocks of a lecture (a lecture file, or a shipped lecture's name) or of one sample."""
    path = Path(name_or_path)
    if not path.is_file():
        try:
            path = lectures.resolve(name_or_path)
        except CnnError:
            path = samples.resolve(name_or_path)  # the sample's own error, with its suggestion
    if lectures.is_lecture(path):
        return lecture_blocks(lectures.load(path))
    return file_blocks(path, 1)


# ---------------------------------------------------------------- writing


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * min(block.level, 6) + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Lines):
            out.append("```\n" + "\n".join(block.lines) + "\n```")
        else:
            header = block.header or tuple("" for _ in block.rows[0])
            lines = [f"*{block.caption}*", ""] if block.caption else []
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #000; background: #fff; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
caption { text-align: left; font-style: italic; }
td, th { border: 1px solid #888; padding: 0.15em 0.5em; text-align: right; font-family: monospace; }
pre { background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; }
@media print { h2 { page-break-before: auto; } pre { background: none; } }
"""


def html(blocks: Sequence[Block]) -> str:
    e = html_escape.escape
    title = next((b.text for b in blocks if isinstance(b, Heading)), "cnn-tui handout")
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            level = min(block.level, 6)
            body.append(f"<h{level}>{e(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{e(block.text)}</p>")
        elif isinstance(block, Lines):
            body.append("<pre>" + e("\n".join(block.lines)) + "</pre>")
        else:
            rows = [f"<caption>{e(block.caption)}</caption>"] if block.caption else []
            if block.header:
                rows.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in block.header) + "</tr>")
            rows += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows]
            body.append("<table>\n" + "\n".join(rows) + "\n</table>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render(blocks: Sequence[Block], suffix: str) -> str:
    """The handout as the text of a .md or .html file; CnnError for another suffix."""
    if suffix == ".md":
        return markdown(blocks)
    if suffix in (".html", ".htm"):
        return html(blocks)
    raise CnnError(f"a handout is written as .md or .html, got {suffix or 'no suffix'}")
