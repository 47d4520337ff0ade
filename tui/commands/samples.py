"""`cnn-tui samples`: the shipped samples with their titles."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from engine import samples

HELP = "list the shipped samples with their titles"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="also show where each file is")


def run(args: argparse.Namespace) -> int:
    table = Table(show_edge=False, header_style="bold")
    table.add_column("name")
    table.add_column("op")
    table.add_column("title", overflow="fold")
    if args.paths:
        table.add_column("file", overflow="fold")
    for name, title, op in samples.shipped():
        row = [name, op, title]
        if args.paths:
            row.append(str(samples.shipped_dir() / f"{name}.toml"))
        table.add_row(*row)
    Console().print(table)
    Console().print(f"Open one with: cnn-tui NAME   (default: {samples.DEFAULT_SAMPLE})")
    return 0
