"""`cnn-tui trace SAMPLE`: every step with its computation, as text, Markdown or JSON."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from rich.console import Console
from rich.markup import escape

from engine import samples
from engine.backward import forward_output, gradients, is_backward, updated
from engine.numbers import fmt
from engine.trace import BatchNormStep, StageTrace, Step, Trace, WindowStep

HELP = "print every step of a sample's computation (text, markdown or json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sample", help="a shipped sample name or a path to a .toml file")
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text (Rich tables, default), markdown (for handouts) or json (for tools)",
    )


def run(args: argparse.Namespace) -> int:
    sample = samples.load(samples.resolve(args.sample))
    trace = sample.trace()
    if args.format == "json":
        sys.stdout.write(json_text(to_json(sample, trace)))
    elif args.format == "markdown":
        sys.stdout.write(to_markdown(sample, trace))
    else:
        print_text(sample, trace, Console())
    return 0


def position(step: Step, stage: StageTrace | None = None) -> str:
    """'(i, j)' for one image and channel, else 'n=0 c=1 (i, j)'; 'c=0' for per-channel steps;
    a parameter's element as '[o, c, a, b]' (its gradient, its SGD update)."""
    index = step.out_index
    if stage is not None and stage.op in ("conv_dweight", "conv_dbias", "sgd"):
        return "[" + ", ".join(map(str, index)) + "]"
    if len(index) == 1:
        return f"c={index[0]}"
    n, c, i, j = index
    return f"({i}, {j})" if n == 0 and c == 0 else f"n={n} c={c} ({i}, {j})"


def _phase(step: Step) -> str:
    return step.phase if isinstance(step, BatchNormStep) else ""


