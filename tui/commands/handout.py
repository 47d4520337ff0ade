"""`cnn-tui handout SAMPLE|LECTURE -o FILE`: a printable walk-through as Markdown or HTML."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine import handout
from engine.errors import CnnError, quoted
from engine.files import user_path, write_atomic

HELP = "write a printable walk-through of a sample or a lecture (-o FILE.md or FILE.html)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SAMPLE|LECTURE", help="a sample or lecture: a shipped name or a .toml path")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="where to write it: FILE.md (Markdown) or FILE.html"
    )


def run(args: argparse.Namespace) -> int:
    target = user_path(args.output)
    suffix = target.suffix.lower()
    if suffix not in (".md", ".html", ".htm"):
        raise CnnError(f"{quoted(args.output)}: a handout is written as .md (Markdown) or .html")
    text = handout.render(handout.build(args.source), suffix)
    written = write_atomic(target, text.encode("utf-8"))
    print(f"wrote {Path(written)}")
    return 0