def _plain(value: object) -> object:
    """Parameters as JSON values: arrays to nested lists, tuples to lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def to_json(sample: samples.Sample, trace: Trace) -> dict:
    """The schema documented in README.md (top-level title, stages, steps, output)."""
    steps = []
    for index, step in enumerate(trace):
        stage = trace.stages[step.stage]
        record = {
            "index": index,
            "stage": stage.name,
            "op": stage.op,
            "step": step.index,
            "out_index": list(step.out_index),
            "value": step.value,
            "text": step.text,
        }
        if isinstance(step, WindowStep):
            record["window"] = [list(tap) for tap in step.window]
        if isinstance(step, BatchNormStep):
            record["phase"] = step.phase
        steps.append(record)
    backward = {}
    if any(is_backward(s) for s in trace.stages):
        backward["gradients"] = {name: array.tolist() for name, array in gradients(trace).items()}
        if updated(trace):
            backward["updated"] = {name: array.tolist() for name, array in updated(trace).items()}
    return {
        "title": sample.title,
        "stages": [
            {
                "name": s.name,
                "op": s.op,
                "input_shape": list(s.input.shape),
                "output_shape": list(s.output.shape),
                "formulas": list(s.formulas),
                "params": {k: _plain(v) for k, v in s.params.items()},
            }
            for s in trace.stages
        ],
        "steps": steps,
        "output": forward_output(trace).tolist(),
    } | backward


def json_text(document: dict) -> str:
    """The document as standard JSON (no NaN or Infinity: results are finite, engine.samples makes sure),
    one step a line: encoded by json's C encoder, as fast as the text format."""

    def encode(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

    fields = [f' "{key}": {encode(value)}' for key, value in document.items() if key != "steps"]
    steps = ",\n".join("  " + encode(step) for step in document["steps"])
    fields.insert(2, ' "steps": [\n' + steps + "\n ]")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _maps(stage: StageTrace) -> list[tuple[str, np.ndarray]]:
    """The output as labelled 2-D maps: one per (image, channel)."""
    out = stage.output
    if out.ndim == 1:
        return [("", out[None, :])]
    if stage.op in ("conv_dweight", "sgd") and out.ndim == 4:
        return [(f"filter {o} channel {c}", out[o, c]) for o in range(out.shape[0]) for c in range(out.shape[1])]
    if out.shape[:2] == (1, 1):
        return [("", out[0, 0])]
    return [(f"n={n} c={c}", out[n, c]) for n in range(out.shape[0]) for c in range(out.shape[1])]


def _map_title(stage: StageTrace) -> str:
    if stage.op == "sgd":
        return f"{stage.name} after the SGD step"
    return f"d{stage.name}" if is_backward(stage) else f"{stage.name} output"


def _heading(stage: StageTrace, number: int, total: int) -> str:
    shapes = f"{'×'.join(map(str, stage.input.shape))} → {'×'.join(map(str, stage.output.shape))} (N×C×H×W)"
    prefix = f"Stage {number + 1} of {total}: " if total > 1 else ""
    name = stage.name if stage.name == stage.op else f"{stage.name} ({stage.op})"
    if is_backward(stage):
        what = "updated by SGD" if stage.op == "sgd" else "gradient"
        arrow = "" if stage.op == "sgd" else "← "
        shapes = f"{arrow}{'×'.join(map(str, stage.output.shape))}"
        name = f"{stage.name} {what} ({stage.op})"
    return f"{prefix}{name}, {shapes}"


def _row(cells: list[str], widths: list[int]) -> str:
    """One line of the step table: the step right-aligned, the middle columns padded, the computation as is."""
    first = [cells[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(cells[1:-1], widths[1:])]
    return " " + " │ ".join([*first, cells[-1]]).rstrip() + "\n"


def print_text(sample: samples.Sample, trace: Trace, console: Console) -> None:
    """Headings through Rich (bold on a terminal); the step tables and output grids as plain aligned
    text written in one piece each, so a 50,000-step trace prints as fast as its JSON."""
    console.print(f"[bold]{escape(sample.title)}[/bold]")
    for number, stage in enumerate(trace.stages):
        console.print()
        console.print(f"[bold]{escape(_heading(stage, number, len(trace.stages)))}[/bold]")
        for label, formula in zip(("H_out", "W_out"), stage.formulas):
            console.print(f"  {label} = {formula}", highlight=False)
        rows = []
        for step in stage.steps:
            cells = [str(trace.stage_starts[number] + step.index + 1), position(step, stage)]
            if stage.op == "batchnorm":
                cells.append(_phase(step))
            rows.append([*cells, step.text])
        headers = ["step", "output", *(["phase"] if stage.op == "batchnorm" else []), "computation"]
        widths = [max(len(headers[k]), *(len(row[k]) for row in rows)) for k in range(len(headers) - 1)]
        rule = "─" * (widths[0] + 2) + "".join("┼" + "─" * (w + 2) for w in widths[1:]) + "┼" + "─" * 13 + "\n"
        console.file.write(_row(headers, widths) + rule + "".join(_row(row, widths) for row in rows))
        for label, grid in _maps(stage):
            console.print(f"[bold]{escape(_map_title(stage))} {label}".rstrip() + "[/bold]")
            cells = [[fmt(v) for v in row] for row in grid]
            width = max(len(c) for row in cells for c in row)
            console.file.write("".join(" " + "  ".join(c.rjust(width) for c in row) + " \n" for row in cells))
        console.file.flush()


def to_markdown(sample: samples.Sample, trace: Trace) -> str:
    lines = [f"# {sample.title}", ""]
    if sample.description:
        lines += [sample.description, ""]
    for number, stage in enumerate(trace.stages):
        lines += [f"## {_heading(stage, number, len(trace.stages))}", ""]
        for label, formula in zip(("H_out", "W_out"), stage.formulas):
            lines.append(f"- {label} = {formula}")
        if stage.formulas:
            lines.append("")
        lines += ["| step | output | computation |", "|---:|---|---|"]
        for step in stage.steps:
            phase = f"{_phase(step)}: " if _phase(step) else ""
            text = step.text.replace("|", "\\|")
            lines.append(
                f"| {trace.stage_starts[number] + step.index + 1} | {position(step, stage)} | {phase}`{text}` |"
            )
        lines.append("")
        for label, grid in _maps(stage):
            lines += [f"**{_map_title(stage)} {label}".rstrip() + "**", ""]
            lines.append("| " + " | ".join(f"j={j}" for j in range(grid.shape[1])) + " |")
            lines.append("|" + "---:|" * grid.shape[1])
            for row in grid:
                lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
            lines.append("")
    return "\n".join(lines)
